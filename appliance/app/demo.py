"""The demo: the real appliance (config, state, core, control socket) on simulated hardware.

Simulated visitors press the ticket buttons and simulated counters call them, on a simulated
clock, so a stretch of an office day runs in seconds. What the monitor would show is written to
``demo-out/`` (and drawn in the terminal when there is one).
"""
import os
import queue
import random
import secrets
import signal
import subprocess
import sys
import threading
from time import monotonic, sleep
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from appliance.display.text_screen import monitor_text
from appliance.display.view import parse_view
from appliance.drivers.simulated import SimulatedButtons, SimulatedCounter, SimulatedScanner
from appliance.printer.emulator import PrinterEmulator

from appliance.domain.clock import FakeClock, SystemClock
from appliance.domain.codes import AppointmentCode, Ed25519PrivateKey, encode, load_private_key, private_key_text, public_key_text
from appliance.app.config import load_layers
from appliance.domain.config import Layer
from appliance.app.daemon import Appliance
from appliance.app.view import monitor_view
from appliance.domain.checkin import CheckInRules, LatePolicy
from appliance.domain.errors import ApplianceError
from appliance.domain.simulation import AppointmentArrival, DaySpec, OfficeDay, WalkIn
from appliance.domain.state import Appointment

DEMO_CONFIG = """
[device]
id = {device}
site = {site}
roles = kiosk, monitor

[concern:leave]
title_de = Urlaub / Ortsabwesenheit beantragen
title_en = Apply for leave
prefix = A

[concern:first-application]
title_de = Erstantrag Bürgergeld
title_en = First application
prefix = B

[concern:documents]
title_de = Unterlagen abgeben
title_en = Hand in documents
prefix = C

[printer]
uri = {printer}
wait_page_url = https://jobcenter.example/wartezeit?standort={{site}}&nummer={{code}}

[checkin]
modes = signed, reference
public_key_file = {var}/site.key.pub

[backend]
url = {backend}
token_file = {var}/backend.token
heartbeat_interval = 10s
appointments_interval = 10s

[state]
database = {var}/state.db

[core]
control_socket = {var}/control.sock
"""
REPO = Path(__file__).resolve().parent.parent
DEMO_DEVICE, DEMO_SITE = "demo-kiosk", "demo-office"
OPENING = time(7, 30)


def demo_config(var_dir: Path, printer_uri: str, backend_url: str):
    text = DEMO_CONFIG.format(var=var_dir.resolve(), printer=printer_uri, backend=backend_url, device=DEMO_DEVICE,
                              site=DEMO_SITE)
    return load_layers([Layer("<embedded demo config>", text, Path.cwd())])


def demo_start(now, store, tz):
    """Today at opening time, or where the previous demo run's simulated day stopped."""
    local = now.astimezone(tz)
    opening = local.replace(hour=OPENING.hour, minute=OPENING.minute, second=0, microsecond=0)
    latest = store.recent_events(1)
    return max(opening, latest[0].created_at + timedelta(minutes=1)) if latest else opening


