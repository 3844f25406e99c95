"""What the monitor shows, parsed from the daemon's view (appliance.app.view) into the domain's own classes.

Parsing never raises: a bad or missing field becomes a safe default and a note in ``problems``.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.domain.screen import ConcernInfo, KioskAnswer
from appliance.domain.snapshot import AppointmentEntry, CallEntry, QueueEntry
from appliance.domain.wording import KINDS, VisitorMessage

DEFAULT_TIMEZONE = "Europe/Berlin"
# Codes are what the waiting room reads aloud and on screen. A strict shape keeps anything
# else (a name typed into the wrong field upstream) off the screen: no spaces, no lower-case words.
CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,11}")
LANGUAGE = re.compile(r"[a-z]{2}")
# Bounds keep a runaway upstream list from costing the display its memory or its frame time.
MAX_WAITING, MAX_CALLS, MAX_APPOINTMENTS, MAX_CONCERNS = 500, 50, 100, 40
MAX_TITLE, MAX_TICKER = 160, 600


@dataclass(frozen=True)
class WaitRange:
    low_min: int
    high_min: int


@dataclass(frozen=True)
class KioskState:
    """What the kiosk screen needs beyond the queue: the latest answer, and whether it can serve."""

    answer: KioskAnswer | None = None
    out_of_order: str | None = None  # why (for the log); the screen only says "Außer Betrieb"
    language: str | None = None  # chosen with the kiosk's language button, while the visitor is there
    controls: tuple[tuple[str, int], ...] = ()  # (control button or "ticket", presses since the daemon started)

    def presses(self, control: str) -> int:
        return dict(self.controls).get(control, 0)


@dataclass(frozen=True)
class MonitorView:
    """One picture's worth of state; equal views draw the same picture (serial and age aside)."""

    device: str = ""
    site: str = ""
    languages: tuple[str, ...] = ("de", "en")
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    concerns: tuple[ConcernInfo, ...] = ()
    waiting: tuple[QueueEntry, ...] = ()  # walk-ins, in call order
    recent_calls: tuple[CallEntry, ...] = ()  # newest first
    appointments: tuple[AppointmentEntry, ...] = ()  # checked in, listed above the walk-ins
    waits: tuple[tuple[str, WaitRange], ...] = ()
    counts: tuple[tuple[str, int], ...] = ()  # (concern, everyone waiting of it in the office, listed or not)
    stale_since: datetime | None = None
    open: bool = True
    ticker: str = ""
    kiosk: KioskState = KioskState()
    # Not part of the picture: a keep-alive with a new serial must not cause a redraw.
    serial: int = field(default=0, compare=False)
    taken_at: datetime | None = field(default=None, compare=False)
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def current_call(self) -> CallEntry | None:
        return self.recent_calls[0] if self.recent_calls else None

    @property
    def earlier_calls(self) -> tuple[CallEntry, ...]:
        """The calls before the current one, newest first, each number once (its latest counter), and
        never the current number: a recall or a transfer must not make a visitor read their number twice."""
        seen = {self.current_call.code} if self.current_call else set()
        earlier = []
        for call in self.recent_calls[1:]:
            if call.code not in seen:
                seen.add(call.code)
                earlier.append(call)
        return tuple(earlier)

    def wait_for(self, concern: str) -> WaitRange | None:
        return dict(self.waits).get(concern)

    def concern(self, name: str) -> ConcernInfo | None:
        return next((c for c in self.concerns if c.name == name), None)

    def waiting_count(self, concern: str) -> int:
        return dict(self.counts).get(concern, 0)


