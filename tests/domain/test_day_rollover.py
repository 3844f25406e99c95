"""Numbers belong to the office's local calendar day: midnight, daylight-saving nights, odd zones.

The day is always derived from the clock's current instant, never captured at start-up: a hobby
Pi dispenser that evaluated the date once repeated numbers after midnight.
"""

from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.app.config import load_layers
from appliance.domain.clock import FakeClock, local_day, next_midnight
from appliance.domain.commands import Health, IssueTicket, SetClockTrusted
from appliance.domain.config import Layer
from appliance.domain.core import Core
from appliance.domain.errors import ClockNotTrusted
from appliance.domain.snapshot import ComponentHealth
from appliance.domain.state import StateStore
from support import ANSWER_S, wait_for
from support.config import device_config_text

BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")
UTC = UTC
# Two concerns with their own prefixes: both number from 1 again each day.
CONCERNS = {
    "leave": {"title_de": "Urlaub beantragen", "prefix": "A"},
    "advice": {"title_de": "Beratung", "prefix": "B"},
}


def local(tz, *fields, fold=0) -> datetime:
    return datetime(*fields, tzinfo=tz, fold=fold)


@pytest.fixture
def make_core(tmp_path):
    """make_core(start, zone=..., tick=...) -> (core, clock); stops the core and closes the store after."""
    made = []

    def make(start: datetime, zone: str = "Europe/Berlin", tick: str = "1s", trusted: bool = True):
        config = load_layers(
            [
                Layer(
                    "<test>",
                    device_config_text(
                        tmp_path, device={"roles": "kiosk", "timezone": zone}, core={"tick": tick}, concerns=CONCERNS
                    ),
                    tmp_path,
                )
            ]
        )
        clock = FakeClock(start)
        store = StateStore(config.state.database)
        core = Core(config, store, clock, clock_trusted=trusted)
        made.append((core, store))
        return core, clock

    yield make
    for core, store in made:
        core.stop()
        store.close()


def issue_at(core, clock, instant: datetime, concern: str = "leave"):
    clock.set(instant)
    return core.apply(IssueTicket(concern))


# --- midnight ----------------------------------------------------------------------------------


def test_a_running_core_rolls_over_at_local_midnight_by_itself_and_numbering_starts_again(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 15, 23, 59, 58), tick="20ms")
    for _ in range(3):
        core.apply(IssueTicket("leave"))
    core.start()
    assert core.snapshot.day == date(2026, 6, 15)
    assert core.snapshot.issued_today == (("leave", 3),)

    clock.advance(timedelta(seconds=3))  # 00:00:01 on the 16th; no command is sent
    assert wait_for(lambda: core.snapshot.day == date(2026, 6, 16)), "the core did not roll over by itself"
    assert core.snapshot.issued_today == ()
    assert core.snapshot.waiting == ()  # yesterday's queue is closed

    ticket = core.submit(IssueTicket("leave", source="test")).result(ANSWER_S)
    assert (ticket.day, ticket.number, ticket.code) == (date(2026, 6, 16), 1, "A001")


def test_a_ticket_at_23_59_59_belongs_to_the_old_day_and_at_00_00_00_to_the_new_one(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 15, 9, 0))
    issue_at(core, clock, local(BERLIN, 2026, 6, 15, 9, 0))
    last = issue_at(core, clock, local(BERLIN, 2026, 6, 15, 23, 59, 59))
    first = issue_at(core, clock, local(BERLIN, 2026, 6, 16, 0, 0, 0))
    assert (last.day, last.number) == (date(2026, 6, 15), 2)
    assert (first.day, first.number) == (date(2026, 6, 16), 1)


