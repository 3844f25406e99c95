"""The gettext catalogs of visitors' words (locale/LANG/LC_MESSAGES/appliance.po, compiled to .mo by make):
which languages are shipped, their translations, and each language's name in its own script.

German is the source language: its words stand in the code (appliance/domain/wording.py) and need no catalog.
"""

from functools import cache
from pathlib import Path

from babel.support import NullTranslations

from appliance.languages import SOURCE_LANGUAGE, is_right_to_left, language_name, load_translations, shipped_languages

__all__ = ["DOMAIN", "LANGUAGES", "LOCALE_DIR", "SOURCE_LANGUAGE", "is_right_to_left", "language_name", "translations"]

DOMAIN = "appliance"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES: tuple[str, ...] = shipped_languages(LOCALE_DIR, DOMAIN)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language``; without one, the German source texts (warned once)."""
    return load_translations(LOCALE_DIR, DOMAIN, language)
