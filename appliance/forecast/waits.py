"""Wait-time estimates for walk-in tickets, learnt from what a device or the whole office sees; no I/O,
times injected. The device's core and the reference backend's office state feed the same estimator.

``WaitEstimator`` forecasts when a ticket is called and prints a range that held for today's
earlier tickets; ``FixedServiceEstimator`` (Berlin's ZMS method) and ``LastNWaitsEstimator`` are
the baselines it is measured against in bench/bench_waits.py. Not thread-safe: the core feeds it.

How: the call order is the appliance's (checked-in appointments first, then walk-ins first come
first served, one queue for all concerns). Visit minutes per concern are learnt from the gaps
between a counter's consecutive calls (log-normal, exponentially weighted, shrunk to the configured
default, outliers capped, breaks left out but counted as a share of lost time). A counter that
leaves people waiting long after its visit should have ended is away, and expected back after a
usual break. Each counter, as it becomes free, takes the next of those ahead, appointments
expected to check in meanwhile first (spread like today's check-ins around their slots), for the
mean time of that visitor's concern, until the ticket's turn. The range is that forecast
± h × (2 min + 30% of it), with h the smallest that held for ``coverage`` of today's called tickets
(split conformal, apart for "called at once", short and real waits), from a prior on a cold start.
"""

import heapq
import math
from bisect import bisect_left, bisect_right, insort
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

_NORMAL = NormalDist()

STARTUP_MIN = 15.0  # after the day's first call, counters that have not called yet still count
BASELINE_SILENT_MIN = 30.0  # the baselines' notion of a counter that stopped calling
PRIOR_WEIGHT = 4.0  # the configured default counts as this many observed visits
HALF_LIFE_VISITS = 40.0  # visits of a concern after which an observation weighs half
PACE_PRIOR_WEIGHT = 5.0  # today's pace against the defaults, for concerns not seen yet
PACE_DECAY = 0.5 ** (1 / 60)
IDLE_SHARE = 0.5  # a counter is taken for idle once its visit has more likely ended
IDLE_CALL_MIN = 1.0  # an idle counter calls within this long of someone drawing a ticket
BREAK_Z = 2.8  # a gap this far above a visit's usual length (log sigmas) holds a break
CAP_Z = 2.0  # longer or shorter visits count as this far off
AWAY_Z = 2.3  # silent longer than 99% of visits while people wait: away
GRACE_MIN = 2.0  # how long people may wait before a free counter surely calls
SPELLS_KEPT_MIN = 180.0  # how far back to remember when people waited
BREAK_PRIOR_WEIGHT = 20.0  # visits: how often a visit is followed by a break, learnt from zero
BREAK_DECAY = 0.5 ** (1 / 40)
OFFSETS_KEPT = 60  # the latest check-ins tell how early people come
OFFSETS_ENOUGH = 20  # until then, -10 ± 10 minutes around the slot counts too
CHECK_IN_POINTS = 4  # an appointment still to come is spread over this many times
SHOW_PRIOR_WEIGHT = 10.0  # appointments: the configured show rate counts as this many
SCALE_MIN, SCALE_SHARE = 2.0, 0.3  # a forecast's error grows with it: 2 min + 30%
FLOW_AFTER = 100  # walk-ins ahead beyond this many are forecast as a flow, not one by one
# Forecasts are calibrated in groups: called at once, a short wait, a real wait. A range must hold
# for those who wait, not only on average over everyone, most of whom are called at once.
GROUP_EDGES_MIN = (0.5, 3.0)
PRIOR_HALF_WIDTH = (0.3, 0.7, 1.6)  # in scales, until today's tickets tell
CALIBRATION_PRIOR_WEIGHT = 10.0
CALIBRATION_WINDOW = 60  # the latest called tickets per group


@dataclass(frozen=True)
class WaitEstimate:
    """What a ticket says: people called before it, and a range of whole minutes."""

    people_ahead: int
    low_min: int
    high_min: int

    @property
    def midpoint_min(self) -> float:
        return (self.low_min + self.high_min) / 2


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


# --- what every estimator observes -----------------------------------------------------------


@dataclass
class _Counter:
    number: int
    last_call: datetime
    concern: str | None  # of the visitor it is serving


