"""The demo: the real appliance (config, state, core, control socket, GPIO panel, evdev scanner
reader, sync) on simulated hardware and a simulated clock, so a stretch of an office day runs in seconds.

Simulated visitors press the ticket buttons (gpiozero's mock pins) and hold their codes to the
scanner (a FIFO of key events); simulated counters call them at the reference backend, which runs
as a program of its own. What the monitor would show is written to ``demo-out/`` (and drawn in the
terminal when there is one).
"""

import logging
import os
import queue
import random
import signal
import subprocess
import sys
import threading
from datetime import time, timedelta
from pathlib import Path
from time import monotonic, sleep

from appliance.app.config import load_layers
from appliance.app.daemon import Appliance
from appliance.app.demo_backend import ReferenceBackend, demo_secret
from appliance.app.demo_hardware import MockButtons, ScannerFifo, use_mock_pins
from appliance.app.demo_output import DemoOutput, Progress
from appliance.domain.checkin import CheckInRules, LatePolicy
from appliance.domain.clock import FakeClock, SystemClock
from appliance.domain.codes import (
    AppointmentCode,
    Ed25519PrivateKey,
    encode,
    load_private_key,
    private_key_text,
    public_key_text,
)
from appliance.domain.commands import TakeDayList
from appliance.domain.config import Layer
from appliance.domain.errors import ApplianceError
from appliance.domain.simulation import AppointmentArrival, DaySpec, OfficeDay, WalkIn
from appliance.printer.emulator import PrinterEmulator

# The buttons are pins of gpiozero's mock factory. min_gap: the panel's lock-out runs on real
# monotonic time, where the demo's visitors at one button come a few milliseconds apart (minutes
# apart on the simulated clock); any lock-out would refuse them, so it is 0 here (a real kiosk
# keeps the default 3 s). The gate's debounce stays as it is: the demo paces presses of the same
# button past it (demo_hardware.SAME_BUTTON_PAUSE_S). appointments_interval: the day is booked
# before the device starts and fetched at its start; fetched again mid-run, it would reload the
# queue at a moment set by real time, and a --seed would no longer repeat the same day.
DEMO_CONFIG = """
[device]
id = {device}
site = {site}
roles = kiosk, monitor

[concern:leave]
title_de = Urlaub / Ortsabwesenheit beantragen
title_en = Apply for leave
prefix = A
button = GPIO17

[concern:first-application]
title_de = Erstantrag Bürgergeld
title_en = First application
prefix = B
button = GPIO27

[concern:documents]
title_de = Unterlagen abgeben
title_en = Hand in documents
prefix = C
button = GPIO22

[gpio]
min_gap = 0s
ready_led = GPIO5
printing_led = GPIO6
fault_led = GPIO13

[scanner]
inputs = {scanner}

[printer]
uri = {printer}

[checkin]
modes = signed, reference
public_key_file = {var}/site.key.pub

[backend]
url = {backend}
token_file = {var}/backend.token
heartbeat_interval = 10s
appointments_interval = 1h

[state]
database = {var}/state.db

[core]
control_socket = {var}/control.sock
"""
DEMO_DEVICE, DEMO_SITE = "demo-kiosk", "demo-office"
OPENING = time(7, 30)
WAIT_S = 15.0  # for what the device does on its own threads (print, sync); far longer than it takes


def demo_config(var_dir: Path, printer_uri: str, backend_url: str, scanner: Path):
    text = DEMO_CONFIG.format(
        var=var_dir.resolve(),
        printer=printer_uri,
        backend=backend_url,
        device=DEMO_DEVICE,
        site=DEMO_SITE,
        scanner=scanner.resolve(),
    )
    return load_layers([Layer("<embedded demo config>", text, Path.cwd())])


def demo_start(now, store, tz):
    """Today at opening time, or where the previous demo run's simulated day stopped."""
    local = now.astimezone(tz)
    opening = local.replace(hour=OPENING.hour, minute=OPENING.minute, second=0, microsecond=0)
    latest = store.recent_events(1)
    return max(opening, latest[0].created_at + timedelta(minutes=1)) if latest else opening


