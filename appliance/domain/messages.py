"""What visitors read: plain language, German first, English second.

Every answer says what happened and what to do next. Nothing here may name a person.
"""
from dataclasses import dataclass
from datetime import datetime

from appliance.domain.checkin import CheckInVerdict, Judgement, LatePolicy


@dataclass(frozen=True)
class VisitorMessage:
    kind: str  # ok, warn, error: colour on the screen, LED and buzzer pattern
    title_de: str
    body_de: str
    title_en: str
    body_en: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "title_de": self.title_de, "body_de": self.body_de,
                "title_en": self.title_en, "body_en": self.body_en}


DESK_DE = "Bitte wenden Sie sich an die Information."
DESK_EN = "Please go to the information desk."


def check_in_message(judgement: Judgement, display_code: str | None, late_policy: LatePolicy) -> VisitorMessage:
    verdict = judgement.verdict
    if verdict in (CheckInVerdict.ACCEPTED, CheckInVerdict.ALREADY_CHECKED_IN):
        return VisitorMessage(
            "ok", "Sie sind angemeldet", f"Bitte nehmen Sie Platz. Ihre Nummer auf dem Monitor: {display_code}.",
            "You are checked in", f"Please take a seat. Your number on the monitor: {display_code}.")
    if verdict is CheckInVerdict.TOO_EARLY:
        at = judgement.come_back_at.strftime("%H:%M") if judgement.come_back_at else ""
        return VisitorMessage(
            "warn", "Noch zu früh", f"Bitte scannen Sie Ihren Code ab {at} Uhr noch einmal.",
            "Too early", f"Please scan your code again from {at}.")
    if verdict is CheckInVerdict.TOO_LATE:
        if late_policy is LatePolicy.WALK_IN:
            return VisitorMessage(
                "warn", "Ihr Termin ist vorbei", "Bitte ziehen Sie eine Wartenummer. Wir helfen Ihnen so bald wie "
                "möglich.", "Your appointment has passed", "Please take a waiting number. We will help you as "
                "soon as we can.")
        return VisitorMessage("warn", "Ihr Termin ist vorbei", DESK_DE, "Your appointment has passed", DESK_EN)
    texts = {
        CheckInVerdict.WRONG_DAY: ("Termin an einem anderen Tag", "Ihr Termin ist nicht heute. " + DESK_DE,
                                   "Appointment on another day", "Your appointment is not today. " + DESK_EN),
        CheckInVerdict.OTHER_SITE: ("Termin an einem anderen Standort", "Ihr Termin ist in einem anderen Haus. "
                                    + DESK_DE, "Appointment at another office",
                                    "Your appointment is at another office. " + DESK_EN),
        CheckInVerdict.UNKNOWN: ("Termin nicht gefunden", DESK_DE, "Appointment not found", DESK_EN),
        CheckInVerdict.CANCELLED: ("Termin abgesagt", "Dieser Termin wurde abgesagt. " + DESK_DE,
                                   "Appointment cancelled", "This appointment was cancelled. " + DESK_EN),
        CheckInVerdict.FORGED: ("Code ungültig", DESK_DE, "Invalid code", DESK_EN),
        CheckInVerdict.UNREADABLE: ("Code nicht lesbar", "Bitte halten Sie den Code ruhig vor den Leser. "
                                    "Klappt es nicht: " + DESK_DE, "Code could not be read",
                                    "Please hold the code still in front of the reader. If that fails: " + DESK_EN),
    }
    title_de, body_de, title_en, body_en = texts[verdict]
    return VisitorMessage("error", title_de, body_de, title_en, body_en)


def ticket_message(code: str, people_ahead: int, wait_minutes: tuple[int, int] | None) -> VisitorMessage:
    ahead_de = "Sie sind als Nächstes dran." if people_ahead == 0 else (
        f"Vor Ihnen: {people_ahead} {'Person' if people_ahead == 1 else 'Personen'}.")
    ahead_en = "You are next." if people_ahead == 0 else (
        f"{people_ahead} {'person' if people_ahead == 1 else 'people'} ahead of you.")
    wait_de = wait_en = ""
    if wait_minutes and people_ahead:
        low, high = wait_minutes
        wait_de, wait_en = f" Wartezeit ca. {low}–{high} Min.", f" Wait approx. {low}–{high} min."
    return VisitorMessage("ok", f"Ihre Wartenummer: {code}", f"Bitte nehmen Sie Ihren Zettel. {ahead_de}{wait_de}",
                          f"Your number: {code}", f"Please take your ticket. {ahead_en}{wait_en}")


OUT_OF_ORDER = VisitorMessage(
    "error", "Außer Betrieb", "Hier gibt es gerade keine Wartenummern. " + DESK_DE,
    "Out of order", "No waiting numbers here at the moment. " + DESK_EN)

NO_NUMBERS_LEFT = VisitorMessage(
    "error", "Keine Wartenummern mehr", "Für dieses Anliegen sind heute alle Nummern vergeben. " + DESK_DE,
    "No numbers left", "All numbers for this matter have been given out today. " + DESK_EN)

CLOCK_UNKNOWN = VisitorMessage(
    "error", "Einen Moment bitte", "Das Gerät startet noch. " + DESK_DE,
    "One moment please", "The device is still starting. " + DESK_EN)


@dataclass(frozen=True)
class KioskAnswer:
    """What the kiosk screen shows after a press or a scan."""

    message: VisitorMessage
    code: str | None = None
    at: datetime | None = None

    def to_json(self) -> dict:
        return {"message": self.message.to_json(), "code": self.code, "at": self.at.isoformat() if self.at else None}
