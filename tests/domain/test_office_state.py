"""The office's call-up state in the core: once the backend told it, the screens show the office's calls
and waiting list, with this device's own changes since merged in; before, the device's own queue."""

from datetime import UTC, datetime, time, timedelta

import pytest

from appliance.domain.clock import FakeClock
from appliance.domain.commands import (
    ApplyDayList,
    ApplyOfficeState,
    CallNext,
    CheckIn,
    IssueTicket,
    StaffCall,
    VoidTicket,
)
from appliance.domain.core import Core
from appliance.domain.office import OfficeEntry, OfficeState
from appliance.domain.snapshot import CallEntry
from appliance.domain.state import Appointment, StateStore

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
DAY = MORNING.date()


def at(minutes: int) -> datetime:
    return MORNING + timedelta(minutes=minutes)


def office(version: int, waiting=(), calls=(), day=DAY) -> OfficeState:
    return OfficeState("test-office", day, version, tuple(calls), tuple(waiting))


def ticket(code: str, minutes: int = 0, concern: str = "leave") -> OfficeEntry:
    return OfficeEntry(code, concern, "ticket", at(minutes))


def checked_in(code: str, slot: str, minutes: int = 0) -> OfficeEntry:
    return OfficeEntry(code, "leave", "appointment", at(minutes), slot)


def call(code: str, counter: int, minutes: int) -> CallEntry:
    return CallEntry(code, "leave", counter, at(minutes))


def shown(core: Core) -> tuple:
    snapshot = core.snapshot
    return (
        [(c.code, c.counter) for c in snapshot.recent_calls],
        [a.code for a in snapshot.appointments],
        [w.code for w in snapshot.waiting],
    )


@pytest.fixture
def store(device_config):
    store = StateStore(device_config.state.database)
    yield store
    store.close()


@pytest.fixture
def core(device_config, store):
    return Core(device_config, store, FakeClock(at(30)))


def test_without_an_office_state_the_device_shows_its_own_queue(core):
    core.apply(IssueTicket("leave"))
    core.apply(IssueTicket("documents"))
    core.apply(CallNext(2))
    assert shown(core) == ([("A001", 2)], [], ["C001"])


def test_the_office_state_is_what_every_screen_shows(core):
    core.apply(
        ApplyOfficeState(
            office(7, [checked_in("T004", "09:10"), ticket("A501"), ticket("C001", 1)], [call("T002", 3, 20)])
        )
    )
    assert shown(core) == ([("T002", 3)], ["T004"], ["A501", "C001"])


def test_after_a_restart_the_recent_calls_are_the_office_s_never_rebuilt_from_the_database(device_config, store):
    before = Core(device_config, store, FakeClock(at(30)))
    before.apply(IssueTicket("leave"))
    before.apply(CallNext(4))  # made here, long ago as the office counts it
    restarted = Core(device_config, store, FakeClock(at(40)))
    restarted.apply(ApplyOfficeState(office(9, [ticket("A502", 35)], [call("A501", 1, 38), call("A001", 4, 30)])))
    assert shown(restarted) == ([("A501", 1), ("A001", 4)], [], ["A502"])


def test_a_call_handed_over_again_after_a_restart_is_not_a_new_call(device_config, store):
    core = Core(device_config, store, FakeClock(at(40)))
    core.apply(ApplyOfficeState(office(9, [], [call("A502", 2, 39), call("A501", 1, 38)])))
    for replayed in (call("A501", 1, 38), call("A502", 2, 39)):  # the calls feed's latest calls, oldest first
        core.apply(StaffCall(replayed.counter, replayed.code, replayed.called_at))
    assert core.snapshot.recent_calls == (call("A502", 2, 39), call("A501", 1, 38))
    core.apply(StaffCall(5, "A100", at(10)))  # an older call the device had not heard of: not the current one
    assert shown(core)[0][:2] == [("A502", 2), ("A501", 1)]


def test_own_changes_since_the_state_take_their_place_until_the_office_has_them(core):
    core.apply(
        ApplyDayList(DAY, (Appointment("1", "test-office", DAY, time(9, 20), "leave", "T001", reference="REF001X"),))
    )
    core.apply(ApplyOfficeState(office(3, [checked_in("T004", "09:40"), ticket("A501")])))
    assert core.apply(IssueTicket("leave")).people_ahead == 2  # the office's two, not this kiosk's none
    core.apply(IssueTicket("documents"))
    assert core.apply(CheckIn("REF001X")).verdict.accepted  # slot 09:20: before T004 of 09:40
    core.apply(VoidTicket("C001", "printer: paper out"))
    assert shown(core) == ([], ["T001", "T004"], ["A501", "A001"])
    # The office heard of them (and A501 was called meanwhile): nothing twice, nothing lost.
    core.apply(
        ApplyOfficeState(
            office(
                6,
                [checked_in("T001", "09:20", 30), checked_in("T004", "09:40"), ticket("A001", 30)],
                [call("A501", 2, 30)],
            )
        )
    )
    assert shown(core) == ([("A501", 2)], ["T001", "T004"], ["A001"])


def test_a_visitor_transferred_after_their_call_waits_again_on_every_screen(core):
    issued = core.apply(IssueTicket("leave")).code
    core.apply(StaffCall(4, issued, called_at=at(31), call="c-7"))  # from the calls feed, before the office state
    core.apply(ApplyOfficeState(office(3, [ticket(issued)])))
    assert shown(core) == ([(issued, 4)], [], [])  # the office's list is older than the call
    # The counter hands the visitor to another concern: the office lists them as waiting again.
    transferred = OfficeEntry(issued, "documents", "ticket", at(0))
    core.apply(ApplyOfficeState(office(5, [transferred], [CallEntry(issued, "leave", 4, at(31), "c-7")])))
    assert shown(core) == ([(issued, 4)], [], [issued])


def test_a_state_of_another_day_is_not_shown(core):
    core.apply(IssueTicket("leave"))
    assert core.apply(ApplyOfficeState(office(3, [ticket("A501")], day=DAY - timedelta(days=1)))) is False
    assert shown(core) == ([], [], ["A001"])


def test_at_the_new_day_the_office_state_of_yesterday_is_gone(device_config, store):
    clock = FakeClock(at(30))
    core = Core(device_config, store, clock)
    core.apply(ApplyOfficeState(office(3, [ticket("A501")], [call("A500", 1, 20)])))
    clock.set(at(24 * 60))
    core.apply(IssueTicket("leave"))
    assert shown(core) == ([], [], ["A001"])
