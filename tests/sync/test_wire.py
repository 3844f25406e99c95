"""The protocol's form of the device's records, without a backend: outbox events as the document wants
them (or as invalid_event, never lost), and day lists checked whole before anything is applied."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from appliance.domain.state import Appointment, EventRecord
from appliance.protocol.contract import Contract
from appliance.sync.wire import (
    MAX_EVENT_BYTES,
    DayListRejected,
    OutboxEncoder,
    appointments_of,
    check_day,
    merge_changes,
)

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