def run_demo(minutes: float | None, headless: bool, out_dir: Path, var_dir: Path, speed: float = 1.0,
             seed: int | None = None) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    site_key = demo_site_key(var_dir)
    printer = PrinterEmulator(out_dir=out_dir / "tickets")  # the kiosk's printer, on loopback
    printer.start()
    backend = start_reference_backend(var_dir)  # the central system, on loopback
    config = demo_config(var_dir, printer.uri, backend.url)
    clock = FakeClock(SystemClock().now())
    try:
        appliance = Appliance(config, clock=clock)
    except ApplianceError as error:
        printer.stop()
        backend.stop()
        print(f"demo: {error}", file=sys.stderr)
        return 3
    tz = config.device.timezone
    clock.set(demo_start(clock.now(), appliance.store, tz))
    start = clock.now()
    end = start + timedelta(minutes=minutes if minutes is not None else 24 * 60)
    # The office day: the same simulator the wait-time benchmark scores estimators on.
    checkin = config.checkin
    office = OfficeDay(DaySpec(seed=seed if seed is not None else random.randrange(2**31),
                               day=start.astimezone(tz).date(), tz=tz, opening=start.astimezone(tz).time(),
                               checkin_rules=CheckInRules(checkin.early, checkin.late, LatePolicy(checkin.late_policy))))
    codes = book_appointments(office, config.device.site, appliance.store, site_key, backend)
    output = DemoOutput(out_dir, config, terminal=not headless and sys.stdout.isatty())
    answers: queue.Queue = queue.Queue()
    appliance.kiosk.listeners.append(answers.put)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    appliance.start()
    print(f"demo: state in {config.state.database} (numbers continue from earlier runs today), screens and "
          f"tickets in {out_dir}/; while it runs: entrance-appliance status --socket {config.core.control_socket}",
          file=sys.stderr)
    monitor = start_monitor(config.core.control_socket, out_dir / "monitor", headless)
    buttons = SimulatedButtons(appliance.kiosk.press)
    scanner = SimulatedScanner(appliance.kiosk.scan)
    counters: dict[int, SimulatedCounter] = {}

    def answer_to(action):
        try:
            return answers.get(timeout=15)
        except queue.Empty:
            raise ApplianceError(f"no answer on the kiosk screen to {action}") from None

    def call_next(counter: int, at):
        """A free counter of the simulated office asks the appliance whom to call."""
        clock.set(max(at, clock.now()))
        called = counters.setdefault(counter, SimulatedCounter(appliance.core, counter)).call_next().result(10)
        if called is None:
            return None
        tally["calls"] += 1
        output.call(appliance.core.snapshot.recent_calls[0], at.astimezone(tz))
        return called.concern

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
                result = scanner.scan(codes[event.booking.id]).result(timeout=15)
                answer = answer_to("a scan")
                tally["check-ins"] += result.verdict.accepted
                output.answer("checkins.log", local, answer)
            output.screen(appliance.core.snapshot)
            if progress:
                progress.show((event.at - start).total_seconds() / 60, local)
    finally:
        if progress:
            progress.done()
        snapshot = appliance.core.snapshot
        stop_monitor(monitor)
        delivered = wait_for_outbox(appliance)
        appliance.stop()
        printer.stop()
        held = len(backend.store.events(config.device.id))
        backend.stop()
        output.close()
    print(f"demo: {tally['tickets']} tickets printed, {tally['check-ins']} appointments checked in, "
          f"{tally['calls']} calls, {snapshot.waiting_count() + len(snapshot.appointments)} still waiting; "
          f"monitor: {out_dir / 'monitor'}/*.png and {out_dir / 'monitor.txt'}, tickets: {out_dir / 'tickets'}/*.png",
          file=sys.stderr)
    print(f"demo: the reference backend holds {held} events of this device"
          + ("" if delivered else " (some were still on their way: they go up on the next run)"), file=sys.stderr)
    return 0


def start_reference_backend(var_dir: Path):
    """The reference central backend with its own database beside the demo's state; the device
    syncs with it like with the real one (events up, day lists down, calls live)."""
    from entrance_backend.http import DeviceAccess, Settings
    from entrance_backend.main import BackgroundBackend
    var_dir.mkdir(parents=True, exist_ok=True)
    token = demo_secret(var_dir / "backend.token")
    settings = Settings(database=var_dir / "backend.db", site=DEMO_SITE,
                        devices=(DeviceAccess(DEMO_DEVICE, DEMO_SITE, token),), rate_limit=0)
    return BackgroundBackend(settings).start()


def demo_secret(path: Path) -> str:
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text(encoding="ascii").strip()


def wait_for_outbox(appliance, timeout_s: float = 10.0) -> bool:
    """Give the sync a moment to deliver the last events before the demo ends."""
    deadline = monotonic() + timeout_s
    while monotonic() < deadline:
        if appliance.core.snapshot.outbox_pending == 0:
            return True
        sleep(0.1)
    return False


