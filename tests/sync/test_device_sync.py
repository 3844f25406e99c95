"""The device's sync against the reference backend on loopback: real HTTP, real SQLite on both sides.

The harness (support/sync.py) injects faults at the lowest boundary; test_device_sync_faults.py has the fault cases.
"""

import json
import re
import sqlite3
import time
from datetime import datetime, timedelta

import pytest

from appliance.app.config import load_config
from appliance.app.daemon import Appliance
from appliance.domain.clock import FakeClock
from appliance.domain.commands import (
    CallNext,
    CheckIn,
    Health,
    RecordEvent,
    ReportHealth,
    TakeDayList,
    VoidTicket,
)
from appliance.domain.errors import CallsByBackend, ClockNotTrusted
from appliance.sync.clock_trust import WAITING
from appliance.sync.device_sync import CALLS_WAIT_S
from entrance_backend.store import Sender
from support import CLOCK, wait_for
from support.sync import (
    SITE,
    Central,
    Device,
    assert_held_once_in_order,
    delivered,
    json_mangled,
    local_now,
    mangled,
    write_config,
)

# --- events up -------------------------------------------------------------------------------------


def test_every_kind_of_event_reaches_the_backend_once_in_order_with_its_effect(tmp_path, central):
    today = local_now().date()
    central.book(2, today, slot=local_now().strftime("%H:%M"))
    device = Device(tmp_path, central.url).start()
    try:
        wait_for(lambda: len(device.do(TakeDayList())) == 2, what="the day list on the device")
        for concern in ("leave", "leave", "leave", "documents"):
            device.issue(concern)
        device.do(VoidTicket("A002", "printer: paper out"))
        assert device.do(CheckIn("REF001X")).verdict.accepted
        device.do(RecordEvent("day_list_printed", {"day": today.isoformat(), "appointments": 2}))
        device.do(ReportHealth("printer", Health.DEGRADED, "paper near end"))
        device.do(ReportHealth("scanner evdev:/dev/input/event3", Health.FAILED, "unplugged"))
        delivered(device)
        sent = device.delivered_events()
    finally:
        device.stop()

    assert_held_once_in_order(central, device, sent)
    held = central.events()
    assert {kind for _, kind in sent} >= {
        "ticket_issued",
        "ticket_void",
        "check_in",
        "day_list_printed",
        "component_health",
    }
    assert "invalid_event" not in {e["kind"] for e in held}
    void = next(e for e in held if e["kind"] == "ticket_void")["body"]
    assert void == {"day": today.isoformat(), "code": "A002", "reason": "not_printed", "detail": "printer: paper out"}
    assert {t["code"]: t["state"] for t in central.store.tickets(SITE, today.isoformat())} == {
        "A001": "waiting",
        "A002": "void",
        "A003": "waiting",
        "C001": "waiting",
    }
    assert central.health()["printer"] == ("degraded", "paper near end")
    assert central.health()["scanner-evdev-dev-input-event3"] == ("failed", "unplugged")
    # T001 checked in at the device: the backend calls it first, then the tickets in order.
    assert [central.call(counter=1, next=True).json()["code"] for _ in range(2)] == ["T001", "A001"]


def test_a_device_following_a_backend_refuses_to_call_and_names_the_counters_way(tmp_path, central):
    device = Device(tmp_path, central.url).start()
    try:
        device.issue("leave")
        with pytest.raises(CallsByBackend, match="counters call through it"):
            device.do(CallNext(2))
        assert device.core.snapshot.recent_calls == ()  # nothing the office did not do
    finally:
        device.stop()


def test_offline_the_device_goes_on_and_its_outbox_survives_a_restart(tmp_path):
    central = Central(tmp_path)  # not started: the backend is away
    device = Device(tmp_path, central.url).holds_block(1).start()
    try:
        codes = [device.issue("leave").code for _ in range(5)]
        assert codes == ["A975", "A976", "A977", "A978", "A979"]  # from its fallback block: no backend needed
        health = wait_for(lambda: (h := device.health()) and h.state == Health.DEGRADED and h)
        assert re.fullmatch(r"unreachable since \d\d:\d\d \(.*refused.*\)", health.detail, re.I), health.detail
        assert device.sync.stale_since is not None
        assert device.core.snapshot.outbox_pending >= 5
    finally:
        device.stop()
    central.start()
    device = Device(tmp_path, central.url).start()  # a reboot, then the backend is back
    try:
        delivered(device)
        wait_for(lambda: device.health_is(Health.OK), what="backend ok again")
        assert device.sync.stale_since is None
        sent = device.delivered_events()
    finally:
        device.stop()
        central.stop()
    assert_held_once_in_order(central, device, sent)
    assert [e["body"]["code"] for e in central.events() if e["kind"] == "ticket_issued"] == codes


