"""The reference backend as a specification of the sync protocol: real server on loopback, real HTTP.

Each test starts the backend in-process on a free port with its own database, once a SQLite file and once
on PostgreSQL (the backend_database fixture), and talks to it with requests, as a device, the staff or the
public website would.
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from appliance.protocol import OPENAPI_PATH
from appliance.protocol.contract import Contract, RequestRejected
from appliance.protocol.http_server import BackgroundServer
from entrance_backend.main import BackgroundBackend, DeviceAccess, Settings, _clock_from, main
from entrance_backend.store import SCHEMA, SHARED_ID_WINDOW, BackendStore, _statements
from support import ANSWER_S, free_port, serves, stop_process, wait_for
from support.backend_pages import long_polls_open

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
DAY = "2026-03-09"
STAFF = "staff-secret"
DEVICES = (
    DeviceAccess("kiosk-1", "mitte", "token-kiosk-1"),
    DeviceAccess("kiosk-2", "mitte", "token-kiosk-2"),
    DeviceAccess("kiosk-nord", "nord", "token-nord"),
)
KIOSK = {"Authorization": "Bearer token-kiosk-1"}
STAFF_AUTH = {"Authorization": f"Bearer {STAFF}"}
HEARTBEAT = {
    "version": "0.1.0",
    "roles": ["kiosk", "monitor"],
    "outbox_pending": 3,
    "clock_ok": True,
    "components": [
        {"name": "printer", "state": "degraded", "detail": "paper near end"},
        {"name": "scanner", "state": "ok"},
    ],
}


def start(database, **settings) -> BackgroundBackend:
    options = dict(devices=DEVICES, staff_token=STAFF, site="mitte", rate_limit=0, clock=lambda: NOW)
    return BackgroundBackend(Settings(database, **(options | settings))).start()


@pytest.fixture
def backend(backend_database):
    backend = start(backend_database)
    yield backend
    backend.stop()


def event(kind: str, body: dict, minutes: int = 0, key: str | None = None) -> dict:
    return {
        "key": key or uuid.uuid4().hex,
        "kind": kind,
        "body": body,
        "created_at": (NOW + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
    }


def ticket(code: str, minutes: int = 0, concern: str = "leave") -> dict:
    return event("ticket_issued", {"day": DAY, "concern": concern, "number": int(code[1:]), "code": code}, minutes)


def upload(backend, events, device="kiosk-1", headers=KIOSK):
    return requests.post(
        f"{backend.url}/v1/devices/{device}/events", json={"events": events}, headers=headers, timeout=ANSWER_S
    )


def staff_call(backend, **body):
    return requests.post(f"{backend.url}/v1/sites/mitte/calls", json=body, headers=STAFF_AUTH, timeout=ANSWER_S)


def book(backend, count: int, day: str = DAY) -> list[dict]:
    return backend.store.add_appointments(
        [
            {
                "site": "mitte",
                "day": day,
                "slot": f"{9 + i // 6:02d}:{i % 6 * 10:02d}",
                "concern": "leave",
                "display_code": f"T{i + 1:03d}",
                "reference": f"K7Q2M{i}",
            }
            for i in range(count)
        ],
        NOW,
    )


def appointments(backend, headers=KIOSK, **query):
    return requests.get(
        f"{backend.url}/v1/sites/mitte/appointments", params={"day": DAY, **query}, headers=headers, timeout=ANSWER_S
    )


# --- tokens ----------------------------------------------------------------------------------


def test_every_device_operation_needs_a_known_token(backend):
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic a2lvc2s6eA=="}):
        answer = requests.post(f"{backend.url}/v1/devices/kiosk-1/heartbeat", json=HEARTBEAT, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.json()["error"] == "unauthorized"
    assert requests.get(f"{backend.url}/v1/sites/mitte/calls").status_code == 401
    assert backend.store.heartbeat("kiosk-1") is None


def test_guessing_tokens_is_throttled_per_source_address(tmp_path):
    backend = start(tmp_path / "backend.db", rate_limit=50)  # the default: each caller's rate is far from reached here

    def heartbeat(token):
        headers = {"Authorization": f"Bearer {token}"}
        return requests.post(f"{backend.url}/v1/devices/kiosk-1/heartbeat", json=HEARTBEAT, headers=headers)

    guesses = [heartbeat(f"guess-{n:04d}") for n in range(12)]

    assert [answer.status_code for answer in guesses] == [401] * 10 + [429] * 2
    assert guesses[-1].json()["error"] == "rate_limited" and "too many wrong tokens" in guesses[-1].json()["message"]
    assert int(guesses[-1].headers["Retry-After"]) >= 1
    assert heartbeat("token-kiosk-1").status_code == 429  # a right guess now would be no guess at all
    assert backend.store.heartbeat("kiosk-1") is None
    backend.stop()


def test_a_device_token_is_valid_only_for_its_own_device_and_site(backend):
    other_device = requests.post(f"{backend.url}/v1/devices/kiosk-2/heartbeat", json=HEARTBEAT, headers=KIOSK)
    assert other_device.status_code == 403
    assert "kiosk-1" in other_device.json()["message"]
    unknown_device = upload(backend, [ticket("A001")], device="kiosk-99")
    assert unknown_device.status_code == 403
    other_site = requests.get(f"{backend.url}/v1/sites/nord/appointments", params={"day": DAY}, headers=KIOSK)
    assert other_site.status_code == 403
    assert staff_call(backend, counter=1, next=True).status_code != 403
    assert (
        requests.post(
            f"{backend.url}/v1/sites/mitte/calls", json={"counter": 1, "next": True}, headers=KIOSK
        ).status_code
        == 403
    )  # devices do not call through the backend
    assert upload(backend, [ticket("A001")], headers=STAFF_AUTH).status_code == 403
    unknown_site = requests.get(f"{backend.url}/v1/sites/sued/calls", headers=STAFF_AUTH)
    assert unknown_site.status_code == 404
    assert backend.store.events("kiosk-1") == [] and backend.store.events("kiosk-2") == []


def test_heartbeat_is_recorded_and_answers_the_server_time(backend):
    answer = requests.post(f"{backend.url}/v1/devices/kiosk-1/heartbeat", json=HEARTBEAT, headers=KIOSK)
    assert answer.status_code == 200
    assert answer.json() == {"device": "kiosk-1", "server_time": "2026-03-09T08:00:00.000Z"}
    assert answer.headers["Date"].endswith("GMT")  # devices without a real-time clock read it too
    assert backend.store.heartbeat("kiosk-1") == HEARTBEAT


# --- appointments ----------------------------------------------------------------------------


def test_an_unchanged_day_is_answered_304_by_its_etag(backend):
    book(backend, 3)
    first = appointments(backend)
    assert first.status_code == 200
    assert [a["display_code"] for a in first.json()["appointments"]] == ["T001", "T002", "T003"]
    etag = first.headers["ETag"]
    unchanged = appointments(backend, headers={**KIOSK, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["ETag"] == etag
    book(backend, 1, day="2026-03-10")  # another day's booking does not change this day
    assert appointments(backend, headers={**KIOSK, "If-None-Match": etag}).status_code == 304
    backend.store.change_appointment(first.json()["appointments"][0]["id"], NOW, status="cancelled")
    changed = appointments(backend, headers={**KIOSK, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["appointments"][0]["status"] == "cancelled"


def test_changes_since_a_cursor_are_only_the_added_changed_and_cancelled(backend):
    booked = book(backend, 5)
    cursor = appointments(backend).json()["cursor"]
    added = backend.store.add_appointments(
        [
            {
                "site": "mitte",
                "day": DAY,
                "slot": "11:30",
                "concern": "documents",
                "display_code": "T006",
                "reference": "R9X4ZZ",
            }
        ],
        NOW,
    )[0]
    backend.store.change_appointment(booked[1]["id"], NOW, status="cancelled")
    backend.store.change_appointment(booked[2]["id"], NOW, slot="12:00")
    assert upload(backend, [event("check_in", {"day": DAY, "appointment": booked[3]["id"]})]).status_code == 200

    answer = appointments(backend, since=cursor).json()
    changes = {change["appointment"]["display_code"]: change["change"] for change in answer["changes"]}
    assert changes == {"T006": "added", "T002": "cancelled", "T003": "changed", "T004": "changed"}
    by_code = {change["appointment"]["display_code"]: change["appointment"] for change in answer["changes"]}
    assert by_code["T004"]["status"] == "checked_in" and by_code["T003"]["slot"] == "12:00"
    assert by_code["T006"]["id"] == added["id"]
    assert appointments(backend, since=answer["cursor"]).json()["changes"] == []


def test_a_cursor_from_another_backend_is_gone(backend, tmp_path):
    book(backend, 2)
    cursor = appointments(backend).json()["cursor"]
    foreign = "deadbeef-1" if not cursor.startswith("deadbeef") else "cafebabe-1"
    assert appointments(backend, since=foreign).status_code == 410
    too_far = cursor.rsplit("-", 1)[0] + "-999"
    gone = appointments(backend, since=too_far)
    assert gone.status_code == 410 and gone.json()["error"] == "cursor_gone"
    assert (
        requests.get(f"{backend.url}/v1/sites/mitte/calls", params={"after": too_far}, headers=KIOSK).status_code == 410
    )


# --- events ----------------------------------------------------------------------------------


def test_the_same_batch_twice_is_applied_once(backend):
    batch = [ticket("A001"), ticket("A002", 1), event("printer_health", {"state": "ok", "paper": "ok"}, 2)]
    first = upload(backend, batch)
    assert first.status_code == 200
    assert first.json() == {"accepted": [e["key"] for e in batch], "duplicates": []}
    again = upload(backend, batch)
    assert again.json() == {"accepted": [], "duplicates": [e["key"] for e in batch]}
    assert [e["key"] for e in backend.store.events("kiosk-1")] == [e["key"] for e in batch]
    assert len(backend.store.tickets("mitte", DAY)) == 2
    # A retry that overlaps the last batch and adds new events: only the new ones take effect.
    overlap = batch[1:] + [ticket("A003", 3)]
    assert upload(backend, overlap).json() == {
        "accepted": [overlap[-1]["key"]],
        "duplicates": [e["key"] for e in batch[1:]],
    }
    assert [t["code"] for t in backend.store.tickets("mitte", DAY)] == ["A001", "A002", "A003"]


def test_a_key_reused_for_another_event_refuses_the_whole_batch(backend):
    issued = ticket("A001")
    assert upload(backend, [issued]).status_code == 200
    reused = dict(ticket("A002", 1), key=issued["key"])
    answer = upload(backend, [ticket("A003", 2), reused])
    assert answer.status_code == 409 and answer.json()["error"] == "key_conflict"
    assert issued["key"] in answer.json()["message"]
    assert [t["code"] for t in backend.store.tickets("mitte", DAY)] == ["A001"]  # A003 was rolled back


def test_events_take_effect_in_the_order_sent(backend):
    issue_then_void = [ticket("A001"), event("ticket_void", {"day": DAY, "code": "A001", "reason": "not_printed"}, 1)]
    void_then_issue = [event("ticket_void", {"day": DAY, "code": "A002"}, 2), ticket("A002", 3)]
    assert upload(backend, issue_then_void).status_code == 200
    assert upload(backend, void_then_issue).status_code == 200
    assert {t["code"]: t["state"] for t in backend.store.tickets("mitte", DAY)} == {"A001": "void", "A002": "waiting"}
    sent = [e["key"] for e in issue_then_void + void_then_issue]
    assert [e["key"] for e in backend.store.events("kiosk-1")] == sent


def test_each_event_counts_once_across_backend_restarts(backend_database):
    batch = [ticket(f"A{n:03d}", n) for n in range(1, 21)]
    backend = start(backend_database)
    try:
        assert upload(backend, batch[:10]).status_code == 200
    finally:
        backend.stop()
    backend = start(backend_database)  # the device never saw the answer and sends everything again
    try:
        answer = upload(backend, batch).json()
        assert answer["duplicates"] == [e["key"] for e in batch[:10]]
        assert answer["accepted"] == [e["key"] for e in batch[10:]]
        assert len(backend.store.events("kiosk-1")) == 20 and len(backend.store.tickets("mitte", DAY)) == 20
    finally:
        backend.stop()


def test_unknown_event_kinds_are_kept_without_effect(backend):
    newer = event("display_brightness", {"percent": 80})
    assert upload(backend, [newer]).json()["accepted"] == [newer["key"]]
    assert backend.store.events("kiosk-1")[0]["kind"] == "display_brightness"


# --- one office: codes issued twice, devices sharing an id, appointments only a signed code knew ----------

KIOSK_2 = {"Authorization": "Bearer token-kiosk-2"}


def heartbeat(backend, instance: str, device: str = "kiosk-1", headers=KIOSK) -> dict:
    answer = requests.post(
        f"{backend.url}/v1/devices/{device}/heartbeat", json=HEARTBEAT | {"instance": instance}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_code_another_device_issued_too_is_kept_and_an_alarm_for_both(backend):
    first, second = ticket("A001"), ticket("A001", 2)
    assert "alarms" not in upload(backend, [first]).json()
    answer = upload(backend, [second], device="kiosk-2", headers=KIOSK_2).json()

    alarm = {
        "kind": "duplicate_code",
        "day": DAY,
        "code": "A001",
        "devices": [{"device": "kiosk-1", "address": "127.0.0.1"}, {"device": "kiosk-2", "address": "127.0.0.1"}],
    }
    assert answer == {"accepted": [second["key"]], "duplicates": [], "alarms": [alarm]}
    assert [e["key"] for e in backend.store.events("kiosk-2")] == [second["key"]]  # nothing lost
    assert heartbeat(backend, "run-of-kiosk-1")["alarms"] == [alarm]  # the other device learns it too
    assert heartbeat(backend, "run-of-kiosk-2", "kiosk-2", KIOSK_2)["alarms"] == [alarm]
    # The first visitor stays the one called; the second kiosk's void of its own A001 cannot take them off.
    upload(backend, [event("ticket_void", {"day": DAY, "code": "A001"}, 3)], device="kiosk-2", headers=KIOSK_2)
    assert backend.store.tickets("mitte", DAY) == [
        {"code": "A001", "concern": "leave", "state": "waiting", "counter": None}
    ]


def test_the_same_issue_sent_again_is_no_alarm(backend):
    issued = ticket("A001")
    upload(backend, [issued])
    assert upload(backend, [issued]).json() == {"accepted": [], "duplicates": [issued["key"]]}
    again_under_another_key = dict(issued, key=uuid.uuid4().hex)
    assert "alarms" not in upload(backend, [again_under_another_key]).json()
    assert "alarms" not in heartbeat(backend, "run-of-kiosk-1")


def test_two_devices_heartbeating_as_one_id_are_flagged_naming_both_runs(backend):
    assert "alarms" not in heartbeat(backend, "first-run") | heartbeat(backend, "first-run")
    assert "alarms" not in heartbeat(backend, "after-restart")  # a restart is a new run, never two devices
    assert "alarms" not in heartbeat(backend, "after-restart")
    answer = heartbeat(backend, "copied-config")  # a second device takes turns with the first
    answer = heartbeat(backend, "after-restart")
    assert answer["alarms"] == [
        {
            "kind": "shared_device_id",
            "devices": [
                {"device": "kiosk-1", "instance": "after-restart", "address": "127.0.0.1"},
                {"device": "kiosk-1", "instance": "copied-config", "address": "127.0.0.1"},
            ],
        }
    ]
    assert heartbeat(backend, "copied-config")["alarms"] == answer["alarms"]
    for _ in range(SHARED_ID_WINDOW):  # the copy is switched off: the alarm ends
        last = heartbeat(backend, "after-restart")
    assert "alarms" not in last


def test_a_check_in_the_backend_never_held_becomes_a_callable_appointment(backend):
    signed = {"day": DAY, "appointment": "4711", "display_code": "T021", "site": "mitte", "slot": "09:10"}
    upload(backend, [ticket("A001"), event("check_in", signed | {"concern": "leave"}, 1)])
    day = appointments(backend).json()["appointments"]
    assert [(a["id"], a["display_code"], a["slot"], a["concern"], a["status"]) for a in day] == [
        ("4711", "T021", "09:10", "leave", "checked_in")
    ]
    call = staff_call(backend, counter=2, next=True).json()
    assert (call["code"], call["kind"]) == ("T021", "appointment")


def test_a_check_in_cannot_make_a_cancelled_or_foreign_appointment_callable(backend):
    booked = backend.store.add_appointments(
        [
            {
                "id": "4711",
                "site": "mitte",
                "day": DAY,
                "slot": "09:10",
                "concern": "leave",
                "display_code": "T021",
                "reference": "K7Q2M1",
                "status": "cancelled",
            }
        ],
        NOW,
    )[0]
    signed = {"day": DAY, "display_code": "T021", "slot": "09:10", "concern": "leave"}
    upload(backend, [event("check_in", signed | {"appointment": booked["id"], "site": "mitte"})])
    upload(backend, [event("check_in", signed | {"appointment": "4712", "site": "nord", "display_code": "T022"})])
    assert [a["status"] for a in appointments(backend).json()["appointments"]] == ["cancelled"]
    refused = staff_call(backend, counter=2, code="T021")
    assert refused.status_code == 409 and refused.json()["error"] == "not_callable"
    assert staff_call(backend, counter=2, code="T022").status_code == 404
    named = event("check_in", signed | {"appointment": "4713", "site": "mitte", "name": "Erika Mustermann"})
    assert upload(backend, [named]).status_code == 422  # the event carries the code's facts, never a name


def test_a_database_of_the_version_before_is_brought_up_to_date(tmp_path):
    with sqlite3.connect(tmp_path / "backend.db") as db:
        for statement in _statements(SCHEMA):
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('epoch', 'cafe0001'), ('appointment_seq', '0')")
        db.execute("PRAGMA user_version=1")
    backend = start(tmp_path / "backend.db")
    try:
        upload(backend, [ticket("A001")])
        assert "alarms" in upload(backend, [ticket("A001", 1)], device="kiosk-2", headers=KIOSK_2).json()
    finally:
        backend.stop()


def test_the_published_wait_is_the_office_s_own_estimate_whichever_device_reported_last(backend_database):
    moments = [NOW]
    backend = start(backend_database, clock=lambda: moments[0])
    try:
        upload(backend, [ticket(f"A{n:03d}", n) for n in range(1, 9)] + [ticket("C001", 9, "documents")])
        estimate = {"day": DAY, "concern": "leave", "minutes": 90, "waiting": 1}
        upload(backend, [event("wait_estimate", estimate, 10)])
        kiosk_2 = {"Authorization": "Bearer token-kiosk-2"}
        upload(backend, [event("wait_estimate", dict(estimate, minutes=2), 11)], "kiosk-2", kiosk_2)

        def published():
            answer = requests.get(f"{backend.url}/v1/sites/mitte/waits")  # no token
            assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"
            return {w["concern"]: (w["minutes"], w["waiting"]) for w in answer.json()["waits"]}

        # Before any call, the estimator's defaults (4 counters, 8 minutes a visit) over one queue for the
        # whole office: 9 wait, so a number drawn now, of either concern, is called in about 16 minutes.
        assert published() == {"documents": (16, 1), "leave": (16, 8)}
        for minute in (0, 3, 6):  # counter 1 calls a leave visitor every 3 minutes
            moments[0] = NOW + timedelta(minutes=30 + minute)
            staff_call(backend, counter=1, next=True, concerns=["leave"])
        quicker = published()
        assert quicker == {"documents": (6, 1), "leave": (6, 5)}  # 6 waiting, visits quicker than 8 minutes
        upload(backend, [event("wait_estimate", dict(estimate, minutes=1), 40)], "kiosk-2", kiosk_2)
        assert published() == quicker  # no device's estimate flips it
        load = {c["concern"]: c for c in office(backend).json()["waiting_per_concern"]}["leave"]
        # The range the published minutes are the middle of; each visitor more adds less than the default 120 s.
        assert (load["wait_low"], load["wait_high"], load["seconds_per_visitor"]) == (0, 11, 77)
        assert requests.get(f"{backend.url}/v1/sites/sued/waits").status_code == 404
    finally:
        backend.stop()


# --- calls -----------------------------------------------------------------------------------


def poll(backend, after, wait, headers=KIOSK):
    return requests.get(
        f"{backend.url}/v1/sites/mitte/calls",
        params={"after": after, "wait": wait},
        headers=headers,
        timeout=wait + ANSWER_S,
    )


def test_a_long_poll_answers_a_staff_call_before_its_wait_ends(backend):
    upload(backend, [ticket(f"A{n:03d}", n) for n in range(1, 6)])
    cursor = requests.get(f"{backend.url}/v1/sites/mitte/calls", headers=KIOSK).json()["cursor"]
    for counter in range(1, 6):
        answers = []
        asked = time.monotonic()
        waiting = threading.Thread(target=lambda: answers.append((poll(backend, cursor, 30), time.monotonic())))  # noqa: B023 (waited on before the loop moves on)
        waiting.start()
        wait_for(lambda: long_polls_open(backend.url) == 1, what="the poll waiting")
        assert staff_call(backend, counter=counter, next=True).status_code == 201
        waiting.join(ANSWER_S)
        answer, answered = answers[0]
        # Woken by the call, not answered at the end of its 30 s wait; how fast: the benchmark's call_to_device_p99_ms.
        assert answered - asked < 30
        calls = answer.json()["calls"]
        assert [(c["code"], c["counter"], c["kind"]) for c in calls] == [(f"A{counter:03d}", counter, "ticket")]
        cursor = answer.json()["cursor"]
        assert calls[0]["cursor"] == cursor


def test_a_long_poll_without_calls_answers_empty_after_its_wait(backend):
    cursor = requests.get(f"{backend.url}/v1/sites/mitte/calls", headers=KIOSK).json()["cursor"]
    started = time.monotonic()
    answer = poll(backend, cursor, 1)
    assert answer.status_code == 200 and answer.json() == {"cursor": cursor, "calls": []}
    assert time.monotonic() - started >= 0.95  # waits its second (a slow machine only waits longer)


def test_calls_already_made_are_answered_at_once_oldest_first(backend):
    upload(backend, [ticket(f"A{n:03d}", n) for n in range(1, 4)])
    start_cursor = requests.get(f"{backend.url}/v1/sites/mitte/calls", headers=KIOSK).json()["cursor"]
    for counter in (1, 2, 3):
        staff_call(backend, counter=counter, next=True)
    started = time.monotonic()
    answer = poll(backend, start_cursor, 30).json()
    assert time.monotonic() - started < 30  # not at the end of the poll's 30 s wait
    assert [c["code"] for c in answer["calls"]] == ["A001", "A002", "A003"]
    latest = requests.get(f"{backend.url}/v1/sites/mitte/calls", params={"limit": 2}, headers=KIOSK).json()
    assert [c["code"] for c in latest["calls"]] == ["A002", "A003"] and latest["cursor"] == answer["cursor"]


def test_call_next_takes_checked_in_appointments_first_then_tickets_in_issue_order(backend):
    booked = book(backend, 3)
    upload(
        backend,
        [
            ticket("A001", 0),
            ticket("E001", 5, concern="first-application"),
            event("check_in", {"day": DAY, "appointment": booked[2]["id"]}, 10),
            event("check_in", {"day": DAY, "appointment": booked[0]["id"]}, 12),
        ],
    )
    upload(backend, [ticket("A002", 7)], device="kiosk-2", headers={"Authorization": "Bearer token-kiosk-2"})
    order = []
    for counter in range(1, 6):
        answer = staff_call(backend, counter=counter, next=True)
        assert answer.status_code == 201, answer.text
        order.append((answer.json()["code"], answer.json()["kind"]))
    # T001's slot (09:00) is before T003's (09:20), though T003 checked in first; T002 never checked in.
    assert order == [
        ("T001", "appointment"),
        ("T003", "appointment"),
        ("A001", "ticket"),
        ("E001", "ticket"),
        ("A002", "ticket"),
    ]
    nobody = staff_call(backend, counter=1, next=True)
    assert nobody.status_code == 409 and nobody.json()["error"] == "nobody_waiting"


def test_call_next_for_some_concerns_and_a_code_called_by_name(backend):
    upload(
        backend,
        [
            ticket("A001", 0),
            ticket("E001", 1, concern="first-application"),
            ticket("A002", 2),
            event("ticket_void", {"day": DAY, "code": "A002"}, 3),
        ],
    )
    assert staff_call(backend, counter=2, next=True, concerns=["first-application"]).json()["code"] == "E001"
    assert staff_call(backend, counter=2, next=True, concerns=["first-application"]).status_code == 409
    assert staff_call(backend, counter=4, code="A001").json()["counter"] == 4
    assert staff_call(backend, counter=5, code="A001").status_code == 201  # calling again is allowed
    assert staff_call(backend, counter=4, code="A002").json()["error"] == "not_callable"
    assert staff_call(backend, counter=4, code="Z999").status_code == 404


def test_tickets_are_called_in_the_order_they_reached_the_backend_whatever_the_devices_clocks_say(backend):
    # kiosk-2 runs 48 s slow: its ticket, drawn after kiosk-1's, carries the earlier time.
    upload(backend, [ticket("A001") | {"created_at": "2026-03-09T09:30:00+01:00"}])  # 08:30 UTC
    slow = ticket("A151") | {"created_at": "2026-03-09T08:29:12.123456789z"}
    upload(backend, [slow], device="kiosk-2", headers={"Authorization": "Bearer token-kiosk-2"})
    upload(backend, [ticket("A002", 40), ticket("A003", 20)])  # one batch: in array order
    called = [staff_call(backend, counter=1, next=True).json()["code"] for _ in range(4)]
    assert called == ["A001", "A151", "A002", "A003"]


@pytest.mark.parametrize(
    "created_at",
    ["0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01T08:00:00Z"],
)
def test_an_event_dated_far_from_the_backends_clock_is_refused_naming_it_and_nothing_applied(backend, created_at):
    absurd = ticket("A002") | {"created_at": created_at}
    answer = upload(backend, [ticket("A001"), absurd])
    assert answer.status_code == 422, answer.text
    refusal = answer.json()
    assert refusal["error"] == "implausible_time"
    assert f"event {absurd['key']} (ticket_issued) of {created_at}" in refusal["message"]
    assert refusal["details"] == [
        {"where": "body.events[1].created_at", "message": f"event {absurd['key']} (ticket_issued) of {created_at}"}
    ]
    assert backend.store.events("kiosk-1") == [] and backend.store.tickets("mitte", DAY) == []
    # The same event with the backend's own time (what the device sends next) is taken.
    assert upload(backend, [ticket("A001"), absurd | {"created_at": "2026-03-09T08:00:00Z"}]).status_code == 200


def test_events_from_a_month_offline_and_a_clock_slightly_ahead_are_taken(backend):
    month_ago = ticket("A001") | {"created_at": (NOW - timedelta(days=30)).isoformat()}
    ahead = ticket("A002") | {"created_at": (NOW + timedelta(hours=23)).isoformat()}
    assert upload(backend, [month_ago, ahead]).status_code == 200


def test_tickets_the_device_called_itself_are_not_offered_again(backend):
    upload(
        backend,
        [
            ticket("A001", 0),
            ticket("A002", 1),
            event("ticket_called", {"day": DAY, "code": "A001", "concern": "leave", "counter": 2}, 2),
        ],
    )
    assert staff_call(backend, counter=1, next=True).json()["code"] == "A002"


# --- the office's call-up state ----------------------------------------------------------------


def office(backend, headers=KIOSK, **query):
    return requests.get(f"{backend.url}/v1/sites/mitte/office", params=query, headers=headers, timeout=30 + ANSWER_S)


def test_the_office_state_lists_appointments_by_slot_then_tickets_as_received_and_call_next_follows_it(backend):
    booked = book(backend, 3)
    upload(backend, [ticket("A001", 9), event("check_in", {"day": DAY, "appointment": booked[2]["id"]}, 10)])
    # kiosk-2's clock is behind: its ticket still comes after A001, as the backend received it.
    upload(backend, [ticket("A151", 1)], device="kiosk-2", headers={"Authorization": "Bearer token-kiosk-2"})
    upload(
        backend,
        [
            ticket("E001", 11, concern="first-application"),
            ticket("A002", 12),
            event("ticket_void", {"day": DAY, "code": "A002"}, 13),
            event("check_in", {"day": DAY, "appointment": booked[0]["id"]}, 14),
        ],
    )
    state = office(backend).json()
    assert (state["site"], state["day"]) == ("mitte", DAY) and state["version"] > 0
    assert [(w["position"], w["code"], w["kind"]) for w in state["waiting"]] == [
        (1, "T001", "appointment"),
        (2, "T003", "appointment"),
        (3, "A001", "ticket"),
        (4, "A151", "ticket"),
        (5, "E001", "ticket"),
    ]
    assert state["waiting"][0]["slot"] == "09:00"
    assert state["waiting_total"] == 5
    # Before the day's calls tell the pace: the estimator's defaults, 4 counters and 8 minutes a visit, so
    # a number drawn now waits for the fifth visitor's counter: 8 minutes, as a range; each visitor more
    # adds 8 minutes over 4 counters.
    assert state["waiting_per_concern"] == [
        {"concern": "first-application", "waiting": 1, "wait_low": 1, "wait_high": 15, "seconds_per_visitor": 120},
        {"concern": "leave", "waiting": 4, "wait_low": 1, "wait_high": 15, "seconds_per_visitor": 120},
    ]
    assert state["recent_calls"] == []
    called = [staff_call(backend, counter=counter, next=True).json()["code"] for counter in range(1, 6)]
    assert called == [w["code"] for w in state["waiting"]]
    after = office(backend).json()
    assert after["waiting"] == [] and after["version"] > state["version"]
    assert [(c["code"], c["counter"], c["concern"]) for c in after["recent_calls"]] == [
        ("E001", 5, "first-application"),
        ("A151", 4, "leave"),
        ("A001", 3, "leave"),
        ("T003", 2, "leave"),
        ("T001", 1, "leave"),
    ]
    Contract.load().schema_validator("OfficeState").validate(after)


def _ask_office(backend, version: int, answers: list) -> None:
    answers.append((office(backend, after=version, wait=30), time.monotonic()))


def test_an_office_long_poll_answers_every_kind_of_change_before_its_wait_ends(backend):
    booked = book(backend, 2)
    changes = [
        lambda: upload(backend, [ticket("A001")]),
        lambda: upload(backend, [event("check_in", {"day": DAY, "appointment": booked[0]["id"]})]),
        lambda: staff_call(backend, counter=2, next=True),
        lambda: upload(backend, [event("ticket_void", {"day": DAY, "code": "A001"})]),
        lambda: backend.store.change_appointment(booked[1]["id"], NOW, slot="11:00"),
    ]
    version = office(backend).json()["version"]
    for change in changes:
        answers: list = []
        asked = time.monotonic()
        waiting = threading.Thread(target=_ask_office, args=(backend, version, answers))
        waiting.start()
        wait_for(lambda: long_polls_open(backend.url) == 1, what="the poll waiting")
        change()
        waiting.join(ANSWER_S)
        answer, answered = answers[0]
        # Woken by the change, not answered at the end of its 30 s wait; how fast: the benchmark's
        # office_screens_agree_p99_ms.
        assert answered - asked < 30
        assert answer.json()["version"] > version
        version = answer.json()["version"]


def test_every_device_waiting_on_one_office_version_gets_the_next_state_with_its_own_latest_event(backend):
    kiosk_2 = {"Authorization": "Bearer token-kiosk-2"}
    first, second = ticket("A001"), ticket("A002", 1)
    upload(backend, [first])
    upload(backend, [second], device="kiosk-2", headers=kiosk_2)
    version, answers = office(backend).json()["version"], {}

    def ask(name, headers):
        answers[name] = office(backend, headers=headers, after=version, wait=30)

    askers = {"1": KIOSK, "2": kiosk_2, "staff": STAFF_AUTH}
    waiting = [threading.Thread(target=ask, args=item) for item in askers.items()]
    for thread in waiting:
        thread.start()
    wait_for(lambda: long_polls_open(backend.url) == len(askers), what="the polls waiting")
    staff_call(backend, counter=1, next=True)
    for thread in waiting:
        thread.join(ANSWER_S)
    state = backend.store.office_state("mitte", DAY)
    assert state["version"] > version and state["recent_calls"][0]["code"] == "A001"
    assert answers["1"].json() == state | {"last_event": first["key"]}
    assert answers["2"].json() == state | {"last_event": second["key"]}
    assert answers["staff"].json() == state
    assert answers["1"].headers["content-type"] == "application/json"
    started = time.monotonic()  # a device asking with the version before the change is answered at once
    assert office(backend, after=version, wait=30).json() == answers["1"].json()
    assert time.monotonic() - started < 30  # not at the end of its 30 s wait


def test_an_office_long_poll_without_change_answers_the_same_state_after_its_wait(backend):
    upload(backend, [ticket("A001")])
    state = office(backend).json()
    started = time.monotonic()
    assert office(backend, after=state["version"], wait=1).json() == state
    assert time.monotonic() - started >= 0.95  # waits its second (a slow machine only waits longer)


def test_an_office_version_the_backend_never_issued_is_refused_at_once(backend):
    upload(backend, [ticket("A001")])
    version = office(backend).json()["version"]
    started = time.monotonic()
    answer = office(backend, after=version + 1, wait=30)
    assert time.monotonic() - started < 30  # not at the end of the poll's 30 s wait
    assert answer.status_code == 410 and answer.json()["error"] == "cursor_gone"
    assert "never issued office version" in answer.json()["message"]
    assert office(backend, after=version, wait=0).status_code == 200


def test_a_long_office_list_is_sent_as_its_head_with_everyone_counted_and_each_position_known(backend):
    upload(backend, [ticket(f"A{n:03d}", n) for n in range(1, 121)] + [ticket("C001", 121, "documents")])
    state = office(backend).json()
    assert [w["code"] for w in state["waiting"]] == [f"A{n:03d}" for n in range(1, 51)]
    assert state["waiting_total"] == 121
    assert [(c["concern"], c["waiting"]) for c in state["waiting_per_concern"]] == [("documents", 1), ("leave", 120)]
    assert len(requests.get(f"{backend.url}/v1/sites/mitte/office", headers=KIOSK).content) < 8000
    assert [backend.store.waiting_position("mitte", DAY, code) for code in ("A001", "A120", "C001", "X9")] == [
        1,
        120,
        121,
        None,
    ]


def test_a_device_is_told_its_latest_event_the_office_state_covers(backend):
    assert "last_event" not in office(backend).json()
    sent = [ticket("A001"), event("component_health", {"component": "printer", "state": "ok"}, 1)]
    upload(backend, sent)
    assert office(backend).json()["last_event"] == sent[-1]["key"]
    kiosk_2 = {"Authorization": "Bearer token-kiosk-2"}
    assert "last_event" not in office(backend, headers=kiosk_2).json()  # none of kiosk-2's is held
    assert "last_event" not in office(backend, headers=STAFF_AUTH).json()


def test_a_visitor_transferred_back_to_waiting_is_no_longer_among_the_calls(backend):
    upload(backend, [ticket("A001"), ticket("A002", 1)])
    staff_call(backend, counter=3, code="A002")
    taken_back = staff_call(backend, counter=3, code="A001").json()["id"]
    staff_call(backend, code="A001", transfer={"concern": "leave"})
    state = office(backend).json()
    assert [c["code"] for c in state["recent_calls"]] == ["A002"]
    assert [w["code"] for w in state["waiting"]] == ["A001"]
    assert state["last_call"] == taken_back  # covered, and left out: devices drop it too


def test_the_office_state_is_for_the_site_s_own_devices_and_staff_only(backend):
    assert office(backend, headers={"Authorization": "Bearer token-nord"}).status_code == 403
    assert office(backend, headers={}).status_code == 401
    assert office(backend, headers=STAFF_AUTH).status_code == 200


def test_the_call_command_line_calls_a_code_and_the_next(backend, capsys):
    upload(backend, [ticket("A001"), ticket("A002", 1)])
    assert main(["call", "--url", backend.url, "--counter", "3", "--next", "--token", STAFF]) == 0
    assert capsys.readouterr().out.strip() == "A001 -> counter 3 (ticket)"
    assert main(["call", "--url", backend.url, "--counter", "4", "--code", "A002", "--token", STAFF]) == 0
    assert main(["call", "--url", backend.url, "--counter", "4", "--next", "--token", STAFF]) == 1
    assert "nobody is waiting" in capsys.readouterr().err
    assert main(["call", "--url", backend.url, "--counter", "4", "--next", "--token", "wrong"]) == 1
    assert "401" in capsys.readouterr().err


def test_push_sends_the_whole_day_as_the_document_describes(backend, capsys):
    """The push endpoint is the device's; a stand-in checks what the backend's push command sends."""
    book(backend, 4)
    backend.store.change_appointment(appointments(backend).json()["appointments"][1]["id"], NOW, status="cancelled")
    contract, received = Contract.load(), []

    async def receive(request):
        try:
            contract.parameters("pushAppointments", request.path_params, request.query_params, request.headers)
            received.append(contract.body("pushAppointments", await request.body(), request.headers["content-type"]))
        except RequestRejected as error:
            return JSONResponse(error.to_json(), status_code=error.status)
        assert request.headers["authorization"] == "Bearer push-secret"
        return JSONResponse(
            {"site": "mitte", "day": request.path_params["day"], "appointments": len(received[-1]["appointments"])}
        )

    device = Starlette(routes=[Route("/v1/push/appointments/{day}", receive, methods=["PUT"])])
    with BackgroundServer(device) as endpoint:
        assert (
            main(
                [
                    "push",
                    "--db",
                    str(backend.store.database),
                    "--site",
                    "mitte",
                    "--day",
                    DAY,
                    "--url",
                    endpoint.url,
                    "--token",
                    "push-secret",
                ]
            )
            == 0
        )
    assert "4 appointments of mitte on 2026-03-09 pushed; the device holds 4" in capsys.readouterr().out
    assert received[0]["appointments"] == appointments(backend).json()["appointments"]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, where",
    [
        (b"{not json", None),
        (b"", None),
        (b"[]", "body"),
        (json.dumps({"events": []}).encode(), "body.events"),
        (
            json.dumps(
                {
                    "events": [
                        ticket("A001")
                        | {
                            "kind": "ticket_issued",
                            "body": {"day": DAY, "concern": "leave", "number": "1", "code": "A001"},
                        }
                    ]
                }
            ).encode(),
            "body.events[0].body.number",
        ),
        (
            json.dumps({"events": [ticket("A001") | {"created_at": "2026-03-09 08:00"}]}).encode(),
            "body.events[0].created_at",
        ),
        (json.dumps({"events": [ticket("A001") | {"name": "Erika Mustermann"}]}).encode(), "body.events[0]"),
        (json.dumps({"events": [ticket("A001")] * 501}).encode(), "body.events"),
        (json.dumps({"events": [ticket("A001") | {"key": "short"}]}).encode(), "body.events[0].key"),
        (b'{"events": [{"key": "aaaaaaaaaa", "kind": "x", "created_at": "2026-03-09T08:00:00Z", "body": NaN}]}', None),
    ],
)
def test_malformed_or_wrongly_typed_bodies_are_422_and_change_nothing(backend, body, where):
    answer = requests.post(
        f"{backend.url}/v1/devices/kiosk-1/events", data=body, headers={**KIOSK, "Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_body"
    if where:
        assert answer.json()["details"][0]["where"] == where
    assert backend.store.events("kiosk-1") == []


def test_bodies_that_are_not_json_are_415(backend):
    answer = requests.post(f"{backend.url}/v1/devices/kiosk-1/heartbeat", data={"version": "1"}, headers=KIOSK)
    assert answer.status_code == 415 and answer.json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize("query", [{"day": "2026-13-01"}, {"day": "09.03.2026"}, {}, {"since": "no spaces!"}])
def test_malformed_parameters_are_400(backend, query):
    answer = requests.get(f"{backend.url}/v1/sites/mitte/appointments", params=query, headers=KIOSK)
    assert answer.status_code == 400 and answer.json()["error"] == "bad_parameter"


def test_a_wait_beyond_thirty_seconds_is_400(backend):
    answer = requests.get(f"{backend.url}/v1/sites/mitte/calls", params={"wait": 31}, headers=KIOSK)
    assert answer.status_code == 400 and "wait" in answer.json()["message"]


def test_huge_bodies_are_413_and_change_nothing(backend):
    events = [
        ticket(f"A{n % 1000:03d}") | {"body": {"day": DAY, "concern": "leave", "number": 1, "code": "A001"}}
        for n in range(500)
    ]
    huge = json.dumps({"events": events, "padding": "x" * 2_000_000}).encode()
    declared = requests.post(
        f"{backend.url}/v1/devices/kiosk-1/events", data=huge, headers={**KIOSK, "Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"
    chunked = requests.post(
        f"{backend.url}/v1/devices/kiosk-1/events",  # no Content-Length: counted as it comes
        data=(huge[i : i + 65536] for i in range(0, len(huge), 65536)),
        headers={**KIOSK, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    assert backend.store.events("kiosk-1") == []


def test_too_many_requests_are_429_with_retry_after(backend_database):
    # One request per 100 s, bursts of one: at 2 a second (bursts of 4), eight requests spread over 2 s by a loaded
    # machine were all within the rate.
    backend = start(backend_database, rate_limit=0.01)
    try:
        answers = [requests.get(f"{backend.url}/v1/sites/mitte/calls", headers=KIOSK) for _ in range(8)]
        limited = [a for a in answers if a.status_code == 429]
        assert limited and answers[0].status_code == 200
        assert int(limited[0].headers["Retry-After"]) >= 1 and limited[0].json()["error"] == "rate_limited"
        assert (
            requests.get(
                f"{backend.url}/v1/sites/mitte/calls",  # another device has its own budget
                headers={"Authorization": "Bearer token-kiosk-2"},
            ).status_code
            == 200
        )
    finally:
        backend.stop()


# --- the document and the server's lifecycle -------------------------------------------------


def test_the_openapi_document_is_served_and_valid(backend):
    answer = requests.get(f"{backend.url}/openapi.json")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    served = answer.json()
    validate(served)
    assert served["servers"][0]["url"] == backend.url
    on_disk = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert {k: v for k, v in served.items() if k != "servers"} == {k: v for k, v in on_disk.items() if k != "servers"}


def test_stopping_answers_waiting_long_polls_at_once(backend_database):
    backend = start(backend_database)
    cursor = requests.get(f"{backend.url}/v1/sites/mitte/calls", headers=KIOSK).json()["cursor"]
    answers = []
    asked = time.monotonic()
    waiting = threading.Thread(target=lambda: answers.append(poll(backend, cursor, 30)))
    waiting.start()
    wait_for(lambda: long_polls_open(backend.url) == 1, what="the poll waiting")
    backend.stop()
    waiting.join(ANSWER_S)
    assert time.monotonic() - asked < 30  # the poll's 30 s wait cut short
    assert answers and answers[0].json()["calls"] == []


def test_two_devices_with_the_same_token_are_refused(tmp_path):
    with pytest.raises(ValueError, match="own name and token"):
        start(
            tmp_path / "backend.db",
            devices=(DeviceAccess("kiosk-1", "mitte", "same"), DeviceAccess("kiosk-2", "mitte", "same")),
        )


def test_seed_makes_a_realistic_morning_of_bookings(backend_database, capsys):
    database = backend_database
    assert main(["seed", "--db", str(database), "--site", "mitte", "--day", DAY, "--count", "60", "--seed", "7"]) == 0
    assert "60 appointments for mitte on 2026-03-09 (T001-T060" in capsys.readouterr().out
    backend = start(backend_database)
    try:
        day = appointments(backend).json()["appointments"]
    finally:
        backend.stop()
    assert len(day) == 60 and len({a["display_code"] for a in day}) == 60
    assert all("07:30" <= a["slot"] < "12:00" for a in day)
    assert 0 < sum(a["status"] == "cancelled" for a in day) < 20
    assert {a["concern"] for a in day} <= {"first-application", "leave", "documents"}


def test_book_adds_the_file_s_appointments_for_the_site_and_devices_get_them(backend_database, tmp_path, capsys):
    bookings = tmp_path / "bookings.json"
    bookings.write_text(
        json.dumps(
            [
                {
                    "id": "41",
                    "day": DAY,
                    "slot": "09:10",
                    "concern": "leave",
                    "display_code": "T041",
                    "reference": "R00041",
                },
                {
                    "id": "42",
                    "day": DAY,
                    "slot": "09:00",
                    "concern": "documents",
                    "display_code": "T042",
                    "reference": "R00042",
                },
            ]
        )
    )
    assert main(["book", "--db", str(backend_database), "--site", "mitte", "--file", str(bookings)]) == 0
    assert "2 appointments booked for mitte" in capsys.readouterr().out
    backend = start(backend_database)
    try:
        day = appointments(backend).json()["appointments"]
    finally:
        backend.stop()
    assert [(a["id"], a["display_code"], a["slot"], a["site"], a["status"]) for a in day] == [
        ("42", "T042", "09:00", "mitte", "booked"),
        ("41", "T041", "09:10", "mitte", "booked"),
    ]


@pytest.mark.parametrize(
    "content, problem",
    [
        (
            '[{"id": "1", "day": "2026-03-09", "slot": "9:00", "concern": "leave", "display_code": "T001", '
            '"reference": "R00001"}]',
            "appointment 1: '9:00' does not match",
        ),
        (
            '[{"id": "1", "day": "2026-03-09", "slot": "09:00", "concern": "leave", "reference": "R00001"}]',
            "appointment 1: 'display_code' is a required property",
        ),
        ('{"id": "1"}', "expected a JSON list of appointments"),
    ],
)
def test_book_refuses_a_file_with_a_bad_appointment_and_books_none_of_it(
    backend_database, tmp_path, capsys, content, problem
):
    bookings = tmp_path / "bookings.json"
    bookings.write_text(content)
    database = backend_database
    assert main(["book", "--db", str(database), "--file", str(bookings)]) == 1
    assert problem in capsys.readouterr().err
    store = BackendStore(database)
    assert store.appointment_day("mitte", DAY)[1] == []
    store.close()


def test_events_lists_what_a_device_sent_in_order(backend, capsys):
    upload(backend, [ticket("A001"), ticket("A002", minutes=1)])
    upload(
        backend,
        [ticket("B001", concern="documents")],
        device="kiosk-2",
        headers={"Authorization": "Bearer token-kiosk-2"},
    )
    assert main(["events", "--db", str(backend.store.database), "--device", "kiosk-1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["kind"], e["body"]["code"]) for e in lines] == [("ticket_issued", "A001"), ("ticket_issued", "A002")]


def test_a_clock_started_at_a_moment_reads_it_and_runs_on_in_real_time():
    started = time.monotonic()
    clock = _clock_from(NOW)
    first = clock()
    time.sleep(0.05)
    second = clock()
    elapsed = timedelta(seconds=time.monotonic() - started)
    # It runs on as much as the real clock ran while it was read, however long that took here.
    assert (
        NOW <= first
        and timedelta(seconds=0.05) <= second - first
        and second - NOW <= elapsed + timedelta(milliseconds=1)
    )


@pytest.mark.slow
def test_serve_runs_from_the_command_line_and_stops_on_sigterm(tmp_path):
    port = free_port()
    access = tmp_path / "access.toml"
    access.write_text('[[device]]\nid = "kiosk-1"\ntoken = "token-kiosk-1"\n', encoding="utf-8")
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from entrance_backend.main import main; sys.exit(main())",
            "serve",
            "--db",
            str(tmp_path / "b.db"),
            "--port",
            str(port),
            "--access",
            str(access),
            "--site",
            "mitte",
            "--clock-start",
            NOW.isoformat(),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1", "ENTRANCE_STAFF_TOKEN": STAFF},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: serves(f"{url}/openapi.json"), what="the backend serving")
        assert requests.post(f"{url}/v1/devices/kiosk-1/heartbeat", json=HEARTBEAT, headers=KIOSK).status_code == 200
        assert (
            requests.post(
                f"{url}/v1/devices/kiosk-1/events", json={"events": [ticket("A001")]}, headers=KIOSK
            ).status_code
            == 200
        )
        call = requests.post(f"{url}/v1/sites/mitte/calls", json={"counter": 2, "next": True}, headers=STAFF_AUTH)
        assert call.status_code == 201, call.text  # on the day the clock was started on
        assert call.json()["code"] == "A001" and call.json()["called_at"].startswith(DAY)
        assert stop_process(server) == 0
    finally:
        server.kill()
        server.wait()
    assert f"reference backend on http://127.0.0.1:{port}" in server.stderr.read()


def test_a_recall_is_a_new_call_at_the_head_of_the_office_s_calls_and_its_feed(backend):
    upload(backend, [ticket("A001"), ticket("A002", 1)])
    first = staff_call(backend, counter=3, code="A001").json()
    staff_call(backend, counter=4, code="A002")
    version = office(backend).json()["version"]
    recall = staff_call(backend, counter=3, code="A001")
    assert recall.status_code == 201 and recall.json()["id"] != first["id"]
    state = office(backend).json()
    assert state["version"] > version
    assert [(c["code"], c["counter"], c["call"]) for c in state["recent_calls"][:2]] == [
        ("A001", 3, recall.json()["id"]),
        ("A002", 4, state["recent_calls"][1]["call"]),
    ]
    feed = requests.get(f"{backend.url}/v1/sites/mitte/calls", headers=KIOSK, timeout=ANSWER_S).json()
    assert [call["code"] for call in feed["calls"]] == ["A001", "A002", "A001"]


def test_a_visitor_marked_not_come_leaves_the_lists_and_cannot_be_recalled(backend):
    book(backend, 1)
    appointment = appointments(backend).json()["appointments"][0]
    upload(
        backend, [ticket("A001"), ticket("A002", 1), event("check_in", {"day": DAY, "appointment": appointment["id"]})]
    )
    staff_call(backend, counter=3, code="A001")
    answers = [staff_call(backend, code=code, not_come=True) for code in ("A001", "A002", "T001")]
    assert [(a.status_code, a.json()["state"], a.json()["kind"]) for a in answers] == [
        (200, "not_come", "ticket"),
        (200, "not_come", "ticket"),
        (200, "not_come", "appointment"),
    ]
    state = office(backend).json()
    assert state["waiting"] == [] and state["recent_calls"] == []
    assert sorted(state["not_come"]) == ["A001", "A002", "T001"]
    refused = staff_call(backend, counter=3, code="A001")
    assert refused.status_code == 409 and "marked not come" in refused.json()["message"]
    assert staff_call(backend, counter=3, next=True).status_code == 409  # nobody left to call
    assert staff_call(backend, code="A002", transfer={"concern": "leave"}).status_code == 409


def test_a_transferred_visitor_keeps_their_number_and_waits_in_their_old_place_for_the_new_concern(backend):
    upload(backend, [ticket("A001"), ticket("B001", 1, "benefit"), ticket("B002", 2, "benefit")])
    staff_call(backend, counter=3, code="A001")
    moved = staff_call(backend, code="A001", transfer={"concern": "benefit"})
    assert moved.status_code == 200
    assert moved.json() == {"code": "A001", "kind": "ticket", "concern": "benefit", "state": "waiting"}
    state = office(backend).json()
    assert [(w["code"], w["concern"], w["position"]) for w in state["waiting"]] == [
        ("A001", "benefit", 1),
        ("B001", "benefit", 2),
        ("B002", "benefit", 3),
    ]
    assert staff_call(backend, counter=5, next=True, concerns=["benefit"]).json()["code"] == "A001"


def test_a_visitor_transferred_to_a_counter_is_called_there_at_once(backend):
    upload(backend, [ticket("A001"), ticket("A002", 1)])
    call = staff_call(backend, code="A002", transfer={"counter": 7, "concern": "leave"})
    assert call.status_code == 201 and (call.json()["code"], call.json()["counter"]) == ("A002", 7)
    state = office(backend).json()
    assert [c["code"] for c in state["recent_calls"]] == ["A002"]
    assert [w["code"] for w in state["waiting"]] == ["A001"]


def test_counter_operations_refuse_unknown_codes_and_concerns(backend):
    upload(backend, [ticket("A001")])
    version = office(backend).json()["version"]
    for body in (
        {"counter": 3, "code": "Z999"},
        {"code": "Z999", "not_come": True},
        {"code": "Z999", "transfer": {"concern": "leave"}},
        {"code": "A001", "transfer": {"concern": "astrology"}},
    ):
        answer = staff_call(backend, **body)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found", body
    assert "no concern 'astrology'" in staff_call(backend, code="A001", transfer={"concern": "astrology"}).text
    assert staff_call(backend, code="A001", transfer={}).status_code == 422
    assert office(backend).json()["version"] == version  # nothing changed


def test_call_next_serves_only_the_counter_s_concerns(backend):
    upload(backend, [ticket("A001"), ticket("B001", 1, "benefit"), ticket("A002", 2)])
    assert staff_call(backend, counter=5, next=True, concerns=["benefit"]).json()["code"] == "B001"
    refused = staff_call(backend, counter=5, next=True, concerns=["benefit"])
    assert refused.status_code == 409 and "for benefit" in refused.json()["message"]
    assert staff_call(backend, counter=3, next=True, concerns=["leave", "benefit"]).json()["code"] == "A001"


def test_the_call_command_line_recalls_marks_not_come_and_transfers(backend, capsys):
    upload(backend, [ticket("A001"), ticket("A002", 1), ticket("B001", 2, "benefit")])
    command = ["call", "--url", backend.url, "--token", STAFF]
    assert main([*command, "--counter", "3", "--code", "A001"]) == 0
    assert main([*command, "--counter", "3", "--code", "A001"]) == 0  # a recall
    assert main([*command, "--not-come", "A001"]) == 0
    assert main([*command, "--transfer", "A002", "--concern", "benefit"]) == 0
    assert main([*command, "--transfer", "B001", "--counter", "6"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "A001 -> counter 3 (ticket)",
        "A001 -> counter 3 (ticket)",
        "A001: not come (ticket, leave)",
        "A002: waiting (ticket, benefit)",
        "B001 -> counter 6 (ticket)",
    ]
    assert main([*command, "--counter", "3", "--code", "A001"]) == 1
    assert "marked not come" in capsys.readouterr().err
