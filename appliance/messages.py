"""What visitors read: plain language, German first, English second.

Every answer says what happened and what to do next. Nothing here may name a person.
"""
from dataclasses import dataclass

from .checkin import CheckInVerdict, Judgement, LatePolicy


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
