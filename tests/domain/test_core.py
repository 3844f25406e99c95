"""The core owns the state: commands from many threads, applied one at a time, immutable snapshots."""

import dataclasses
import threading
from concurrent.futures import wait
from datetime import UTC, datetime

import pytest

from appliance.domain.clock import FakeClock
from appliance.domain.commands import CallNext, Health, IssueTicket, ReportHealth, VoidTicket
from appliance.domain.core import Core
from appliance.domain.errors import NumbersExhausted, UnknownConcern
from appliance.domain.state import StateStore
from support import ANSWER_S

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def core(device_config):
    store = StateStore(device_config.state.database)
    core = Core(device_config, store, FakeClock(MORNING))
    core.start()
    yield core
    core.stop()
    store.close()


def test_commands_from_many_threads_get_distinct_consecutive_numbers(core):
    futures, lock = [], threading.Lock()

    def press(times):
        for _ in range(times):
            future = core.submit(IssueTicket("leave"))
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=press, args=(25,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait(futures, timeout=ANSWER_S)
    numbers = sorted(future.result().number for future in futures)
    assert numbers == list(range(1, 201))
    assert core.snapshot.waiting_count("leave") == 200


def test_snapshot_cannot_be_changed_by_a_reader(core):
    core.submit(IssueTicket("leave")).result(ANSWER_S)
    snapshot = core.snapshot
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.day = None
    assert isinstance(snapshot.waiting, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.waiting[0].code = "X999"


def test_a_reader_keeps_its_snapshot_while_the_core_moves_on(core):
    core.submit(IssueTicket("leave")).result(ANSWER_S)
    before = core.snapshot
    core.submit(IssueTicket("documents")).result(ANSWER_S)
    assert [entry.code for entry in before.waiting] == ["A001"]
    assert [entry.code for entry in core.snapshot.waiting] == ["A001", "C001"]
    assert core.snapshot.serial > before.serial


def test_a_call_moves_the_longest_waiting_ticket_to_the_counter(core):
    for concern in ("documents", "leave", "documents"):
        core.submit(IssueTicket(concern)).result(ANSWER_S)
    called = core.submit(CallNext(3)).result(ANSWER_S)
    assert (called.code, called.counter) == ("C001", 3)
    snapshot = core.snapshot
    assert [entry.code for entry in snapshot.waiting] == ["A001", "C002"]
    assert [(call.code, call.counter) for call in snapshot.recent_calls] == [("C001", 3)]


def test_a_call_for_one_concern_skips_the_others(core):
    core.submit(IssueTicket("documents")).result(ANSWER_S)
    core.submit(IssueTicket("leave")).result(ANSWER_S)
    assert core.submit(CallNext(1, concerns=("leave",))).result(ANSWER_S).code == "A001"


def test_a_call_with_nobody_waiting_answers_none(core):
    assert core.submit(CallNext(2)).result(ANSWER_S) is None


def test_an_unknown_concern_is_refused_with_the_configured_names(core):
    future = core.submit(IssueTicket("parking"))
    with pytest.raises(UnknownConcern, match="leave, documents"):
        future.result(ANSWER_S)
    assert core.snapshot.waiting == ()


def test_a_refusal_does_not_stop_the_core(core, device_config):
    core.submit(IssueTicket("nonsense"))
    assert core.submit(IssueTicket("leave")).result(ANSWER_S).code == "A001"
    assert core.running


def test_a_used_up_range_refuses_and_issues_nothing(tmp_path, device_config_file):
    text = device_config_file.read_text().replace("prefix = A", "prefix = A\nfirst = 1\nlast = 2")
    device_config_file.write_text(text)
    from appliance.app.config import load_config

    config = load_config(device_config_file)
    store = StateStore(config.state.database)
    core = Core(config, store, FakeClock(MORNING))
    assert [core.apply(IssueTicket("leave")).number for _ in range(2)] == [1, 2]
    with pytest.raises(NumbersExhausted, match="1-2"):
        future = core.submit(IssueTicket("leave"))
        core.apply(IssueTicket("leave"), future)
        future.result(0)
    assert dict(core.snapshot.issued_today) == {"leave": 2}
    store.close()


def test_health_reports_show_in_the_snapshot_with_their_reason(core):
    core.submit(ReportHealth("printer", Health.DEGRADED, "paper near end")).result(ANSWER_S)
    degraded = core.snapshot.degraded
    assert [(c.name, c.state, c.detail) for c in degraded] == [("printer", Health.DEGRADED, "paper near end")]
    core.submit(ReportHealth("printer", Health.OK)).result(ANSWER_S)
    assert core.snapshot.degraded == ()


def test_listeners_get_every_new_snapshot_and_a_failing_one_harms_nothing(core):
    seen = []
    core.subscribe(lambda snapshot: 1 / 0)
    core.subscribe(lambda snapshot: seen.append(snapshot.serial))
    core.submit(IssueTicket("leave")).result(ANSWER_S)
    core.submit(IssueTicket("leave")).result(ANSWER_S)
    assert len(seen) == 2 and seen[1] > seen[0]
    assert core.submit(IssueTicket("leave")).result(ANSWER_S).number == 3


def test_the_queue_is_rebuilt_from_the_database_after_a_restart(device_config):
    store = StateStore(device_config.state.database)
    core = Core(device_config, store, FakeClock(MORNING))
    core.apply(IssueTicket("leave"))
    core.apply(IssueTicket("documents"))
    core.apply(CallNext(4))
    store.close()
    store = StateStore(device_config.state.database)
    restarted = Core(device_config, store, FakeClock(MORNING))
    snapshot = restarted.snapshot
    assert [entry.code for entry in snapshot.waiting] == ["C001"]
    assert [(call.code, call.counter) for call in snapshot.recent_calls] == [("A001", 4)]
    assert dict(snapshot.issued_today) == {"leave": 1, "documents": 1}
    assert restarted.apply(IssueTicket("leave")).code == "A002"
    store.close()


def test_snapshot_json_has_plain_types_and_no_more_than_codes(core):
    core.submit(IssueTicket("leave")).result(ANSWER_S)
    data = core.snapshot.to_json()
    assert data["waiting"] == [{"code": "A001", "concern": "leave", "issued_at": MORNING.isoformat()}]
    assert data["components"][0]["state"] == "ok"


def test_a_voided_ticket_leaves_the_queue_and_its_number_is_never_issued_again(core):
    first = core.submit(IssueTicket("leave")).result(ANSWER_S)
    voided = core.submit(VoidTicket(first.code, "printer: paper out")).result(ANSWER_S)
    assert voided.state == "void"
    assert core.snapshot.waiting == ()
    assert core.submit(IssueTicket("leave")).result(ANSWER_S).code == "A002"
    assert core.submit(VoidTicket(first.code, "twice")).result(ANSWER_S) is None  # nothing left to void


def test_health_changes_reach_the_outbox_for_the_backend(core):
    before = core.snapshot.outbox_pending
    core.submit(ReportHealth("printer", Health.FAILED, "cover open")).result(ANSWER_S)
    core.submit(ReportHealth("printer", Health.FAILED, "cover open")).result(ANSWER_S)  # unchanged: no new event
    core.submit(ReportHealth("printer", Health.OK)).result(ANSWER_S)
    assert core.snapshot.outbox_pending == before + 2
    assert [e.kind for e in core.snapshot.last_events[:2]] == ["component_health", "component_health"]


def test_a_ticket_carries_people_ahead_and_a_wait_range_and_the_snapshot_the_waits(core):
    first = core.submit(IssueTicket("leave")).result(ANSWER_S)
    second = core.submit(IssueTicket("leave")).result(ANSWER_S)
    assert (first.people_ahead, second.people_ahead) == (0, 1)
    low, high = second.wait_minutes
    assert 0 <= low <= high
    assert {concern for concern, _, _ in core.snapshot.waits} == {"leave", "documents"}
