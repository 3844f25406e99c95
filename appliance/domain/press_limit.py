"""One rate limit for every way a visitor asks for a ticket (a button, the touchscreen, the control
socket): per concern at most one ticket every ``min_gap_s``, and at most ``queue_size`` waiting to print.

Pure: no I/O; every time is monotonic seconds handed in by the caller, who holds the lock it needs.
"""

from enum import Enum

QUEUE_SIZE = 4  # tickets waiting for the printer: a few concerns asked for at once, never a flood


class Ask(Enum):
    """What became of a visitor's request for a ticket."""

    TAKEN = "taken"  # queued: the ticket (or the reason there is none) follows on the kiosk
    TOO_SOON = "too soon"  # within the minimum gap after this concern's last ticket: that one is the answer
    BUSY = "busy"  # the printer's queue is full: ask again in a moment


class PressLimit:
    def __init__(self, min_gap_s: float = 3.0, queue_size: int = QUEUE_SIZE):
        if min_gap_s < 0:
            raise ValueError(f"min_gap_s must be 0 or more, not {min_gap_s}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be 1 or more, not {queue_size}")
        self.min_gap_s, self.queue_size = min_gap_s, queue_size
        self._last_taken: dict[str, float] = {}

    def ask(self, concern: str, at: float, queued: int) -> Ask:
        """A request for a ticket of ``concern`` at ``at``, with ``queued`` requests waiting to print."""
        last = self._last_taken.get(concern)
        if last is not None and at - last < self.min_gap_s:
            return Ask.TOO_SOON
        if queued >= self.queue_size:
            return Ask.BUSY
        self._last_taken[concern] = at
        return Ask.TAKEN

    def describe(self, verdict: Ask, concern: str) -> str:
        """What the asker is told, plainly (the control socket's answer to ``press``)."""
        if verdict is Ask.TOO_SOON:
            return f"too soon: one ticket of {concern!r} every {self.min_gap_s:g} s; the last one is the answer"
        if verdict is Ask.BUSY:
            return f"busy: {self.queue_size} tickets are waiting for the printer; ask again in a moment"
        return "pressed"
