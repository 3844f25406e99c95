"""Time as the appliance sees it: an injectable clock (wall and monotonic) and the local calendar day.

Numbers are per local calendar day, so the day is always derived from the current instant in the
office's time zone, never remembered from start-up (a Pi dispenser that did repeated numbers).
"""

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class SystemClock:
    """The real wall clock, in UTC, and the monotonic clock that witnesses how much time really passed
    (it never jumps when someone or something sets the wall clock)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to: for tests and the demo's simulated day.

    ``advance`` and ``set`` to a later instant are time passing (the monotonic reading moves along);
    ``jump`` and ``set`` to an earlier instant are the wall clock being set, while no time passes."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._monotonic = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._now += delta
            self._monotonic += max(0.0, delta.total_seconds())
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._monotonic += max(0.0, (instant - self._now).total_seconds())
            self._now = instant.astimezone(UTC)

    def jump(self, delta: timedelta) -> datetime:
        """The wall clock is set ``delta`` away (by hand, a bad time source): no time passes."""
        with self._lock:
            self._now += delta
            return self._now


# A synchronised clock is stepped by fractions of a second; more than this is someone setting it, and
# only the backend or time sync can say which of the two readings was right.
JUMP_SLACK = timedelta(seconds=2)


def wall_jump(before: tuple[datetime, float], after: tuple[datetime, float]) -> timedelta:
    """How far the wall clock moved beyond the time that really passed between two (wall, monotonic)
    readings: about zero normally, negative when it was set back, positive when set forward."""
    return (after[0] - before[0]) - timedelta(seconds=after[1] - before[1])


def describe_jump(jump: timedelta) -> str:
    """'back 1 d 2 h 3 min' or 'forward 3 min 10 s': for status lines a technician reads."""
    seconds = round(abs(jump).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes)
    if not days and not hours:
        parts.append(f"{seconds} s")
    return ("back " if jump < timedelta(0) else "forward ") + " ".join(parts)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar day in the office at ``instant``."""
    return instant.astimezone(tz).date()


def next_midnight(instant: datetime, tz: ZoneInfo) -> datetime:
    """The first instant of the next local day, in UTC.

    Local days last 23 or 25 hours across daylight-saving changes, and in some zones midnight
    itself is skipped, so the instant is found on the UTC axis rather than by adding 24 hours.
    """
    tomorrow = local_day(instant, tz) + timedelta(days=1)
    wall = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz)
    candidate = wall.astimezone(UTC)
    # A skipped local midnight (e.g. 00:00 -> 01:00) maps to an instant that is already the
    # next day, possibly late; step back to the earliest instant whose local day is tomorrow.
    while local_day(candidate - timedelta(minutes=15), tz) == tomorrow:
        candidate -= timedelta(minutes=15)
    return candidate
