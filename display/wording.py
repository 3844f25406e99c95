"""Every word the monitor and kiosk screens say, German first and English second, and the date.

Dates are spelled out here rather than through the C locale, which a Pi OS Lite image rarely has.
"""
from datetime import datetime

WEEKDAYS = {
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
}

WORDS = {
    "now_calling": {"de": "Aufruf", "en": "Now calling"},
    "counter": {"de": "Schalter", "en": "Counter"},
    "no_call": {"de": "Bitte achten Sie auf Ihre Nummer", "en": "Please watch for your number"},
    "recent": {"de": "Zuletzt aufgerufen", "en": "Recent calls"},
    "next": {"de": "Als Nächstes", "en": "Next"},
    "with_appointment": {"de": "Mit Termin", "en": "With appointment"},
    "walk_in": {"de": "Ohne Termin", "en": "Without appointment"},
    "nobody_waiting": {"de": "Niemand wartet", "en": "No one waiting"},
    "more": {"de": "weitere", "en": "more"},
    "waits": {"de": "Wartezeit", "en": "Waiting time"},
    "waiting_people": {"de": "wartend", "en": "waiting"},
    "minutes": {"de": "Min.", "en": "min"},
    "closed": {"de": "Geschlossen", "en": "Closed"},
    "outside_hours": {"de": "Außerhalb der Öffnungszeiten", "en": "Outside opening hours"},
    "stale": {"de": "nicht aktuell", "en": "not up to date"},
    "reconnecting": {"de": "Verbindung wird hergestellt", "en": "Reconnecting"},
    "kiosk_appointment": {"de": "Termin? QR-Code scannen", "en": "Appointment? Scan your QR code"},
    "kiosk_walk_in": {"de": "Ohne Termin? Knopf drücken", "en": "No appointment? Press the button"},
    "kiosk_choose": {"de": "Ohne Termin? Anliegen wählen", "en": "No appointment? Choose your concern"},
    "ticket_number": {"de": "Ihre Wartenummer", "en": "Your number"},
    "ahead": {"de": "vor Ihnen", "en": "ahead of you"},
    "out_of_order": {"de": "Außer Betrieb", "en": "Out of order"},
    "ask_information": {"de": "Bitte wenden Sie sich an die Information",
                        "en": "Please ask at the information desk"},
    "one_moment": {"de": "Einen Moment bitte…", "en": "One moment please…"},
    "press_failed": {"de": "Das hat nicht geklappt", "en": "That did not work"},
    "press_failed_body": {"de": "Bitte versuchen Sie es noch einmal oder wenden Sie sich an die Information.",
                          "en": "Please try again or ask at the information desk."},
}


def word(key: str, language: str) -> str:
    entry = WORDS[key]
    return entry.get(language) or entry["de"]


def both(key: str, first: str = "de", second: str | None = "en") -> tuple[str, str | None]:
    """The phrase in the first language, and in the second when that differs (else None)."""
    primary = word(key, first)
    secondary = word(key, second) if second else None
    return primary, (secondary if secondary != primary else None)


def long_date(moment: datetime, language: str) -> str:
    weekday, month = WEEKDAYS.get(language, WEEKDAYS["de"]), MONTHS.get(language, MONTHS["de"])
    return f"{weekday[moment.weekday()]}, {moment.day}. {month[moment.month - 1]} {moment.year}" if language != "en" \
        else f"{weekday[moment.weekday()]}, {moment.day} {month[moment.month - 1]} {moment.year}"


def wait_text(low: int, high: int, language: str) -> str:
    unit = word("minutes", language)
    return f"≈ {low} {unit}" if low == high else f"{low}–{high} {unit}"
