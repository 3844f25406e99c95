"""The simulated office day: realistic enough to judge wait estimates on, and the same every time."""

import statistics
from collections import Counter, deque
from datetime import time

import pytest

from appliance.domain.checkin import CheckInVerdict
from appliance.domain.simulation import (
    AppointmentArrival,
    BreakEnd,
    BreakStart,
    Call,
    CounterCloses,
    CounterOpens,
    DaySpec,
    OfficeDay,
    WalkIn,
    simulate,
)
from appliance.forecast.waits import FixedServiceEstimator

SEEDS = range(1, 9)


@pytest.fixture(scope="module")
def days():
    """Each seed's day run once: (OfficeDay, its events)."""
    result = {}
    for seed in SEEDS:
        office = OfficeDay(DaySpec(seed=seed))
        result[seed] = (office, list(office.events()))
    return result


def test_a_day_is_the_same_for_the_same_seed_and_another_for_another_seed(days):
    office, events = days[3]
    again = OfficeDay(DaySpec(seed=3))
    assert again.bookings == office.bookings
    assert list(again.events()) == events
    assert list(again.events()) == events  # running it twice gives the same day too
    assert list(OfficeDay(DaySpec(seed=4)).events()) != events


def test_over_half_of_the_visitors_come_with_an_appointment(days):
    for office, _ in days.values():
        booked = sum(1 for v in office.visitors.values() if v.booking is not None)
        assert booked / len(office.visitors) > 0.5


def test_walk_ins_rush_in_around_half_past_eight(days):
    per_hour = Counter(
        e.at.hour for _, events in days.values() for e in events if isinstance(e, WalkIn) and not e.late_appointment
    )
    assert max(per_hour, key=per_hour.get) == 8
    assert per_hour[8] > 2 * per_hour[10] and per_hour[8] > 2 * per_hour[11]
    assert min(per_hour) == 7 and max(per_hour) == 14  # from opening at 07:30 until 15:00


def test_some_appointments_come_early_some_late_and_some_not_at_all(days):
    verdicts, no_shows, early = Counter(), 0, 0
    for office, events in days.values():
        scans = [e for e in events if isinstance(e, AppointmentArrival)]
        verdicts.update(e.verdict for e in scans)
        no_shows += len({b.id for b in office.bookings} - {e.booking.id for e in scans})
        early += sum(1 for e in scans if e.accepted and e.at < e.booking.slot)
    accepted = verdicts[CheckInVerdict.ACCEPTED]
    assert early > 0.6 * accepted
    assert verdicts[CheckInVerdict.TOO_EARLY] > 0 and verdicts[CheckInVerdict.TOO_LATE] > 0
    assert 0.05 < no_shows / sum(len(office.bookings) for office, _ in days.values()) < 0.25


def test_four_to_eight_counters_take_staggered_breaks_and_one_closes_early(days):
    assert {office.counter_count for office, _ in days.values()} <= set(range(4, 9))
    for office, events in days.values():
        away, most_away = set(), 0
        for event in events:
            if isinstance(event, BreakStart):
                away.add(event.counter)
                most_away = max(most_away, len(away))
            elif isinstance(event, BreakEnd):
                away.discard(event.counter)
        assert most_away < office.counter_count
        long_breaks = {e.counter for e in events if isinstance(e, BreakStart) and e.minutes == 30}
        assert len(long_breaks) >= office.counter_count - 1  # the part-timer may leave before hers
        closing = sorted(e.at.time() for e in events if isinstance(e, CounterCloses))
        assert len(closing) == office.counter_count
        assert time(12) <= closing[0] <= time(13, 30) < closing[-1]  # she finishes her last visit
        assert sum(1 for e in events if isinstance(e, CounterOpens)) == office.counter_count


def test_counters_call_checked_in_appointments_first_then_walk_ins_first_come_first_served(days):
    for _, events in days.values():
        checked_in, tickets = set(), deque()
        for event in events:
            if isinstance(event, AppointmentArrival) and event.accepted:
                checked_in.add(event.visitor)
            elif isinstance(event, WalkIn):
                tickets.append(event.visitor)
            elif isinstance(event, Call):
                if event.appointment:
                    checked_in.remove(event.visitor)
                else:
                    assert not checked_in, "a walk-in was called while an appointment waited"
                    assert tickets.popleft() == event.visitor
        assert not checked_in and not tickets  # everyone who waited was called


def test_service_times_have_a_realistic_spread_and_differ_by_concern(days):
    minutes = {}
    for _, events in days.values():
        for e in events:
            if isinstance(e, Call) and e.service_min > 1.0:  # 1 min: a called walk-in who had left
                minutes.setdefault(e.concern, []).append(e.service_min)
    means = {concern: statistics.mean(values) for concern, values in minutes.items()}
    assert means["first-application"] > 1.5 * means["leave"] > 1.5 * means["documents"] * 0.9
    for values in minutes.values():
        assert 0.3 < statistics.stdev(values) / statistics.mean(values) < 0.8


def test_each_walk_ins_wait_is_known(days):
    for office, events in days.values():
        waits = office.walk_in_waits()
        assert len(waits) == sum(1 for e in events if isinstance(e, WalkIn))
        assert min(waits.values()) >= 0 and max(waits.values()) < 180


def test_the_appliance_can_decide_whom_a_free_counter_calls():
    """The demo drives the real appliance: it issues tickets and checks in, and each free counter
    asks it for the next visitor; the simulator only draws how long that visit takes."""
    office = OfficeDay(DaySpec(seed=2))
    appointments, walk_ins, asked = deque(), deque(), []

    def call_next(counter, at):
        asked.append(counter)
        queue = appointments or walk_ins
        return queue.popleft() if queue else None

    events = []
    for event in office.events(call_next=call_next):
        events.append(event)
        if isinstance(event, WalkIn):
            walk_ins.append(event.concern)
        elif isinstance(event, AppointmentArrival) and event.accepted:
            appointments.append(event.booking.concern)
    calls = [e for e in events if isinstance(e, Call)]
    arrivals = sum(1 for e in events if isinstance(e, WalkIn) or (isinstance(e, AppointmentArrival) and e.accepted))
    assert len(calls) == arrivals and all(c.visitor is None for c in calls)
    assert len(asked) > len(calls)  # idle counters ask again every 30 seconds
    assert sum(1 for e in events if isinstance(e, CounterCloses)) == office.counter_count


def test_simulate_scores_what_each_ticket_said_against_the_wait_that_followed():
    factory = lambda concerns: FixedServiceEstimator(concerns, default_service_min=6.0, default_counters=5)  # noqa: E731
    result = simulate(DaySpec(seed=4), factory)
    office = OfficeDay(DaySpec(seed=4))
    events = list(office.events())
    assert len(result.printed) == sum(1 for e in events if isinstance(e, WalkIn))
    assert sorted(p.actual_min for p in result.printed) == pytest.approx(sorted(office.walk_in_waits().values()))
    first = result.printed[0]
    assert first.people_ahead >= 0 and first.low_min == first.high_min
    assert result.appointment_visitors > result.walk_in_visitors
