"""Key events from a keyboard-wedge scanner turned into the text it typed.

A pure function of the event stream (it reads only the events and their own kernel timestamps),
so every rule is tested with real ``evdev.InputEvent`` objects and no device.
"""

import unicodedata
from dataclasses import dataclass, field

from evdev import InputEvent
from evdev import ecodes as e

from appliance.drivers.errors import BadDriverSetting

DEFAULT_MAX_GAP_S = 0.05
"""Longest pause between two key-downs inside one code. Scanners type a character every few
milliseconds; a person on a keyboard needs about 100 ms. Slow Bluetooth scanners may need more."""

DEFAULT_MAX_LENGTH = 512
"""Longest code kept, in characters; the appliance's codes are far shorter."""

_SHIFT = {e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT}
_ALTGR = e.KEY_RIGHTALT
# Held with a key, these make it a shortcut, not text (a scanner never sends them in a code).
_NOT_TEXT = {e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL, e.KEY_LEFTALT, e.KEY_LEFTMETA, e.KEY_RIGHTMETA}
_ENTER = {e.KEY_ENTER, e.KEY_KPENTER}


@dataclass(frozen=True)
class Layout:
    """What each key types: plain, with Shift, with AltGr ("" where nothing)."""

    name: str
    keys: dict[int, tuple[str, str, str]]
    dead: frozenset[str] = field(default_factory=frozenset)
    """Characters typed by dead keys: they wait for the next key (space gives the character)."""


def _row(codes: list[int], plain: str, shifted: str) -> dict[int, tuple[str, str, str]]:
    assert len(codes) == len(plain) == len(shifted)
    return {code: (plain[i], shifted[i], "") for i, code in enumerate(codes)}


