"""The kiosk's answers spoken (EN 301 549 5.1.3): each answer in the screen's language, offline through
espeak-ng on this device; the next answer interrupts the one being spoken. Codes and counts only, never a name.
"""

import logging
import threading
import time
from collections import deque

from appliance.display.announcer import spoken_code
from appliance.display.kiosk_render import KioskTicket
from appliance.domain.wording import VisitorMessage, ticket_message

log = logging.getLogger(__name__)


def spoken_answer(answer: KioskTicket | VisitorMessage, language: str) -> str:
    """What the screen says, as one text to speak: a ticket's number letter by letter, then the queue."""
    if isinstance(answer, KioskTicket):
        wait = (answer.wait.low_min, answer.wait.high_min) if answer.wait else None
        answer = ticket_message(spoken_code(answer.code), answer.ahead, wait)
    return f"{answer.title.render(language)}. {answer.body.render(language)}"


class KioskVoice:
    """Speaks on its own thread, so drawing never waits; only the newest answer is spoken."""

    def __init__(self, player, speech):
        self.player, self.speech = player, speech
        self.spoken: deque[tuple[str, str, float]] = deque(maxlen=50)  # (language, text, ms from say to sound)
        self._wanted: tuple[int, str, str, float] | None = None
        self._serial = 0
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="kiosk-voice", daemon=True)
        self._thread.start()

    def say(self, answer: KioskTicket | VisitorMessage, language: str) -> None:
        """Speak ``answer`` in ``language`` now, cutting off whatever is being spoken."""
        with self._changed:
            self._serial += 1
            self._wanted = (self._serial, spoken_answer(answer, language), language, time.monotonic())
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
                serial, text, language, asked_at = self._wanted
                self._wanted = None
            try:
                wav = self.speech.synthesize(text, voice=language)
                if wav and self._serial == serial:  # a newer answer came while this one was made: skip it
                    self.spoken.append((language, text, (time.monotonic() - asked_at) * 1000))
                    self.player.play(f"answer-{language}", wav)
            except Exception:  # a broken sound must not silence the next answer
                log.exception("speaking the kiosk's answer failed")
