"""The kiosk layout's behaviour: which screen shows when, in which language, and touches sent to the
daemon as presses. Drawing is kiosk_render's; this decides between welcome, answer, "one moment" and out
of order, keeps a visitor's chosen language until they have gone, and has the screen spoken (again, or
louder) when a visitor asks by key, touch or button.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from appliance.display.kiosk_render import (
    KioskFrame,
    KioskTicket,
    OneMoment,
    OutOfOrder,
    render_kiosk,
    returning_notice,
)
from appliance.display.kiosk_voice import spoken_language_choice
from appliance.display.view import MonitorView, WaitRange
from appliance.domain.screen import KioskAnswer
from appliance.domain.wording import DEFAULT_LANGUAGE, TRY_AGAIN, VisitorMessage, text

log = logging.getLogger(__name__)

ANSWER_S = 15.0
# A chosen language outlasts one visitor's answer and their next scan; the next visitor finds German.
LANGUAGE_IDLE_S = 60.0
# Before it goes the screen says so, and a touch anywhere keeps it (a timeout that warns and can be extended).
LANGUAGE_WARNING_S = 10.0
# A double tap, or a finger that bounces, must not print two tickets.
DEBOUNCE_S = 2.0
# Longer than a ticket takes to issue and print; an answer that comes later still shows when it comes.
PENDING_S = 12.0
# Keys (as pygame names them) a visitor without sight finds by touch: the keypad's 5 carries the dot.
KEYS = {"r": "repeat", "[5]": "repeat", "+": "volume", "[+]": "volume"}


class KioskScreen:
    """Keeps the latest view and answer; ``render`` draws what a visitor should see now.

    Durations run on ``monotonic``: a Pi without a real-time clock may set its wall clock late.
    """

    def __init__(
        self,
        send_press: Callable[[str, str | None], None] | None = None,
        *,
        touch: bool = False,
        answer_s: float = ANSWER_S,
        language: str = DEFAULT_LANGUAGE,
        language_idle_s: float = LANGUAGE_IDLE_S,
        debounce_s: float = DEBOUNCE_S,
        pending_s: float = PENDING_S,
        monotonic: Callable[[], float] = time.monotonic,
        voice=None,
        large_text: bool = False,
    ):
        """``voice`` (a KioskVoice) speaks each new answer as it is shown, and the screen again when asked;
        ``large_text`` draws every text larger (EN 301 549 5.1.4)."""
        self.touch = touch  # buttons are drawn; they are pressed only with a ``send_press``
        self.answer_s = answer_s
        self.default_language = language  # the screen's own first language, [monitor] language
        self.language_idle_s = language_idle_s
        self._chosen: tuple[str, float] | None = None  # the visitor's language, and when they last acted
        self._send_press = send_press
        self.voice = voice
        self.large_text = large_text
        self._seen_controls: dict[str, int] | None = None  # control presses in the daemon's last view
        self._debounce_s = debounce_s
        self._pending_s = pending_s
        self._monotonic = monotonic
        self.view: MonitorView | None = None
        self.connected = False
        self._seen_answer: KioskAnswer | None = None
        self._answer: tuple[KioskTicket | VisitorMessage, float] | None = None  # the screen, shown until
        self._pending_until: float | None = None
        self._last_press = float("-inf")
        self._frame: KioskFrame | None = None
        self._shown = None  # the screen last drawn

    def offer(self, view: MonitorView, now: datetime) -> None:
        """Takes a new view; a new answer in it shows for ``answer_s`` (``now`` is the view's clock), and
        new presses of the daemon's control and ticket buttons are acted on."""
        self.view = view
        controls = {name: view.kiosk.presses(name) for name in ("language", "volume", "repeat", "ticket")}
        seen = self._seen_controls
        # The first view's counts are history.
        pressed = [] if seen is None else [name for name, count in controls.items() if count > seen.get(name, 0)]
        self._seen_controls = controls
        if "ticket" in pressed:  # a ticket button: cut off what is being said now, as a touch does
            self._ticket_asked()
        self._take_answer(view, now)  # after the press: its answer may be in this same view
        if "language" in pressed:
            self.choose_language(view.kiosk.language or self.default_language)
            self._speak_language()
        if "volume" in pressed:
            self.louder()
        elif "repeat" in pressed:
            self.repeat()

    def _take_answer(self, view: MonitorView, now: datetime) -> None:
        answer = view.kiosk.answer
        if answer is None or answer == self._seen_answer:
            return
        self._seen_answer = answer
        if answer.at is not None and (now - answer.at).total_seconds() > self.answer_s:
            return  # from before the monitor (re)started: that visitor has gone
        self._answer = (answer_screen(answer, view), self._monotonic() + self.answer_s)
        self._pending_until = None
        self._visitor_acted()
        self._speak(self._answer[0])
        log.info("kiosk answer: %s%s", answer.message.kind, f" ({answer.code})" if answer.code else "")

    def set_connected(self, connected: bool) -> None:
        self.connected = connected

    def press_answered(self, concern: str, error: str | None) -> None:
        """The daemon took the press (the ticket's answer follows in a view), or it did not."""
        if error is None:
            return
        log.warning("the press for %s was not taken: %s", concern, error)
        self._pending_until = None
        self._answer = (TRY_AGAIN, self._monotonic() + self.answer_s)
        self._speak(TRY_AGAIN)

    def repeat(self) -> None:
        """Speaks what the screen shows now once more (EN 301 549 5.1.3.5)."""
        self._visitor_acted()
        self._speak(self.screen())

    def louder(self) -> None:
        """The speech one step louder for this visitor, heard at once on what the screen shows."""
        if self.voice is not None:
            self.voice.louder()
        self.repeat()

    def key_pressed(self, key: str) -> bool:
        """A key (pygame's name for it) on a keyboard or keypad at the kiosk; True when it was one of KEYS."""
        action = KEYS.get(key)
        if action == "repeat":
            self.repeat()
        elif action == "volume":
            self.louder()
        return action is not None

    def _speak(self, screen) -> None:
        if self.voice is not None:
            self.voice.say(screen, self.language, touch=self.touch)

    def _speak_language(self) -> None:
        self._speak_text(spoken_language_choice(self.language, touch=self.touch), self.language)

    def _speak_text(self, words: str, language: str, *, by_visitor: bool = True) -> None:
        if self.voice is not None:
            self.voice.say_text(words, language, by_visitor=by_visitor)

    @property
    def language(self) -> str:
        """The language shown first now: the visitor's choice until they have gone, else the screen's own."""
        if self._chosen is not None and self._monotonic() < self._chosen[1] + self.language_idle_s:
            return self._chosen[0]
        return self.default_language

    @property
    def language_returning(self) -> bool:
        """Whether the chosen language goes within LANGUAGE_WARNING_S (the welcome screen then says so)."""
        if self.language == self.default_language:
            return False
        return self._chosen[1] + self.language_idle_s - self._monotonic() <= LANGUAGE_WARNING_S

    def choose_language(self, language: str) -> None:
        offered = self.view.languages if self.view else ()
        if language not in offered:
            log.warning("language %r is not offered (%s)", language, ", ".join(offered))
            return
        log.info("kiosk language: %s", language)
        self._chosen = (language, self._monotonic()) if language != self.default_language else None

    def _visitor_acted(self) -> None:
        if self._chosen is not None and self.language != self.default_language:
            self._chosen = (self._chosen[0], self._monotonic())

    def screen(self) -> KioskTicket | VisitorMessage | OutOfOrder | OneMoment | None:
        """What shows now; None is the welcome screen."""
        now = self._monotonic()
        if not self.connected or self.view is None:
            return OutOfOrder()  # no daemon: a touch could not print anything
        if self._answer is not None and now < self._answer[1]:
            return self._answer[0]
        if self._pending_until is not None and now < self._pending_until:
            return OneMoment()
        if self.view.kiosk.out_of_order is not None:
            return OutOfOrder()
        return None

    def seconds_to_next_change(self) -> float | None:
        """How long until time alone changes the screen (an answer, a wait or a chosen language ends), or None."""
        now = self._monotonic()
        language_ends = self._chosen[1] + self.language_idle_s if self._chosen else None
        warning = language_ends - LANGUAGE_WARNING_S if language_ends else None
        ends = [
            end
            for end in (self._answer[1] if self._answer else None, self._pending_until, warning, language_ends)
            if end is not None and end > now
        ]
        return min(ends) - now if ends else None

    def due(self) -> bool:
        """True when what should show is no longer what was drawn (time alone can do that)."""
        return self._frame is None or (self.screen(), self.language, self.language_returning) != self._shown

    def render(self, surface, now: datetime) -> KioskFrame:
        view = self.view
        offered = view.languages if view else (DEFAULT_LANGUAGE,)
        first = self.language
        # Beside a visitor's language stands German; beside German, the office's next language.
        second = DEFAULT_LANGUAGE if first != DEFAULT_LANGUAGE else next((c for c in offered if c != first), None)
        screen, returning = self.screen(), self.language_returning
        if returning and screen is None and not (self._shown and self._shown[2]):
            self._speak_text(text(returning_notice(self.touch), first), first, by_visitor=False)  # warned aloud too
        self._shown = (screen, first, returning)
        self._frame = render_kiosk(
            surface,
            screen,
            now,
            concerns=view.concerns if view else (),
            touch=self.touch,
            language=first,
            second_language=second,
            languages=offered,
            language_returning=returning,
            large_text=self.large_text,
        )
        return self._frame

    def touched(self, point: tuple[int, int]) -> bool:
        """A touch at ``point`` in picture coordinates; True when it was taken as a press."""
        if self._frame is not None and self._frame.hit_repeat(point):
            self.repeat()
            return False
        if self._send_press is None or self._frame is None or self.screen() is not None:
            return False  # buttons only count while the welcome screen with them is up
        language = self._frame.hit_language(point)
        if language is not None:
            self.choose_language(language)
            self._speak_language()
            return True
        concern = self._frame.hit(point)
        if concern is None:
            self._visitor_acted()  # a touch anywhere says the visitor is still there
            return False
        now = self._monotonic()
        if now - self._last_press < self._debounce_s:
            log.debug("touch on %s ignored: a press was sent %.1f s ago", concern, now - self._last_press)
            return False
        self._last_press = now
        log.info("touch: %s", concern)
        self._ticket_asked()  # before the press goes: its refusal may come back at once, and is said last
        self._send_press(concern, self.language if self.language != DEFAULT_LANGUAGE else None)
        return True

    def _ticket_asked(self) -> None:
        """A ticket was asked for (a touch here, or the daemon's ticket button): "one moment" until its
        answer, which cuts off what was being said and is heard to be felt. The last answer goes: a button
        can be pressed while it still shows, and it was the last visitor's."""
        self._answer = None
        self._pending_until = self._monotonic() + self._pending_s
        self._visitor_acted()
        self._speak(OneMoment())


def answer_screen(answer: KioskAnswer, view: MonitorView) -> KioskTicket | VisitorMessage:
    """A ticket (its number, people ahead, wait) for a ticket's answer; else the message.

    People ahead and the wait are the ticket's own, as printed; the view names the concern by the code's
    prefix (a long office list shows only its head, so the ticket may not be listed).
    """
    if answer.message.kind != "ok" or answer.code is None or answer.ahead is None:
        return answer.message
    prefixed = [c for c in view.concerns if c.prefix and answer.code.startswith(c.prefix)]
    concern = max(prefixed, key=lambda c: len(c.prefix), default=None)
    wait = WaitRange(*answer.wait) if answer.wait else None
    return KioskTicket(answer.code, concern, ahead=answer.ahead, wait=wait)


class PressSender:
    """Sends ``{"request": "press", "concern": ...}`` on its own thread, so drawing never waits.

    ``answered(concern, error)`` is called on that thread: error is None when the daemon took it. A press
    names the visitor's language when they chose one, so the ticket is printed in it beside German.
    """

    def __init__(self, socket_path: Path, answered: Callable[[str, str | None], None], *, timeout_s: float = 5.0):
        self.socket_path = Path(socket_path)
        self._answered = answered
        self._timeout_s = timeout_s
        self._presses: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kiosk-press", daemon=True)
        self._thread.start()

    def send(self, concern: str, language: str | None = None) -> None:
        self._presses.put((concern, language))

    def close(self, timeout: float = 2.0) -> None:
        self._presses.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        from appliance.protocol.control import Request, request

        while (press := self._presses.get()) is not None:
            concern, language = press
            chosen = {"language": language} if language else {}
            try:
                request(self.socket_path, Request.PRESS, timeout=self._timeout_s, concern=concern, **chosen)
                error = None
            except Exception as failure:  # refused, no daemon, a garbled answer: the next press must still go
                error = str(failure) or type(failure).__name__
            self._answered(concern, error)
