"""What the demo shows and keeps: the kiosk's answers and the calls as logs, the monitor as text
(and in the terminal), and a progress bar.
"""

import os
import sys
from pathlib import Path
from time import monotonic

from appliance.app.view import monitor_view
from appliance.display.text_screen import monitor_text
from appliance.display.view import parse_view


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
