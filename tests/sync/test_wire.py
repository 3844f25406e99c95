"""The protocol's form of the device's records, without a network: outbox events as the document wants
them (or as invalid_event, never lost), day lists and office states checked whole before anything is applied."""

import copy
import json
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from types import SimpleNamespace

import pytest

from appliance.domain.screen import ConcernInfo
from appliance.domain.state import Appointment, EventRecord
from appliance.protocol.contract import Contract, timestamp
from appliance.sync.wire import (
    MAX_EVENT_BYTES,
    DayListRejected,
    OfficeStateRejected,
    OutboxEncoder,
    appointments_of,
    check_day,
    concern_titles,
    merge_changes,
    office_state_of,
)
from entrance_backend.http import Backend, Settings
from entrance_backend.store import Sender

CONTRACT = Contract.load()
ENCODER = OutboxEncoder(CONTRACT)
DAY = date(2026, 11, 25)
AT = datetime(2026, 11, 25, 10, 0, 5, tzinfo=timezone(timedelta(hours=1)))


def encode(kind: str, body: dict) -> dict:
    return ENCODER.encode(EventRecord(1, "key-0001", kind, body, AT))


def void(reason: str) -> dict:
    return encode("ticket_void", {"day": "2026-11-25", "code": "A007", "concern": "leave", "reason": reason})["body"]


def test_an_event_goes_with_its_key_kind_and_time_in_utc():
    event = encode("ticket_issued", {"day": "2026-11-25", "concern": "leave", "number": 7, "code": "A007"})
    assert event == {
        "key": "key-0001",
        "kind": "ticket_issued",
        "created_at": "2026-11-25T09:00:05.000Z",
        "body": {"day": "2026-11-25", "concern": "leave", "number": 7, "code": "A007"},
    }


@pytest.mark.parametrize(
    "reason, sent",
    [("printer: paper out", "not_printed"), ("staff voided it", "staff"), ("power", "other"), ("", "other")],
)
def test_a_void_says_why_in_the_documents_words_and_keeps_the_devices_own(reason, sent):
    body = void(reason)
    assert body["reason"] == sent and body["code"] == "A007" and body["day"] == "2026-11-25"
    assert body.get("detail") == (reason or None) and "concern" not in body


def test_a_void_recorded_without_a_reason_goes_as_other_without_a_detail():
    body = encode("ticket_void", {"day": "2026-11-25", "code": "A007", "concern": "leave"})["body"]
    assert body == {"day": "2026-11-25", "code": "A007", "reason": "other"}


def test_a_long_void_reason_is_cut_to_the_documents_detail():
    assert void("printer: " + "x" * 300)["detail"] == ("printer: " + "x" * 300)[:200]


def test_a_check_in_and_a_call_carry_the_appointments_facts_under_the_documents_names():
    facts = {"appointment_id": "4821", "site": "mitte", "day": "2026-11-25", "slot": "09:30", "code": "T021"}
    assert encode("check_in", facts | {"concern": "leave"})["body"] == {
        "appointment": "4821",
        "site": "mitte",
        "day": "2026-11-25",
        "slot": "09:30",
        "display_code": "T021",
        "concern": "leave",
    }
    called = {"appointment_id": "4821", "day": "2026-11-25", "code": "T021", "counter": 3}
    assert encode("appointment_called", called)["body"] == {
        "appointment": "4821",
        "day": "2026-11-25",
        "display_code": "T021",
        "counter": 3,
    }


@pytest.mark.parametrize("detail, sent", [("paper out", "paper out"), ("x" * 250, "x" * 200), ("", None), (None, None)])
def test_a_health_change_names_its_component_and_a_detail_of_at_most_200(detail, sent):
    body = encode("component_health", {"component": "printer", "state": "degraded", "detail": detail})["body"]
    assert body.get("detail") == sent and body["component"] == "printer" and body["state"] == "degraded"


def test_an_event_the_document_refuses_goes_as_invalid_event_with_its_original():
    event = encode("ticket_issued", {"code": "A001", "note": "a device bug"})
    assert event["kind"] == "invalid_event" and event["key"] == "key-0001"
    assert event["body"]["original_kind"] == "ticket_issued"
    assert event["body"]["original_body"] == {"code": "A001", "note": "a device bug"}
    assert event["body"]["problem"].startswith("body")


def test_an_event_too_large_for_a_batch_goes_as_invalid_event_without_its_body():
    event = encode("boot_note", {"text": "x" * MAX_EVENT_BYTES})
    assert event["kind"] == "invalid_event" and "original_body" not in event["body"]
    assert event["body"]["problem"].endswith(f"more than {MAX_EVENT_BYTES}")


