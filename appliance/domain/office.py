"""The office's call-up state as the backend last told it, and what this device's screens show of it:
that state with the device's own changes since merged in, so every screen of an office shows the same.
"""

from dataclasses import dataclass
from datetime import date, datetime

from appliance.domain.snapshot import AppointmentEntry, CallEntry, QueueEntry


@dataclass(frozen=True)
class OfficeEntry:
    """One visitor waiting in the office: a walk-in ticket or a checked-in appointment."""

    code: str
    concern: str
    kind: str  # "ticket" or "appointment"
    since: datetime  # drawn or checked in
    slot: str | None = None  # appointments: local HH:MM


@dataclass(frozen=True)
class OfficeState:
    """The backend's call-up state of one site on one day (the protocol's OfficeState)."""

    site: str
    day: date
    version: int
    recent_calls: tuple[CallEntry, ...]  # newest first
    waiting: tuple[OfficeEntry, ...]  # calling order
    not_come: frozenset[str] = frozenset()  # codes a counter marked not come: shown nowhere


@dataclass(frozen=True)
class Queue:
    """What the screens show as waiting and called, in the snapshot's terms."""

    appointments: tuple[AppointmentEntry, ...]
    waiting: tuple[QueueEntry, ...]
    recent_calls: tuple[CallEntry, ...]


def merged_queue(
    office: OfficeState,
    *,
    own_appointments: tuple[AppointmentEntry, ...],
    own_waiting: tuple[QueueEntry, ...],
    own_calls: tuple[CallEntry, ...],
    settled: frozenset[str],
    recent: int,
) -> Queue:
    """The office's queue with what this device did since (or the backend has not heard yet): its calls
    among the recent ones, its checked-in appointments in their slot's place, its new tickets after the
    office's, and no code it knows as called or void. Offline, this keeps the last state plus its changes."""
    calls = {_call_key(call): call for call in office.recent_calls + own_calls if call.code not in office.not_come}
    recent_calls = tuple(sorted(calls.values(), key=lambda call: call.called_at, reverse=True)[:recent])
    gone = settled | office.not_come | {call.code for call in recent_calls}
    # The office's waiting list already follows every call it lists: a code called there and listed as
    # waiting again was transferred, and waits; only calls it has not seen yet take a code off it.
    seen = {_call_key(call) for call in office.recent_calls}
    office_called = {call.code for call in office.recent_calls}
    unseen = {call.code for call in recent_calls if _call_key(call) not in seen}
    gone_from_office = (settled - office_called) | office.not_come | unseen
    listed = {entry.code for entry in office.waiting}
    appointments = [
        AppointmentEntry(entry.code, entry.concern, entry.slot or "", entry.since)
        for entry in office.waiting
        if entry.kind == "appointment" and entry.code not in gone_from_office
    ] + [entry for entry in own_appointments if entry.code not in listed and entry.code not in gone]
    waiting = tuple(
        QueueEntry(entry.code, entry.concern, entry.since)
        for entry in office.waiting
        if entry.kind == "ticket" and entry.code not in gone_from_office
    ) + tuple(entry for entry in own_waiting if entry.code not in listed and entry.code not in gone)
    return Queue(tuple(sorted(appointments, key=appointment_order)), waiting, recent_calls)


def appointment_order(entry: AppointmentEntry):
    """Checked-in appointments are called by slot, then by who checked in first."""
    return entry.slot, entry.checked_in_at.timestamp() if entry.checked_in_at else 0.0


def _call_key(call: CallEntry) -> tuple | str:
    """The backend's id where there is one (a recall at the same instant is still another call)."""
    return call.call or (call.code, call.counter, call.called_at)