def test_a_process_started_at_23_50_issues_number_1_of_the_new_day_after_midnight(make_core):
    # The classic dispenser bug: the date taken once at start-up, so numbers repeat after midnight.
    core, clock = make_core(local(BERLIN, 2026, 6, 15, 23, 50))
    assert [core.apply(IssueTicket("leave")).number for _ in range(2)] == [1, 2]
    clock.advance(timedelta(minutes=5))
    assert core.apply(IssueTicket("leave")).number == 3

    clock.advance(timedelta(minutes=15))  # 00:10, and the core's loop never ticked in between
    ticket = core.apply(IssueTicket("leave"))
    assert (ticket.day, ticket.number, ticket.code) == (date(2026, 6, 16), 1, "A001")
    assert core.snapshot.day == date(2026, 6, 16)
    assert core.apply(IssueTicket("advice")).code == "B001"


# --- daylight-saving nights in Berlin ----------------------------------------------------------


def test_numbering_stays_on_one_day_through_the_spring_forward_night(make_core):
    core, clock = make_core(local(BERLIN, 2026, 3, 28, 23, 0))
    assert issue_at(core, clock, local(BERLIN, 2026, 3, 28, 23, 59, 59)).day == date(2026, 3, 28)
    # 2026-03-29: 02:00 CET becomes 03:00 CEST; the hour in between does not exist.
    night = [
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),  # 00:00 CET
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # 01:59:59 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 CEST
        local(BERLIN, 2026, 3, 29, 12, 0),
        local(BERLIN, 2026, 3, 29, 23, 59, 59),
    ]
    tickets = [issue_at(core, clock, instant) for instant in night]
    assert [(t.day, t.number) for t in tickets] == [(date(2026, 3, 29), n) for n in range(1, 6)]
    after = issue_at(core, clock, local(BERLIN, 2026, 3, 30, 0, 0))
    assert (after.day, after.number) == (date(2026, 3, 30), 1)


def test_numbering_stays_on_one_day_through_the_fall_back_night_with_its_two_0230s(make_core):
    core, clock = make_core(local(BERLIN, 2026, 10, 24, 23, 0))
    assert issue_at(core, clock, local(BERLIN, 2026, 10, 24, 23, 59, 59)).day == date(2026, 10, 24)
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:00-03:00 happens twice.
    first_0230 = local(BERLIN, 2026, 10, 25, 2, 30, fold=0)
    second_0230 = local(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert second_0230.astimezone(UTC) - first_0230.astimezone(UTC) == timedelta(hours=1)
    night = [
        local(BERLIN, 2026, 10, 25, 0, 0),
        first_0230,
        second_0230,
        local(BERLIN, 2026, 10, 25, 12, 0),
        local(BERLIN, 2026, 10, 25, 23, 59, 59),
    ]
    tickets = [issue_at(core, clock, instant) for instant in night]
    assert [(t.day, t.number) for t in tickets] == [(date(2026, 10, 25), n) for n in range(1, 6)]
    after = issue_at(core, clock, local(BERLIN, 2026, 10, 26, 0, 0))
    assert (after.day, after.number) == (date(2026, 10, 26), 1)


@pytest.mark.parametrize("day, hours", [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 15), 24)])
def test_next_midnight_is_23_or_25_hours_after_the_previous_one_on_daylight_saving_days(day, hours):
    eve = local(BERLIN, day.year, day.month, day.day, 0, 0) - timedelta(hours=12)
    start = next_midnight(eve, BERLIN)
    end = next_midnight(start + timedelta(hours=1), BERLIN)
    assert end - start == timedelta(hours=hours)
    for midnight, expected in ((start, day), (end, day + timedelta(days=1))):
        assert midnight.astimezone(BERLIN).replace(tzinfo=None) == datetime.combine(expected, datetime.min.time())
        assert local_day(midnight - timedelta(microseconds=1), BERLIN) == expected - timedelta(days=1)


# --- a zone where local midnight does not exist -----------------------------------------------


