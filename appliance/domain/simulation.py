"""A simulated office day: visitors, appointments and counters, for the demo and the wait benchmark.

Seeded and deterministic. ``OfficeDay(DaySpec(seed=3)).events()`` yields what happens in time
order; ``simulate(spec, factory)`` feeds a wait estimator with it and scores its printed estimates.
"""

import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appliance.domain.checkin import AppointmentFacts, CheckInRules, CheckInVerdict, judge

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class ConcernProfile:
    """How often a concern comes, and how long a counter takes for it (lognormal minutes)."""

    name: str
    walk_in_weight: float
    booking_weight: float
    service_mean_min: float
    service_sigma: float  # of log minutes: 0.5 means about a third of visits are >30% off the median


# Taking leave and handing in documents are quick; a first application for Bürgergeld is long.
DEFAULT_CONCERNS = (
    ConcernProfile("leave", walk_in_weight=3, booking_weight=3, service_mean_min=6.0, service_sigma=0.5),
    ConcernProfile("first-application", walk_in_weight=2, booking_weight=3, service_mean_min=12.0, service_sigma=0.45),
    ConcernProfile("documents", walk_in_weight=5, booking_weight=2, service_mean_min=4.0, service_sigma=0.6),
)


@dataclass(frozen=True)
class DaySpec:
    """One office day. ``counters=None`` draws 4 to 8 counters from the seed."""

    seed: int
    day: date = date(2026, 11, 24)
    tz: ZoneInfo = BERLIN
    concerns: tuple[ConcernProfile, ...] = DEFAULT_CONCERNS
    counters: int | None = None
    opening: time = time(7, 30)
    last_ticket: time = time(15, 0)  # the dispenser stops; counters serve everyone still waiting
    walk_ins_per_counter: float = 16.0  # expected walk-ins per counter and day
    bookings_per_counter_slot: float = 0.6  # appointments per counter and 10-minute slot
    no_show_share: float = 0.12
    late_share: float = 0.15  # after their slot, some past the check-in window
    very_early_share: float = 0.1  # 20 to 50 minutes early, some before the window opens
    late_takes_ticket_share: float = 0.7  # refused as too late: most draw a ticket, some go home
    absent_share: float = 0.03  # walk-ins who left before their call: the counter calls again soon
    day_pace_sigma: float = 0.12  # some days everything takes longer (systems slow, hard cases)
    break_min: float = 30.0  # each counter's break, staggered between 10:30 and 13:30
    interruptions_per_counter: float = 0.7  # short absences (5-15 min) per counter and day
    early_closers: int = 1  # counters that close around midday
    late_openers: int = 1  # counters (of 5 or more) that open about an hour late
    checkin_rules: CheckInRules = CheckInRules()


@dataclass(frozen=True)
class Booking:
    """An appointment on the day list, as the backend pushes it."""

    id: int
    display_code: str
    slot: datetime
    concern: str


# --- the events, in time order ----------------------------------------------------------------


@dataclass(frozen=True)
class WalkIn:
    """A visitor without a valid appointment draws a waiting ticket."""

    at: datetime
    visitor: int
    concern: str
    late_appointment: bool = False  # refused as too late at the scanner, then drew a ticket


@dataclass(frozen=True)
class AppointmentArrival:
    """A visitor scans the QR code of ``booking``; ``accepted`` is the check-in rules' verdict
    (too early: the visitor scans again when the window opens; too late: may draw a ticket)."""

    at: datetime
    visitor: int
    booking: Booking
    verdict: CheckInVerdict

    @property
    def accepted(self) -> bool:
        return self.verdict is CheckInVerdict.ACCEPTED


@dataclass(frozen=True)
class Call:
    """A counter takes the next visitor and serves them for ``service_min`` (drawn now)."""

    at: datetime
    counter: int
    visitor: int | None  # None when the appliance chose (external call order)
    concern: str
    service_min: float
    appointment: bool


@dataclass(frozen=True)
class BreakStart:
    at: datetime
    counter: int
    minutes: float


@dataclass(frozen=True)
class BreakEnd:
    at: datetime
    counter: int


