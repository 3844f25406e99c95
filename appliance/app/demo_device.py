"""One device of the demo's office as a process of its own: the real daemon (Appliance) from its config
files, on gpiozero's mock pins and a clock the demo moves, driven by JSON lines on stdin.

``python -m appliance.app.demo_device --config FILE --clock-start ISO``. Commands, one JSON object a
line: ``{"do": "clock", "at": ISO}`` (the simulated day moves on), ``{"do": "press", "concern": name}``
(a visitor presses that button), ``{"do": "held"}`` (the day list's appointment ids), ``{"do":
"pending"}`` (events not yet at the backend), ``{"do": "stop"}``. Each is answered with ``{"reply":
value}`` on stdout; every answer on the kiosk screen comes as ``{"answer": {...}}`` when it is shown.
"""

import argparse
import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from appliance.app.config import load_config
from appliance.app.daemon import Appliance
from appliance.app.demo_hardware import MockButtons, use_mock_pins
from appliance.domain.commands import TakeDayList

WAIT_S = 15.0


class RunningClock:
    """Reads ``start`` when made and runs on in real time; ``set`` moves it on to a later instant (time
    passing for the simulated day: the monotonic reading moves along, so nobody sees a jump)."""

    def __init__(self, start: datetime):
        self._offset = start - datetime.now(UTC)
        self._leap = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        with self._lock:
            return time.monotonic() + self._leap

    def set(self, instant: datetime) -> None:
        with self._lock:
            ahead = instant - (datetime.now(UTC) + self._offset)
            if ahead.total_seconds() > 0:
                self._offset += ahead
                self._leap += ahead.total_seconds()


class DeviceProcess:
    """The device and the lines it writes: one lock, so a reply and an answer never interleave."""

    def __init__(self, config, clock: RunningClock, out=sys.stdout):
        self.clock, self._out = clock, out
        self._lock = threading.Lock()
        self.appliance = Appliance(config, clock=clock)
        self.appliance.kiosk.listeners.append(self._on_answer)
        self.buttons = None

    def start(self) -> None:
        self.appliance.start()
        pins = {c.name: c.button for c in self.appliance.config.concerns if c.button is not None}
        if "kiosk" in self.appliance.config.device.roles and pins:
            self.buttons = MockButtons(pins)

    def serve(self, lines) -> None:
        self.write({"reply": "ready"})
        for line in lines:
            command = json.loads(line)
            if command["do"] == "stop":
                break
            try:
                self.write({"reply": self.do(command)})
            except Exception as error:  # said to the demo, which stops the office with it
                self.write({"error": f"{command['do']}: {error}"})

    def do(self, command: dict):
        core = self.appliance.core
        match command["do"]:
            case "clock":
                self.clock.set(datetime.fromisoformat(command["at"]))
                return self.clock.now().isoformat()
            case "press":
                self.buttons.press(command["concern"])
                return "pressed"
            case "held":
                return [appointment.id for appointment in core.submit(TakeDayList()).result(WAIT_S)]
            case "pending":
                return core.snapshot.outbox_pending
        raise ValueError(f"unknown command {command!r}")

    def write(self, message: dict) -> None:
        with self._lock:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()

    def _on_answer(self, answer) -> None:
        message = answer.message
        self.write(
            {
                "answer": {
                    "code": answer.code,
                    "kind": message.kind,
                    "title": message.title.render(),
                    "body": message.body.render(),
                }
            }
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the device file (its conf.d beside it)")
    parser.add_argument("--clock-start", type=datetime.fromisoformat, required=True, help="the clock's reading now")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("appliance.drivers.gpio").setLevel(logging.DEBUG)  # each button verdict
    use_mock_pins()
    device = DeviceProcess(load_config(options.config), RunningClock(options.clock_start))
    device.start()
    try:
        device.serve(sys.stdin)
    finally:
        device.appliance.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