class _Observations:
    """The queue as the device sees it: walk-ins, checked-in and booked appointments, counters.
    Feed every observation in time order, with aware datetimes; one instance serves one day. A concern
    not named at the start is learnt from its first visitor, with the default service time."""

    def __init__(
        self, concerns: list[str], *, default_service_min: dict[str, float] | float = 8.0, default_counters: int = 4
    ):
        if isinstance(default_service_min, dict):
            fallback = sum(default_service_min.values()) / max(len(default_service_min), 1) or 8.0
            self.default_service = {c: float(default_service_min.get(c, fallback)) for c in concerns}
        else:
            fallback = float(default_service_min)
            self.default_service = dict.fromkeys(concerns, fallback)
        self._fallback_service = fallback
        self.concerns = list(concerns)
        self.default_counters = default_counters
        self._walk_ins: dict[str, tuple[str, datetime]] = {}  # code -> (concern, issued); FIFO
        self._checked_in: dict[str, tuple[str, datetime, datetime]] = {}  # code -> (concern, slot, at)
        self._upcoming: list[tuple[datetime, str]] = []  # booked, not here yet; by slot
        self._concern_of: dict[str, str] = {}
        self._arrived: dict[str, tuple[datetime | None, datetime]] = {}  # code -> (slot or None, drawn or checked in)
        self._counters: dict[int, _Counter] = {}
        self._first_call: datetime | None = None
        self._waiting_since: datetime | None = None  # the queue is not empty since then
        self._counters_open: int | None = None

    # --- observations ---

    def ticket_issued(self, code: str, concern: str, at: datetime) -> None:
        self._know(concern)
        self._walk_ins[code] = (concern, at)
        self._concern_of[code] = concern
        self._arrived[code] = (None, at)
        self._queue_changed(at)

    def visitor_left(self, code: str, at: datetime) -> None:
        """A waiting ticket or checked-in appointment leaves the queue uncalled (voided, not come)."""
        if self._walk_ins.pop(code, None) is not None or self._checked_in.pop(code, None) is not None:
            self._queue_changed(at)

    def appointment_checked_in(self, code: str, concern: str, slot: datetime, at: datetime) -> None:
        self._know(concern)
        self._checked_in[code] = (concern, slot, at)
        self._concern_of[code] = concern
        self._arrived[code] = (slot, at)
        try:  # whether or not the caller sends the new upcoming list, this one has come
            self._upcoming.remove((slot, concern))
        except ValueError:
            pass
        self._queue_changed(at)

    def appointments_upcoming(self, appointments: list[tuple[datetime, str]]) -> None:
        """The day's booked appointments not checked in yet, as (slot, concern); replaces the last list."""
        self._upcoming = sorted(appointments)

    def called(self, code: str, counter: int, at: datetime) -> None:
        """Counter ``counter`` called ``code`` (a ticket or an appointment's display code)."""
        previous = self._counters.get(counter)
        if previous is not None:
            self._visit_ended(previous, at)
        self._walk_ins.pop(code, None)
        self._checked_in.pop(code, None)
        self._counters[counter] = _Counter(counter, at, self._concern_of.get(code))
        if self._first_call is None:
            self._first_call = at
        self._queue_changed(at)

    def transferred(self, code: str, concern: str, at: datetime) -> None:
        """A counter handed ``code`` to ``concern``: it waits (again) in its old place, a ticket by the time
        it was drawn, an appointment by its slot."""
        self._know(concern)
        self._concern_of[code] = concern
        self._checked_in.pop(code, None)
        slot, arrived = self._arrived.get(code, (None, at))
        if slot is not None:
            self._checked_in[code] = (concern, slot, arrived)
        else:
            tickets = [(other, held) for other, held in self._walk_ins.items() if other != code]
            place = next((i for i, (_, (_, drawn)) in enumerate(tickets) if drawn > arrived), len(tickets))
            tickets.insert(place, (code, (concern, arrived)))
            self._walk_ins = dict(tickets)
        self._queue_changed(at)

    def counters_open(self, count: int | None) -> None:
        """Staff say how many counters work now; None: judge it from the calls again."""
        self._counters_open = count

    def _know(self, concern: str) -> None:
        """A concern seen for the first time starts from the default service time."""
        if concern not in self.default_service:
            self.default_service[concern] = self._fallback_service
            self.concerns.append(concern)

    def _visit_ended(self, counter: _Counter, at: datetime) -> None:
        """``counter`` called its next visitor at ``at``: a chance to learn from the gap."""

    def _queue_changed(self, at: datetime) -> None:
        if not self._walk_ins and not self._checked_in:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = at

    # --- the queue ---

    def _ahead(self, code: str | None) -> list[str]:
        """Concerns of everyone called before ``code`` (None: a ticket drawn now), in call order."""
        ahead = [concern for concern, _, _ in sorted(self._checked_in.values(), key=lambda v: (v[1], v[2]))]
        for other, (concern, _) in self._walk_ins.items():
            if other == code:
                break
            ahead.append(concern)
        return ahead

    def _newest_ticket(self, concern: str, at: datetime) -> str | None:
        """The ticket being printed right now, if the caller fed it already."""
        if self._walk_ins:
            code = next(reversed(self._walk_ins))
            if self._walk_ins[code] == (concern, at):
                return code
        return None

    # --- the answers ---

    def estimate(self, concern: str, at: datetime) -> WaitEstimate:
        """The wait of a visitor of ``concern`` who draws a ticket at ``at``."""
        return self._estimate(None, concern, at)

    def estimate_for_new_ticket(self, concern: str, at: datetime) -> WaitEstimate:
        """What the ticket printed at ``at`` says, whether ticket_issued was fed for it yet or not."""
        return self._estimate(self._newest_ticket(concern, at), concern, at)

    def estimate_for_ticket(self, code: str, at: datetime) -> WaitEstimate | None:
        """The remaining wait of a ticket in the queue (None when it is not waiting): for the
        online query by ticket number."""
        if code not in self._walk_ins:
            return None
        return self._estimate(code, self._walk_ins[code][0], at)

    def snapshot_waits(self, at: datetime) -> dict[str, tuple[int, int]]:
        """(low, high) minutes per concern for a ticket drawn now: for the monitor and the backend.
        One queue serves every concern, so the ranges agree; the dict keeps the door open."""
        estimate = self.estimate(self.concerns[0], at) if self.concerns else WaitEstimate(0, 0, 0)
        return dict.fromkeys(self.concerns, (estimate.low_min, estimate.high_min))

    def _estimate(self, code: str | None, concern: str, at: datetime) -> WaitEstimate:
        raise NotImplementedError


