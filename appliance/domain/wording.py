"""Every word a visitor reads or hears (kiosk answers, ticket, monitor and kiosk screens), per language.

A text is a key rendered for a language: German here (the source), every other language from its gettext
catalog (appliance/domain/catalogs.py); German is the fallback for any missing or broken translation.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_date

from appliance.domain.catalogs import LANGUAGES, SOURCE_LANGUAGE, translations
from appliance.domain.checkin import CheckInVerdict, Judgement, LatePolicy
from appliance.languages import N_, NP_, Message, translated

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = SOURCE_LANGUAGE


# Adding a text: a line here, then `make catalogs-update` and its translation in each catalog.
MESSAGES: dict[str, Message] = {
    message.key: message
    for message in (
        N_("desk", "Bitte wenden Sie sich an die Information."),
        N_("checked_in.title", "Sie sind angemeldet"),
        N_("checked_in.body", "Bitte nehmen Sie Platz. Ihre Nummer auf dem Monitor: {code}."),
        N_("too_early.title", "Noch zu früh"),
        N_("too_early.body", "Bitte scannen Sie Ihren Code ab {at} Uhr noch einmal."),
        N_("too_late.title", "Ihr Termin ist vorbei"),
        N_("too_late.walk_in", "Bitte ziehen Sie eine Wartenummer. Wir helfen Ihnen so bald wie möglich."),
        N_("wrong_day.title", "Termin an einem anderen Tag"),
        N_("wrong_day.body", "Ihr Termin ist nicht heute. {desk}"),
        N_("other_site.title", "Termin an einem anderen Standort"),
        N_("other_site.body", "Ihr Termin ist in einem anderen Haus. {desk}"),
        N_("unknown.title", "Termin nicht gefunden"),
        N_("cancelled.title", "Termin abgesagt"),
        N_("cancelled.body", "Dieser Termin wurde abgesagt. {desk}"),
        N_("forged.title", "Code ungültig"),
        N_("unreadable.title", "Code nicht lesbar"),
        N_("unreadable.body", "Bitte halten Sie den Code ruhig vor den Leser. Klappt es nicht: {desk}"),
        N_("out_of_order.title", "Außer Betrieb"),
        N_("out_of_order.body", "Hier gibt es gerade keine Wartenummern. {desk}"),
        N_("no_numbers_left.title", "Keine Wartenummern mehr"),
        N_("no_numbers_left.body", "Für dieses Anliegen sind heute alle Nummern vergeben. {desk}"),
        N_("no_number.title", "Gerade keine Wartenummer"),
        N_("no_number.body", "Dieses Gerät kann gerade keine Nummer vergeben. {desk}"),
        N_("clock_unknown.title", "Einen Moment bitte"),
        N_("clock_unknown.body", "Das Gerät startet noch. {desk}"),
        N_("press_failed.title", "Das hat nicht geklappt"),
        N_("press_failed.body", "Bitte versuchen Sie es noch einmal oder wenden Sie sich an die Information."),
        N_("ticket.title", "Ihre Wartenummer: {code}"),
        N_("ticket.body", "Bitte nehmen Sie Ihren Zettel. {ahead}."),
        N_("ticket.body_wait", "Bitte nehmen Sie Ihren Zettel. {ahead}. {wait}"),
        N_("ticket.number", "Ihre Wartenummer"),
        N_("ticket.online", "Aktuelle Wartezeit online:"),
        N_("ticket.footer", "Bitte achten Sie auf den Aufruf am Monitor."),
        N_("ahead.none", "Sie sind als Nächstes dran"),
        NP_("ahead", "Vor Ihnen: {count} Person", "Vor Ihnen: {count} Personen"),
        N_("wait.range", "{low}–{high} Min."),
        N_("wait.exact", "{low} Min."),
        N_("wait.estimate", "Wartezeit ca. {minutes}"),
        N_("waiting_count", "{count} wartend"),
        N_("announce", "Wartenummer {code}, bitte zu Schalter {counter}."),
        N_("now_calling", "Aufruf"),
        N_("counter", "Schalter"),
        N_("no_call", "Bitte achten Sie auf Ihre Nummer"),
        N_("recent", "Zuletzt aufgerufen"),
        N_("next", "Als Nächstes"),
        N_("with_appointment", "Mit Termin"),
        N_("walk_in", "Ohne Termin"),
        N_("nobody_waiting", "Niemand wartet"),
        N_("more", "weitere"),
        N_("waits", "Wartezeit"),
        N_("waiting", "Wartende"),
        N_("closed", "Geschlossen"),
        N_("outside_hours", "Außerhalb der Öffnungszeiten"),
        N_("stale", "nicht aktuell"),
        N_("reconnecting", "Verbindung wird hergestellt"),
        N_("kiosk_appointment", "Termin? QR-Code scannen"),
        N_("kiosk_walk_in", "Ohne Termin? Knopf drücken"),
        N_("kiosk_choose", "Ohne Termin? Anliegen wählen"),
        N_("ask_information", "Bitte wenden Sie sich an die Information"),
        N_("one_moment", "Einen Moment bitte…"),
        N_("language_returning", "Gleich wieder auf Deutsch – tippen Sie, um zu bleiben"),
        N_("kiosk_repeat", "Noch einmal hören"),
        N_("language_returning_button", "Gleich wieder auf Deutsch – zum Bleiben die Wiederholtaste drücken"),
    )
}
KINDS = ("ok", "warn", "error")  # a message's colour on the screen, LED and buzzer pattern
_REPORTED: set[tuple[str, str]] = set()  # broken translations already logged


def text(key: str, language: str = DEFAULT_LANGUAGE, **params) -> str:
    """The text ``key`` in ``language`` (German where that language lacks it or its translation is broken),
    filled with ``params``. A parameter that is a Phrase is rendered in the same language.
    """
    message = MESSAGES[key]
    for candidate in dict.fromkeys((language, DEFAULT_LANGUAGE)):
        values = {
            name: value.render(candidate) if isinstance(value, Phrase) else value for name, value in params.items()
        }
        template = translated(translations(candidate), message, values.get("count"))
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError) as error:
            if candidate == DEFAULT_LANGUAGE:
                raise
            if (candidate, key) not in _REPORTED:  # once: screens redraw the same text many times a minute
                _REPORTED.add((candidate, key))
                log.error("the %s translation of %r is broken (%s): shown in German", candidate, key, error)
    raise AssertionError("unreachable: German raised or returned")


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
        if not isinstance(data, dict) or data.get("key") not in MESSAGES:
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
    # Next in line is said in words; any other count takes the language's plural form.
    return phrase("ahead.none") if count == 0 else phrase("ahead", count=count)


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


def ticket_languages(chosen: str | None, configured) -> tuple[str, ...]:
    """A ticket's languages: German first (the office's language and the fallback), then the visitor's
    chosen one; without a choice the device's next configured language."""
    others = [chosen] if chosen else list(configured)
    return (DEFAULT_LANGUAGE, *[code for code in others if code != DEFAULT_LANGUAGE and code in LANGUAGES][:1])


def long_date(moment: datetime, language: str) -> str:
    """The date spelt out as the language writes it (Babel's CLDR data): 'Dienstag, 25. November 2025'."""
    return format_date(moment, "full", locale=language if language in LANGUAGES else DEFAULT_LANGUAGE)


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
    body = phrase(f"{name}.body", desk=DESK) if f"{name}.body" in MESSAGES else DESK
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
