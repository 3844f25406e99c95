"""The kiosk's screen spoken (EN 301 549 5.1.3): each answer in the screen's language, offline through
espeak-ng on this device, again on request and louder on request; the next answer interrupts the one being
spoken. Codes and counts only, never a name.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from appliance.display.announcer import spoken_code
from appliance.display.kiosk_render import KioskTicket, OneMoment, OutOfOrder
from appliance.domain.catalogs import language_name
from appliance.domain.wording import OUT_OF_ORDER, VisitorMessage, text, ticket_message

log = logging.getLogger(__name__)

# The speech's loudness as a share of full scale: a visitor's "louder" steps up, from the top back to the
# quietest (one button does both), and the next visitor hears the configured level again (5.1.3.13).
VOLUME_STEPS = (0.25, 0.5, 0.75, 1.0)
DEFAULT_VOLUME = 0.75


def spoken_answer(
    screen: KioskTicket | VisitorMessage | OutOfOrder | OneMoment | None, language: str, *, touch: bool = False
) -> str:
    """What the screen says, as one text to speak: a ticket's number letter by letter, then the queue;
    None (the welcome screen) says what to do, with the touchscreen's or the buttons' wording."""
    if screen is None:
        steps = ("kiosk_appointment", "kiosk_choose" if touch else "kiosk_walk_in")
        return ". ".join(text(step, language) for step in steps) + "."
    if isinstance(screen, OneMoment):
        return text("one_moment", language)
    if isinstance(screen, OutOfOrder):
        screen = OUT_OF_ORDER
    if isinstance(screen, KioskTicket):
        wait = (screen.wait.low_min, screen.wait.high_min) if screen.wait else None
        screen = ticket_message(spoken_code(screen.code), screen.ahead, wait)
    return f"{screen.title.render(language)}. {screen.body.render(language)}"


def spoken_language_choice(language: str, *, touch: bool = False) -> str:
    """What a visitor hears on choosing a language: its name, then what to do, in that language."""
    return f"{language_name(language)}. {spoken_answer(None, language, touch=touch)}"


class KioskVoice:
    """Speaks on its own thread, so drawing never waits; only the newest text is spoken.

    ``volume`` is the level every visitor starts at; ``louder()`` raises it for the visitor at the kiosk,
    and ``visitor_idle_s`` after their last action (a ``say`` or a ``louder``) it is ``volume`` again.
    """

    def __init__(
        self,
        player,
        speech,
        *,
        volume: float = DEFAULT_VOLUME,
        visitor_idle_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.player, self.speech = player, speech
        self.default_volume = volume
        self.visitor_idle_s = visitor_idle_s
        self._monotonic = monotonic
        self._raised: tuple[float, float] | None = None  # the visitor's level, and when they last acted
        self.spoken: deque[tuple[str, str, float]] = deque(maxlen=50)  # (language, text, ms from say to sound)
        self._wanted: tuple[int, str, str, float, float] | None = None
        self._serial = 0
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="kiosk-voice", daemon=True)
        self._thread.start()

    @property
    def volume(self) -> float:
        """The level the next text is spoken at."""
        if self._raised is not None and self._monotonic() < self._raised[1] + self.visitor_idle_s:
            return self._raised[0]
        return self.default_volume

    def louder(self) -> float:
        """One step up (from the loudest, the quietest again) for this visitor; returns the new level."""
        level = next((step for step in VOLUME_STEPS if step > self.volume + 1e-9), VOLUME_STEPS[0])
        self._raised = (level, self._monotonic())
        log.info("kiosk speech volume: %d %%", round(level * 100))
        return level

    def say(self, screen, language: str, *, touch: bool = False) -> None:
        """Speak ``screen`` (an answer, or what the kiosk shows) in ``language`` now, cutting off whatever is
        being spoken."""
        self.say_text(spoken_answer(screen, language, touch=touch), language)

    def say_text(self, words: str, language: str, *, by_visitor: bool = True) -> None:
        """Speak ``words``; ``by_visitor`` False when the kiosk speaks on its own (a timeout's warning),
        which does not keep a raised volume."""
        if by_visitor and self._raised is not None and self.volume != self.default_volume:
            self._raised = (self._raised[0], self._monotonic())  # the visitor is still there
        with self._changed:
            self._serial += 1
            self._wanted = (self._serial, words, language, self.volume, time.monotonic())
            self._changed.notify()
        self.player.stop()

    def close(self, timeout: float = 5.0) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        self.player.stop()
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                while self._wanted is None and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                serial, words, language, volume, asked_at = self._wanted
                self._wanted = None
            try:
                # espeak-ng speaks at the level asked: scaling its samples here took 100 ms a sentence.
                wav = self.speech.synthesize(words, voice=language, volume=volume)
                if wav and self._serial == serial:  # a newer answer came while this one was made: skip it
                    self.spoken.append((language, words, (time.monotonic() - asked_at) * 1000))
                    self.player.play(f"answer-{language}", wav)
            except Exception:  # a broken sound must not silence the next answer
                log.exception("speaking the kiosk's answer failed")
