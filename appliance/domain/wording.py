"""Every word a visitor reads or hears (kiosk answers, ticket, monitor and kiosk screens), per language.

A text is a key rendered for a language; German is the default and the fallback for any missing text.
"""

from dataclasses import dataclass
from datetime import datetime

from appliance.domain.checkin import CheckInVerdict, Judgement, LatePolicy

DEFAULT_LANGUAGE = "de"

# One table per language: adding a language means adding its table here. (A later step moves the
# tables into gettext catalogs; ``text`` is the one function that would then ask them.)
TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "desk": "Bitte wenden Sie sich an die Information.",
        "checked_in.title": "Sie sind angemeldet",
        "checked_in.body": "Bitte nehmen Sie Platz. Ihre Nummer auf dem Monitor: {code}.",
        "too_early.title": "Noch zu früh",
        "too_early.body": "Bitte scannen Sie Ihren Code ab {at} Uhr noch einmal.",
        "too_late.title": "Ihr Termin ist vorbei",
        "too_late.walk_in": "Bitte ziehen Sie eine Wartenummer. Wir helfen Ihnen so bald wie möglich.",
        "wrong_day.title": "Termin an einem anderen Tag",
        "wrong_day.body": "Ihr Termin ist nicht heute. {desk}",
        "other_site.title": "Termin an einem anderen Standort",
        "other_site.body": "Ihr Termin ist in einem anderen Haus. {desk}",
        "unknown.title": "Termin nicht gefunden",
        "cancelled.title": "Termin abgesagt",
        "cancelled.body": "Dieser Termin wurde abgesagt. {desk}",
        "forged.title": "Code ungültig",
        "unreadable.title": "Code nicht lesbar",
        "unreadable.body": "Bitte halten Sie den Code ruhig vor den Leser. Klappt es nicht: {desk}",
        "out_of_order.title": "Außer Betrieb",
        "out_of_order.body": "Hier gibt es gerade keine Wartenummern. {desk}",
        "no_numbers_left.title": "Keine Wartenummern mehr",
        "no_numbers_left.body": "Für dieses Anliegen sind heute alle Nummern vergeben. {desk}",
        "no_number.title": "Gerade keine Wartenummer",
        "no_number.body": "Dieses Gerät kann gerade keine Nummer vergeben. {desk}",
        "clock_unknown.title": "Einen Moment bitte",
        "clock_unknown.body": "Das Gerät startet noch. {desk}",
        "press_failed.title": "Das hat nicht geklappt",
        "press_failed.body": "Bitte versuchen Sie es noch einmal oder wenden Sie sich an die Information.",
        "ticket.title": "Ihre Wartenummer: {code}",
        "ticket.body": "Bitte nehmen Sie Ihren Zettel. {ahead}.",
        "ticket.body_wait": "Bitte nehmen Sie Ihren Zettel. {ahead}. {wait}",
        "ticket.number": "Ihre Wartenummer",
        "ticket.online": "Aktuelle Wartezeit online:",
        "ahead.none": "Sie sind als Nächstes dran",
        "ahead.one": "Vor Ihnen: 1 Person",
        "ahead.other": "Vor Ihnen: {count} Personen",
        "wait.range": "{low}–{high} Min.",
        "wait.exact": "{low} Min.",
        "wait.estimate": "Wartezeit ca. {minutes}",
        "waiting_count": "{count} wartend",
        "announce": "Wartenummer {code}, bitte zu Schalter {counter}.",
        "now_calling": "Aufruf",
        "counter": "Schalter",
        "no_call": "Bitte achten Sie auf Ihre Nummer",
        "recent": "Zuletzt aufgerufen",
        "next": "Als Nächstes",
        "with_appointment": "Mit Termin",
        "walk_in": "Ohne Termin",
        "nobody_waiting": "Niemand wartet",
        "more": "weitere",
        "waits": "Wartezeit",
        "waiting": "Wartende",
        "closed": "Geschlossen",
        "outside_hours": "Außerhalb der Öffnungszeiten",
        "stale": "nicht aktuell",
        "reconnecting": "Verbindung wird hergestellt",
        "kiosk_appointment": "Termin? QR-Code scannen",
        "kiosk_walk_in": "Ohne Termin? Knopf drücken",
        "kiosk_choose": "Ohne Termin? Anliegen wählen",
        "ask_information": "Bitte wenden Sie sich an die Information",
        "one_moment": "Einen Moment bitte…",
        # Dates are spelled out here rather than through the C locale, which a Pi OS Lite image rarely has.
        "date.long": "{weekday}, {day}. {month} {year}",
        "weekdays": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
        "months": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    },
    "en": {
        "desk": "Please go to the information desk.",
        "checked_in.title": "You are checked in",
        "checked_in.body": "Please take a seat. Your number on the monitor: {code}.",
        "too_early.title": "Too early",
        "too_early.body": "Please scan your code again from {at}.",
        "too_late.title": "Your appointment has passed",
        "too_late.walk_in": "Please take a waiting number. We will help you as soon as we can.",
        "wrong_day.title": "Appointment on another day",
        "wrong_day.body": "Your appointment is not today. {desk}",
        "other_site.title": "Appointment at another office",
        "other_site.body": "Your appointment is at another office. {desk}",
        "unknown.title": "Appointment not found",
        "cancelled.title": "Appointment cancelled",
        "cancelled.body": "This appointment was cancelled. {desk}",
        "forged.title": "Invalid code",
        "unreadable.title": "Code could not be read",
        "unreadable.body": "Please hold the code still in front of the reader. If that fails: {desk}",
        "out_of_order.title": "Out of order",
        "out_of_order.body": "No waiting numbers here at the moment. {desk}",
        "no_numbers_left.title": "No numbers left",
        "no_numbers_left.body": "All numbers for this matter have been given out today. {desk}",
        "no_number.title": "No number right now",
        "no_number.body": "This device cannot give out a number at the moment. {desk}",
        "clock_unknown.title": "One moment please",
        "clock_unknown.body": "The device is still starting. {desk}",
        "press_failed.title": "That did not work",
        "press_failed.body": "Please try again or ask at the information desk.",
        "ticket.title": "Your number: {code}",
        "ticket.body": "Please take your ticket. {ahead}.",
        "ticket.body_wait": "Please take your ticket. {ahead}. {wait}.",
        "ticket.number": "Your number",
        "ticket.online": "Current wait online:",
        "ahead.none": "You are next",
        "ahead.one": "1 person ahead of you",
        "ahead.other": "{count} people ahead of you",
        "wait.range": "{low}–{high} min",
        "wait.exact": "{low} min",
        "wait.estimate": "Wait approx. {minutes}",
        "waiting_count": "{count} waiting",
        "announce": "Number {code}, please go to counter {counter}.",
        "now_calling": "Now calling",
        "counter": "Counter",
        "no_call": "Please watch for your number",
        "recent": "Recent calls",
        "next": "Next",
        "with_appointment": "With appointment",
        "walk_in": "Without appointment",
        "nobody_waiting": "No one waiting",
        "more": "more",
        "waits": "Waiting time",
        "waiting": "Waiting",
        "closed": "Closed",
        "outside_hours": "Outside opening hours",
        "stale": "not up to date",
        "reconnecting": "Reconnecting",
        "kiosk_appointment": "Appointment? Scan your QR code",
        "kiosk_walk_in": "No appointment? Press the button",
        "kiosk_choose": "No appointment? Choose your concern",
        "ask_information": "Please ask at the information desk",
        "one_moment": "One moment please…",
        "date.long": "{weekday}, {day} {month} {year}",
        "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
        "months": "January February March April May June July August September October November December",
    },
}
LANGUAGES = tuple(TEXTS)
KINDS = ("ok", "warn", "error")  # a message's colour on the screen, LED and buzzer pattern