def book_appointments(office, site: str, store, key, backend) -> dict[int, str]:
    """Book the simulated day at the central backend (the device gets the list by sync; it is also
    put into the state at once, so the first scans need not wait for it) and sign each booking's
    QR code as the central system would. Ids continue after earlier demo runs of the same day."""
    day = office.spec.day
    earlier = [a for a in store.appointments(day)]
    offset = max((int(a.id) for a in earlier if a.id.isdigit()), default=0)
    appointments, codes = [], {}
    for booking in office.bookings:
        number = offset + booking.id
        slot = booking.slot.astimezone(office.spec.tz).time().replace(second=0, microsecond=0)
        code = AppointmentCode(number, site, day, slot, booking.concern, f"T{number:03d}")
        appointments.append(Appointment(str(number), site, day, slot, booking.concern, code.display_code))
        codes[booking.id] = encode(code, key)
    store.replace_appointments(day, [a for a in earlier if a.status in ("booked", "cancelled")] + appointments)
    backend.store.add_appointments([
        {"id": a.id, "site": site, "day": day.isoformat(), "slot": a.slot.strftime("%H:%M"), "concern": a.concern,
         "display_code": a.display_code, "reference": f"R{int(a.id):05d}"} for a in appointments],
        datetime.now(timezone.utc))
    return codes


def start_monitor(control_socket: Path, out_dir: Path, headless: bool):
    """The call-up monitor, as on a device: its own process, fed over the control socket. Headless,
    it writes a PNG after every change; with a display, it opens a window."""
    command = [sys.executable, "-m", "appliance.app.monitor", "--socket", str(control_socket), "--clock", "snapshot",
               "--no-sound", "--log-level", "warning"]
    command += ["--out", str(out_dir), "--size", "1280x720"] if headless else ["--windowed", "--size", "1280x720"]
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
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
        var_dir.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(private_key_text(key) + "\n")
        (var_dir / "site.key.pub").write_text(public_key_text(key) + "\n", encoding="ascii")
    return load_private_key(path.read_text(encoding="ascii"))


class DemoOutput:
    """Writes what the monitor and the ticket printer would show."""

    def __init__(self, out_dir: Path, config, terminal: bool):
        self.out_dir, self.config, self.terminal = out_dir, config, terminal
        self._serial = None
        self._drawn_at = 0.0

    def answer(self, log_name, local_time, answer):
        """What the kiosk screen said, one line (German title and body)."""
        message = answer.message
        with open(self.out_dir / log_name, "a", encoding="utf-8") as log:
            log.write(f"{local_time:%Y-%m-%d %H:%M}  {message.title.render()}: {message.body.render()}\n")

    def call(self, entry, local_time):
        with open(self.out_dir / "calls.log", "a", encoding="utf-8") as log:
            log.write(f"{local_time:%Y-%m-%d %H:%M}  {entry.code} -> Schalter / Counter {entry.counter}\n")

    def close(self):
        pass

    def screen(self, snapshot):
        if snapshot.serial == self._serial:
            return
        self._serial = snapshot.serial
        text = monitor_text(parse_view(monitor_view(self.config, snapshot)))
        target = self.out_dir / "monitor.txt"
        temporary = target.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)  # a reader never sees half a screen
        if self.terminal and monotonic() - self._drawn_at > 0.1:
            self._drawn_at = monotonic()
            sys.stdout.write("\x1b[H\x1b[2J" + text)
            sys.stdout.flush()


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, total_minutes: float):
        self.total = max(total_minutes, 1e-9)
        self.tty = sys.stderr.isatty()
        self._last = -1

    def show(self, done_minutes: float, local_time) -> None:
        share = min(1.0, done_minutes / self.total)
        step = int(share * (100 if self.tty else 10))
        if step == self._last:
            return
        self._last = step
        bar = "#" * int(share * 30)
        line = f"[{bar:<30}] {share:4.0%}  simulated {local_time:%H:%M}"
        sys.stderr.write(("\r" + line) if self.tty else line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