@dataclass(frozen=True)
class CounterOpens:
    at: datetime
    counter: int


@dataclass(frozen=True)
class CounterCloses:
    at: datetime
    counter: int


Event = WalkIn | AppointmentArrival | Call | BreakStart | BreakEnd | CounterOpens | CounterCloses
# External call order: (counter, at) -> the concern of the visitor the appliance called, or None.
CallNext = Callable[[int, datetime], str | None]


def walk_in_rate_shape(minute_of_day: float) -> float:
    """Relative walk-in rate: a morning rush around 08:30, a quieter midday, a bump after lunch."""
    hour = minute_of_day / 60
    return 0.15 + 0.45 * math.exp(-((hour - 8.5) ** 2) / 0.8) + 0.15 * math.exp(-((hour - 13.5) ** 2) / 0.5)


@dataclass
class _Counter:
    number: int
    opens: datetime
    closes: datetime | None  # None: stays until nobody waits after last_ticket
    pauses: list[tuple[datetime, float]]  # planned (start, minutes), taken when the visit ends
    speed: float  # this person's pace: 0.85 is faster than average
    open: bool = False
    idle: bool = False  # open, nothing to do: calls as soon as someone comes
    wake: int = 0  # only the latest scheduled wake-up counts


@dataclass
class Visitor:
    """What happened to one visitor, filled in as the day runs."""

    id: int
    concern: str
    arrived: datetime
    booking: Booking | None = None
    ticket_at: datetime | None = None
    checked_in_at: datetime | None = None
    called_at: datetime | None = None
    counter: int | None = None