def text(key: str, language: str = DEFAULT_LANGUAGE, **params) -> str:
    """The text ``key`` in ``language`` (German where that language lacks it), filled with ``params``.

    A parameter that is a Phrase is rendered in the same language.
    """
    template = TEXTS.get(language, {}).get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(
        **{name: value.render(language) if isinstance(value, Phrase) else value for name, value in params.items()}
    )


@dataclass(frozen=True)
class Phrase:
    """A text not yet in a language: its key and parameters (plain values or other phrases)."""

    key: str
    params: tuple[tuple[str, "str | int | Phrase"], ...] = ()

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        return text(self.key, language, **dict(self.params))

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "params": {name: value.to_json() if isinstance(value, Phrase) else value for name, value in self.params},
        }

    @classmethod
    def from_json(cls, data) -> "Phrase | None":
        """The phrase sent as JSON, or None unless it is one every language can render."""
        if not isinstance(data, dict) or data.get("key") not in TEXTS[DEFAULT_LANGUAGE]:
            return None
        raw = data.get("params", {})
        if not isinstance(raw, dict):
            return None
        params = []
        for name, value in raw.items():
            if isinstance(value, dict):
                value = cls.from_json(value)
            # Parameters are codes, counts and times: short, printable, never free text from outside.
            elif not (
                isinstance(value, int)
                and not isinstance(value, bool)
                or isinstance(value, str)
                and len(value) <= 40
                and value.isprintable()
            ):
                value = None
            if value is None:
                return None
            params.append((str(name), value))
        phrase = cls(data["key"], tuple(params))
        try:
            for language in LANGUAGES:
                phrase.render(language)
        except (KeyError, IndexError, ValueError):  # a parameter missing or of the wrong shape
            return None
        return phrase


