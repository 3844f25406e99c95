"""What drivers, sync and the display may ask of the core. Each is applied by the core, in order."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from appliance.domain.numbering import FallbackLease, OfficeNumber


@dataclass(frozen=True)
class IssueTicket:
    """A walk-in visitor asks for a waiting ticket of ``concern`` (button, touch or demo); ``office``: the
    number the office drew for it, else the device numbers it itself (its fallback block, or alone)."""

    concern: str
    source: str = "button"
    office: OfficeNumber | None = None


@dataclass(frozen=True)
class CheckIn:
    """A scanner or camera read ``payload``; the core decides what it means (never logged as is)."""

    payload: str
    source: str = "scanner"


@dataclass(frozen=True)
class JudgeScan:
    """What a check-in of ``payload`` would answer now, changing nothing (scan-test)."""

    payload: str


@dataclass(frozen=True)
class CallNext:
    """A counter calls the longest-waiting ticket (of ``concerns``, if given)."""

    counter: int
    concerns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class VoidTicket:
    """A ticket's number was issued but the ticket never reached the visitor (the printer failed).

    The number stays used for the day, so it is never handed out twice, and leaves the queue.
    """

    code: str
    reason: str


@dataclass(frozen=True)
class TakeDayList:
    """The day's booked appointments for the staff's morning list, in slot order; with
    ``scheduled``, None once the list was printed today (a restart must not print it twice)."""

    scheduled: bool = False


@dataclass(frozen=True)
class RecordEvent:
    """Something the backend should hear of (no personal data in ``body``)."""

    kind: str
    body: dict


@dataclass(frozen=True)
class TakeOutbox:
    """Sync asks for the oldest undelivered events (at most ``limit``), in order."""

    limit: int = 100


@dataclass(frozen=True)
class MarkDelivered:
    """The backend confirmed these events (accepted or already known): never send them again."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class ApplyDayList:
    """The backend's (or a push's) whole list of a day's appointments; applied whole or not at all."""

    day: date
    appointments: tuple  # of appliance.domain.state.Appointment


@dataclass(frozen=True)
class StaffCall:
    """Counter ``counter`` called ``code`` at the central system (a ticket or an appointment) at
    ``called_at`` (the backend's time; None: now). The same call handed over again changes nothing."""

    counter: int
    code: str
    called_at: datetime | None = None
    call: str = ""  # the calls feed's id: a recall is another call with another id


@dataclass(frozen=True)
class ApplyOfficeState:
    """The backend's call-up state of the office: from now on the screens show it, with this device's
    own changes since merged in."""

    state: object  # appliance.domain.office.OfficeState


@dataclass(frozen=True)
class SetClockTrusted:
    """Whether the wall clock is known to be right (time sync, or the backend's Date header).

    Until it is, nothing bound to a day is issued: a Pi without a real-time clock may boot in 1970."""

    trusted: bool
    reason: str = ""


@dataclass(frozen=True)
class NoteClockOffset:
    """What the backend's clock says of ours: "" while they agree within [backend] clock_warning, else
    the measured offset and what to do. The clock's health shows it, trusted or not."""

    detail: str


class Health(str, Enum):
    STARTING = "starting"
    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ReportHealth:
    """A component says how it is; ``detail`` says why when it is not ok (no personal data)."""

    component: str
    state: Health
    detail: str = ""


Command = (
    IssueTicket
    | CheckIn
    | JudgeScan
    | CallNext
    | StaffCall
    | VoidTicket
    | ReportHealth
    | TakeDayList
    | RecordEvent
    | TakeOutbox
    | MarkDelivered
    | ApplyDayList
    | ApplyOfficeState
    | SetClockTrusted
    | NoteClockOffset
)


@dataclass(frozen=True)
class KeepFallbackLease:
    """The backend handed this device its fallback block: kept in the state, used when it is away."""

    lease: FallbackLease


@dataclass(frozen=True)
class TakeHighestNumber:
    """The highest number of ``concern`` within ``low..high`` this device issued today (None: none)."""

    concern: str
    low: int
    high: int


@dataclass(frozen=True)
class TakeFallbackLease:
    """The fallback block this device holds (None: never leased)."""
