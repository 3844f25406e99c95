"""The office's call-up state as the backend last told it, and what this device's screens show of it:
that state with the device's own changes since merged in, so every screen of an office shows the same.
"""

import math
from dataclasses import asdict, dataclass
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
class ConcernLoad:
    """How many wait for a concern in the whole office, and the backend's wait for a number drawn now."""

    concern: str
    waiting: int
    wait_low: int  # minutes
    wait_high: int
    seconds_per_visitor: int  # the office's pace: what each visitor more adds


@dataclass(frozen=True)
class OfficeState:
    """The backend's call-up state of one site on one day (the protocol's OfficeState)."""

    site: str
    day: date
    version: int
    recent_calls: tuple[CallEntry, ...]  # newest first
    waiting: tuple[OfficeEntry, ...]  # the head of the list, in calling order
    not_come: frozenset[str] = frozenset()  # codes a counter marked not come: shown nowhere
    loads: tuple[ConcernLoad, ...] = ()  # per concern with someone waiting
    waiting_total: int | None = None  # everyone waiting, listed or not; None: as many as listed
    last_event: str | None = None  # this device's latest event the state covers; None: none
    last_call: str | None = None  # the backend's id of the site's latest call the state covers; None: none

    @property
    def total(self) -> int:
        return len(self.waiting) if self.waiting_total is None else self.waiting_total

    def to_json(self) -> dict:
        """Plain JSON types, for keeping it in the device's state across a restart."""
        data = asdict(self)
        data["day"] = self.day.isoformat()
        data["not_come"] = sorted(self.not_come)
        for entry in data["recent_calls"]:
            entry["called_at"] = entry["called_at"].isoformat()
        for entry in data["waiting"]:
            entry["since"] = entry["since"].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> "OfficeState":
        return cls(
            site=data["site"],
            day=date.fromisoformat(data["day"]),
            version=data["version"],
            recent_calls=tuple(
                CallEntry(**dict(c, called_at=datetime.fromisoformat(c["called_at"]))) for c in data["recent_calls"]
            ),
            waiting=tuple(OfficeEntry(**dict(e, since=datetime.fromisoformat(e["since"]))) for e in data["waiting"]),
            not_come=frozenset(data["not_come"]),
            loads=tuple(ConcernLoad(**load) for load in data["loads"]),
            waiting_total=data["waiting_total"],
            last_event=data["last_event"],
            last_call=data["last_call"],
        )


@dataclass(frozen=True)
class Queue:
    """What the screens show as waiting and called, in the snapshot's terms, and how many wait per
    concern in all (the lists may show only the head of the office's)."""

    appointments: tuple[AppointmentEntry, ...]
    waiting: tuple[QueueEntry, ...]
    recent_calls: tuple[CallEntry, ...]
    counts: tuple[tuple[str, int], ...] = ()  # (concern, waiting), concerns with someone waiting

    @classmethod
    def of_lists(cls, appointments, waiting, recent_calls) -> "Queue":
        """A queue whose lists are all of it (a device on its own)."""
        counts: dict[str, int] = {}
        for entry in appointments + waiting:
            counts[entry.concern] = counts.get(entry.concern, 0) + 1
        return cls(appointments, waiting, recent_calls, tuple(sorted(counts.items())))

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)


def merged_queue(
    office: OfficeState,
    *,
    own_appointments: tuple[AppointmentEntry, ...],
    own_waiting: tuple[QueueEntry, ...],
    own_calls: tuple[CallEntry, ...],
    unconfirmed: frozenset[str],
    settled: frozenset[str],
    recent: int,
) -> Queue:
    """The office's queue with what this device did that the state does not cover yet (``unconfirmed``:
    codes of its changes after the state's ``last_event``): its new tickets after the office's, its
    checked-in appointments in their slot's place, its voids, and calls newer than the office's.
    Offline, this keeps the last state plus its changes."""
    newer_calls = _newer_calls(office, own_calls)
    calls = {_call_key(call): call for call in office.recent_calls + newer_calls if call.code not in office.not_come}
    recent_calls = tuple(sorted(calls.values(), key=lambda call: call.called_at, reverse=True)[:recent])
    gone = (settled & unconfirmed) | office.not_come | {call.code for call in newer_calls}
    listed = {entry.code for entry in office.waiting}
    counts = {load.concern: load.waiting for load in office.loads}
    if not office.loads:  # a state without counts: the list is all of it
        for entry in office.waiting:
            counts[entry.concern] = counts.get(entry.concern, 0) + 1
    for entry in office.waiting:
        if entry.code in gone:
            counts[entry.concern] -= 1

    def own(entries):
        added = [e for e in entries if e.code in unconfirmed and e.code not in listed and e.code not in gone]
        for entry in added:
            counts[entry.concern] = counts.get(entry.concern, 0) + 1
        return added

    appointments = [
        AppointmentEntry(entry.code, entry.concern, entry.slot or "", entry.since)
        for entry in office.waiting
        if entry.kind == "appointment" and entry.code not in gone
    ] + own(own_appointments)
    waiting = tuple(
        QueueEntry(entry.code, entry.concern, entry.since)
        for entry in office.waiting
        if entry.kind == "ticket" and entry.code not in gone
    ) + tuple(own(own_waiting))
    return Queue(
        tuple(sorted(appointments, key=appointment_order)),
        waiting,
        recent_calls,
        tuple(sorted((concern, n) for concern, n in counts.items() if n > 0)),
    )


def office_waits(office: OfficeState, queue: Queue) -> dict[str, tuple[int, int]]:
    """The wait for a number drawn now, per concern the office has an estimate for: the backend's range,
    moved by the visitors this device added or took away since, each at the office's pace per visitor."""
    shown = dict(queue.counts)
    waits = {}
    for load in office.loads:
        moved = (shown.get(load.concern, 0) - load.waiting) * load.seconds_per_visitor / 60
        waits[load.concern] = (max(0, math.floor(load.wait_low + moved)), max(0, math.ceil(load.wait_high + moved)))
    return waits


def appointment_order(entry: AppointmentEntry):
    """Checked-in appointments are called by slot, then by who checked in first."""
    return entry.slot, entry.checked_in_at.timestamp() if entry.checked_in_at else 0.0


def _newer_calls(office: OfficeState, own_calls: tuple[CallEntry, ...]) -> tuple[CallEntry, ...]:
    """This device's calls the office state does not cover: one with the backend's id after the state's
    ``last_call`` (or of another backend: it was reset), one without (made here) newer than the state's
    newest call. A covered call the state does not list was taken back (not come, transferred)."""
    epoch, covered = _call_number(office.last_call or "")
    latest = max((call.called_at for call in office.recent_calls), default=None)
    newer = []
    for call in own_calls:
        if call.call:
            own_epoch, number = _call_number(call.call)
            if own_epoch != epoch or number > covered:
                newer.append(call)
        elif latest is None or call.called_at > latest:
            newer.append(call)
    return tuple(newer)


def _call_number(call: str) -> tuple[str, int]:
    """The backend's epoch and position of a call id ("3f2a9c1d-17"); position 0 if it has none."""
    epoch, _, number = call.rpartition("-")
    return epoch, int(number) if number.isdigit() else 0


def _call_key(call: CallEntry) -> tuple | str:
    """The backend's id where there is one (a recall at the same instant is still another call)."""
    return call.call or (call.code, call.counter, call.called_at)