# --- the project's estimator -------------------------------------------------------------------


class _ServiceTimes:
    """Log-normal service minutes of one concern: exponentially weighted mean and variance of log
    minutes, shrunk towards the configured default (shifted by the office's pace today)."""

    def __init__(self, default_min: float, sigma: float):
        self.prior_mu = math.log(default_min) - sigma * sigma / 2  # so that the mean is the default
        self.prior_var = sigma * sigma
        self.decay = 0.5 ** (1 / HALF_LIFE_VISITS)
        self.weight = self.sum = self.sum_sq = 0.0

    def params(self, pace: float) -> tuple[float, float]:
        """(mu, sigma) of log minutes."""
        prior_mu = self.prior_mu + pace
        total = PRIOR_WEIGHT + self.weight
        mu = (PRIOR_WEIGHT * prior_mu + self.sum) / total
        spread = (
            PRIOR_WEIGHT * (self.prior_var + (prior_mu - mu) ** 2)
            + self.sum_sq
            - 2 * mu * self.sum
            + mu * mu * self.weight
        )
        return mu, math.sqrt(max(spread / total, 0.04))

    def observe(self, log_minutes: float) -> None:
        self.weight = self.weight * self.decay + 1
        self.sum = self.sum * self.decay + log_minutes
        self.sum_sq = self.sum_sq * self.decay + log_minutes * log_minutes


@dataclass(frozen=True)
class _Forecast:
    people_ahead: int
    minutes: float

    @property
    def group(self) -> int:
        return bisect_right(GROUP_EDGES_MIN, self.minutes)

    @property
    def scale(self) -> float:
        return SCALE_MIN + SCALE_SHARE * self.minutes


