"""The demo: a whole office of real devices on simulated hardware and a simulated clock, so a stretch
of an office day runs in seconds.

The reference backend, two kiosks and two monitors each run as a process of their own, with their
own config (one shared site file, a short device file), state and control socket. Simulated
visitors press the kiosks' ticket buttons (gpiozero's mock pins) and hold their codes to the
scanners (FIFOs of key events); simulated counters call, recall, mark not come and transfer through
the backend's staff operations. After every change the demo waits until every device's screen
shows the same; the monitors' frames go to ``demo-out/`` (and one is drawn in the terminal).
"""

import os
import random
import signal
import sys
import threading
from datetime import time, timedelta
from pathlib import Path
from time import monotonic, sleep

from appliance.app.config import load_config
from appliance.app.demo_backend import ReferenceBackend, demo_secret
from appliance.app.demo_hardware import ScannerFifo
from appliance.app.demo_office import (
    KIOSK_FILE,
    MONITOR_FILE,
    WAIT_S,
    Agreement,
    DeviceRunner,
    OfficeScreens,
    start_monitor,
    stop_process,
    write_device_file,
    write_site_file,
)
from appliance.app.demo_output import DemoOutput, Progress
from appliance.app.demo_people import Counters, Visitors
from appliance.domain.checkin import CheckInRules, LatePolicy
from appliance.domain.clock import SystemClock
from appliance.domain.codes import (
    AppointmentCode,
    Ed25519PrivateKey,
    encode,
    load_private_key,
    private_key_text,
    public_key_text,
)
from appliance.domain.errors import ApplianceError
from appliance.domain.simulation import AppointmentArrival, DaySpec, OfficeDay, WalkIn
from appliance.domain.state import StateStore
from appliance.printer.emulator import PrinterEmulator

DEMO_SITE = "demo-office"
KIOSKS = ("demo-kiosk-1", "demo-kiosk-2")
MONITORS = ("demo-monitor-1", "demo-monitor-2")
OPENING = time(7, 30)
# A change that reached every screen later than this counts as late (the goal is 1 s); one that did not within
# WAIT_S, as screens that disagree.
AGREE_WITHIN_S = 5.0


def demo_start(now, databases: list[Path], tz):
    """Today at opening time, or where the previous demo run's simulated day stopped."""
    local = now.astimezone(tz)
    opening = local.replace(hour=OPENING.hour, minute=OPENING.minute, second=0, microsecond=0)
    latest = []
    for database in filter(Path.exists, databases):
        store = StateStore(database)
        try:
            latest += [event.created_at for event in store.recent_events(1)]
        finally:
            store.close()
    return max([opening] + [at + timedelta(minutes=1) for at in latest])


