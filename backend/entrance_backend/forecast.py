"""The office's wait forecast: the device's estimator (appliance.forecast) over the whole office, one per site
and day, fed what the office observed in the order the backend learned it, so every screen shows that one.

The store writes each observation in the transaction of the change it comes from (office_observations),
numbered in the order of commit. A forecast is fed the observations after the last it saw, so in a
worker that has followed the day it costs one step per change, and in a new worker (a restart, another
uvicorn or PostgreSQL process) the same steps replayed give the same estimate. Every figure is taken at
the time of the latest observation, never at the moment it is asked: a version's state is the same
everywhere and can be cached.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from appliance.forecast.waits import WaitEstimate, WaitEstimator
from appliance.protocol.contract import parse_timestamp, timestamp

# The backend has no per-concern configuration: the estimator starts from these and learns the day's.
DEFAULT_SERVICE_MIN = 8.0
DEFAULT_COUNTERS = 4
DAYS_KEPT = 100  # forecasts held per worker; one more is replayed from the database when asked


@dataclass(frozen=True)
class Observation:
    """One change of the office's queue, as the store journals it (office_observations)."""

    n: int  # the order the backend learned it in
    kind: str  # drawn, booked, cancelled, checked_in, called, left (void, not come) or transferred
    code: str
    at: datetime
    concern: str | None = None
    counter: int | None = None
    slot: datetime | None = None  # an appointment's

    @classmethod
    def from_row(cls, row: tuple) -> "Observation":
        n, kind, code, concern, counter, slot, at = row
        return cls(n, kind, code, parse_timestamp(at), concern, counter, parse_timestamp(slot) if slot else None)


@dataclass(frozen=True)
class ConcernWait:
    """The office's wait for a number of the concern drawn now, and what each visitor more adds."""

    low_min: int
    high_min: int
    seconds_per_visitor: int


class OfficeForecast:
    """One site's day as the estimator sees it. Feed each observation once, in order."""

    def __init__(self):
        self.estimator = WaitEstimator([], default_service_min=DEFAULT_SERVICE_MIN, default_counters=DEFAULT_COUNTERS)
        self.fed = 0  # the number of the latest observation fed
        self.at: datetime | None = None  # when the latest observation happened: every figure is taken then
        self._booked: dict[str, tuple[datetime, str]] = {}  # appointments not here yet: code -> (slot, concern)
        self._booked_told = True  # whether the estimator holds the current list of them
        self._serving: dict[str, int] = {}  # code -> counter of its standing call
        self._waits: dict[str, ConcernWait] | None = None  # until the next observation

    def feed(self, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self._feed(observation)

    def waits(self) -> dict[str, ConcernWait]:
        """Per concern the office has seen: the wait of a number drawn at the latest change."""
        if self._waits is None:
            self._tell_booked()
            at = self.at
            self._waits = (
                {
                    concern: ConcernWait(low, high, self.estimator.seconds_per_visitor(concern, at))
                    for concern, (low, high) in self.estimator.snapshot_waits(at).items()
                }
                if at
                else {}
            )
        return self._waits

    def concern_wait(self, concern: str) -> ConcernWait:
        """The wait of a number of ``concern`` drawn at the latest change; for a concern the journal never
        saw (its visitors came before the journal began, schema 6), none yet, at the default pace."""
        return self.waits().get(concern) or ConcernWait(0, 0, round(DEFAULT_SERVICE_MIN * 60 / DEFAULT_COUNTERS))

    def ticket_wait(self, code: str) -> WaitEstimate | None:
        """The remaining wait of waiting ticket ``code`` as of the latest change (None: not a waiting ticket)."""
        if self.at is None:
            return None
        self._tell_booked()
        return self.estimator.estimate_for_ticket(code, self.at)

    def _feed(self, o: Observation) -> None:
        if o.n <= self.fed:
            return
        self.fed = o.n
        at = o.at if self.at is None else max(o.at, self.at)  # the estimator learns in time order
        self.at, self._waits = at, None
        estimator = self.estimator
        if o.kind == "booked" or (o.kind == "transferred" and o.code in self._booked):
            self._booked[o.code] = (o.slot or self._booked[o.code][0], o.concern)
            self._booked_told = False
            return
        if self._booked.pop(o.code, None) is not None:  # checked in, called, cancelled or gone: not to come
            self._booked_told = False
        self._tell_booked()
        if o.kind == "drawn":
            estimator.ticket_issued(o.code, o.concern, at)
        elif o.kind == "checked_in":
            estimator.appointment_checked_in(o.code, o.concern, o.slot, at)
        elif o.kind == "called":
            if self._serving.get(o.code) != o.counter:  # a recall at the same counter: the visit goes on
                self._serving[o.code] = o.counter
                estimator.called(o.code, o.counter, at)
        elif o.kind in ("left", "cancelled"):
            self._serving.pop(o.code, None)
            estimator.visitor_left(o.code, at)
        elif o.kind == "transferred":
            self._serving.pop(o.code, None)
            estimator.transferred(o.code, o.concern, at)

    def _tell_booked(self) -> None:
        if not self._booked_told:
            self.estimator.appointments_upcoming(list(self._booked.values()))
            self._booked_told = True


class OfficeForecasts:
    """The forecasts a worker holds, each brought up to date from the journal when asked."""

    def __init__(self):
        self._held: dict[tuple[str, str], OfficeForecast] = {}

    def current(self, site: str, day: str, rows_after: Callable[[int], Iterable[tuple]]) -> OfficeForecast:
        """``site``'s forecast of ``day``, fed ``rows_after(n)``: the journal's rows after the last it saw."""
        forecast = self._held.get((site, day))
        if forecast is None:
            if len(self._held) >= DAYS_KEPT:  # yesterday's and other sites' go; asked again, they are replayed
                self._held = {}
            forecast = self._held[(site, day)] = OfficeForecast()
        forecast.feed(Observation.from_row(row) for row in rows_after(forecast.fed))
        return forecast


def slot_time(day: str, slot: str, zone: tzinfo) -> str:
    """An appointment's slot (local HH:MM of ``day``) as the journal writes times."""
    return timestamp(datetime.combine(date.fromisoformat(day), time.fromisoformat(slot), zone))
