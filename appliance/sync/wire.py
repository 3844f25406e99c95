"""The device's records in the protocol's form, and the protocol's day lists and office state as the device's.

Outbox events are stored as the core wrote them; here each becomes the document's event of its kind,
the same way on every attempt (a key sent again with another body would be a conflict). Day lists,
pulled or pushed, and office states are checked completely before anything of them is applied.
"""

import json
import logging
import re
from datetime import UTC, date, time

from appliance.domain.errors import ApplianceError
from appliance.domain.office import ConcernLoad, OfficeEntry, OfficeState
from appliance.domain.settings import TITLE_MAX_LENGTH
from appliance.domain.snapshot import CallEntry
from appliance.domain.state import Appointment, EventRecord
from appliance.protocol.contract import Contract, parse_timestamp, timestamp

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 64 * 1024  # far above any real event; a batch of 500 must stay under the 1 MiB limit
_DETAIL = 200  # the document's Detail
_TITLE = re.compile(rf"[^\x00-\x1f\x7f]{{1,{TITLE_MAX_LENGTH}}}")  # the document's ConcernTitles
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TITLES, _CONCERNS = 8, 32


class DayListRejected(ApplianceError, ValueError):
    """A day list that is not applied, and why; ``details`` are (where, what) pairs."""

    def __init__(self, message: str, details=()):
        super().__init__(message)
        self.details = list(details)


class OfficeStateRejected(ApplianceError, ValueError):
    """An office state that is not applied (the last good one stays), and why."""


# --- events out --------------------------------------------------------------------------------


class OutboxEncoder:
    """Outbox records as the protocol's events, each checked against the document before it is sent."""

    def __init__(self, contract: Contract):
        # One validator per kind: the document's oneOf would try every kind's schema for every event.
        self._by_kind = {}
        for branch in contract.document["components"]["schemas"]["Event"]["oneOf"]:
            name = branch["$ref"].rsplit("/", 1)[-1]
            kind = contract.document["components"]["schemas"][name]["properties"]["kind"].get("const")
            self._by_kind[kind] = contract.schema_validator(name)  # None: OtherEvent, any other kind

    def encode(self, record: EventRecord) -> dict:
        """``record`` as the protocol's event; one the document would refuse goes as an ``invalid_event``
        holding the original, so a device fault never blocks the outbox and nothing is lost."""
        created_at = timestamp(record.created_at.astimezone(UTC))
        event = {
            "key": record.key,
            "kind": record.kind,
            "created_at": created_at,
            "body": _protocol_body(record.kind, record.body),
        }
        validator = self._by_kind.get(record.kind) or self._by_kind[None]
        problems = [] if validator.is_valid(event) else [_problem(error) for error in validator.iter_errors(event)]
        size = len(json.dumps(event, separators=(",", ":")))
        if not problems and size <= MAX_EVENT_BYTES:
            return event
        problem = f"{problems[0][0]}: {problems[0][1]}" if problems else f"{size} bytes, more than {MAX_EVENT_BYTES}"
        log.error(
            "outbox event %s (%s) does not fit the protocol (%s): sent as invalid_event",
            record.key,
            record.kind[:40],
            problem,
        )
        body = {"original_kind": record.kind[:40], "problem": problem[:_DETAIL]}
        if size <= MAX_EVENT_BYTES:
            body["original_body"] = record.body
        return {"key": record.key, "kind": "invalid_event", "created_at": created_at, "body": body}


def _protocol_body(kind: str, body: dict) -> dict:
    """The core's body of ``kind`` in the document's form (field names, reasons, lengths)."""
    if kind == "ticket_void":
        reason = str(body.get("reason", ""))
        mapped = "not_printed" if reason.startswith("printer") else "staff" if reason.startswith("staff") else "other"
        return _present(
            {"day": body.get("day"), "code": body.get("code"), "reason": mapped, "detail": reason[:_DETAIL] or None}
        )
    if kind == "check_in":
        return _present(
            {
                "day": body.get("day"),
                "appointment": body.get("appointment_id"),
                "display_code": body.get("code"),
                "site": body.get("site"),
                "slot": body.get("slot"),
                "concern": body.get("concern"),
            }
        )
    if kind == "appointment_called":
        return _present(
            {
                "day": body.get("day"),
                "appointment": body.get("appointment_id"),
                "display_code": body.get("code"),
                "counter": body.get("counter"),
            }
        )
    if kind == "component_health":
        detail = body.get("detail")
        return _present(
            {
                "component": component_name(body.get("component")),
                "state": body.get("state"),
                "detail": detail[:_DETAIL] if isinstance(detail, str) and detail else None,
            }
        )
    return body