def phrase(key: str, **params) -> Phrase:
    return Phrase(key, tuple(params.items()))


def in_languages(item: "str | Phrase", languages) -> tuple[str, ...]:
    """``item`` (a key or a phrase) in each of ``languages`` in order, each different text once."""
    item = item if isinstance(item, Phrase) else Phrase(item)
    return tuple(dict.fromkeys(item.render(language) for language in languages))


def both(item: "str | Phrase", first: str, second: str | None) -> tuple[str, str | None]:
    """The text in the first language, and in the second when there is one and it differs (else None)."""
    texts = in_languages(item, (first, second) if second else (first,))
    return texts[0], texts[1] if len(texts) > 1 else None


def people_ahead(count: int) -> Phrase:
    """Where a ticket stands in the queue."""
    if count < 0:
        raise ValueError(f"people ahead cannot be negative ({count})")
    # Plural forms as German and English have them; gettext's ngettext takes over with more languages.
    return phrase("ahead.none" if count == 0 else "ahead.one" if count == 1 else "ahead.other", count=count)


def wait_minutes(low: int, high: int) -> Phrase:
    """An estimated wait in minutes: a range, since it is an estimate, or one number when both ends meet."""
    if not 0 <= low <= high:
        raise ValueError(f"a wait must be a range (low, high) with 0 <= low <= high, not {(low, high)}")
    return phrase("wait.exact", low=low) if low == high else phrase("wait.range", low=low, high=high)


def wait_estimate(low: int, high: int) -> Phrase:
    return phrase("wait.estimate", minutes=wait_minutes(low, high))


def ticket_queue(ahead: int, wait: tuple[int, int] | None) -> tuple[Phrase, ...]:
    """The ticket's lines on the queue, on paper and on the kiosk screen alike: people ahead, and the
    estimated wait when someone is ahead (next in line, a range such as "0–40 Min." only confuses)."""
    return (people_ahead(ahead), *((wait_estimate(*wait),) if wait is not None and ahead else ()))


