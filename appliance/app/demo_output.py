"""What the demo shows and keeps: the kiosks' answers and the calls as logs, a monitor as text
(and in the terminal), and a progress bar.
"""

import os
import sys
from pathlib import Path
from time import monotonic

from appliance.display.text_screen import monitor_text


class DemoOutput:
    """Writes what the kiosks said, the calls, and what a monitor shows."""

    def __init__(self, out_dir: Path, terminal: bool):
        self.out_dir, self.terminal = out_dir, terminal
        self._shown = None
        self._drawn_at = 0.0

    def answer(self, log_name, local_time, device: str, answer: dict):
        """What a kiosk screen said, one line (German title and body)."""
        with open(self.out_dir / log_name, "a", encoding="utf-8") as log:
            log.write(f"{local_time:%Y-%m-%d %H:%M}  {device}  {answer['title']}: {answer['body']}\n")

    def call(self, local_time, call: dict, what: str = ""):
        """A counter's operation at the backend: a call or recall, or ``what`` else happened."""
        line = what or f"{call['code']} -> Schalter / Counter {call['counter']}"
        with open(self.out_dir / "calls.log", "a", encoding="utf-8") as log:
            log.write(f"{local_time:%Y-%m-%d %H:%M}  {line}\n")

    def screen(self, view):
        """``view``: what a monitor was last sent (display.view.MonitorView)."""
        if view is None or view == self._shown:
            return
        self._shown = view
        text = monitor_text(view)
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
