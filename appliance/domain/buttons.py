"""The rules for the visitors' ticket buttons: which press issues a ticket, which button is broken.

Pure: no I/O and no threads of its own; every time is monotonic seconds handed in by the caller.
"""

import threading
from dataclasses import dataclass
from enum import Enum


class PressVerdict(Enum):
    """What a press on a button means."""

    ACCEPTED = "accepted"  # issue one ticket
    STILL_HELD = "still held"  # chatter or a second edge while the button is down
    STUCK = "stuck"  # the button is out of order until it is released


@dataclass
class _Button:
    held: bool = False
    held_since: float | None = None  # start of the current hold; chatter does not restart it
    last_release: float | None = None
    hold_before_release: float = 0.0  # how long the last completed hold lasted


class ButtonGate:
    """Turns the press and release edges of the ticket buttons into verdicts, one button at a time.

    - a press issues a ticket only if the button was released since its last press, so a held
      button gives one ticket per press-and-release;
    - how often a concern's tickets may be asked for is the kiosk's one rule for every way to ask
      (appliance.domain.press_limit), not the button's;
    - a button held for ``stuck_after_s`` is STUCK (wired wrong or jammed): it gives no tickets
      and is listed by ``stuck()`` until it is released;
    - a press within ``bounce_s`` of a release is the contact bouncing, not a new press: the
      button counts as still held. gpiozero's mock pins do not simulate ``bounce_time`` and the
      kernel's debounce differs between pin libraries, so the rule lives here, behind the
      injected clock, where the tests can reach it.

    Callbacks arrive on gpiozero's threads, so every method takes the gate's lock.
    """

    def __init__(self, stuck_after_s: float = 30.0, bounce_s: float = 0.05):
        if bounce_s < 0:
            raise ValueError(f"bounce_s must be 0 or more, not {bounce_s}")
        if stuck_after_s <= bounce_s:
            raise ValueError(f"stuck_after_s ({stuck_after_s}) must be longer than bounce_s ({bounce_s})")
        self.stuck_after_s = stuck_after_s
        self.bounce_s = bounce_s
        self._buttons: dict[str, _Button] = {}
        self._lock = threading.Lock()

    def pressed(self, button: str, at: float) -> PressVerdict:
        """A press edge of ``button`` at ``at``; only ACCEPTED issues a ticket."""
        with self._lock:
            b = self._buttons.setdefault(button, _Button())
            if b.held:
                return PressVerdict.STUCK if self._is_stuck(b, at) else PressVerdict.STILL_HELD
            if b.last_release is not None and at - b.last_release < self.bounce_s:
                # The release just before was the contact bouncing: the hold goes on, from its
                # start.
                b.held = True
                return PressVerdict.STUCK if self._is_stuck(b, at) else PressVerdict.STILL_HELD
            b.held, b.held_since = True, at
            return PressVerdict.ACCEPTED

    def released(self, button: str, at: float) -> None:
        """A release edge of ``button`` at ``at``; a release without a press is ignored."""
        with self._lock:
            b = self._buttons.setdefault(button, _Button())
            if not b.held:
                return
            b.held, b.last_release = False, at
            b.hold_before_release = at - b.held_since

    def already_held(self, button: str, at: float) -> None:
        """``button`` was found down when the panel started: no ticket, but the stuck clock runs."""
        with self._lock:
            b = self._buttons.setdefault(button, _Button())
            if not b.held:
                b.held, b.held_since = True, at

    def is_held(self, button: str) -> bool:
        with self._lock:
            b = self._buttons.get(button)
            return b is not None and b.held

    def stuck(self, at: float) -> tuple[str, ...]:
        """The buttons out of order at ``at``, in the order they were first seen."""
        with self._lock:
            return tuple(name for name, b in self._buttons.items() if self._is_stuck(b, at))

    def _is_stuck(self, b: _Button, at: float) -> bool:
        if b.held:
            return at - b.held_since >= self.stuck_after_s
        # A stuck contact that lets go may bounce: it is back in service only once the release
        # has lasted longer than a bounce, so the technician does not get "recovered, stuck".
        return (
            b.last_release is not None
            and b.hold_before_release >= self.stuck_after_s
            and at - b.last_release < self.bounce_s
        )