def run_demo(
    minutes: float | None, headless: bool, out_dir: Path, var_dir: Path, speed: float = 1.0, seed: int | None = None
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    log_file = log_to_file(out_dir / "appliance.log")
    use_mock_pins()
    site_key = demo_site_key(var_dir)
    scanner = ScannerFifo(var_dir / "scanner.fifo", layout="us")
    printer = PrinterEmulator(out_dir=out_dir / "tickets")  # the kiosk's printer, on loopback
    printer.start()
    # The central system, on loopback: its own program, with its own database beside the demo's state.
    backend = ReferenceBackend(
        var_dir, out_dir / "backend.log", DEMO_SITE, DEMO_DEVICE, demo_secret(var_dir / "backend.token")
    )
    try:
        config = demo_config(var_dir, printer.uri, backend.url, scanner.path)
        clock = FakeClock(SystemClock().now())
        try:
            appliance = Appliance(config, clock=clock)
        except ApplianceError as error:
            print(f"demo: {error}", file=sys.stderr)
            return 3
        try:
            tz = config.device.timezone
            clock.set(demo_start(clock.now(), appliance.store, tz))
            backend.start(clock_start=clock.now())
            return run_office(appliance, backend, scanner, site_key, minutes, headless, out_dir, speed, seed, stop)
        finally:
            if appliance.core.running:
                appliance.stop()
    except ApplianceError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    finally:
        scanner.close()
        backend.stop()
        printer.stop()
        logging.getLogger().removeHandler(log_file)
        log_file.close()


def run_office(appliance, backend, scanner, site_key, minutes, headless, out_dir, speed, seed, stop) -> int:
    """The simulated office on the started backend: visitors at the kiosk, counters calling."""
    config, clock = appliance.config, appliance.clock
    tz = config.device.timezone
    start = clock.now()
    end = start + timedelta(minutes=minutes if minutes is not None else 24 * 60)
    # The office day: the same simulator the wait-time benchmark scores estimators on.
    checkin = config.checkin
    office = OfficeDay(
        DaySpec(
            seed=seed if seed is not None else random.randrange(2**31),
            day=start.astimezone(tz).date(),
            tz=tz,
            opening=start.astimezone(tz).time(),
            checkin_rules=CheckInRules(checkin.early, checkin.late, LatePolicy(checkin.late_policy)),
        )
    )
    codes, booked = book_appointments(office, config.device.site, site_key, backend, config.state.database.parent)
    output = DemoOutput(out_dir, config, terminal=not headless and sys.stdout.isatty())
    answers: queue.Queue = queue.Queue()
    appliance.kiosk.listeners.append(answers.put)
    appliance.start()
    if appliance.kiosk.panel is None:
        raise ApplianceError("the GPIO panel did not start; see the log")
    buttons = MockButtons({c.name: c.button for c in config.concerns if c.button is not None})
    scanner.connect()
    wait_for_day_list(appliance, booked)
    settle(appliance)
    print(
        f"demo: state in {config.state.database} (numbers continue from earlier runs today), screens and "
        f"tickets in {out_dir}/; while it runs: entrance-appliance status --socket {config.core.control_socket}",
        file=sys.stderr,
    )
    monitor = start_monitor(config.core.control_socket, out_dir / "monitor", headless)

    def answer_to(action):
        try:
            return answers.get(timeout=WAIT_S)
        except queue.Empty:
            raise ApplianceError(f"no answer on the kiosk screen to {action}") from None

    def call_next(counter: int, at):
        """A free counter of the simulated office calls the next visitor at the central system."""
        clock.set(max(at, clock.now()))
        wait_until_delivered(appliance)  # the backend decides on what the device has told it
        call = backend.call_next(counter)
        if call is None:
            return None
        entry = wait_for_call(appliance, call)  # through the device's live calls feed
        tally["calls"] += 1
        output.call(entry, at.astimezone(tz))
        return entry.concern

    tally = {"tickets": 0, "check-ins": 0, "calls": 0}
    progress = Progress(minutes) if minutes is not None else None
    try:
        for event in office.events(call_next=call_next):
            if stop.is_set():
                break
            if event.at > end:
                if progress:  # the whole stretch was simulated: say so, not the last event's 9x%
                    progress.show(minutes, end.astimezone(tz))
                break
            if minutes is None:  # real time, sped up by `speed`
                if stop.wait(max(0.0, (event.at - clock.now()).total_seconds() / speed)):
                    break
            clock.set(max(event.at, clock.now()))
            local = event.at.astimezone(tz)
            if isinstance(event, WalkIn):
                buttons.press(event.concern)
                answer = answer_to("a button press")
                tally["tickets"] += answer.code is not None
                output.answer("tickets.log", local, answer)
            elif isinstance(event, AppointmentArrival):
                scanner.hold_up(codes[event.booking.id])
                answer = answer_to("a scan")
                tally["check-ins"] += answer.message.kind == "ok"
                output.answer("checkins.log", local, answer)
            output.screen(appliance.core.snapshot)
            if progress:
                progress.show((event.at - start).total_seconds() / 60, local)
    finally:
        if progress:
            progress.done()
        snapshot = appliance.core.snapshot
        stop_monitor(monitor)
        delivered = wait_until_delivered(appliance, must=False)
        appliance.stop()
        backend.stop()
        held = len(backend.events())
    print(
        f"demo: {tally['tickets']} tickets printed, {tally['check-ins']} appointments checked in, "
        f"{tally['calls']} calls, {snapshot.waiting_count()} still waiting; "
        f"monitor: {out_dir / 'monitor'}/*.png and {out_dir / 'monitor.txt'}, tickets: {out_dir / 'tickets'}/*.png",
        file=sys.stderr,
    )
    print(
        f"demo: the reference backend holds {held} events of this device"
        + ("" if delivered else " (some were still on their way: they go up on the next run)"),
        file=sys.stderr,
    )
    return 0


def log_to_file(path: Path) -> logging.Handler:
    """The appliance's log at info, with each button verdict, into the demo's output; the terminal
    keeps showing warnings only."""
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(max(handler.level, root.level))
    log_file = logging.FileHandler(path, encoding="utf-8")
    log_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(log_file)
    root.setLevel(logging.INFO)
    logging.getLogger("appliance.drivers.gpio").setLevel(logging.DEBUG)
    return log_file


def book_appointments(office, site: str, key, backend, var_dir: Path) -> tuple[dict[int, str], set[str]]:
    """Book the simulated day at the central backend, and sign each booking's QR code as the central
    system would: (code of each booking, the booked ids). Ids continue after earlier runs of the day."""
    day = office.spec.day
    offset = max((int(i) for i in backend.booked_ids(day) if i.isdigit()), default=0)
    appointments, codes = [], {}
    for booking in office.bookings:
        number = offset + booking.id
        slot = booking.slot.astimezone(office.spec.tz).time().replace(second=0, microsecond=0)
        code = AppointmentCode(number, site, day, slot, booking.concern, f"T{number:03d}")
        appointments.append(
            {
                "id": str(number),
                "day": day.isoformat(),
                "slot": slot.strftime("%H:%M"),
                "concern": booking.concern,
                "display_code": code.display_code,
                "reference": f"R{number:05d}",
            }
        )
        codes[booking.id] = encode(code, key)
    backend.book(appointments, var_dir / "bookings.json")
    return codes, {a["id"] for a in appointments}


def wait_for_day_list(appliance, booked: set[str]) -> None:
    """Until the device's sync has fetched the booked day (so the first scans find their appointments)."""
    deadline = monotonic() + WAIT_S
    while monotonic() < deadline:
        held = {a.id for a in appliance.core.submit(TakeDayList()).result(WAIT_S)}
        if booked <= held:
            return
        sleep(0.02)
    raise ApplianceError("the device did not get the booked day list from the reference backend")


def settle(appliance, quiet_s: float = 0.3) -> None:
    """Until the device's start-up work (health reports, the calls feed's latest calls) is done: no
    new snapshot for ``quiet_s``, so the simulated day starts on the same state every run."""
    deadline = monotonic() + WAIT_S
    serial, since = appliance.core.snapshot.serial, monotonic()
    while monotonic() - since < quiet_s and monotonic() < deadline:
        sleep(0.02)
        if appliance.core.snapshot.serial != serial:
            serial, since = appliance.core.snapshot.serial, monotonic()


def wait_until_delivered(appliance, must: bool = True) -> bool:
    """Until the sync has delivered every event the device holds; with ``must``, an error after WAIT_S."""
    deadline = monotonic() + WAIT_S
    while appliance.core.snapshot.outbox_pending:
        if monotonic() > deadline:
            if must:
                raise ApplianceError("the device's events did not reach the reference backend; see the log")
            return False
        sleep(0.002)
    return True


def wait_for_call(appliance, call: dict):
    """The device's entry for a call the backend made, once the live calls feed has brought it."""
    deadline = monotonic() + WAIT_S
    while monotonic() < deadline:
        calls = appliance.core.snapshot.recent_calls
        if calls and (calls[0].code, calls[0].counter) == (call["code"], call["counter"]):
            return calls[0]
        sleep(0.002)
    raise ApplianceError(f"the call of {call['code']} did not reach the device through the calls feed")


def start_monitor(control_socket: Path, out_dir: Path, headless: bool):
    """The call-up monitor, as on a device: its own process, fed over the control socket. Headless,
    it writes a PNG after every change; with a display, it opens a window."""
    command = [
        sys.executable,
        "-m",
        "appliance.app.monitor_process",
        "--socket",
        str(control_socket),
        "--clock",
        "snapshot",
        "--no-sound",
        "--log-level",
        "warning",
    ]
    command += ["--out", str(out_dir), "--size", "1280x720"] if headless else ["--windowed", "--size", "1280x720"]
    environment = dict(os.environ)
    if headless:
        environment.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    return subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL)


def stop_monitor(monitor) -> None:
    sleep(1.0)  # let it draw the last state before it goes
    monitor.terminate()
    try:
        monitor.wait(timeout=10)
    except subprocess.TimeoutExpired:
        monitor.kill()


def demo_site_key(var_dir: Path):
    """The demo site's signing key, made once: the demo plays the central system that signs codes."""
    path = var_dir / "site.key"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(private_key_text(key) + "\n")
        (var_dir / "site.key.pub").write_text(public_key_text(key) + "\n", encoding="ascii")
    return load_private_key(path.read_text(encoding="ascii"))
