"""Every word the public pages (a number's wait page, the office's waits) show a visitor, and each page's
language: German here (the source), the others from the backend's gettext catalogs (locale/, make catalogs).
"""

# Why catalogs of its own: the backend is another program, on a server rather than a Pi, and its pages' words
# are not the kiosk's; it shares with the devices only the protocol and how a catalog is read and checked
# (appliance.languages, a library that imports nothing of the devices': setup.cfg [importlinter]).
import logging
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import negotiate_locale
from babel.dates import format_date, format_time
from babel.support import NullTranslations

from appliance.languages import (
    N_,
    NP_,
    SOURCE_LANGUAGE,
    Message,
    is_right_to_left,
    language_name,
    load_translations,
    shipped_languages,
    translated,
)

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "SOURCE_LANGUAGE",
    "Message",
    "is_right_to_left",
    "language_name",
    "page_language",
    "text",
]

log = logging.getLogger(__name__)

DOMAIN = "entrance_backend"
LOCALE_DIR = Path(__file__).with_name("locale")


# Adding a text: a line here, then `make catalogs-update` and its translation in each catalog.
MESSAGES: dict[str, Message] = {
    message.key: message
    for message in (
        N_("wait.title", "Wartezeit"),
        N_("place_unknown", "Ihre Nummer wartet."),
        N_("next", "Sie sind als Nächstes dran."),
        NP_("ahead", "Vor Ihnen wartet {count} Person.", "Vor Ihnen warten {count} Personen."),
        N_("wait_range", "Wartezeit ca. {low}–{high} Min."),
        N_("watch_monitor", "Bitte achten Sie auf den Aufruf am Monitor."),
        N_("called", "Sie werden aufgerufen: Schalter {counter}"),
        N_("booked.title", "Ihr Termin ist gebucht."),
        N_("booked.body", "Bitte melden Sie sich bei Ankunft am Kiosk an: QR-Code scannen."),
        N_("not_come.title", "Ihre Nummer wurde aufgerufen, Sie waren nicht da."),
        N_("ask_information", "Bitte fragen Sie an der Information."),
        N_("void.title", "Diese Nummer ist nicht gültig."),
        N_("void.body", "Bitte ziehen Sie eine neue Nummer oder fragen Sie an der Information."),
        N_("other_day.title", "Diese Nummer gilt heute nicht."),
        N_("other_day.was_for", "Sie war für den {day}."),
        N_("draw_new", "Bitte ziehen Sie eine neue Nummer."),
        N_("malformed", "Diese Adresse enthält keine gültige Wartenummer."),
        N_("unknown.title", "Diese Nummer kennen wir heute nicht."),
        N_("unknown.body", "Bitte prüfen Sie die Nummer auf Ihrem Zettel."),
        N_("as_of", "Stand: {time}"),
        N_("updates_itself", "Die Seite aktualisiert sich selbst."),
        N_("office_link", "Wartezeiten des Standorts"),
        N_("office.title", "Aktuelle Wartezeiten"),
        N_("concern", "Anliegen"),
        N_("waiting", "Wartende"),
        N_("wait", "Wartezeit"),
        N_("minutes", "ca. {minutes} Min."),
        N_("nobody_waiting", "Zurzeit wartet niemand."),
        N_("book_online", "Mit Termin müssen Sie nicht warten: buchen Sie online."),
        N_("languages", "Sprache"),
        N_("too_fast", "Zu viele Anfragen. Bitte versuchen Sie es gleich noch einmal."),
        N_("no_site", "Diesen Standort gibt es hier nicht."),
    )
}
_REPORTED: set[tuple[str, str]] = set()  # broken translations already logged


LANGUAGES: tuple[str, ...] = shipped_languages(LOCALE_DIR, DOMAIN)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language``; without one, the German source texts (warned once)."""
    return load_translations(LOCALE_DIR, DOMAIN, language)


def text(key: str, language: str, **params) -> str:
    """The text ``key`` in ``language``, filled with ``params`` (a moment or a day written as the language
    writes it, by Babel's CLDR data: '09:00', '9:00 AM'); German where its translation is broken."""
    template = translated(translations(language), MESSAGES[key], params.get("count"))
    try:
        return template.format(**{name: _written(value, language) for name, value in params.items()})
    except (KeyError, IndexError, ValueError) as error:
        if language == SOURCE_LANGUAGE:
            raise
        if (language, key) not in _REPORTED:
            _REPORTED.add((language, key))
            log.error("the %s translation of %r is broken (%s): shown in German", language, key, error)
        return text(key, SOURCE_LANGUAGE, **params)


def page_language(asked: str | None, accept_language: str | None) -> str:
    """The page's language: the one the visitor chose (``?lang=uk``; one without a catalog gives German),
    else the best shipped match of the phone's Accept-Language header, else German."""
    wanted = [asked] if asked is not None else _preferred(accept_language or "")
    return negotiate_locale(wanted, LANGUAGES, sep="-") or SOURCE_LANGUAGE


def _preferred(header: str) -> list[str]:
    """Accept-Language's tags, most wanted first ("uk-UA,uk;q=0.9,de;q=0.5"); q=0 ones are refused."""
    weighted = []
    for position, item in enumerate(header.split(",")[:20]):
        tag, _, parameters = item.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _written(value, language: str):
    if isinstance(value, datetime):  # a moment in the office's zone: its time of day
        return format_time(value, "short", locale=language)
    if isinstance(value, date):
        return format_date(value, "medium", locale=language)
    return value