def ticket_languages(configured) -> tuple[str, ...]:
    """A ticket's languages: German first (the office's language and the fallback), then the device's others
    (only those with texts: a thermal printer has no code page for most scripts)."""
    return (DEFAULT_LANGUAGE, *(code for code in configured if code != DEFAULT_LANGUAGE and code in TEXTS))


def long_date(moment: datetime, language: str) -> str:
    weekdays, months = text("weekdays", language).split(), text("months", language).split()
    return text(
        "date.long",
        language,
        weekday=weekdays[moment.weekday()],
        day=moment.day,
        month=months[moment.month - 1],
        year=moment.year,
    )


@dataclass(frozen=True)
class VisitorMessage:
    """What a visitor is told after a press or a scan: what happened and what to do next; never a name."""

    kind: str  # one of KINDS
    title: Phrase
    body: Phrase

    def to_json(self) -> dict:
        return {"kind": self.kind, "title": self.title.to_json(), "body": self.body.to_json()}

    @classmethod
    def from_json(cls, data) -> "VisitorMessage | None":
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            return None
        title, body = Phrase.from_json(data.get("title")), Phrase.from_json(data.get("body"))
        return cls(data["kind"], title, body) if title and body else None


DESK = phrase("desk")


def _message(kind: str, name: str, **params) -> VisitorMessage:
    return VisitorMessage(kind, phrase(f"{name}.title"), phrase(f"{name}.body", **params))


def check_in_message(judgement: Judgement, display_code: str | None, late_policy: LatePolicy) -> VisitorMessage:
    verdict = judgement.verdict
    if verdict in (CheckInVerdict.ACCEPTED, CheckInVerdict.ALREADY_CHECKED_IN):
        return _message("ok", "checked_in", code=display_code or "")
    if verdict is CheckInVerdict.TOO_EARLY:
        return _message(
            "warn", "too_early", at=judgement.come_back_at.strftime("%H:%M") if judgement.come_back_at else ""
        )
    if verdict is CheckInVerdict.TOO_LATE:
        body = phrase("too_late.walk_in") if late_policy is LatePolicy.WALK_IN else DESK
        return VisitorMessage("warn", phrase("too_late.title"), body)
    name = {
        CheckInVerdict.WRONG_DAY: "wrong_day",
        CheckInVerdict.OTHER_SITE: "other_site",
        CheckInVerdict.UNKNOWN: "unknown",
        CheckInVerdict.CANCELLED: "cancelled",
        CheckInVerdict.FORGED: "forged",
        CheckInVerdict.UNREADABLE: "unreadable",
    }[verdict]
    body = phrase(f"{name}.body", desk=DESK) if f"{name}.body" in TEXTS[DEFAULT_LANGUAGE] else DESK
    return VisitorMessage("error", phrase(f"{name}.title"), body)


def ticket_message(code: str, ahead: int, wait: tuple[int, int] | None) -> VisitorMessage:
    """The kiosk's answer to a ticket: the same queue lines as on the paper."""
    lines = ticket_queue(ahead, wait)
    if len(lines) == 2:
        body = phrase("ticket.body_wait", ahead=lines[0], wait=lines[1])
    else:
        body = phrase("ticket.body", ahead=lines[0])
    return VisitorMessage("ok", phrase("ticket.title", code=code), body)


OUT_OF_ORDER = _message("error", "out_of_order", desk=DESK)
NO_NUMBERS_LEFT = _message("error", "no_numbers_left", desk=DESK)
CLOCK_UNKNOWN = _message("error", "clock_unknown", desk=DESK)
NO_NUMBER_HERE = _message("error", "no_number", desk=DESK)  # safer none than one another kiosk may print too
# A press or a scan that failed for a reason the visitor cannot know: try again, or ask.
TRY_AGAIN = VisitorMessage("error", phrase("press_failed.title"), phrase("press_failed.body"))