def test_an_outbox_past_its_limit_raises_an_alarm_and_drops_nothing(tmp_path, caplog):
    central = Central(tmp_path)
    device = Device(tmp_path, central.url, outbox_alarm=10).holds_block(1).start()
    try:
        for _ in range(12):
            device.issue("documents")
        health = wait_for(lambda: (h := device.health()) and "outbox alarm" in h.detail and h, what="the alarm")
        assert health.state == Health.DEGRADED
        assert "more than 10 events not delivered (none is dropped)" in health.detail
        assert re.search(
            r"outbox alarm: 1\d events not delivered, more than \[backend\] outbox_alarm = 10", caplog.text
        )
        central.start()
        delivered(device)
        wait_for(lambda: device.health_is(Health.OK), what="the alarm to end")
    finally:
        device.stop()
        central.stop()
    assert len([e for e in central.events() if e["kind"] == "ticket_issued"]) == 12


# --- day lists down --------------------------------------------------------------------------------


def test_day_lists_of_today_and_tomorrow_come_whole_then_as_changes_and_304s(tmp_path, central, device):
    today = local_now().date()
    tomorrow = today + timedelta(days=1)
    booked = central.book(3, today)
    central.book(2, tomorrow, first=4)
    wait_for(lambda: len(device.do(TakeDayList())) == 3, what="today's list")
    wait_for(lambda: central.gate.count("GET", "/appointments", 304, "since=") >= 2, what="304 for unchanged days")
    with sqlite3.connect(device.config.state.database) as db:
        assert db.execute("SELECT COUNT(*) FROM appointments WHERE day=?", (tomorrow.isoformat(),)).fetchone()[0] == 2

    central.store.change_appointment(booked[1]["id"], CLOCK.now(), status="cancelled")
    central.book(1, today, slot="10:00", first=6)
    wait_for(
        lambda: sorted(a.display_code for a in device.do(TakeDayList())) == ["T001", "T003", "T006"],
        what="the changes applied",
    )
    assert central.gate.count("GET", "/appointments", 200, "since=") >= 1  # changes came since a cursor
    assert (
        central.gate.count("GET", "/appointments", 200, "") - central.gate.count("GET", "/appointments", 200, "since=")
        == 2
    )  # the whole list once per day, no more


@pytest.mark.parametrize(
    "fault, reason",
    [
        (lambda a: a.update(slot=900), "slot: must be of type string"),
        (lambda a: a.update(reference="Erika Mustermann"), "reference: is not a valid value (pattern)"),
        (lambda a: a.update(site="nord"), "is site nord's, not mitte"),
        (lambda a: a.update(day="2001-01-01"), "is for 2001-01-01"),
        (lambda a: a.update(display_code="T001"), "T001 appears twice"),
        (lambda a: a.update(name="Erika Mustermann"), "unknown field(s) 'name'"),
    ],
)
def test_a_day_list_with_any_wrong_entry_is_refused_whole(central, device, fault, reason, caplog):
    today = local_now().date()
    central.book(3, today)
    wait_for(lambda: len(device.do(TakeDayList())) == 3, what="the first list")
    before = device.do(TakeDayList())

    def spoil(document):
        items = document.get("appointments") or [change["appointment"] for change in document.get("changes", [])]
        if items:  # tomorrow's empty list, and unchanged days, stay as they are
            fault(items[-1])

    central.gate.fault("GET", "/appointments", json_mangled(spoil), times=None)
    central.book(2, today, slot="11:00", first=4)
    health = wait_for(lambda: (h := device.health()) and h.state == Health.DEGRADED and h, what="the refusal")
    assert f"day list {today} refused" in health.detail and reason in health.detail, health.detail
    assert device.do(TakeDayList()) == before  # nothing of it applied
    assert "Erika" not in caplog.text + health.detail  # the rule is named, never the value

    central.gate.clear()
    wait_for(lambda: len(device.do(TakeDayList())) == 5, what="the good list applied")
    wait_for(lambda: device.health_is(Health.OK), what="health ok again")


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (lambda body: body[: len(body) // 2], "not valid JSON"),
        (lambda body: b"<html><body>Gateway error</body></html>", "not valid JSON"),
        (lambda body: json.dumps({"site": "mitte", "x": "y" * 5_000_000}).encode(), "bytes; at most 4194304"),
        (lambda body: b'{"site": "mitte", "day": NaN}', "not valid JSON"),
    ],
)
def test_truncated_garbage_or_huge_day_lists_change_nothing(central, device, spoil, reason):
    today = local_now().date()
    central.book(2, today)
    wait_for(lambda: len(device.do(TakeDayList())) == 2, what="the first list")
    central.gate.fault("GET", "/appointments", mangled(spoil), times=None)
    central.book(1, today, slot="11:00", first=3)
    health = wait_for(lambda: (h := device.health()) and reason in h.detail and h, what="the refusal")
    assert health.state == Health.DEGRADED
    assert len(device.do(TakeDayList())) == 2
    assert device.core.running
    central.gate.clear()
    wait_for(lambda: len(device.do(TakeDayList())) == 3, what="the good list applied")