class Office:
    """The demo's office while it runs: backend, printers, scanners, device processes, monitors."""

    def __init__(self, out_dir: Path, var_dir: Path, headless: bool):
        self.out_dir, self.var_dir, self.headless = out_dir, var_dir, headless
        self.devices: dict[str, DeviceRunner] = {}
        self.monitors: list = []
        self.printers: dict[str, PrinterEmulator] = {}
        self.scanners: dict[str, ScannerFifo] = {}
        self.screens: OfficeScreens | None = None
        for name in KIOSKS + MONITORS:
            (var_dir / name).mkdir(parents=True, exist_ok=True)
        tokens = {name: demo_secret(var_dir / name / "backend.token") for name in KIOSKS + MONITORS}
        self.backend = ReferenceBackend(var_dir, out_dir / "backend.log", DEMO_SITE, tokens)
        self.configs: dict[str, Path] = {}

    def provision(self) -> None:
        """Each kiosk's printer (on loopback) and scanner, and every device's config files."""
        site_file = write_site_file(self.var_dir, DEMO_SITE, self.backend.url)
        for name in KIOSKS:
            self.printers[name] = PrinterEmulator(out_dir=self.out_dir / "tickets" / name)
            self.printers[name].start()
            self.scanners[name] = ScannerFifo(self.var_dir / name / "scanner.fifo", layout="us")
            self.configs[name] = write_device_file(
                site_file, self.var_dir / name, KIOSK_FILE, device=name, printer=self.printers[name].uri
            )
        for name in MONITORS:
            self.configs[name] = write_device_file(site_file, self.var_dir / name, MONITOR_FILE, device=name)

    def start_devices(self, clock_start) -> None:
        """Each device's process, its clock reading ``clock_start`` now (as the backend's did at its start)."""
        for name, config in self.configs.items():
            self.devices[name] = DeviceRunner(name, config, clock_start, self.out_dir / f"{name}.log")
            if name in self.scanners:
                self.scanners[name].connect()

    def show(self) -> None:
        """The screens: compared by the demo, and drawn by the monitors' own processes."""
        self.screens = OfficeScreens({name: device.socket for name, device in self.devices.items()})
        for name in MONITORS:
            self.monitors.append(
                start_monitor(
                    self.devices[name].socket, self.out_dir / name, self.headless, self.out_dir / f"{name}.log"
                )
            )

    def set_clocks(self, at) -> None:
        self.backend.set_clock(at)
        for device in self.devices.values():
            device.do("clock", at=at.isoformat())

    def wait_until_delivered(self, must: bool = True) -> bool:
        """Until every kiosk's events are at the backend; with ``must``, an error after WAIT_S."""
        deadline = monotonic() + WAIT_S
        while any(self.devices[name].do("pending") for name in KIOSKS):
            if monotonic() > deadline:
                if must:
                    raise ApplianceError("the kiosks' events did not reach the reference backend; see their logs")
                return False
            sleep(0.01)
        return True

    def stop(self) -> None:
        if self.screens:
            self.screens.stop()
        for monitor in self.monitors:
            stop_process(monitor)
        for device in self.devices.values():
            device.stop()
        for scanner in self.scanners.values():
            scanner.close()
        self.backend.stop()
        for printer in self.printers.values():
            printer.stop()


def run_demo(
    minutes: float | None, headless: bool, out_dir: Path, var_dir: Path, speed: float = 1.0, seed: int | None = None
) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    site_key = demo_site_key(var_dir)
    office = Office(out_dir, var_dir, headless)
    try:
        office.provision()
        tz = load_config(office.configs[KIOSKS[0]]).device.timezone
        start = demo_start(SystemClock().now(), [var_dir / name / "state.db" for name in KIOSKS], tz)
        office.backend.start(clock_start=start)
        return run_office(office, site_key, start, tz, minutes, out_dir, speed, seed, stop)
    except ApplianceError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    finally:
        office.stop()


def stopped_before(stop: threading.Event, due: float) -> bool:
    """Whether ``stop`` is set before the monotonic time ``due``. Looked at every second: a signal that another
    thread took runs its handler (which sets ``stop``) only when the main thread wakes."""
    while (left := due - monotonic()) > 0:
        if stop.wait(min(left, 1.0)):
            return True
    return stop.is_set()


