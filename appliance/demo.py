"""The demo: the real appliance (config, state, core, control socket) on simulated hardware.

Simulated visitors press the ticket buttons and simulated counters call them, on a simulated
clock, so a stretch of an office day runs in seconds. What the monitor would show is written to
``demo-out/`` (and drawn in the terminal when there is one).
"""
import heapq
import math
import os
import random
import signal
import sys
import threading
from time import monotonic
from datetime import time, timedelta
from pathlib import Path

from display.text_screen import render_monitor
from drivers.simulated import SimulatedButtons, SimulatedCounter

from .clock import FakeClock, SystemClock
from .config import Layer, load_layers
from .config.loader import DEFAULTS_FILE
from .daemon import Appliance
from .errors import ApplianceError

DEMO_CONFIG = """
[device]
id = demo-kiosk
site = demo-office
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

[state]
database = {var}/state.db

[core]
control_socket = {var}/control.sock
"""
# Share of walk-ins per concern, and the counters' mean service minutes.
CONCERN_WEIGHTS = {"leave": 3, "first-application": 2, "documents": 5}
COUNTERS = 4
MEAN_SERVICE_MIN = 7.0
OPENING = time(7, 30)


def demo_config(var_dir: Path):
    return load_layers([Layer(str(DEFAULTS_FILE), None, DEFAULTS_FILE.parent),
                        Layer("<embedded demo config>", DEMO_CONFIG.format(var=var_dir.resolve()), Path.cwd())])


def arrivals_per_minute(minute_of_day: float) -> float:
    """Walk-ins: a morning rush around 08:30, a quieter midday, a small bump after lunch."""
    hour = minute_of_day / 60
    return 0.25 + 0.9 * math.exp(-((hour - 8.5) ** 2) / 0.8) + 0.3 * math.exp(-((hour - 13.5) ** 2) / 0.5)


def demo_start(now, store, tz):
    """Today at opening time, or where the previous demo run's simulated day stopped."""
    local = now.astimezone(tz)
    opening = local.replace(hour=OPENING.hour, minute=OPENING.minute, second=0, microsecond=0)
    latest = store.recent_events(1)
    return max(opening, latest[0].created_at + timedelta(minutes=1)) if latest else opening


def run_demo(minutes: float | None, headless: bool, out_dir: Path, var_dir: Path, speed: float = 1.0,
             seed: int | None = None) -> int:
    config = demo_config(var_dir)
    rng = random.Random(seed)
    clock = FakeClock(SystemClock().now())
    try:
        appliance = Appliance(config, clock=clock)
    except ApplianceError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 3
    clock.set(demo_start(clock.now(), appliance.store, config.device.timezone))
    out_dir.mkdir(parents=True, exist_ok=True)
    output = DemoOutput(out_dir, config, terminal=not headless and sys.stdout.isatty())
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    appliance.start()
    print(f"demo: state in {config.state.database} (numbers continue from earlier runs today), screens in "
          f"{out_dir}/; while it runs: entrance-appliance status --socket {config.core.control_socket}",
          file=sys.stderr)
    buttons = SimulatedButtons(appliance.core)
    counters = [SimulatedCounter(appliance.core, n) for n in range(1, COUNTERS + 1)]
    start = clock.now()
    end = start + timedelta(minutes=minutes) if minutes is not None else None
    tz = config.device.timezone
    agenda: list = []  # (instant, order, action, argument)
    order = 0

    def schedule(instant, action, argument=None):
        nonlocal order
        order += 1
        heapq.heappush(agenda, (instant, order, action, argument))

    def next_arrival(after):
        local = after.astimezone(tz)
        rate = arrivals_per_minute(local.hour * 60 + local.minute)
        return after + timedelta(minutes=rng.expovariate(rate))

    schedule(next_arrival(start), "arrive")
    for counter in counters:
        schedule(start + timedelta(minutes=rng.uniform(0, 3)), "call", counter)
    issued = called = 0
    progress = Progress(minutes) if minutes is not None else None
    try:
        while agenda and not stop.is_set():
            instant, _, action, argument = heapq.heappop(agenda)
            if end is not None and instant > end:
                if progress:  # the whole stretch was simulated: say so, not the last event's 9x%
                    progress.show(minutes, end.astimezone(tz))
                break
            if minutes is None:  # real time, sped up by `speed`
                if stop.wait(max(0.0, (instant - clock.now()).total_seconds() / speed)):
                    break
            clock.set(instant)
            if action == "arrive":
                concern = rng.choices(list(CONCERN_WEIGHTS), weights=list(CONCERN_WEIGHTS.values()))[0]
                try:
                    ticket = buttons.press(concern).result(timeout=10)
                    issued += 1
                    output.ticket(ticket, instant.astimezone(tz), appliance.core.snapshot)
                except ApplianceError as error:
                    output.note(f"{instant.astimezone(tz):%H:%M} no ticket: {error}")
                schedule(next_arrival(instant), "arrive")
            else:
                ticket = argument.call_next().result(timeout=10)
                if ticket is None:
                    schedule(instant + timedelta(seconds=30), "call", argument)
                else:
                    called += 1
                    output.call(ticket, instant.astimezone(tz))
                    service = rng.lognormvariate(math.log(MEAN_SERVICE_MIN), 0.5)
                    schedule(instant + timedelta(minutes=service), "call", argument)
            output.screen(appliance.core.snapshot)
            if progress:
                progress.show((instant - start).total_seconds() / 60, instant.astimezone(tz))
    finally:
        if progress:
            progress.done()
        snapshot = appliance.core.snapshot
        appliance.stop()
        output.close()
    print(f"demo: {issued} tickets issued, {called} called, {snapshot.waiting_count()} still waiting; "
          f"monitor: {out_dir / 'monitor.txt'}, tickets: {out_dir / 'tickets.log'}", file=sys.stderr)
    return 0


class DemoOutput:
    """Writes what the monitor and the ticket printer would show."""

    def __init__(self, out_dir: Path, config, terminal: bool):
        self.out_dir, self.config, self.terminal = out_dir, config, terminal
        self._serial = None
        self._drawn_at = 0.0
        self._tickets = open(out_dir / "tickets.log", "a", encoding="utf-8")
        self._calls = open(out_dir / "calls.log", "a", encoding="utf-8")

    def ticket(self, ticket, local_time, snapshot):
        concern = self.config.concern(ticket.concern)
        ahead = sum(1 for entry in snapshot.waiting if entry.code != ticket.code)
        self._tickets.write(f"{local_time:%Y-%m-%d %H:%M}  {ticket.code}  {concern.title('de')}  "
                            f"({ahead} vor Ihnen / ahead of you)\n")
        self._tickets.flush()

    def call(self, ticket, local_time):
        self._calls.write(f"{local_time:%Y-%m-%d %H:%M}  {ticket.code} -> Schalter / Counter {ticket.counter}\n")
        self._calls.flush()

    def close(self):
        self._tickets.close()
        self._calls.close()

    def note(self, text):
        self._tickets.write(text + "\n")

    def screen(self, snapshot):
        if snapshot.serial == self._serial:
            return
        self._serial = snapshot.serial
        text = render_monitor(snapshot, self.config.concerns, self.config.device.timezone)
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
