"""What drivers, sync and the display may ask of the core. Each is applied by the core, in order."""
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class IssueTicket:
    """A walk-in visitor asks for a waiting ticket of ``concern`` (button, touch or demo)."""

    concern: str
    source: str = "button"


@dataclass(frozen=True)
class CallNext:
    """A counter calls the longest-waiting ticket (of ``concerns``, if given)."""

    counter: int
    concerns: tuple[str, ...] | None = None


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


Command = IssueTicket | CallNext | ReportHealth