# --- calls down ------------------------------------------------------------------------------------


def test_a_staff_call_at_the_backend_wakes_the_devices_waiting_poll(tmp_path, central):
    def polls() -> int:
        return central.gate.arrived("GET", "/calls$", "wait=30")

    def waiting() -> int:
        return polls() - central.gate.count("GET", "/calls$", None, "wait=30")

    device = Device(tmp_path, central.url)
    # Polls of the longest wait: one answered at its wait's end would show as a poll more, however slow the machine
    # (how fast a call is on the device: the benchmark's call_to_device_p99_ms).
    device.sync.calls_wait_s = 30
    device.start()
    try:
        for _ in range(5):
            device.issue("leave")
        delivered(device)
        wait_for(lambda: waiting() == 1, what="the device's poll waiting")
        for counter in range(1, 6):
            asked = polls()
            code = central.call(counter=counter, next=True).json()["code"]
            wait_for(
                lambda: device.core.snapshot.recent_calls and device.core.snapshot.recent_calls[0].code == code,  # noqa: B023 (waited on before the loop moves on)
                what=f"{code} on the device",
            )
            assert device.core.snapshot.recent_calls[0].counter == counter
            wait_for(lambda: polls() > asked and waiting() == 1, what="the device's next poll waiting")  # noqa: B023 (waited on before the loop moves on)
            assert polls() == asked + 1  # the poll that was waiting brought the call: it was woken
        assert [c.code for c in device.core.snapshot.recent_calls] == ["A005", "A004", "A003", "A002", "A001"]
    finally:
        device.stop()


def test_cursors_outlive_a_backend_restart_and_a_reset_backend_is_followed(tmp_path, central, device):
    for _ in range(3):
        device.issue("leave")
    delivered(device)
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") >= 1, what="the long poll")
    central.stop()
    central.start()  # same database: the device's cursor is still good
    polls = central.gate.arrived("GET", "/calls", "after=")
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") > polls, what="the poll again")
    central.call(counter=1, code="A001")
    wait_for(lambda: "A001" in {c.code for c in device.core.snapshot.recent_calls}, what="A001 on the device")
    assert central.gate.count("GET", "/calls", 410) == 0

    central.stop()
    central.reset()  # a new backend: the cursor means nothing there
    central.start()
    central.store.apply_events(
        Sender("kiosk-1"),
        SITE,
        [
            {
                "key": "moved-over-a002",
                "kind": "ticket_issued",
                "created_at": CLOCK.now().isoformat(),
                "body": {"day": local_now().date().isoformat(), "concern": "leave", "number": 2, "code": "A002"},
            }
        ],
        CLOCK.now(),
    )
    wait_for(lambda: central.gate.count("GET", "/calls", 410) >= 1, what="410 for the old cursor")
    polls = central.gate.arrived("GET", "/calls", "after=")
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") > polls, what="polling the new backend")
    central.call(counter=2, code="A002")
    wait_for(lambda: "A002" in {c.code for c in device.core.snapshot.recent_calls}, what="A002 on the device")
    central.book(2, local_now().date(), first=40)  # the day lists' cursors are gone too: whole lists again
    wait_for(lambda: [a.display_code for a in device.do(TakeDayList())] == ["T040", "T041"], what="the new list")
    assert central.gate.count("GET", "/appointments", 410) >= 1