class OfficeDay:
    """One simulated day: ``bookings`` is the day list; ``events()`` runs the day once."""

    def __init__(self, spec: DaySpec):
        self.spec = spec
        script = random.Random(spec.seed)  # what the day brings; service draws use their own stream
        self.counter_count = spec.counters if spec.counters is not None else script.randint(4, 8)
        self.pace = script.lognormvariate(0, spec.day_pace_sigma)
        self._profiles = {c.name: c for c in spec.concerns}
        self.opening = self._at(spec.opening)
        self.last_ticket = self._at(spec.last_ticket)
        self.bookings: list[Booking] = []
        self._arrivals: list[tuple[datetime, int, str, Booking | None]] = []  # (at, visitor, concern, booking)
        self._make_bookings(script)
        self._make_walk_ins(script)
        self._counter_plans = self._make_counters(script)
        self.visitors: dict[int, Visitor] = {}  # of the last run of events()

    # --- the day's script, drawn up front ---------------------------------------------------

    def _at(self, wall: time) -> datetime:
        return datetime.combine(self.spec.day, wall, tzinfo=self.spec.tz)

    def _make_bookings(self, rng: random.Random) -> None:
        spec = self.spec
        names = [c.name for c in spec.concerns]
        weights = [c.booking_weight for c in spec.concerns]
        slot = self.opening + timedelta(minutes=10)
        last_slot = self.last_ticket - timedelta(minutes=30)
        per_slot = spec.bookings_per_counter_slot * self.counter_count
        while slot <= last_slot:
            for _ in range(_poisson(rng, per_slot)):
                concern = rng.choices(names, weights)[0]
                booking = Booking(len(self.bookings) + 1, f"T{len(self.bookings) + 1:03d}", slot, concern)
                self.bookings.append(booking)
                roll = rng.random()
                if roll < spec.no_show_share:
                    continue
                if roll < spec.no_show_share + spec.late_share:
                    offset = rng.uniform(0, 30)  # late; past 15 minutes the scanner refuses them
                elif roll < spec.no_show_share + spec.late_share + spec.very_early_share:
                    offset = rng.uniform(-50, -20)  # to be safe; before the window they must come back
                else:
                    offset = rng.gauss(-8, 6)  # most come a little early
                arrival = max(slot + timedelta(minutes=offset), self.opening)
                self._arrivals.append((arrival, 0, concern, booking))
            slot += timedelta(minutes=10)

    def _make_walk_ins(self, rng: random.Random) -> None:
        spec = self.spec
        names = [c.name for c in spec.concerns]
        weights = [c.walk_in_weight for c in spec.concerns]
        start = spec.opening.hour * 60 + spec.opening.minute
        end = spec.last_ticket.hour * 60 + spec.last_ticket.minute
        area = sum(walk_in_rate_shape(m + 0.5) for m in range(start, end))
        scale = spec.walk_ins_per_counter * self.counter_count / area
        peak = scale * max(walk_in_rate_shape(m) for m in range(start, end))
        minute = float(start)
        while True:  # thinning of a Poisson process with the shaped rate
            minute += rng.expovariate(peak)
            if minute >= end:
                break
            if rng.random() < scale * walk_in_rate_shape(minute) / peak:
                at = datetime.combine(spec.day, time(0), tzinfo=spec.tz) + timedelta(minutes=minute)
                self._arrivals.append((at, 0, rng.choices(names, weights)[0], None))
        self._arrivals.sort(key=lambda a: (a[0], a[3].id if a[3] else 0))
        self._arrivals = [
            (at, n, concern, booking) for n, (at, _, concern, booking) in enumerate(self._arrivals, start=1)
        ]

    def _make_counters(self, rng: random.Random) -> list[_Counter]:
        spec = self.spec
        count = self.counter_count
        counters = []
        order = list(range(count))
        rng.shuffle(order)
        late_openers = set(order[: spec.late_openers]) if count >= 5 else set()
        early_closers = set(order[-spec.early_closers :]) if spec.early_closers else set()
        for index in range(count):
            opens = self.opening + timedelta(minutes=rng.uniform(0, 3))
            if index in late_openers:
                opens = self.opening + timedelta(minutes=rng.uniform(45, 75))
            closes = None
            if index in early_closers:  # part-time: leaves at midday, whatever is waiting
                closes = self._at(time(12, 0)) + timedelta(minutes=rng.uniform(0, 60))
            # Staggered breaks between 10:30 and 13:30, so never all at once.
            pause_at = self._at(time(10, 30)) + timedelta(minutes=180 * (index + rng.random()) / count)
            pauses = [(pause_at, spec.break_min)] if spec.break_min > 0 else []
            for _ in range(_poisson(rng, spec.interruptions_per_counter)):  # a phone call, a question
                pauses.append((self.opening + timedelta(minutes=rng.uniform(30, 420)), rng.uniform(5, 15)))
            pauses.sort()
            counters.append(_Counter(index + 1, opens, closes, pauses, rng.lognormvariate(0, 0.1)))
        return counters

    # --- running the day ----------------------------------------------------------------------

    def events(self, call_next: CallNext | None = None) -> Iterator[Event]:
        """The day in time order. Without ``call_next`` the counters call in the appliance's order
        (checked-in appointments by slot, then walk-ins first come first served); with it, each
        free counter asks ``call_next(counter, at)`` and serves whatever concern it answers."""
        spec = self.spec
        service_rng = random.Random(spec.seed * 7919 + 1)
        absent_rng = random.Random(spec.seed * 7919 + 2)
        refused_rng = random.Random(spec.seed * 7919 + 3)
        rules = spec.checkin_rules
        self.visitors = {}
        counters = [replace(plan, pauses=list(plan.pauses)) for plan in self._counter_plans]
        agenda: list = []
        order = 0
        appointments: list = []  # heap of (slot, checked_in_at, visitor id): checked in, not called
        walk_ins: list[int] = []  # FIFO of visitor ids
        walk_in_head = 0

        def schedule(at, kind, payload):
            nonlocal order
            order += 1
            heapq.heappush(agenda, (at, order, kind, payload))

        def wake(counter: _Counter, at: datetime):
            counter.wake += 1
            counter.idle = False
            schedule(at, "free", (counter, counter.wake))

        for at, visitor, concern, booking in self._arrivals:
            schedule(at, "arrive", (visitor, concern, booking))
        for counter in counters:
            schedule(counter.opens, "open", counter)
            if counter.closes is not None:
                schedule(counter.closes, "close_due", counter)
        schedule(self.last_ticket, "dispenser_off", None)

        def take_next(counter: _Counter, at: datetime):
            """(concern, visitor id or None, is appointment) of the next visitor, or None."""
            nonlocal walk_in_head
            if call_next is not None:
                concern = call_next(counter.number, at)
                return None if concern is None else (concern, None, False)
            if appointments:
                visitor = self.visitors[heapq.heappop(appointments)[2]]
                return visitor.concern, visitor.id, True
            if walk_in_head < len(walk_ins):
                visitor = self.visitors[walk_ins[walk_in_head]]
                walk_in_head += 1
                return visitor.concern, visitor.id, False
            return None

        while agenda:
            at, _, kind, payload = heapq.heappop(agenda)
            if kind == "arrive":
                visitor_id, concern, booking = payload
                visitor = self.visitors.get(visitor_id) or Visitor(visitor_id, concern, at, booking)
                self.visitors[visitor_id] = visitor
                if booking is None:
                    if at > self.last_ticket:
                        continue  # the dispenser is off: the visitor is sent to come back tomorrow
                    visitor.ticket_at = at
                    if call_next is None:
                        walk_ins.append(visitor_id)
                    yield WalkIn(at, visitor_id, concern, late_appointment=False)
                else:
                    facts = AppointmentFacts("sim", spec.day, booking.slot.timetz().replace(tzinfo=None), "booked")
                    verdict = judge(facts, site="sim", now_local=at.astimezone(spec.tz), rules=rules).verdict
                    yield AppointmentArrival(at, visitor_id, booking, verdict)
                    if verdict is CheckInVerdict.ACCEPTED:
                        visitor.checked_in_at = at
                        if call_next is None:
                            heapq.heappush(appointments, (booking.slot, at, visitor_id))
                    elif verdict is CheckInVerdict.TOO_EARLY:
                        schedule(booking.slot - rules.early, "arrive", payload)
                        continue
                    elif at <= self.last_ticket and refused_rng.random() < spec.late_takes_ticket_share:
                        visitor.ticket_at = at
                        if call_next is None:
                            walk_ins.append(visitor_id)
                        yield WalkIn(at, visitor_id, concern, late_appointment=True)
                    else:
                        continue
                for counter in counters:  # someone is waiting now: idle counters call at once
                    if counter.open and counter.idle:
                        wake(counter, at)
            elif kind == "open":
                payload.open = True
                yield CounterOpens(at, payload.number)
                wake(payload, at)
            elif kind in ("close_due", "dispenser_off"):
                for counter in counters if payload is None else [payload]:
                    if counter.open and counter.idle:  # idle then: goes home now
                        wake(counter, at)
            elif kind == "pause_end":
                yield BreakEnd(at, payload.number)
                wake(payload, at)
            elif kind == "free":
                counter, token = payload
                if not counter.open or token != counter.wake:
                    continue
                if counter.closes is not None and at >= counter.closes:
                    counter.open = False
                    yield CounterCloses(at, counter.number)
                    continue
                if counter.pauses and counter.pauses[0][0] <= at:
                    _, minutes = counter.pauses.pop(0)
                    yield BreakStart(at, counter.number, minutes)
                    schedule(at + timedelta(minutes=minutes), "pause_end", counter)
                    continue
                taken = take_next(counter, at)
                if taken is None:
                    if at >= self.last_ticket and not _pending_arrivals(agenda):
                        counter.open = False  # the last counters stay until nobody waits
                        yield CounterCloses(at, counter.number)
                    elif call_next is not None:
                        wake(counter, at + timedelta(seconds=30))  # the appliance's queue is unseen: ask again
                    else:
                        if counter.pauses:  # a quiet moment is when one takes the break
                            wake(counter, max(at, counter.pauses[0][0]))
                        counter.idle = True
                    continue
                concern, visitor_id, is_appointment = taken
                if visitor_id is not None:
                    visitor = self.visitors[visitor_id]
                    visitor.called_at, visitor.counter = at, counter.number
                    absent = not is_appointment and absent_rng.random() < spec.absent_share
                else:
                    absent = False
                minutes = 1.0 if absent else self._service_minutes(service_rng, concern, counter)
                yield Call(at, counter.number, visitor_id, concern, minutes, is_appointment)
                wake(counter, at + timedelta(minutes=minutes))

    def _service_minutes(self, rng: random.Random, concern: str, counter: _Counter) -> float:
        profile = self._profiles.get(concern)
        mean = profile.service_mean_min if profile else 8.0
        sigma = profile.service_sigma if profile else 0.5
        median = mean * math.exp(-sigma * sigma / 2)
        walk_up = rng.uniform(0.3, 1.0)  # the visitor sees the number and walks to the counter
        return walk_up + rng.lognormvariate(math.log(median), sigma) * self.pace * counter.speed

    # --- after the day ------------------------------------------------------------------------

    def walk_in_waits(self) -> dict[int, float]:
        """Minutes from ticket to call of every walk-in called so far, by visitor id."""
        return {
            v.id: (v.called_at - v.ticket_at).total_seconds() / 60
            for v in self.visitors.values()
            if v.ticket_at is not None and v.called_at is not None
        }