def padded_to(kind: str, body: dict, size: int) -> dict:
    """``body`` with a ``pad`` text that makes its event, as the encoder first builds it, exactly ``size`` bytes."""
    event = {"key": "key-0001", "kind": kind, "created_at": "2026-11-25T09:00:05.000Z", "body": dict(body, pad="")}
    return dict(body, pad="x" * (size - len(json.dumps(event, separators=(",", ":")))))


def test_an_event_of_exactly_the_limit_goes_as_itself_and_one_byte_more_does_not():
    at_limit = encode("boot_note", padded_to("boot_note", {}, MAX_EVENT_BYTES))
    assert at_limit["kind"] == "boot_note"
    assert len(json.dumps(at_limit, separators=(",", ":"))) == MAX_EVENT_BYTES
    assert encode("boot_note", padded_to("boot_note", {}, MAX_EVENT_BYTES + 1))["kind"] == "invalid_event"


def test_a_refused_event_of_exactly_the_limit_still_carries_its_original():
    body = padded_to("ticket_issued", {"code": "A001"}, MAX_EVENT_BYTES)
    event = encode("ticket_issued", body)
    assert event["kind"] == "invalid_event" and event["body"]["original_body"] == body


# --- day lists -----------------------------------------------------------------------------------


def item(n: int, **changes) -> dict:
    values = {
        "id": str(n),
        "site": "mitte",
        "day": "2026-11-25",
        "slot": "09:30",
        "concern": "leave",
        "display_code": f"T{n:03d}",
        "reference": f"REF{n:03d}X",
        "status": "booked",
        "updated_at": "2026-11-24T18:00:00.000Z",
    }
    return values | changes


def day_list(*items, site="mitte", day="2026-11-25") -> dict:
    return {"site": site, "day": day, "cursor": "c-1", "appointments": list(items)}


def test_a_day_list_for_this_site_and_day_is_taken():
    answer = day_list(item(1))
    assert check_day(CONTRACT, "AppointmentDay", answer, "mitte", DAY) is answer


@pytest.mark.parametrize(
    "answer, said, where",
    [
        (
            day_list(item(1), site="nord"),
            "it is site nord's, not this device's (mitte)",
            [("body.site", "must be mitte")],
        ),
        (
            day_list(item(1), day="2026-11-26"),
            "it is for 2026-11-26, not 2026-11-25",
            [("body.day", "must be 2026-11-25")],
        ),
        (dict(day_list(item(1)), cursor=None), "body.cursor", None),
    ],
)
def test_a_day_list_for_another_site_or_day_or_against_the_document_is_refused(answer, said, where):
    with pytest.raises(DayListRejected) as refused:
        check_day(CONTRACT, "AppointmentDay", answer, "mitte", DAY)
    assert str(refused.value).startswith(said) and refused.value.details
    assert where is None or refused.value.details == where


def test_appointments_become_the_devices_records():
    assert appointments_of([item(1, status="cancelled")], "mitte", DAY) == (
        Appointment("1", "mitte", DAY, time(9, 30), "leave", "T001", "REF001X", "cancelled"),
    )


def test_a_list_for_a_device_of_some_concerns_takes_theirs_and_refuses_another_naming_them():
    mine = frozenset({"leave", "documents"})
    assert [a.id for a in appointments_of([item(1), item(2, concern="documents")], "mitte", DAY, mine)] == ["1", "2"]
    with pytest.raises(DayListRejected) as refused:
        appointments_of([item(1), item(2, concern="passport")], "mitte", DAY, mine)
    assert refused.value.details == [
        ("body.appointments[1].concern", "is no concern of this device (documents, leave)")
    ]


@pytest.mark.parametrize(
    "items, said",
    [
        ([item(1, site="nord")], "body.appointments[0].site: is site nord's, not mitte"),
        ([item(1, day="2026-11-26")], "body.appointments[0].day: is for 2026-11-26, not 2026-11-25"),
        ([item(1), item(1, display_code="T009")], "body.appointments[1].id: 1 appears twice"),
        ([item(1), item(2, display_code="T001")], "body.appointments[1].display_code: T001 appears twice"),
        ([item(1, site="nord", day="2026-11-26")], "body.appointments[0].site: is site nord's, not mitte (and 1 more)"),
    ],
)
def test_a_list_with_one_wrong_appointment_is_refused_whole_naming_it(items, said):
    with pytest.raises(DayListRejected) as refused:
        appointments_of(items, "mitte", DAY)
    assert str(refused.value) == said
    assert f"{refused.value.details[0][0]}: {refused.value.details[0][1]}" == said.split(" (and")[0]


def test_changes_replace_the_appointments_they_name_and_add_new_ones():
    held = {"1": item(1), "2": item(2)}
    merged = merge_changes(held, [{"appointment": item(2, status="cancelled")}, {"appointment": item(3)}])
    assert merged == {"1": item(1), "2": item(2, status="cancelled"), "3": item(3)}
    assert held == {"1": item(1), "2": item(2)}  # the day as held is not changed in place