def test_yesterdays_calls_never_call_todays_same_number(tmp_path, central):
    now = CLOCK.now()
    yesterday = (local_now() - timedelta(days=1)).date().isoformat()
    central.store.apply_events(
        Sender("kiosk-2"),
        SITE,
        [
            {
                "key": "yesterday-a001",
                "kind": "ticket_issued",
                "created_at": (now - timedelta(days=1)).isoformat(),
                "body": {"day": yesterday, "concern": "leave", "number": 1, "code": "A001"},
            }
        ],
        now,
    )
    central.store.call_code(SITE, yesterday, 4, "A001", now - timedelta(days=1))
    directory = tmp_path / "device"
    directory.mkdir()
    device = Device(directory, central.url)
    device.core.start()
    device.issue("leave")  # today's A001, waiting
    device.clock_trust.start()
    device.sync.start()
    try:
        wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") >= 1, what="the latest calls taken")
        time.sleep(0.2)
        assert [e.code for e in device.core.snapshot.waiting] == ["A001"]
        assert device.core.snapshot.recent_calls == ()
    finally:
        device.stop()


# --- heartbeat and clock ---------------------------------------------------------------------------


def test_heartbeats_carry_the_components_health(central, device):
    device.do(ReportHealth("printer", Health.DEGRADED, "paper near end " + "x" * 300))
    wait_for(
        lambda: (
            (beat := central.store.heartbeat("kiosk-1")) and any(c["name"] == "printer" for c in beat["components"])
        ),
        what="a heartbeat with the printer",
    )
    beat = central.store.heartbeat("kiosk-1")
    assert beat["version"] and beat["roles"] == ["kiosk", "monitor"] and beat["clock_ok"] is True
    printer = next(c for c in beat["components"] if c["name"] == "printer")
    assert printer["state"] == "degraded" and len(printer["detail"]) == 200


def test_heartbeats_tell_the_backend_each_concerns_titles_for_its_public_pages(central, device):
    wait_for(lambda: central.store.heartbeat("kiosk-1"), what="a heartbeat")
    assert central.store.concern_titles(device.config.device.site) == {
        "leave": {"de": "Urlaub beantragen", "en": "Apply for leave"},
        "documents": {"de": "Unterlagen abgeben", "en": "Hand in documents"},
    }


def test_nothing_day_bound_is_issued_until_the_backends_clock_agrees(tmp_path, central):
    device = Device(tmp_path, central.url, trusted=False)
    device.core.start()
    device.clock_trust.start()
    try:
        with pytest.raises(ClockNotTrusted):
            device.issue("leave")
        assert device.health("clock").state == Health.DEGRADED and device.health("clock").detail == WAITING
        device.sync.start()
        wait_for(lambda: device.health_is(Health.OK, "clock"), what="the clock trusted")
        assert device.issue("leave").code == "A001"
    finally:
        device.stop()


def test_a_clock_hours_off_the_backends_stays_untrusted_and_says_why(tmp_path, central):
    clock = FakeClock(CLOCK.now() - timedelta(hours=2))
    device = Device(tmp_path, central.url, clock=clock, trusted=False).start()
    try:
        health = wait_for(lambda: (h := device.health("clock")) and "off the backend's" in h.detail and h)
        assert re.search(r"the clock is -7\d\d\d s off the backend's \(more than the 60 s allowed", health.detail)
        with pytest.raises(ClockNotTrusted):
            device.issue("leave")
        assert central.gate.count("GET", "/appointments") == 0  # which day it is is not known yet
    finally:
        device.stop()


def test_systemds_time_sync_signal_trusts_the_clock(tmp_path):
    central = Central(tmp_path)  # no backend at all
    device = Device(tmp_path, central.url, trusted=False).holds_block(1).start()
    try:
        with pytest.raises(ClockNotTrusted):
            device.issue("leave")
        (tmp_path / "no-timesync").touch()
        wait_for(lambda: device.health_is(Health.OK, "clock"), what="the clock trusted")
        assert device.issue("leave").code == "A975"  # its fallback block's first
    finally:
        device.stop()


# --- the daemon --------------------------------------------------------------------------------------


def test_the_daemon_runs_the_sync_and_its_view_says_since_when_calls_may_be_stale(tmp_path, central):
    config = load_config(write_config(tmp_path, central.url))
    appliance = Appliance(config, clock=CLOCK)
    appliance.start()
    try:
        wait_for(lambda: central.store.heartbeat("kiosk-1"), what="the daemon's heartbeat")
        assert appliance.view(appliance.core.snapshot)["backend"] == {"stale_since": None}
        central.stop()
        stale = wait_for(lambda: appliance.view(appliance.core.snapshot)["backend"]["stale_since"], what="stale")
        assert datetime.fromisoformat(stale) <= CLOCK.now()
        wait_for(lambda: "degraded: backend degraded" in appliance.status.summary(), what="the summary says so")
    finally:
        started = time.monotonic()
        appliance.stop()
    assert time.monotonic() - started < CALLS_WAIT_S  # the sync cuts its long poll instead of waiting it out