class WaitEstimator(_Observations):
    """The project's estimator; the module docstring says how it works."""

    def __init__(
        self,
        concerns: list[str],
        *,
        default_service_min: dict[str, float] | float = 8.0,
        default_counters: int = 4,
        coverage: float = 0.82,
        service_sigma: float = 0.5,
        early: timedelta = timedelta(minutes=30),
        late: timedelta = timedelta(minutes=15),
        break_min: float = 30.0,
        show_rate: float = 0.85,
    ):
        super().__init__(concerns, default_service_min=default_service_min, default_counters=default_counters)
        self.coverage = coverage
        self.early, self.late = early, late  # the check-in window ([checkin] early, late)
        self.break_min = break_min
        self._service = {c: _ServiceTimes(m, service_sigma) for c, m in self.default_service.items()}
        self._pooled_default = (  # for a code it never saw drawn or checked in
            sum(self.default_service.values()) / len(self.default_service) if concerns else self._fallback_service
        )
        self._service_sigma = service_sigma
        self._pace, self._pace_weight = 0.0, PACE_PRIOR_WEIGHT  # log factor against the defaults
        self._break_share, self._break_weight = 0.0, BREAK_PRIOR_WEIGHT
        self._break_length = break_min
        self._waiting_spells: deque[list] = deque()  # [start, end or None] of times someone waited
        self._check_ins: list[tuple[datetime, float]] = []  # heap of (slot, minutes from slot to check-in)
        self._offsets: deque[float] = deque(maxlen=OFFSETS_KEPT)  # of windows closed: none still to come
        self._offsets_sorted: list[float] | None = None
        self._show_rate = show_rate
        self._checked_in_slots: list[datetime] = []
        self._residuals = [deque(maxlen=CALIBRATION_WINDOW) for _ in range(len(GROUP_EDGES_MIN) + 1)]
        self._half_widths: list[float | None] = [None] * (len(GROUP_EDGES_MIN) + 1)
        self._pending: dict[str, _Forecast] = {}  # printed tickets, until called
        self._printed: tuple[str, datetime, WaitEstimate] | None = None  # the newest ticket's, until a change

    # --- learning ---

    def ticket_issued(self, code: str, concern: str, at: datetime) -> None:
        super().ticket_issued(code, concern, at)
        forecast = self._forecast(code, at)
        self._pending[code] = forecast
        self._printed = (code, at, self._range(forecast))  # what estimate_for_new_ticket answers for it

    def visitor_left(self, code: str, at: datetime) -> None:
        super().visitor_left(code, at)
        self._pending.pop(code, None)

    def appointment_checked_in(self, code: str, concern: str, slot: datetime, at: datetime) -> None:
        super().appointment_checked_in(code, concern, slot, at)
        insort(self._checked_in_slots, slot)
        heapq.heappush(self._check_ins, (slot, _minutes(at - slot)))
        self._check_in_offsets(at)  # settled at each observation, so asking between them changes nothing

    def _know(self, concern: str) -> None:
        if concern not in self.default_service:
            super()._know(concern)
            self._service[concern] = _ServiceTimes(self._fallback_service, self._service_sigma)

    def called(self, code: str, counter: int, at: datetime) -> None:
        ticket = self._walk_ins.get(code)
        super().called(code, counter, at)
        forecast = self._pending.pop(code, None)
        if forecast is not None and ticket is not None:  # how far off the printed forecast was
            waited = _minutes(at - ticket[1])
            self._residuals[forecast.group].append((waited - forecast.minutes) / forecast.scale)
            self._half_widths[forecast.group] = None

    def _visit_ended(self, counter: _Counter, at: datetime) -> None:
        # Someone has been waiting for a while, so the counter called as soon as it was free and the
        # gap since its last call was the visit; right after the queue was empty it may have stood
        # idle. (Keeping only gaps with a queue all along would drop long visits more than short.)
        if self._waiting_since is None or _minutes(at - self._waiting_since) < IDLE_CALL_MIN:
            return
        model = self._service.get(counter.concern)
        if model is None:
            return
        mu, sigma = model.params(self._pace)
        gap = _minutes(at - counter.last_call)
        x = math.log(max(gap, 0.25))
        took_break = x > mu + BREAK_Z * sigma and gap > math.exp(mu) + self.break_min / 2
        # How often a visit is followed by a break, and how long: the capacity breaks to come take.
        self._break_weight = self._break_weight * BREAK_DECAY + 1
        self._break_share += (took_break - self._break_share) / self._break_weight
        if took_break:
            self._break_length += (gap - math.exp(mu + sigma * sigma / 2) - self._break_length) / 3
            return
        x = min(max(x, mu - CAP_Z * sigma), mu + CAP_Z * sigma)  # one odd visit moves little
        model.observe(x)
        self._pace_weight = self._pace_weight * PACE_DECAY + 1
        self._pace += (x - model.prior_mu - self._pace) / self._pace_weight

    def _queue_changed(self, at: datetime) -> None:
        self._printed = None
        was_waiting = self._waiting_since is not None
        super()._queue_changed(at)
        if self._waiting_since is not None and not was_waiting:
            self._waiting_spells.append([at, None])
            while (
                self._waiting_spells[0][1] is not None and _minutes(at - self._waiting_spells[0][1]) > SPELLS_KEPT_MIN
            ):
                self._waiting_spells.popleft()
        elif self._waiting_since is None and was_waiting:
            self._waiting_spells[-1][1] = at
        self._check_in_offsets(at)

    def _left_waiting(self, since: datetime, at: datetime) -> bool:
        """Whether, after ``since``, someone waited longer than a free counter takes to call."""
        for start, end in reversed(self._waiting_spells):
            end = end or at
            if end <= since:
                return False
            if _minutes(end - max(start, since)) > GRACE_MIN:
                return True
        return False

    # --- forecasting ---

    def _service_params(self, concern: str | None) -> tuple[float, float]:
        model = self._service.get(concern) if concern else None
        if model is None:  # a code the device did not see drawn or checked in
            sigma = self._service_sigma
            return math.log(self._pooled_default) - sigma * sigma / 2 + self._pace, sigma
        return model.params(self._pace)

    def _mean_minutes(self, concern: str | None) -> float:
        mu, sigma = self._service_params(concern)
        return math.exp(mu + sigma * sigma / 2)

    def _counter_free_times(self, at: datetime) -> list[float]:
        """Minutes from ``at`` until each counter can call next, for those working or back soon."""
        free, returning = [], []
        for counter in self._counters.values():
            elapsed = max(_minutes(at - counter.last_call), 0.0)
            mu, sigma = self._service_params(counter.concern)
            done_by = counter.last_call + timedelta(minutes=math.exp(mu + AWAY_Z * sigma))
            if at > done_by and self._left_waiting(done_by, at):
                # People waited after its visit should long have ended, and it did not call: away.
                back = math.exp(mu + sigma * sigma / 2) + self.break_min - elapsed
                if back > -self.break_min:  # overdue a little: back soon; long overdue: gone for the day
                    returning.append(max(back, GRACE_MIN))
                continue
            # Busy if people wait now and it does not call, or if its visit more likely than not
            # goes on; otherwise it stands idle and calls the next at once.
            busy = (
                self._waiting_since is not None
                and _minutes(at - max(self._waiting_since, counter.last_call)) > GRACE_MIN
            ) or _NORMAL.cdf((math.log(max(elapsed, 1e-3)) - mu) / sigma) < IDLE_SHARE
            free.append(_residual_minutes(mu, sigma, elapsed) if busy else 0.0)
        if self._counters_open is not None:
            free.sort()
            return free[: self._counters_open] + [0.0] * max(0, self._counters_open - len(free))
        if self._first_call is None or _minutes(at - self._first_call) < STARTUP_MIN:
            free += [0.0] * max(0, self.default_counters - len(self._counters))
        free += returning
        return free or [self.break_min / 2]  # everyone away for long: someone will come back

    def _check_in_offsets(self, at: datetime) -> list[float]:
        """Minutes from slot to check-in seen today, sorted; a prior spread until there are enough.
        Only slots whose window has closed count: for later ones, the late comers are still to come."""
        closed = at - self.late
        while self._check_ins and self._check_ins[0][0] < closed:
            self._offsets.append(heapq.heappop(self._check_ins)[1])
            self._offsets_sorted = None
        if self._offsets_sorted is None:
            early, late = -_minutes(self.early), _minutes(self.late)
            prior = (
                []
                if len(self._offsets) >= OFFSETS_ENOUGH
                else [min(max(-10 + 10 * _NORMAL.inv_cdf((i + 0.5) / 10), early), late) for i in range(10)]
            )
            self._offsets_sorted = sorted(list(self._offsets) + prior)
        return self._offsets_sorted

    def _show_rate_now(self, at: datetime) -> float:
        """Share of appointments that checked in, among those whose check-in window has closed."""
        closed = at - self.late
        shows = bisect_left(self._checked_in_slots, closed)
        no_shows = bisect_left(self._upcoming, (closed, ""))
        return (shows + self._show_rate * SHOW_PRIOR_WEIGHT) / (shows + no_shows + SHOW_PRIOR_WEIGHT)

    def _expected_appointments(self, at: datetime) -> list[tuple[float, str, float]]:
        """(minutes until check-in, concern, weight) of booked appointments that may still come: each
        spread over a few likely check-in times, as today's check-ins were spread around their slots."""
        offsets = self._check_in_offsets(at)
        show = self._show_rate_now(at)
        expected = []
        for slot, concern in self._upcoming[bisect_left(self._upcoming, (at - self.late, "")) :]:
            since_slot = _minutes(at - slot)
            later = offsets[bisect_left(offsets, since_slot) :]  # the offsets still possible
            if not later:
                continue
            # Not here yet although many would be: the chance that they still come shrinks.
            still = len(later) / len(offsets)
            probability = show * still / (1 - show + show * still)
            for k in range(CHECK_IN_POINTS):
                offset = later[int((k + 0.5) * len(later) / CHECK_IN_POINTS)]
                expected.append((max(offset - since_slot, 0.0), concern, probability / CHECK_IN_POINTS))
        expected.sort()
        return expected

    def _forecast(self, code: str | None, at: datetime) -> _Forecast:
        """When the ticket ``code`` (None: one drawn now) is called: each counter, as it becomes free,
        takes the next of those ahead (checked-in appointments, then appointments expected to have
        checked in by then, then earlier tickets), for the mean time of that visitor's concern."""
        ahead = self._ahead(code)
        free = self._counter_free_times(at)
        heapq.heapify(free)
        coming = self._expected_appointments(at)
        coming_concerns = _concerns_by_weight(coming)
        breaks = self._break_share * self._break_length  # on average, after each visit
        checked_in = len(self._checked_in)
        next_coming, expected_by_now, coming_taken, position = 0, 0.0, 0, 0
        while True:
            t = heapq.heappop(free)
            while next_coming < len(coming) and coming[next_coming][0] <= t:
                expected_by_now += coming[next_coming][2]
                next_coming += 1
            if position < checked_in:
                concern = ahead[position]
                position += 1
            elif expected_by_now - coming_taken >= 0.5:  # rounded: half an appointment or more is one
                concern = coming_concerns[coming_taken]
                coming_taken += 1
            elif len(ahead) - position > FLOW_AFTER and next_coming == len(coming):
                # No appointment can come between them any more: the walk-ins beyond the last FLOW_AFTER
                # share the counters evenly, so a long queue costs no more to forecast than a short one.
                flow = Counter(ahead[position : len(ahead) - FLOW_AFTER])
                position = len(ahead) - FLOW_AFTER
                work = sum(n * (self._mean_minutes(concern) + breaks) for concern, n in flow.items())
                heapq.heappush(free, t)
                free = [f + work / len(free) for f in free]  # the same shift for all: still a heap
                continue
            elif position < len(ahead):
                concern = ahead[position]
                position += 1
            else:
                return _Forecast(len(ahead), t)
            heapq.heappush(free, t + self._mean_minutes(concern) + breaks)

    def seconds_per_visitor(self, concern: str, at: datetime) -> int:
        """What one more visitor of ``concern`` adds to the wait at ``at``: their mean visit (with the
        breaks that follow visits) shared among the counters working."""
        breaks = self._break_share * self._break_length
        counters = len(self._counter_free_times(at))
        return max(1, round((self._mean_minutes(concern) + breaks) * 60 / counters))

    # --- the range ---

    def _half_width(self, group: int) -> float:
        """The smallest h (in scales) with |actual - forecast| <= h for ``coverage`` of today's
        called tickets of the group, shrunk towards the prior while there are few."""
        if self._half_widths[group] is None:
            seen = sorted(abs(r) for r in self._residuals[group])
            n = len(seen)
            prior = PRIOR_HALF_WIDTH[group]
            if n == 0:
                self._half_widths[group] = prior
            else:
                observed = seen[min(n - 1, math.ceil(self.coverage * (n + 1)) - 1)]
                share = n / (n + CALIBRATION_PRIOR_WEIGHT)
                self._half_widths[group] = share * observed + (1 - share) * prior
        return self._half_widths[group]

    def _range(self, forecast: _Forecast) -> WaitEstimate:
        half = self._half_width(forecast.group) * forecast.scale
        low = max(0.0, forecast.minutes - half)
        high = forecast.minutes + half  # 0-0: called at once, as nearly everyone was today
        return WaitEstimate(forecast.people_ahead, math.floor(low + 0.5), math.floor(high + 0.5))

    def _estimate(self, code: str | None, concern: str, at: datetime) -> WaitEstimate:
        if self._printed is not None and self._printed[:2] == (code, at):
            return self._printed[2]
        return self._range(self._forecast(code, at))


