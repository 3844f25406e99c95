"""Check-in rules: what a scanned appointment code gets, decided without I/O.

Each verdict has a plain-language answer for the visitor (appliance/domain/wording.py) and a signal on
the kiosk; only ACCEPTED changes anything: the appointment goes to the top of the call-up list.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum


class CheckInVerdict(str, Enum):
    ACCEPTED = "accepted"
    ALREADY_CHECKED_IN = "already_checked_in"  # the same answer again, but no second event
    TOO_EARLY = "too_early"
    TOO_LATE = "too_late"
    WRONG_DAY = "wrong_day"
    OTHER_SITE = "other_site"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    FORGED = "forged"
    UNREADABLE = "unreadable"

    @property
    def accepted(self) -> bool:
        return self in (CheckInVerdict.ACCEPTED, CheckInVerdict.ALREADY_CHECKED_IN)


class LatePolicy(str, Enum):
    WALK_IN = "walk-in"  # offer a waiting ticket instead
    INFORMATION = "information"  # send to the information desk


@dataclass(frozen=True)
class CheckInRules:
    early: timedelta = timedelta(minutes=30)  # how long before the slot a check-in is accepted
    late: timedelta = timedelta(minutes=15)  # how long after the slot start it still is
    late_policy: LatePolicy = LatePolicy.INFORMATION


@dataclass(frozen=True)
class AppointmentFacts:
    """What the device knows about the scanned appointment (from a signed code or the day list)."""

    site: str
    day: date
    slot: time
    status: str  # booked, cancelled, checked_in, called


@dataclass(frozen=True)
class Judgement:
    verdict: CheckInVerdict
    come_back_at: time | None = None  # for TOO_EARLY: when the window opens


def judge(facts: AppointmentFacts | None, *, site: str, now_local: datetime, rules: CheckInRules) -> Judgement:
    """The verdict for a readable, genuine code (forged and unreadable ones are decided earlier)."""
    if facts is None:
        return Judgement(CheckInVerdict.UNKNOWN)
    if facts.site != site:
        return Judgement(CheckInVerdict.OTHER_SITE)
    if facts.status == "cancelled":
        return Judgement(CheckInVerdict.CANCELLED)
    if facts.day != now_local.date():
        return Judgement(CheckInVerdict.WRONG_DAY)
    if facts.status in ("checked_in", "called"):
        return Judgement(CheckInVerdict.ALREADY_CHECKED_IN)
    slot = datetime.combine(facts.day, facts.slot, tzinfo=now_local.tzinfo)
    opens = slot - rules.early
    if now_local < opens:
        return Judgement(CheckInVerdict.TOO_EARLY, come_back_at=opens.timetz().replace(tzinfo=None))
    if now_local > slot + rules.late:
        return Judgement(CheckInVerdict.TOO_LATE)
    return Judgement(CheckInVerdict.ACCEPTED)