def alarm_text(alarm: dict) -> str:
    """An Alarm of the backend as the technician reads it in the status: the devices, and the code."""
    if alarm["kind"] == "duplicate_appointment_code":
        return (
            f"appointment code {alarm.get('code')} of {alarm.get('day')} belongs to another appointment too: the "
            f"visitor who checked in with it at {_sighting(alarm['devices'][0], False)} cannot be called, serve "
            "them by hand (the booking system gave the code twice)"
        )
    first, second = alarm["devices"]
    same_id = first["device"] == second["device"]
    both = f"{_sighting(first, same_id)} and {_sighting(second, same_id)}"
    if alarm["kind"] == "duplicate_code":
        return f"ticket {alarm.get('code')} of {alarm.get('day')} issued twice, by {both}"
    return f"device id {first['device']} used by two devices at once: {both}; give each its own id and token"


def _sighting(sighting: dict, with_instance: bool) -> str:
    """'kiosk-2 (10.0.0.7)'; with the run's id where both devices have the same name."""
    where = []
    if with_instance and sighting.get("instance"):
        where.append(f"run {sighting['instance'][:8]}")
    if sighting.get("address"):
        where.append(sighting["address"])
    return sighting["device"] + (f" ({', '.join(where)})" if where else "")


def component_name(name) -> str | None:
    """A component's name as the protocol allows it: 'scanner evdev:/dev/input/event3' becomes
    'scanner-evdev-dev-input-event3' (lower-case letters, digits, - and _, at most 32)."""
    if not isinstance(name, str):
        return None
    text = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")
    text = text if text[:1].isalpha() else f"c-{text}"
    return text[:32].rstrip("-_") or None


def concern_titles(concerns) -> list[dict]:
    """The heartbeat's ``concerns``: each configured concern's titles, German first, as the document allows
    them (a title it would refuse is left out, so a heartbeat never fails over a title)."""
    return [
        {
            "name": concern.name,
            "titles": dict(
                [
                    (language, title)
                    for language, title in concern.info.titles
                    if _LANGUAGE.fullmatch(language) and _TITLE.fullmatch(title)
                ][:_TITLES]
            ),
        }
        for concern in concerns
        if _TITLE.fullmatch(concern.info.title("de"))
    ][:_CONCERNS]


def _present(body: dict) -> dict:
    return {key: value for key, value in body.items() if value is not None}


# --- day lists in ------------------------------------------------------------------------------


def check_day(contract: Contract, schema: str, answer, site: str, day: date) -> dict:
    """``answer`` checked against the document's ``schema`` and meant for ``site`` and ``day``."""
    problems = sorted(_problem(error) for error in contract.schema_validator(schema).iter_errors(answer))
    if problems:
        raise DayListRejected(f"{problems[0][0]}: {problems[0][1]}", problems)
    return check_site_and_day(answer, site, day)


def check_site_and_day(answer: dict, site: str, day: date) -> dict:
    """``answer``, schema-checked already, meant for ``site`` and ``day``."""
    if answer["site"] != site:
        raise DayListRejected(
            f"it is site {answer['site']}'s, not this device's ({site})", [("body.site", f"must be {site}")]
        )
    if answer["day"] != day.isoformat():
        raise DayListRejected(f"it is for {answer['day']}, not {day}", [("body.day", f"must be {day}")])
    return answer


def appointments_of(items, site: str, day: date, concerns: frozenset[str] | None = None) -> tuple[Appointment, ...]:
    """Schema-checked appointments as the device's records: all of ``site`` and ``day``, each id and
    display code once, and each of one of ``concerns`` when given."""
    problems, ids, codes = [], set(), set()
    for index, item in enumerate(items):
        where = f"body.appointments[{index}]"
        if concerns is not None and item["concern"] not in concerns:
            problems.append((f"{where}.concern", f"is no concern of this device ({', '.join(sorted(concerns))})"))
        if item["site"] != site:
            problems.append((f"{where}.site", f"is site {item['site']}'s, not {site}"))
        if item["day"] != day.isoformat():
            problems.append((f"{where}.day", f"is for {item['day']}, not {day}"))
        if item["id"] in ids:
            problems.append((f"{where}.id", f"{item['id']} appears twice"))
        if item["display_code"] in codes:
            problems.append((f"{where}.display_code", f"{item['display_code']} appears twice"))
        ids.add(item["id"])
        codes.add(item["display_code"])
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DayListRejected(f"{problems[0][0]}: {problems[0][1]}{more}", problems)
    return tuple(
        Appointment(
            item["id"],
            item["site"],
            day,
            time.fromisoformat(item["slot"]),
            item["concern"],
            item["display_code"],
            item["reference"],
            item["status"],
        )
        for item in items
    )


def merge_changes(held: dict, changes: list[dict]) -> dict:
    """The day as held (id -> appointment) with the changes since its cursor, each in its current state."""
    merged = dict(held)
    for change in changes:
        merged[change["appointment"]["id"]] = change["appointment"]
    return merged


