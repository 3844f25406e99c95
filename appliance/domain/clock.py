"""Time as the appliance sees it: an injectable clock and the local calendar day.

Numbers are per local calendar day, so the day is always derived from the current instant in the
office's time zone, never remembered from start-up (a Pi dispenser that did repeated numbers).
"""

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to: for tests and the demo's simulated day."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(UTC)


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