def _pending_arrivals(agenda) -> bool:
    return any(kind == "arrive" for _, _, kind, _ in agenda)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


# --- scoring an estimator on a day ------------------------------------------------------------


@dataclass(frozen=True)
class Printed:
    """What one walk-in's ticket said, and what happened."""

    visitor: int
    concern: str
    issued_at: datetime
    people_ahead: int
    low_min: int
    high_min: int
    actual_min: float

    @property
    def point_min(self) -> float:
        return (self.low_min + self.high_min) / 2

    @property
    def covered(self) -> bool:
        # The printed range is whole minutes: "10-20 min" holds any wait that rounds to 10 to 20.
        return self.low_min - 0.5 <= self.actual_min < self.high_min + 0.5


@dataclass
class DayResult:
    """One simulated day as an estimator saw it: every walk-in ticket's estimate and wait."""

    spec: DaySpec
    counters: int
    printed: list[Printed] = field(default_factory=list)
    appointment_visitors: int = 0
    walk_in_visitors: int = 0


def simulate(spec: DaySpec, estimator_factory: Callable[[list[str]], object]) -> DayResult:
    """Run the day once, feeding ``estimator_factory(concerns)`` what the appliance would see, and
    record each walk-in's printed estimate against the wait that followed. The estimator gets the
    day list, tickets, check-ins and calls (appliance.forecast.waits' interface); breaks it must infer."""
    office = OfficeDay(spec)
    estimator = estimator_factory([c.name for c in spec.concerns])
    upcoming = {b.id: b for b in office.bookings}
    estimator.appointments_upcoming([(b.slot, b.concern) for b in office.bookings])
    codes: dict[int, str] = {}
    tickets: dict[int, tuple] = {}
    seen_appointments: set[int] = set()
    result = DayResult(spec, office.counter_count)
    for event in office.events():
        if isinstance(event, WalkIn):
            code = f"W{event.visitor:03d}"
            codes[event.visitor] = code
            estimator.ticket_issued(code, event.concern, event.at)
            estimate = estimator.estimate_for_new_ticket(event.concern, event.at)
            tickets[event.visitor] = (event, estimate)
        elif isinstance(event, AppointmentArrival):
            seen_appointments.add(event.visitor)
            if event.accepted:
                booking = event.booking
                codes[event.visitor] = booking.display_code
                upcoming.pop(booking.id, None)
                estimator.appointment_checked_in(booking.display_code, booking.concern, booking.slot, event.at)
                estimator.appointments_upcoming([(b.slot, b.concern) for b in upcoming.values()])
        elif isinstance(event, Call):
            estimator.called(codes[event.visitor], event.counter, event.at)
            if event.visitor in tickets:
                walk_in, estimate = tickets.pop(event.visitor)
                waited = (event.at - walk_in.at).total_seconds() / 60
                result.printed.append(
                    Printed(
                        event.visitor,
                        walk_in.concern,
                        walk_in.at,
                        estimate.people_ahead,
                        estimate.low_min,
                        estimate.high_min,
                        waited,
                    )
                )
    result.appointment_visitors = len(seen_appointments)
    result.walk_in_visitors = sum(1 for v in office.visitors.values() if v.booking is None and v.ticket_at)
    return result