def _problem(error) -> tuple[str, str]:
    """Where and what, naming the rule but never the value: these messages are logged, shown in the
    status and sent in heartbeats, and a value in a wrong place may be a person's name."""
    where = "body" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
    if error.validator == "type":
        return where, f"must be of type {error.validator_value}"
    if error.validator == "required":
        missing = [
            name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance
        ]
        return where, f"lacks {', '.join(map(repr, missing))[:80]}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return where, f"unknown field(s) {', '.join(map(repr, extra))[:80]}"
    if error.validator in ("maxItems", "minItems", "maxLength", "minLength", "maximum", "minimum"):
        return where, f"breaks {error.validator} {error.validator_value}"
    return where, f"is not a valid value ({error.validator})"


# --- the office's state in ---------------------------------------------------------------------


def office_state_of(contract: Contract, answer, site: str) -> OfficeState:
    """``answer`` as an OfficeState, if it matches the document, is ``site``'s and agrees with itself:
    positions 1, 2, 3, ..., each code once and in one place only (waiting, called or not come),
    appointments before tickets, counts that cover the list and add up, each estimate low to high."""
    problems = sorted(_problem(error) for error in contract.schema_validator("OfficeState").iter_errors(answer))
    if problems:
        raise OfficeStateRejected(f"{problems[0][0]}: {problems[0][1]}")
    if answer["site"] != site:
        raise OfficeStateRejected(f"it is site {answer['site']}'s, not this device's ({site})")
    waiting = answer["waiting"]
    if [entry["position"] for entry in waiting] != list(range(1, len(waiting) + 1)):
        raise OfficeStateRejected("body.waiting: the positions are not 1, 2, 3, ... in the list's order")
    codes = {entry["code"] for entry in waiting}
    if len(codes) != len(waiting):
        raise OfficeStateRejected("body.waiting: a code is listed twice")
    if both := sorted(codes & {call["code"] for call in answer["recent_calls"]}):
        raise OfficeStateRejected(f"body.waiting: {both[0]} is both waiting and among the recent calls")
    if both := sorted((codes | {call["code"] for call in answer["recent_calls"]}) & set(answer.get("not_come", ()))):
        raise OfficeStateRejected(f"body.not_come: {both[0]} is marked not come and listed too")
    kinds = [entry["kind"] for entry in waiting]
    if kinds != sorted(kinds):  # "appointment" < "ticket"
        raise OfficeStateRejected("body.waiting: a ticket is listed before a checked-in appointment")
    listed: dict[str, int] = {}
    for entry in waiting:
        listed[entry["concern"]] = listed.get(entry["concern"], 0) + 1
    loads = {item["concern"]: item for item in answer["waiting_per_concern"]}
    if len(loads) != len(answer["waiting_per_concern"]):
        raise OfficeStateRejected("body.waiting_per_concern: a concern is counted twice")
    if any(loads.get(concern, {}).get("waiting", 0) < n for concern, n in listed.items()):
        raise OfficeStateRejected("body.waiting_per_concern counts fewer than body.waiting lists")
    total = answer["waiting_total"]
    if total != sum(item["waiting"] for item in loads.values()):
        raise OfficeStateRejected("body.waiting_total is not the sum of body.waiting_per_concern")
    listed_at_most = contract.document["components"]["schemas"]["OfficeState"]["properties"]["waiting"]["maxItems"]
    if total > len(waiting) and len(waiting) < listed_at_most:  # a shorter list than the most is all that waits
        raise OfficeStateRejected(f"body.waiting lists {len(waiting)} of {total} waiting: it is cut short")
    if any(item["wait_low"] > item["wait_high"] for item in loads.values()):
        raise OfficeStateRejected("body.waiting_per_concern: a wait estimate's low end is above its high end")
    calls = tuple(
        CallEntry(
            call["code"],
            call.get("concern", ""),
            call["counter"],
            parse_timestamp(call["called_at"]),
            call.get("call", ""),
        )
        for call in answer["recent_calls"]
    )
    return OfficeState(
        site=site,
        day=date.fromisoformat(answer["day"]),
        version=answer["version"],
        recent_calls=calls,
        not_come=frozenset(answer.get("not_come", ())),
        waiting=tuple(
            OfficeEntry(e["code"], e["concern"], e["kind"], parse_timestamp(e["since"]), e.get("slot")) for e in waiting
        ),
        loads=tuple(
            ConcernLoad(i["concern"], i["waiting"], i["wait_low"], i["wait_high"], i["seconds_per_visitor"])
            for i in loads.values()
        ),
        waiting_total=total,
        last_event=answer.get("last_event"),
        last_call=answer.get("last_call"),
    )
