"""The kiosk's answer to a visitor: a press goes to the dispenser, a scan to the core, and the verdict
to the screen (through the monitor process) and to the panel's LEDs and buzzer."""

import logging
from concurrent.futures import Future

from appliance.domain.commands import CheckIn
from appliance.domain.errors import ClockNotTrusted
from appliance.domain.panel import Beep, PanelState
from appliance.domain.screen import KioskAnswer
from appliance.domain.wording import CLOCK_UNKNOWN, OUT_OF_ORDER, TRY_AGAIN

log = logging.getLogger(__name__)


class Kiosk:
    """What drivers call when a visitor acts, and what the dispenser signals through (``show``, ``beep``).

    ``dispenser`` and ``panel`` are set by the wiring when this device has them; ``listeners`` hear
    every answer (the daemon's view, the demo).
    """

    def __init__(self, core, clock):
        self._core = core
        self._clock = clock
        self.dispenser = None
        self.panel = None
        self.answer: KioskAnswer | None = None
        self.listeners: list = []

    def press(self, concern: str, source: str = "button", language: str | None = None) -> str:
        """A visitor asked for a ticket (in ``language`` beside German, if chosen); answered by the
        dispenser, or at once when it cannot. Returns what the asker is told plainly."""
        if self.dispenser is not None and self.dispenser.failure() is None:
            return self.dispenser.request(concern, source, language)
        # No printer, or its dispenser waits for a restart: say so rather than do nothing.
        self.show_answer(KioskAnswer(OUT_OF_ORDER, None, self._clock.now()))
        self.show(PanelState.OUT_OF_ORDER)
        self.beep(Beep.REFUSED)
        return "out of order: no printer takes tickets now"

    def scan(self, payload: str, source: str = "scanner") -> Future:
        """Check in what a scanner read; the visitor sees and hears the verdict."""
        future = self._core.submit(CheckIn(payload, source))

        def answer(done: Future) -> None:
            error = done.exception()
            if error is None:
                result = done.result()
                self.show_answer(KioskAnswer(result.message, result.display_code, self._clock.now()))
                self.beep(Beep.ACCEPTED if result.verdict.accepted else Beep.REFUSED)
                return
            if isinstance(error, ClockNotTrusted):
                self.show_answer(KioskAnswer(CLOCK_UNKNOWN, None, self._clock.now()))
            else:  # the core reported it; the visitor at the scanner must still hear what to do
                log.error("no verdict for a scan from %s: %s", source, type(error).__name__)
                self.show_answer(KioskAnswer(TRY_AGAIN, None, self._clock.now()))
            self.beep(Beep.REFUSED)

        future.add_done_callback(answer)
        return future

    def show_answer(self, answer: KioskAnswer) -> None:
        """The kiosk screen's answer to a press or a scan; the monitor process draws it."""
        self.answer = answer
        for listener in self.listeners:
            listener(answer)

    def show(self, state: PanelState) -> None:
        if self.panel is not None:
            self.panel.show(state)

    def beep(self, kind: Beep) -> None:
        if self.panel is not None:
            self.panel.beep(kind)
