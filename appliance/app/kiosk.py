"""The kiosk's answer to a visitor: a press goes to the dispenser, a scan to the core, and the verdict
to the screen (through the monitor process) and to the panel's LEDs and buzzer; the control buttons
(repeat, volume, language) reach the screen's voice the same way."""

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future

from appliance.domain.commands import CheckIn
from appliance.domain.errors import ClockNotTrusted
from appliance.domain.panel import Beep, PanelState
from appliance.domain.screen import KioskAnswer
from appliance.domain.wording import CLOCK_UNKNOWN, DEFAULT_LANGUAGE, OUT_OF_ORDER, TRY_AGAIN

log = logging.getLogger(__name__)


class Kiosk:
    """What drivers call when a visitor acts, and what the dispenser signals through (``show``, ``beep``).

    ``dispenser`` and ``panel`` are set by the wiring when this device has them; ``listeners`` hear
    every answer (the daemon's view, the demo), ``control_listeners`` every press of a control button
    or a ticket button (the daemon's view). A language chosen with the
    language button lasts ``language_idle_s`` after the visitor's last press or scan.
    """

    def __init__(
        self,
        core,
        clock,
        *,
        languages: tuple[str, ...] = (DEFAULT_LANGUAGE,),
        language_idle_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._core = core
        self._clock = clock
        self.dispenser = None
        self.panel = None
        self.answer: KioskAnswer | None = None
        self.listeners: list = []
        self.control_listeners: list = []
        self.languages = languages
        self.language_idle_s = language_idle_s
        self._monotonic = monotonic
        self._chosen: tuple[str, float] | None = None  # the button's language, and when the visitor last acted
        # Presses of each control button since start: the screen acts on each new one. "ticket" counts the
        # ticket buttons' presses (not the screen's own touches), so the screen stops speaking at once.
        self.controls: dict[str, int] = {"repeat": 0, "volume": 0, "language": 0, "ticket": 0}

    @property
    def language(self) -> str | None:
        """The language chosen with the language button, until the visitor has gone; else None."""
        if self._chosen is not None and self._monotonic() < self._chosen[1] + self.language_idle_s:
            return self._chosen[0]
        return None

    def control(self, name: str) -> None:
        """A control button was pressed: "repeat" and "volume" are the screen's voice's; "language" steps
        to the next offered language (after the last, the first again)."""
        if name == "language":
            shown, offered = self.language or DEFAULT_LANGUAGE, self.languages
            following = offered[(offered.index(shown) + 1) % len(offered)] if shown in offered else offered[0]
            self._chosen = (following, self._monotonic()) if following != DEFAULT_LANGUAGE else None
            log.info("kiosk language (button): %s", following)
        else:
            self._visitor_acted()
        self._count_control(name)

    def _count_control(self, name: str) -> None:
        self.controls[name] += 1
        for listener in self.control_listeners:
            listener(name)

    def _visitor_acted(self) -> None:
        if self.language is not None:
            self._chosen = (self._chosen[0], self._monotonic())

    def press(self, concern: str, source: str = "button", language: str | None = None) -> str:
        """A visitor asked for a ticket (in ``language`` beside German, if chosen here or with the
        language button); answered by the dispenser, or at once when it cannot. Returns what the asker
        is told plainly."""
        self._visitor_acted()
        if source != "touch":
            self._count_control("ticket")
        language = language or self.language
        if self.dispenser is not None and self.dispenser.failure() is None:
            return self.dispenser.request(concern, source, language)
        # No printer, or its dispenser waits for a restart: say so rather than do nothing.
        self.show_answer(KioskAnswer(OUT_OF_ORDER, None, self._clock.now()))
        self.show(PanelState.OUT_OF_ORDER)
        self.beep(Beep.REFUSED)
        return "out of order: no printer takes tickets now"

    def scan(self, payload: str, source: str = "scanner") -> Future:
        """Check in what a scanner read; the visitor sees and hears the verdict."""
        self._visitor_acted()
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