def test_in_a_zone_that_skips_midnight_the_new_day_starts_at_its_first_instant(make_core):
    # Chile moves its clocks from 24:00 to 01:00 on the first Sunday of September.
    day = date(2026, 9, 6)
    first_instant = datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert first_instant.astimezone(SANTIAGO).replace(tzinfo=None) == datetime(2026, 9, 6, 1, 0)
    assert local_day(first_instant - timedelta(microseconds=1), SANTIAGO) == date(2026, 9, 5)
    minutes = (first_instant - timedelta(hours=3) + timedelta(minutes=m) for m in range(6 * 60))
    assert not any(m.astimezone(SANTIAGO).replace(tzinfo=None) == datetime(2026, 9, 6, 0, 0) for m in minutes), (
        "00:00 exists on this day in this tzdata: pick another zone whose midnight is skipped"
    )

    assert next_midnight(local(SANTIAGO, 2026, 9, 5, 12, 0), SANTIAGO) == first_instant
    assert next_midnight(local(SANTIAGO, 2026, 9, 5, 23, 59, 59), SANTIAGO) == first_instant

    core, clock = make_core(local(SANTIAGO, 2026, 9, 5, 23, 0), zone="America/Santiago")
    before = issue_at(core, clock, first_instant - timedelta(seconds=1))
    after = issue_at(core, clock, first_instant)
    assert (before.day, before.number) == (date(2026, 9, 5), 1)
    assert (after.day, after.number) == (day, 1)


# --- the wall clock jumps while the core runs ---------------------------------------------------------


def refusal(core, command) -> Exception | None:
    future = Future()
    core.apply(command, future)
    return future.exception()


def clock_health(core):
    """The clock's health as status shows it; a core that never heard of its clock counts it ok."""
    return next((c for c in core.snapshot.components if c.name == "clock"), None) or ComponentHealth(
        "clock", Health.OK, "", None
    )


def test_a_wall_clock_set_back_across_midnight_never_issues_the_days_numbers_again(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    assert [core.apply(IssueTicket("leave")).code for _ in range(8)] == [f"A{n:03d}" for n in range(1, 9)]

    clock.jump(-timedelta(days=1))  # someone sets the date back; visitors hold A001-A008
    assert isinstance(refusal(core, IssueTicket("leave")), ClockNotTrusted)
    assert core.snapshot.day == date(2026, 6, 16) and core.snapshot.issued_today == (("leave", 8),)
    health = clock_health(core)
    assert health.state == Health.DEGRADED
    assert "jumped back 1 d" in health.detail and "numbering stays on 2026-06-16" in health.detail

    core.apply(SetClockTrusted(True, "the backend's clock agrees"))  # even confirmed, the day never goes back
    ticket = core.apply(IssueTicket("leave"))
    assert (ticket.day, ticket.code) == (date(2026, 6, 16), "A009")
    assert clock_health(core).state == Health.OK


def test_a_running_core_notices_a_jump_back_by_itself_on_its_tick(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 0, 5), tick="20ms")
    core.apply(IssueTicket("leave"))
    core.start()
    clock.jump(-timedelta(minutes=10))  # 23:55 of the day before
    wait_for(lambda: clock_health(core).state == Health.DEGRADED, what="the jump reported")
    assert "jumped back 10 min" in clock_health(core).detail
    assert core.snapshot.day == date(2026, 6, 16)