def run_office(office: Office, site_key, start, tz, minutes, out_dir: Path, speed, seed, stop) -> int:
    """The simulated office day on the started office: visitors at both kiosks, counters calling."""
    end = start + timedelta(minutes=minutes if minutes is not None else 24 * 60)
    config = load_config(office.configs[KIOSKS[0]])
    checkin = config.checkin
    # The office day: the same simulator the wait-time benchmark scores estimators on.
    day = OfficeDay(
        DaySpec(
            seed=seed if seed is not None else random.randrange(2**31),
            day=start.astimezone(tz).date(),
            tz=tz,
            opening=start.astimezone(tz).time(),
            checkin_rules=CheckInRules(checkin.early, checkin.late, LatePolicy(checkin.late_policy)),
        )
    )
    codes, booked = book_appointments(day, DEMO_SITE, site_key, office.backend, office.var_dir)
    office.start_devices(start)
    for name in KIOSKS:
        wait_for_day_list(office.devices[name], booked)
    office.show()
    screens, devices = office.screens, office.devices
    screens.agree(monotonic(), "the start")  # the office as it starts: every screen shows the backend's state
    screens.agreement = Agreement()
    output = DemoOutput(out_dir, terminal=not office.headless and sys.stdout.isatty())
    print(
        f"demo: an office of {len(KIOSKS)} kiosks and {len(MONITORS)} monitors, state in {office.var_dir}/*/ "
        f"(numbers continue from earlier runs today); while it runs: entrance-appliance status --socket "
        f"{devices[KIOSKS[0]].socket}",
        file=sys.stderr,
    )
    counters = Counters(office.backend, screens, output, tz, [c.name for c in config.concerns])
    visitors = Visitors(office.devices, office.scanners, screens, output, codes, tz)

    def call_next(counter: int, at):
        """A free counter of the simulated office calls the next visitor at the central system."""
        office.set_clocks(max(at, start))
        office.wait_until_delivered()  # the backend decides on what the kiosks have told it
        concern = counters.call_next(counter, at)
        output.screen(screens.views()[MONITORS[0]])
        return concern

    progress = Progress(minutes) if minutes is not None else None
    begun = monotonic()
    try:
        for event in day.events(call_next=call_next):
            if stop.is_set():
                break
            if event.at > end:
                if progress:  # the whole stretch was simulated: say so, not the last event's 9x%
                    progress.show(minutes, end.astimezone(tz))
                break
            if minutes is None:  # real time, sped up by `speed`
                if stopped_before(stop, begun + (event.at - start).total_seconds() / speed):
                    break
            if isinstance(event, WalkIn | AppointmentArrival):
                office.set_clocks(event.at)
                visitors.come(event)
                output.screen(screens.views()[MONITORS[0]])
            if progress:
                progress.show((event.at - start).total_seconds() / 60, event.at.astimezone(tz))
    finally:
        if progress:
            progress.done()
    shown = screens.views()[MONITORS[0]]
    delivered = office.wait_until_delivered(must=False)
    sleep(0.5)  # the monitors draw the last state before they go
    office.stop()
    summarize(office, counters, visitors, len(shown.waiting) + len(shown.appointments), delivered, out_dir)
    return 0


def summarize(office: Office, counters, visitors, waiting: int, delivered: bool, out_dir: Path) -> None:
    agreement = office.screens.agreement
    if agreement.disagreements:
        with open(out_dir / "screens.log", "a", encoding="utf-8") as log:
            log.writelines(f"{line}\n" for line in agreement.disagreements)
    tally, per_kiosk = counters.tally | visitors.tally, visitors.tickets_at
    print(
        f"demo: {tally['tickets']} tickets printed ({', '.join(f'{n} at {k}' for k, n in per_kiosk.items())}), "
        f"{tally['check-ins']} appointments checked in, {tally['calls']} calls ({tally['recalls']} recalls, "
        f"{tally['not come']} not come, {tally['transfers']} transfers), {waiting} still waiting; "
        f"monitors: {', '.join(f'{out_dir / name}/*.png' for name in MONITORS)} and {out_dir / 'monitor.txt'}, "
        f"tickets: {out_dir / 'tickets'}/*/*.png",
        file=sys.stderr,
    )
    verdict = (
        f"all {len(office.devices)} screens agreed after every one of {agreement.changes} changes"
        if not agreement.disagreements
        else f"the screens did NOT agree within {WAIT_S:g} s after {len(agreement.disagreements)} of "
        f"{agreement.changes} changes (see {out_dir / 'screens.log'})"
    )
    late = sum(ms > AGREE_WITHIN_S * 1000 for ms in agreement.latencies_ms)
    print(
        f"demo: {verdict} (until they did: max {max(agreement.latencies_ms, default=0):.0f} ms, "
        f"p99 {agreement.percentile(0.99):.0f} ms, {late} later than {AGREE_WITHIN_S:g} s)",
        file=sys.stderr,
    )
    held = sum(len(office.backend.events(name)) for name in KIOSKS)
    print(
        f"demo: the reference backend holds {held} events of the kiosks"
        + ("" if delivered else " (some were still on their way: they go up on the next run)"),
        file=sys.stderr,
    )


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


def wait_for_day_list(kiosk: DeviceRunner, booked: set[str]) -> None:
    """Until the kiosk's sync has fetched the booked day (so the first scans find their appointments)."""
    deadline = monotonic() + WAIT_S
    while monotonic() < deadline:
        if booked <= set(kiosk.do("held")):
            return
        sleep(0.02)
    raise ApplianceError(f"{kiosk.name} did not get the booked day list from the reference backend")


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
