"""The demo's office: its config files (one site file shared through each device's conf.d, a short file
per device), each device a process of its own (app.demo_device), and the screens compared as they change.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance.app.child_lifetime import dies_with_parent
from appliance.display.feed import ViewFeed
from appliance.domain.errors import ApplianceError

WAIT_S = 60.0  # for what a device does on its own (start, print, sync); far longer than it takes, also emulated

# The office's part of the config, the same on every device (conf.d/site.conf). Buttons: the same
# wiring on every kiosk. min_gap: the dispenser's rate limit runs on real monotonic time, where the demo's
# visitors at one button come a few milliseconds apart (minutes apart on the simulated day), so it is
# 0 here (a real kiosk keeps the default 3 s); the gate's debounce stays, the demo paces presses of
# one button past it. appointments_interval (the demo's): the day is booked before the devices start
# and fetched at their start; fetched again mid-run, it would reload the queue at a moment set by
# real time.
SITE_FILE = """\
# The office's settings, shared by all its devices: this same file is each device's conf.d/site.conf.
[device]
site = {site}

[concern:leave]
title_de = Urlaub beantragen
title_en = Apply for leave
prefix = A
button = GPIO17

[concern:first-application]
title_de = Bürgergeld beantragen
title_en = Apply for Bürgergeld
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

[checkin]
modes = signed, reference
public_key_file = {var}/site.key.pub

[backend]
url = {backend}
heartbeat_interval = 10s
appointments_interval = {appointments_interval}
"""
# What differs per device: its name and role, its own hardware, state, socket and token.
OWN_PARTS = """
[backend]
token_file = {var}/backend.token

[state]
database = {var}/state.db

[core]
control_socket = {var}/control.sock
"""
KIOSK_FILE = (
    """\
[device]
id = {device}
roles = kiosk

[scanner]
inputs = {var}/scanner.fifo

[printer]
uri = {printer}
"""
    + OWN_PARTS
)
MONITOR_FILE = (
    """\
[device]
id = {device}
roles = monitor
"""
    + OWN_PARTS
)


def write_site_file(var_dir: Path, site: str, backend_url: str, appointments_interval: str = "1h") -> Path:
    """``appointments_interval``: how often the devices fetch the day's appointments again."""
    path = var_dir / "site.conf"
    text = SITE_FILE.format(
        site=site,
        var=var_dir.resolve(),
        backend=backend_url,
        appointments_interval=appointments_interval,
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_device_file(site_file: Path, device_dir: Path, text: str, **values) -> Path:
    """The device's own file, and the site file linked into its conf.d (as each Pi gets the same copy)."""
    (device_dir / "conf.d").mkdir(parents=True, exist_ok=True)
    link = device_dir / "conf.d" / "site.conf"
    if not link.is_symlink():
        link.symlink_to(site_file.resolve())
    path = device_dir / "appliance.conf"
    path.write_text(text.format(var=device_dir.resolve(), **values), encoding="utf-8")
    return path


class DeviceRunner:
    """The demo's end of one device process: commands in, replies and kiosk answers out."""

    def __init__(self, name: str, config: Path, clock_start, log_path: Path):
        self.name, self.config = name, config
        self.socket = config.parent / "control.sock"
        self._replies: queue.Queue = queue.Queue()
        self.answers: queue.Queue = queue.Queue()
        with open(log_path, "ab") as log:
            # A session of its own: Ctrl-C reaches the demo only, which then stops the devices in order.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "appliance.app.demo_device", "--config", str(config)]
                + ["--clock-start", clock_start.isoformat()],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
                preexec_fn=dies_with_parent(),
            )
        threading.Thread(target=self._read, name=f"demo-{name}", daemon=True).start()
        if self._reply("start") != "ready":
            raise ApplianceError(f"{name} did not start; see its log {log_path}")

    def do(self, command: str, **arguments):
        self._process.stdin.write(json.dumps({"do": command, **arguments}) + "\n")
        self._process.stdin.flush()
        return self._reply(command)

    def answer(self, action: str) -> dict:
        """What the kiosk screen said next (after ``action``)."""
        try:
            return self.answers.get(timeout=WAIT_S)
        except queue.Empty:
            raise ApplianceError(f"no answer on {self.name}'s screen to {action}") from None

    def stop(self) -> None:
        if self._process.poll() is None:
            try:
                self._process.stdin.write(json.dumps({"do": "stop"}) + "\n")
                self._process.stdin.close()
            except OSError:
                pass
            try:
                self._process.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _reply(self, command: str):
        try:
            message = self._replies.get(timeout=WAIT_S)
        except queue.Empty:
            raise ApplianceError(f"{self.name} did not answer {command!r}") from None
        if message is None or "error" in message:
            raise ApplianceError(f"{self.name} failed at {command!r}: {message and message['error'] or 'it ended'}")
        return message["reply"]

    def _read(self) -> None:
        for line in self._process.stdout:
            message = json.loads(line)
            (self.answers if "answer" in message else self._replies).put(message.get("answer", message))
        self._replies.put(None)  # the process ended


