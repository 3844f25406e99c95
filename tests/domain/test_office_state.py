"""The office's call-up state in the core: once the backend told it, the screens show the office's calls
and waiting list, with this device's own changes since merged in; before, the device's own queue."""

import dataclasses
import json
from concurrent.futures import Future
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
from appliance.domain.errors import CallsByBackend
from appliance.domain.office import ConcernLoad, OfficeEntry, OfficeState, appointment_order, merged_queue, office_waits
from appliance.domain.snapshot import AppointmentEntry, CallEntry, QueueEntry
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


def counted(core: Core) -> tuple:
    snapshot = core.snapshot
    return snapshot.waiting_count(), dict(snapshot.waiting_counts)


def long_office(version: int, total: int, last_event: str | None = None, calls=()) -> OfficeState:
    """An office of ``total`` leave visitors of which the feed lists the first 50, at 3 minutes each."""
    listed = tuple(ticket(f"A{500 + n:03d}") for n in range(min(total, 50)))
    load = ConcernLoad("leave", total, total * 3 * 3 // 4, -(-total * 3 * 5 // 4), 180)
    return OfficeState(
        "test-office", DAY, version, tuple(calls), listed, loads=(load,), waiting_total=total, last_event=last_event
    )


def last_event_key(store: StateStore) -> str:
    return store.undelivered_events(10_000)[-1].key


def test_people_ahead_and_counts_are_the_whole_office_s_when_the_feed_lists_only_its_head(core):
    core.apply(ApplyOfficeState(long_office(3, 120)))
    assert counted(core) == (120, {"leave": 120}) and len(core.snapshot.waiting) == 50
    issued = core.apply(IssueTicket("leave"))
    assert issued.people_ahead == 120
    assert issued.wait_minutes == (270, 450)  # the office's estimate for 120 ahead at 3 minutes each
    assert counted(core) == (121, {"leave": 121})
    assert core.snapshot.waits[-1] == ("leave", 273, 453)  # the office's range, one more at its pace


def test_own_tickets_the_state_covers_are_counted_once_even_beyond_the_listed_head(core, store):
    core.apply(ApplyOfficeState(long_office(3, 120)))
    own = core.apply(IssueTicket("leave")).code
    core.apply(ApplyOfficeState(long_office(4, 121, last_event=last_event_key(store))))  # A001 is one of the 121
    assert counted(core) == (121, {"leave": 121}) and own not in [w.code for w in core.snapshot.waiting]
    core.apply(IssueTicket("leave"))  # not covered yet: counted on top
    assert counted(core) == (122, {"leave": 122})


def test_a_restarted_device_shows_the_office_s_last_state_plus_its_own_changes(device_config, store):
    before = Core(device_config, store, FakeClock(at(30)))
    before.apply(ApplyOfficeState(office(7, [checked_in("T004", "09:10"), ticket("A501")], [call("T002", 3, 20)])))
    before.apply(IssueTicket("leave"))  # the backend is away: not covered
    restarted = Core(device_config, store, FakeClock(at(40)))
    assert shown(restarted) == ([("T002", 3)], ["T004"], ["A501", "A001"])
    assert counted(restarted) == (3, {"leave": 3})


def test_the_state_kept_across_a_restart_is_only_today_s(device_config, store):
    Core(device_config, store, FakeClock(at(30))).apply(ApplyOfficeState(office(7, [ticket("A501")])))
    tomorrow = Core(device_config, store, FakeClock(at(24 * 60)))
    assert shown(tomorrow) == ([], [], [])


def test_a_visitor_transferred_back_to_waiting_waits_again_on_the_device_that_saw_the_call(core):
    core.apply(ApplyOfficeState(office(3, [ticket("A501"), ticket("A502")])))
    core.apply(StaffCall(3, "A501", at(31), "ep-1"))  # from the calls feed, before the office state has it
    assert shown(core) == ([("A501", 3)], [], ["A502"])
    transferred = dataclasses.replace(office(5, [ticket("A501"), ticket("A502")]), last_call="ep-1")
    core.apply(ApplyOfficeState(transferred))  # the call is covered and left out: A501 waits again
    assert shown(core) == ([], [], ["A501", "A502"])


def test_a_device_following_a_backend_never_calls_on_its_own(device_config, store):
    core = Core(device_config, store, FakeClock(at(30)), calls_by_backend=True)
    core.apply(IssueTicket("leave"))
    refused = Future()
    core.apply(CallNext(2), refused)
    assert isinstance(refused.exception(), CallsByBackend) and "counters call through it" in str(refused.exception())
    assert core.snapshot.recent_calls == () and [w.code for w in core.snapshot.waiting] == ["A001"]


def test_appointments_are_called_by_slot_then_by_who_checked_in_first():
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    entries = [
        AppointmentEntry("T3", "leave", "09:30", at + timedelta(minutes=2)),
        AppointmentEntry("T2", "leave", "09:30", at + timedelta(minutes=1)),
        AppointmentEntry("T4", "leave", "09:45", at),
        AppointmentEntry("T1", "leave", "09:30", None),  # the time of its check-in is not known here
    ]
    assert [e.code for e in sorted(entries, key=appointment_order)] == ["T1", "T2", "T3", "T4"]


def test_an_office_state_is_kept_across_a_restart_as_it_was():
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    state = OfficeState(
        "test-office",
        at.date(),
        17,
        (CallEntry("A001", "leave", 3, at, "3f2a9c1d-7"),),
        (OfficeEntry("A002", "leave", "ticket", at), OfficeEntry("T021", "leave", "appointment", at, "09:30")),
        not_come=frozenset({"A000", "C001"}),
        loads=(ConcernLoad("leave", 2, 5, 9, 240),),
        waiting_total=40,
        last_event="key-0042",
        last_call="3f2a9c1d-7",
    )
    assert OfficeState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_counts_and_waits_of_a_cut_short_list_are_the_office_s_minus_what_went_and_plus_what_came_here():
    head = (
        ticket("A010"),
        ticket("A011", 1),
        ticket("A012", 2),
        ticket("C004", 3, concern="documents"),
        checked_in("T021", "09:30", 4),
        checked_in("T022", None, 5),  # the backend did not say its slot
    )
    state = dataclasses.replace(
        office(5, head, calls=(call("A001", 1, 20),)),
        loads=(ConcernLoad("leave", 40, 60, 100, 120), ConcernLoad("documents", 1, 0, 2, 120)),
        waiting_total=41,
    )
    queue = merged_queue(
        state,
        own_appointments=(AppointmentEntry("T030", "leave", "10:00", at(40)),),
        own_waiting=(
            QueueEntry("A050", "leave", at(41)),
            QueueEntry("A011", "leave", at(1)),
            QueueEntry("B001", "passport", at(44)),
            QueueEntry("A051", "leave", at(45)),
        ),
        # A010 and C004 called here after the state's newest call; A009 before it and A008 at the same instant:
        # the state covers them (and took A009 back)
        own_calls=(call("A010", 2, 42), call("C004", 3, 43), call("A009", 1, 10), call("A008", 4, 20)),
        unconfirmed=frozenset({"A050", "A051", "A011", "A012", "B001", "T030", "A010", "C004"}),
        settled=frozenset({"A010", "C004", "A012"}),  # A012 voided here
        recent=5,
    )
    # 40 leave, minus A010 called and A012 voided here, plus A050, A051 and T030 new here (A011 is listed: counted
    # once); B001 is the first of its concern; documents' only visitor was called here: not counted at all
    assert queue.counts == (("leave", 41), ("passport", 1)) and queue.total == 42
    assert queue.waiting == (
        QueueEntry("A011", "leave", at(1)),
        QueueEntry("A050", "leave", at(41)),
        QueueEntry("B001", "passport", at(44)),
        QueueEntry("A051", "leave", at(45)),
    )
    assert queue.appointments == (
        AppointmentEntry("T022", "leave", "", at(5)),
        AppointmentEntry("T021", "leave", "09:30", at(4)),
        AppointmentEntry("T030", "leave", "10:00", at(40)),
    )
    assert [c.code for c in queue.recent_calls] == ["C004", "A010", "A001"]
    # the backend's range moved by the visitors this device counts beyond the office's, each at the office's pace
    # per visitor: leave 60-100 with one more at 2 minutes; documents' only visitor gone, 0-2 less 2, never below 0
    assert office_waits(state, queue) == {"leave": (62, 102), "documents": (0, 0)}


def test_counts_of_a_state_without_counts_are_its_list_with_this_device_s_changes():
    queue = merged_queue(
        office(5, (ticket("A010"), ticket("A011"), ticket("C004", concern="documents"))),
        own_appointments=(),
        own_waiting=(QueueEntry("A050", "leave", at(41)),),
        own_calls=(call("A010", 2, 42),),
        unconfirmed=frozenset({"A050", "A010"}),
        settled=frozenset({"A010"}),
        recent=5,
    )
    assert queue.counts == (("documents", 1), ("leave", 2))


def test_calls_the_backend_numbered_after_the_states_last_one_or_in_another_epoch_are_newer():
    def numbered(code, minutes, call_id):
        return CallEntry(code, "leave", 1, at(minutes), call_id)

    state = dataclasses.replace(
        office(5, (ticket("A010"), ticket("A011"), ticket("A012")), calls=(numbered("A001", 20, "mitte-7f3a-17"),)),
        last_call="mitte-7f3a-17",  # an epoch with a dash in it: the number is after the last one
    )
    queue = merged_queue(
        state,
        own_appointments=(),
        own_waiting=(),
        own_calls=(
            numbered("A010", 21, "mitte-7f3a-18"),  # after the state's last call
            numbered("A011", 22, "mitte-9b1c-1"),  # the backend was reset: a new epoch starts at 1
            numbered("A005", 19, "mitte-7f3a-16"),  # covered by the state, which took it back
        ),
        unconfirmed=frozenset(),
        settled=frozenset(),
        recent=5,
    )
    assert [c.code for c in queue.recent_calls] == ["A011", "A010", "A001"]
    assert [e.code for e in queue.waiting] == ["A012"]