_LETTERS = [getattr(e, f"KEY_{c}") for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
_DIGITS = [getattr(e, f"KEY_{c}") for c in "1234567890"]
_KEYPAD = {
    e.KEY_KP0: "0",
    e.KEY_KP1: "1",
    e.KEY_KP2: "2",
    e.KEY_KP3: "3",
    e.KEY_KP4: "4",
    e.KEY_KP5: "5",
    e.KEY_KP6: "6",
    e.KEY_KP7: "7",
    e.KEY_KP8: "8",
    e.KEY_KP9: "9",
    e.KEY_KPPLUS: "+",
    e.KEY_KPMINUS: "-",
    e.KEY_KPASTERISK: "*",
    e.KEY_KPSLASH: "/",
    e.KEY_KPEQUAL: "=",
}
# Scanners assume Num Lock is on: keypad keys are digits and operators, never arrows.
_KEYPAD_KEYS = {code: (ch, ch, "") for code, ch in _KEYPAD.items()}
_COMMON = {e.KEY_SPACE: (" ", " ", ""), e.KEY_TAB: ("\t", "\t", "")}

US = Layout(
    name="us",
    keys={
        **_row(_LETTERS, "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        **_row(_DIGITS, "1234567890", "!@#$%^&*()"),
        **_row(
            [
                e.KEY_MINUS,
                e.KEY_EQUAL,
                e.KEY_LEFTBRACE,
                e.KEY_RIGHTBRACE,
                e.KEY_SEMICOLON,
                e.KEY_APOSTROPHE,
                e.KEY_GRAVE,
                e.KEY_BACKSLASH,
                e.KEY_COMMA,
                e.KEY_DOT,
                e.KEY_SLASH,
            ],
            "-=[];'`\\,./",
            '_+{}:"~|<>?',
        ),
        **_KEYPAD_KEYS,
        e.KEY_KPDOT: (".", ".", ""),
        **_COMMON,
    },
)


# German QWERTZ as Linux's xkb "de" layout types it: Y and Z swapped, umlauts on the US
# punctuation keys, symbols on AltGr (@ is AltGr+Q), dead ^ ´ `, and a comma on the keypad.
def _with_altgr(keys: dict[int, tuple[str, str, str]], altgr: dict[int, str]) -> dict[int, tuple[str, str, str]]:
    return {code: (plain, shifted, altgr.get(code, third)) for code, (plain, shifted, third) in keys.items()}


# German QWERTZ as Linux's xkb "de" layout types it: Y and Z swapped, umlauts on the US
# punctuation keys, symbols on AltGr (@ is AltGr+Q), dead ^ ´ `, and a comma on the keypad.
DE = Layout(
    name="de",
    keys=_with_altgr(
        {
            **_row(_LETTERS, "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            e.KEY_Y: ("z", "Z", ""),
            e.KEY_Z: ("y", "Y", ""),
            **_row(_DIGITS, "1234567890", '!"§$%&/()='),
            **_row(
                [
                    e.KEY_MINUS,
                    e.KEY_EQUAL,
                    e.KEY_LEFTBRACE,
                    e.KEY_RIGHTBRACE,
                    e.KEY_SEMICOLON,
                    e.KEY_APOSTROPHE,
                    e.KEY_GRAVE,
                    e.KEY_BACKSLASH,
                    e.KEY_COMMA,
                    e.KEY_DOT,
                    e.KEY_SLASH,
                    e.KEY_102ND,
                ],
                "ß´ü+öä^#,.-<",
                "?`Ü*ÖÄ°';:_>",
            ),
            **_KEYPAD_KEYS,
            e.KEY_KPDOT: (",", ",", ""),
            **_COMMON,
        },
        {
            e.KEY_Q: "@",
            e.KEY_E: "€",
            e.KEY_M: "µ",
            e.KEY_2: "²",
            e.KEY_3: "³",
            e.KEY_7: "{",
            e.KEY_8: "[",
            e.KEY_9: "]",
            e.KEY_0: "}",
            e.KEY_MINUS: "\\",
            e.KEY_RIGHTBRACE: "~",
            e.KEY_102ND: "|",
        },
    ),
    dead=frozenset("^´`"),
)

LAYOUTS = {layout.name: layout for layout in (US, DE)}

# What a dead key adds to the letter after it (NFC turns the pair into one character).
_COMBINING = {"^": "\u0302", "´": "\u0301", "`": "\u0300"}


class KeyDecoder:
    """Feeds on one device's key events; returns a code when its terminator (Enter) arrives.

    Rules:
    - Shift (left or right) and Caps Lock work as on a keyboard; AltGr (right Alt) types the
      layout's third level (German @ { [ ] } \\ | ~ €); keys held with Ctrl, left Alt or Meta
      are shortcuts and type nothing; dead keys (German ^ ´ `) wait for the next key.
    - Enter and keypad Enter end a code; Enter alone is no code.
    - A pause between two key-downs longer than ``max_gap_s`` (by the events' own timestamps)
      drops the partial code, and the key after it starts a new one; the pause also forgets
      modifiers whose release was lost. So half a code from a slow scanner is never glued to
      the next scan; its second half, if it ends with Enter, reaches the core as an unreadable
      code, which tells the visitor to scan again.
    - A code longer than ``max_length`` is dropped whole, up to its Enter.
    - Autorepeat (value 2) adds nothing: a scanner never holds a key, a repeat only means the
      host was late. Lost events (SYN_DROPPED) drop the code in progress.
    - Keys that type nothing in the layout are ignored.
    """

    def __init__(
        self, layout: str | Layout = "us", *, max_gap_s: float = DEFAULT_MAX_GAP_S, max_length: int = DEFAULT_MAX_LENGTH
    ):
        if isinstance(layout, str):
            if layout not in LAYOUTS:
                raise BadDriverSetting(f"unknown keyboard layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
            layout = LAYOUTS[layout]
        if max_gap_s <= 0 or max_length < 1:
            raise BadDriverSetting("max_gap_s must be positive and max_length at least 1")
        self.layout = layout
        self.max_gap_s = max_gap_s
        self.max_length = max_length
        self.dropped_partial = 0
        """Partial codes dropped after a pause (a slow scanner, or a person at a keyboard)."""
        self.dropped_too_long = 0
        self._held: set[int] = set()
        self._caps_lock = False
        self._buffer: list[str] = []
        self._dead = ""
        self._overflow = False
        self._discard = False  # after lost events: wait for the next Enter or pause
        self._last_down: float | None = None

    def feed(self, event) -> str | None:
        """One ``InputEvent`` in; the finished code out when this event ended one."""
        if event.type == e.EV_SYN and event.code == e.SYN_DROPPED:
            # The kernel's buffer overflowed: events are missing, so the code in progress is
            # wrong and modifier releases may be lost.
            self._reset_code()
            self._held.clear()
            self._discard = True
            return None
        if event.type != e.EV_KEY:
            return None
        code, value = event.code, event.value
        if value == 0:
            self._held.discard(code)
            return None
        if value != 1:
            return None  # autorepeat
        now = event.sec + event.usec / 1_000_000
        if self._last_down is not None:
            gap = now - self._last_down
            # A clock stepped backwards (event times are wall-clock) counts as a pause too.
            if gap > self.max_gap_s or gap < 0:
                if self._buffer or self._dead:
                    self.dropped_partial += 1
                self._reset_code()
                self._discard = False
                # A scanner holds a modifier only for the key it modifies: one still "held"
                # after a pause lost its release (garbage, a replug), and must not change codes.
                self._held.clear()
        self._last_down = now
        self._held.add(code)

        if code in _ENTER:
            return self._finish()
        if code == e.KEY_CAPSLOCK:
            self._caps_lock = not self._caps_lock
            return None
        char = self._char_for(code)
        if char:
            self._type(char)
        return None

    def _char_for(self, code: int) -> str:
        entry = self.layout.keys.get(code)
        if entry is None or self._held & _NOT_TEXT:
            return ""
        plain, shifted, altgr = entry
        if _ALTGR in self._held:
            return altgr
        shift = bool(self._held & _SHIFT)
        if self._caps_lock and plain.isalpha() and shifted == plain.upper():
            shift = not shift
        return shifted if shift else plain

    def _type(self, char: str) -> None:
        if self._dead:
            dead, self._dead = self._dead, ""
            if char == " ":
                char = dead
            else:
                composed = unicodedata.normalize("NFC", char + _COMBINING[dead])
                char = composed if len(composed) == 1 else dead + char
        elif char in self.layout.dead:
            self._dead = char
            return
        if self._overflow or self._discard:
            return
        self._buffer.append(char)
        if len(self._buffer) > self.max_length:
            self.dropped_too_long += 1
            self._buffer.clear()
            self._overflow = True

    def _finish(self) -> str | None:
        if self._dead:
            self._type(" ")  # a dead key right before Enter types itself
        text = "".join(self._buffer)
        drop = self._overflow or self._discard
        self._reset_code()
        self._discard = False
        if drop or not text:
            return None
        return text

    def _reset_code(self) -> None:
        self._buffer.clear()
        self._dead = ""
        self._overflow = False


def type_events(
    text: str, *, layout: str | Layout = "us", start: float = 0.0, interval_s: float = 0.004, enter: bool = True
) -> list[InputEvent]:
    """The events a scanner sends to type ``text`` (then Enter): for the simulated scanner and tests.

    Each character is a key-down and key-up with its modifiers around it, followed by
    ``SYN_REPORT`` as the kernel sends it; key-downs are ``interval_s`` apart from ``start``.
    """
    if isinstance(layout, str):
        layout = LAYOUTS[layout]
    where: dict[str, tuple[int, int]] = {}
    for code, chars in sorted(layout.keys.items(), key=lambda item: item[0] in _KEYPAD_KEYS):
        for level, char in enumerate(chars):
            if char and char not in where:
                where[char] = (code, level)
    strokes: list[tuple[int, int]] = []
    for char in text:
        if char in layout.dead:
            strokes += [where[char], (e.KEY_SPACE, 0)]
        elif char in where:
            strokes.append(where[char])
        else:
            raise BadDriverSetting(f"the {layout.name} layout cannot type {char!r}")
    if enter:
        strokes.append((e.KEY_ENTER, 0))

    events = []
    now = start

    def emit(code: int, value: int) -> None:
        sec = int(now)
        events.append(InputEvent(sec, int(round((now - sec) * 1_000_000)), e.EV_KEY, code, value))
        events.append(InputEvent(sec, int(round((now - sec) * 1_000_000)), e.EV_SYN, e.SYN_REPORT, 0))

    for code, level in strokes:
        modifier = {1: e.KEY_LEFTSHIFT, 2: _ALTGR}.get(level)
        if modifier:
            emit(modifier, 1)
        emit(code, 1)
        emit(code, 0)
        if modifier:
            emit(modifier, 0)
        now += interval_s
    return events