def test_every_timestamp_is_utc():
    assert encode("boot_note", {})["created_at"] == AT.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- office states -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def office_answer(tmp_path_factory):
    """An office state as the reference backend answers it: two tickets waiting, one called."""
    backend = Backend(Settings(tmp_path_factory.mktemp("office") / "backend.db", site="mitte", rate_limit=0))
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    events = [
        {
            "key": f"ticket-{n}",
            "kind": "ticket_issued",
            "created_at": timestamp(now),
            "body": {"day": "2026-11-25", "concern": "leave", "number": n, "code": f"A{n:03d}"},
        }
        for n in (1, 2, 3)
    ]
    backend.store.apply_events(Sender("kiosk-1"), "mitte", events, now)
    backend.store.call_next("mitte", "2026-11-25", 4, now)
    answer = backend.store.office_state("mitte", "2026-11-25")
    backend.store.close()
    return answer


def test_an_office_state_of_the_backend_is_taken(office_answer):
    state = office_state_of(CONTRACT, copy.deepcopy(office_answer), "mitte")
    assert [e.code for e in state.waiting] == ["A002", "A003"] and [c.code for c in state.recent_calls] == ["A001"]


def swap_waiting(answer):
    answer["waiting"].reverse()


def ticket_twice(answer):
    answer["waiting"][1]["code"] = answer["waiting"][0]["code"]


def called_and_waiting(answer):
    answer["waiting"][0]["code"] = answer["recent_calls"][0]["code"]


def not_come_and_waiting(answer):
    answer["not_come"] = [answer["waiting"][0]["code"]]


def ticket_before_appointment(answer):
    answer["waiting"][1]["kind"] = "appointment"
    answer["waiting"][1]["slot"] = "09:30"


def counted_twice(answer):
    answer["waiting_per_concern"].append(dict(answer["waiting_per_concern"][0]))


def counted_fewer(answer):
    answer["waiting_per_concern"][0]["waiting"] = 1
    answer["waiting_total"] = 1


def total_wrong(answer):
    answer["waiting_total"] = 3


def cut_short(answer):
    answer["waiting_total"] = answer["waiting_per_concern"][0]["waiting"] = 5


def low_above_high(answer):
    load = answer["waiting_per_concern"][0]
    load["wait_low"], load["wait_high"] = load["wait_high"] + 1, load["wait_high"]


@pytest.mark.parametrize(
    "spoil, said",
    [
        (lambda answer: answer.update(site="nord"), "it is site nord's, not this device's (mitte)"),
        (lambda answer: answer.pop("version"), "body: lacks 'version'"),
        (swap_waiting, "body.waiting: the positions are not 1, 2, 3, ... in the list's order"),
        (ticket_twice, "body.waiting: a code is listed twice"),
        (called_and_waiting, "body.waiting: A001 is both waiting and among the recent calls"),
        (not_come_and_waiting, "body.not_come: A002 is marked not come and listed too"),
        (ticket_before_appointment, "body.waiting: a ticket is listed before a checked-in appointment"),
        (counted_twice, "body.waiting_per_concern: a concern is counted twice"),
        (counted_fewer, "body.waiting_per_concern counts fewer than body.waiting lists"),
        (total_wrong, "body.waiting_total is not the sum of body.waiting_per_concern"),
        (cut_short, "body.waiting lists 2 of 5 waiting: it is cut short"),
        (low_above_high, "body.waiting_per_concern: a wait estimate's low end is above its high end"),
    ],
)
def test_an_office_state_that_contradicts_itself_is_refused_saying_how(office_answer, spoil, said):
    answer = copy.deepcopy(office_answer)
    spoil(answer)
    with pytest.raises(OfficeStateRejected, match=f"^{re.escape(said)}"):
        office_state_of(CONTRACT, answer, "mitte")


def test_a_heartbeats_concern_titles_match_the_document_and_a_title_it_would_refuse_is_left_out():
    def concern(name, **titles):
        return SimpleNamespace(name=name, info=ConcernInfo(name, "A", tuple(titles.items())))

    told = concern_titles(
        [
            concern("leave", de="Urlaub beantragen", ar="طلب إجازة", uk="Відпустка\nподати", pt_br="Férias"),
            concern("broken", de="Zeile\u0007"),
        ]
    )
    assert told == [{"name": "leave", "titles": {"de": "Urlaub beantragen", "ar": "طلب إجازة"}}]
    heartbeat = {"version": "1.0", "roles": ["kiosk"], "components": [], "outbox_pending": 0, "clock_ok": True}
    assert CONTRACT.schema_validator("Heartbeat").is_valid(heartbeat | {"concerns": told})