def parse_view(data) -> MonitorView:
    """The view line's dict as a MonitorView; unknown keys (a "name", say) are ignored, never shown."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return MonitorView(problems=(f"view is {type(data).__name__}, not an object",))
    snapshot = data.get("snapshot")
    if snapshot is None:
        snapshot = {}
    elif not isinstance(snapshot, dict):
        problems.append("snapshot is not an object")
        snapshot = {}
    concerns = _items(data.get("concerns"), "concerns", MAX_CONCERNS, _concern, problems)
    waiting = _items(snapshot.get("waiting"), "waiting", MAX_WAITING, _waiting, problems)
    appointments = _items(snapshot.get("appointments"), "appointments", MAX_APPOINTMENTS, _appointment, problems)
    return MonitorView(
        device=_text(data.get("device"), 40),
        site=_text(data.get("site"), 40),
        languages=_languages(data.get("languages"), problems),
        timezone=_zone(data.get("timezone"), problems),
        concerns=concerns,
        waiting=waiting,
        recent_calls=_items(snapshot.get("recent_calls"), "recent_calls", MAX_CALLS, _call, problems),
        appointments=appointments,
        waits=_waits(data.get("waits"), problems),
        counts=_counts(snapshot.get("waiting_counts"), appointments + waiting, problems),
        stale_since=_stale_since(data.get("backend"), problems),
        open=_open(data.get("open"), problems),
        ticker=_text(data.get("ticker"), MAX_TICKER),
        kiosk=_kiosk(data.get("kiosk"), problems),
        serial=snapshot.get("serial") if isinstance(snapshot.get("serial"), int) else 0,
        taken_at=_instant(snapshot.get("taken_at")),
        problems=tuple(problems),
    )


def _items(value, key, limit, parse_one, problems) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"{key} is not a list")
        return ()
    parsed = []
    for index, raw in enumerate(value[:limit]):
        item = parse_one(raw) if isinstance(raw, dict) else None
        if item is None:
            problems.append(f"{key}[{index}] is not valid and is left out")
        else:
            parsed.append(item)
    if len(value) > limit:
        problems.append(f"{key} has {len(value)} entries; the first {limit} are shown")
    return tuple(parsed)


def _concern(raw: dict) -> ConcernInfo | None:
    name, prefix = _text(raw.get("name"), 40), _text(raw.get("prefix"), 3)
    titles = raw.get("titles") if isinstance(raw.get("titles"), dict) else {}
    titles = tuple(
        (language, _text(title, MAX_TITLE))
        for language, title in titles.items()
        if isinstance(language, str) and LANGUAGE.fullmatch(language) and _text(title, MAX_TITLE)
    )
    return ConcernInfo(name, prefix, titles or (("de", name),)) if name else None


def _call(raw: dict) -> CallEntry | None:
    code, counter, called_at = _code(raw.get("code")), _counter(raw.get("counter")), _instant(raw.get("called_at"))
    if code is None or counter is None or called_at is None:
        return None
    return CallEntry(code, _text(raw.get("concern"), 40), counter, called_at, _text(raw.get("call"), 64))


def _waiting(raw: dict) -> QueueEntry | None:
    code, issued_at = _code(raw.get("code")), _instant(raw.get("issued_at"))
    return QueueEntry(code, _text(raw.get("concern"), 40), issued_at) if code and issued_at else None


def _appointment(raw: dict) -> AppointmentEntry | None:
    code = _code(raw.get("code"))
    return (
        AppointmentEntry(
            code, _text(raw.get("concern"), 40), _text(raw.get("slot"), 5), _instant(raw.get("checked_in_at"))
        )
        if code
        else None
    )


def _code(value) -> str | None:
    if isinstance(value, str) and CODE.fullmatch(value.strip()):
        return value.strip()
    return None


def _counter(value) -> int | None:
    # Counters are numbers: the core calls to counter 3, and the waiting room hears "Schalter 3".
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9999:
        return value
    return None


def _waits(value, problems) -> tuple[tuple[str, WaitRange], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append("waits is not an object")
        return ()
    waits = []
    for concern, raw in list(value.items())[:MAX_CONCERNS]:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = [raw, raw]
        numbers = (
            [n for n in raw if isinstance(n, (int, float)) and not isinstance(n, bool) and 0 <= n < 24 * 60]
            if isinstance(raw, list) and len(raw) == 2
            else []
        )
        if len(numbers) != 2:
            problems.append(f"waits[{concern!r}] is not [low, high] in minutes")
            continue
        low, high = sorted(round(n) for n in numbers)
        waits.append((str(concern), WaitRange(low, high)))
    return tuple(waits)


def _counts(value, listed, problems) -> tuple[tuple[str, int], ...]:
    """How many wait per concern: the daemon's counts (the lists show only the head of the office's);
    without them, the lists counted."""
    if value is None:
        counted: dict[str, int] = {}
        for entry in listed:
            counted[entry.concern] = counted.get(entry.concern, 0) + 1
        return tuple(sorted(counted.items()))
    pairs = value[:MAX_CONCERNS] if isinstance(value, list) else []
    counts = tuple(
        (_text(pair[0], 40), pair[1])
        for pair in pairs
        if isinstance(pair, list) and len(pair) == 2 and type(pair[1]) is int and 0 <= pair[1] <= 1_000_000
    )
    if len(counts) != len(pairs) or not isinstance(value, list):
        problems.append("waiting_counts is not a list of [concern, count]; those not are left out")
    return counts


def _stale_since(backend, problems) -> datetime | None:
    if backend is None:
        return None
    if not isinstance(backend, dict):
        problems.append("backend is not an object")
        return None
    raw = backend.get("stale_since")
    since = _instant(raw)
    if raw is not None and since is None:
        problems.append("backend.stale_since is not an ISO time")
    return since


def _open(value, problems) -> bool:
    if value is None or isinstance(value, bool):
        return value is not False
    problems.append("open is not true or false; shown as open")
    return True


def _kiosk(value, problems) -> KioskState:
    if value is None:
        return KioskState()  # a daemon without a kiosk role, or an older one
    if not isinstance(value, dict):
        problems.append("kiosk is not an object")
        return KioskState()
    language = value.get("language")
    if language is not None and not (isinstance(language, str) and LANGUAGE.fullmatch(language)):
        problems.append("kiosk.language is not a two-letter code; it is left out")
        language = None
    return KioskState(
        _kiosk_answer(value.get("answer"), problems),
        _out_of_order(value.get("out_of_order"), problems),
        language,
        _controls(value.get("controls"), problems),
    )


def _controls(value, problems) -> tuple[tuple[str, int], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(type(n) is int and n >= 0 for n in value.values()):
        problems.append("kiosk.controls is not an object of press counts; it is left out")
        return ()
    return tuple(sorted((str(name), count) for name, count in value.items()))


def _kiosk_answer(value, problems) -> KioskAnswer | None:
    # Problems never quote the values: a wrong field might hold a name.
    if value is None:
        return None
    raw = value.get("message") if isinstance(value, dict) else None
    if isinstance(raw, dict) and raw.get("kind") not in KINDS:
        problems.append("kiosk.answer.message.kind is not ok, warn or error; shown as warn")
        raw = dict(raw, kind="warn")
    message = VisitorMessage.from_json(raw)
    if message is None:
        problems.append("kiosk.answer has no message with a known title and body; it is not shown")
        return None
    code = _code(value.get("code"))
    if value.get("code") is not None and code is None:
        problems.append("kiosk.answer.code is not shaped like a code; it is left out")
    at = _instant(value.get("at"))
    if value.get("at") is not None and at is None:
        problems.append("kiosk.answer.at is not an ISO time")
    ahead, wait = value.get("ahead"), value.get("wait")
    if ahead is not None and not (type(ahead) is int and 0 <= ahead <= MAX_WAITING):
        problems.append("kiosk.answer.ahead is not a count of people; it is left out")
        ahead = None
    if wait is not None and not (
        isinstance(wait, list) and len(wait) == 2 and all(type(m) is int and 0 <= m <= 24 * 60 for m in wait)
    ):
        problems.append("kiosk.answer.wait is not [low, high] minutes; it is left out")
        wait = None
    return KioskAnswer(message, code, at, ahead=ahead, wait=tuple(wait) if wait else None)


def _out_of_order(value, problems) -> str | None:
    if value is None or value is False:
        return None
    if isinstance(value, str) and value.strip():
        return _text(value, 200)
    # The daemon sends null while it can serve: anything else means it cannot, whatever its shape.
    if value is not True:
        problems.append("kiosk.out_of_order is not text; taken as out of order")
    return "out of order"


def _languages(value, problems) -> tuple[str, ...]:
    if value is None:
        return ("de", "en")
    found = tuple(v for v in value if isinstance(v, str) and LANGUAGE.fullmatch(v)) if isinstance(value, list) else ()
    if not found:
        problems.append("languages is not a list of two-letter codes")
        return ("de", "en")
    return found


def _zone(value, problems) -> ZoneInfo:
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if value is not None:
        problems.append(f"timezone {value!r} is unknown; {DEFAULT_TIMEZONE} is used")
    return ZoneInfo(DEFAULT_TIMEZONE)


def _instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # The core's clock is UTC and always aware; a naive time can only be UTC too.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(value, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    # Control characters would draw as boxes; newlines would break a one-line layout.
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
