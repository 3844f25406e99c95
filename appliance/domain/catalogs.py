"""The gettext catalogs of visitors' words (locale/LANG/LC_MESSAGES/appliance.po, compiled to .mo by make):
which languages are shipped, their translations, and each language's name in its own script.

German is the source language: its words stand in the code (appliance/domain/wording.py) and need no catalog.
"""

import logging
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

DOMAIN = "appliance"
LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE_LANGUAGE = "de"


def _shipped() -> tuple[str, ...]:
    """German, then every language with a catalog: adding a language is adding its catalog."""
    catalogs = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(code for code in catalogs if code != SOURCE_LANGUAGE))


LANGUAGES: tuple[str, ...] = _shipped()


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language``; without one, the German source texts (warned once)."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    loaded = Translations.load(str(LOCALE_DIR), [language], DOMAIN)
    if not isinstance(loaded, Translations):
        log.warning("no compiled catalog for language %r (make compiles them): its texts show in German", language)
    return loaded


@cache
def language_name(language: str) -> str:
    """The language's name in its own script, as a visitor looks for it: 'Deutsch', 'Українська', 'العربية'."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


@cache
def is_right_to_left(language: str) -> bool:
    """Whether the language is written right to left (Arabic, Farsi), as the Unicode CLDR says."""
    return Locale.parse(language).text_direction == "rtl"