def picture(view) -> tuple:
    """The part of a screen every device of the office must agree on: calls, checked-in appointments,
    walk-ins waiting."""
    return (
        tuple((call.code, call.counter, call.call) for call in view.recent_calls),
        tuple(entry.code for entry in view.appointments),
        tuple(entry.code for entry in view.waiting),
    )


@dataclass
class Agreement:
    """How the office's screens followed its changes: how many, how many agreed, how long it took."""

    changes: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)  # what each screen showed, each time

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


class OfficeScreens:
    """Every device's screen as its monitor process receives it (a subscription on its control socket)."""

    def __init__(self, sockets: dict[str, Path]):
        self._views: dict = {}
        self._changed = threading.Condition()
        self.agreement = Agreement()
        self._feeds = [
            ViewFeed(path, lambda kind, value, name=name: self._deliver(name, kind, value)).start()
            for name, path in sockets.items()
        ]
        self._names = list(sockets)

    def views(self) -> dict:
        with self._changed:
            return dict(self._views)

    def any_view(self):
        """One screen's view: after they agreed, what every one shows."""
        with self._changed:
            return next(iter(self._views.values()))

    def agree(self, started: float, what: str, check=lambda shown: True, timeout: float = WAIT_S) -> bool:
        """Waits until every screen shows the same picture and ``check(picture)`` holds; notes how long
        since ``started`` (time.monotonic) that took, or that they did not agree within ``timeout``: a screen
        that is late on a busy machine is late (the summary counts it), not one that disagrees."""
        self.agreement.changes += 1
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                pictures = {picture(view) for view in self._views.values()}
                if len(self._views) == len(self._names) and len(pictures) == 1 and check(next(iter(pictures))):
                    self.agreement.latencies_ms.append((time.monotonic() - started) * 1000)
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    shown = {name: picture(view) for name, view in self._views.items()}
                    self.agreement.disagreements.append(f"{what}: {shown}")
                    return False
                self._changed.wait(remaining)

    def stop(self) -> None:
        for feed in self._feeds:
            feed.stop()

    def _deliver(self, name: str, kind: str, value) -> None:
        if kind == "view":
            with self._changed:
                self._views[name] = value
                self._changed.notify_all()


def start_monitor(
    control_socket: Path,
    out_dir: Path,
    headless: bool,
    log_path: Path,
    options: tuple[str, ...] = (),
    environment: dict | None = None,
) -> subprocess.Popen:
    """A call-up monitor, as on a device: its own process, fed over the control socket. Headless, it
    writes a PNG after every change; with a display, it opens a window. ``options``: the monitor's own;
    ``environment``: its process's (this one's unless given)."""
    command = [sys.executable, "-m", "appliance.app.monitor_process", "--socket", str(control_socket)]
    command += ["--clock", "snapshot", "--no-sound", "--log-level", "warning", *options]
    command += ["--out", str(out_dir), "--size", "1280x720"] if headless else ["--windowed", "--size", "960x540"]
    environment = dict(os.environ if environment is None else environment)
    if headless:
        environment.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            preexec_fn=dies_with_parent(),
        )


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