def test_a_jump_forward_of_more_than_a_day_is_reported_and_numbering_waits_for_confirmation(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    core.apply(IssueTicket("leave"))
    core.apply(IssueTicket("leave"))

    clock.jump(timedelta(days=2))  # only seconds really passed: the monotonic clock says so
    assert isinstance(refusal(core, IssueTicket("leave")), ClockNotTrusted)
    assert core.snapshot.day == date(2026, 6, 16) and core.snapshot.issued_today == (("leave", 2),)
    assert "jumped forward 2 d" in clock_health(core).detail

    core.apply(SetClockTrusted(True, "systemd's time sync says the clock is synchronised"))
    ticket = core.apply(IssueTicket("leave"))
    assert (ticket.day, ticket.code) == (date(2026, 6, 18), "A001")  # the new day, once confirmed


def test_days_that_really_pass_roll_over_without_any_doubt(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    core.apply(IssueTicket("leave"))
    clock.advance(timedelta(days=2, hours=1))  # a long weekend, measured by the monotonic clock too
    ticket = core.apply(IssueTicket("leave"))
    assert (ticket.day, ticket.code) == (date(2026, 6, 18), "A001")
    assert clock_health(core).state == Health.OK


def test_a_time_sync_correction_of_a_second_keeps_the_clock_trusted(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    core.apply(IssueTicket("leave"))
    clock.jump(-timedelta(seconds=1))
    assert core.apply(IssueTicket("leave")).code == "A002"
    clock.jump(timedelta(seconds=1))
    assert core.apply(IssueTicket("leave")).code == "A003"


def test_a_jump_back_within_the_day_withdraws_trust_until_confirmed(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    core.apply(IssueTicket("leave"))
    clock.jump(-timedelta(seconds=40))  # which of the two readings was right, only a time source can say

    assert isinstance(refusal(core, IssueTicket("leave")), ClockNotTrusted)
    assert "jumped back 40 s" in clock_health(core).detail
    core.apply(SetClockTrusted(True, "the backend's clock agrees"))
    assert core.apply(IssueTicket("leave")).code == "A002"


def test_a_jump_forward_of_an_hour_withdraws_trust_until_confirmed(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    core.apply(IssueTicket("leave"))
    clock.jump(timedelta(hours=1))

    assert isinstance(refusal(core, IssueTicket("leave")), ClockNotTrusted)
    assert "jumped forward 1 h" in clock_health(core).detail
    core.apply(SetClockTrusted(True, "systemd's time sync says the clock is synchronised"))
    assert core.apply(IssueTicket("leave")).code == "A002"


def test_a_restart_with_the_clock_set_back_a_day_keeps_the_day_and_waits_for_confirmation(tmp_path, make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    assert [core.apply(IssueTicket("leave")).code for _ in range(3)] == ["A001", "A002", "A003"]
    core._store.close()  # the device is switched off; its clock comes back a day behind

    core, clock = make_core(local(BERLIN, 2026, 6, 15, 9, 5))

    assert core.snapshot.day == date(2026, 6, 16)
    assert isinstance(refusal(core, IssueTicket("leave")), ClockNotTrusted)
    detail = clock_health(core).detail
    assert "behind the latest time recorded here (2026-06-16 09:00)" in detail and "stays on 2026-06-16" in detail
    core.apply(SetClockTrusted(True, "the backend's clock agrees"))  # confirmed: still never back to the 15th
    ticket = core.apply(IssueTicket("leave"))
    assert (ticket.day, ticket.code) == (date(2026, 6, 16), "A004")


def test_a_restart_a_second_later_trusts_the_clock_as_time_sync_says(make_core):
    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0))
    core.apply(IssueTicket("leave"))
    core._store.close()

    core, clock = make_core(local(BERLIN, 2026, 6, 16, 9, 0, 1))

    assert core.apply(IssueTicket("leave")).code == "A002"


def test_a_clock_that_booted_in_the_future_untrusted_may_go_back_once_confirmed(make_core):
    # Nothing was issued on the wrong day, so the day the confirmed clock shows is taken.
    core, clock = make_core(local(BERLIN, 2030, 1, 1, 9, 0), trusted=False)
    assert isinstance(refusal(core, IssueTicket("leave")), ClockNotTrusted)
    clock.jump(local(BERLIN, 2026, 6, 16, 9, 0) - clock.now())
    core.apply(SetClockTrusted(True, "the backend's clock agrees"))
    assert core.apply(IssueTicket("leave")).day == date(2026, 6, 16)
