"""Immutable pictures of the core's state, handed to the display, the status command and sync.

Readers never touch the database: they get a Snapshot, which nothing can change after it is made.
Only ticket codes and counters appear here, never anything that identifies a person.
"""

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from appliance.domain.commands import Health


@dataclass(frozen=True)
class QueueEntry:
    code: str
    concern: str
    issued_at: datetime


@dataclass(frozen=True)
class AppointmentEntry:
    """A checked-in appointment waiting to be called: it goes before every walk-in number."""

    code: str
    concern: str
    slot: str
    checked_in_at: datetime | None


@dataclass(frozen=True)
class CallEntry:
    code: str
    concern: str
    counter: int
    called_at: datetime
    call: str = ""  # the backend's id of this call: a recall of the same code is another call, announced again


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    state: Health
    detail: str
    since: datetime


@dataclass(frozen=True)
class EventSummary:
    kind: str
    at: datetime


@dataclass(frozen=True)
class Snapshot:
    serial: int  # grows with every published snapshot
    taken_at: datetime
    day: date
    appointments: tuple[AppointmentEntry, ...] = ()  # checked in, in call order (before walk-ins)
    waiting: tuple[QueueEntry, ...] = ()  # walk-in tickets, in call order (the head of the office's)
    waiting_counts: tuple[tuple[str, int], ...] = ()  # (concern, everyone waiting of it in the office)
    recent_calls: tuple[CallEntry, ...] = ()  # newest first
    issued_today: tuple[tuple[str, int], ...] = ()  # (concern, count)
    waits: tuple[tuple[str, int, int], ...] = ()  # (concern, low, high): the wait for a ticket drawn now
    components: tuple[ComponentHealth, ...] = ()
    outbox_pending: int = 0
    last_events: tuple[EventSummary, ...] = field(default=())

    def waiting_count(self, concern: str | None = None) -> int:
        """Everyone waiting (checked-in appointments and walk-ins) of ``concern``, or of all."""
        return sum(count for name, count in self.waiting_counts if concern in (None, name))

    @property
    def degraded(self) -> tuple[ComponentHealth, ...]:
        return tuple(c for c in self.components if c.state not in (Health.OK, Health.STARTING))

    def to_json(self) -> dict:
        """Plain JSON types, for the control socket."""

        def convert(value):
            if isinstance(value, (datetime, date)):
                return value.isoformat()
            if isinstance(value, Health):
                return value.value
            if isinstance(value, dict):
                return {k: convert(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [convert(v) for v in value]
            return value

        return convert(asdict(self))