def _concerns_by_weight(coming: list[tuple[float, str, float]]) -> list[str]:
    """The concern of the 1st, 2nd, ... expected appointment, as their weights add up in time."""
    concerns, total = [], 0.0
    for _, concern, weight in coming:
        total += weight
        while len(concerns) < total + 0.5:
            concerns.append(concern)
    return concerns


def _residual_minutes(mu: float, sigma: float, elapsed: float) -> float:
    """E[S - e | S > e] for log-normal S with log-parameters mu, sigma, after e minutes."""
    if elapsed <= 0:
        return math.exp(mu + sigma * sigma / 2)
    z = (math.log(elapsed) - mu) / sigma
    tail = 1 - _NORMAL.cdf(z)
    if tail < 1e-9:
        return 1.0
    partial = math.exp(mu + sigma * sigma / 2) * (1 - _NORMAL.cdf(z - sigma))
    return max(partial / tail - elapsed, 0.5)


# --- the baselines -----------------------------------------------------------------------------


class FixedServiceEstimator(_Observations):
    """Berlin's ZMS method: the configured service minutes of everyone ahead ÷ counters working."""

    def _estimate(self, code: str | None, concern: str, at: datetime) -> WaitEstimate:
        ahead = self._ahead(code)
        point = round(sum(self.default_service.get(c, 8.0) for c in ahead) / self._working_counters(at))
        return WaitEstimate(len(ahead), point, point)

    def _working_counters(self, at: datetime) -> int:
        if self._counters_open is not None:
            return max(self._counters_open, 1)
        if self._first_call is None or _minutes(at - self._first_call) < STARTUP_MIN:
            return max(self.default_counters, len(self._counters))
        silent = timedelta(minutes=BASELINE_SILENT_MIN)
        return max(1, sum(1 for c in self._counters.values() if at - c.last_call < silent))


class LastNWaitsEstimator(FixedServiceEstimator):
    """The mean of the last ``n`` walk-in waits (ticket to call); the ZMS method until there is one."""

    def __init__(self, concerns: list[str], *, n: int = 30, **defaults):
        super().__init__(concerns, **defaults)
        self._waits: deque[float] = deque(maxlen=n)

    def called(self, code: str, counter: int, at: datetime) -> None:
        if code in self._walk_ins:
            self._waits.append(_minutes(at - self._walk_ins[code][1]))
        super().called(code, counter, at)

    def _estimate(self, code: str | None, concern: str, at: datetime) -> WaitEstimate:
        if not self._waits:
            return super()._estimate(code, concern, at)
        point = round(sum(self._waits) / len(self._waits))
        return WaitEstimate(len(self._ahead(code)), point, point)
