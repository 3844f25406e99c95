"""What a catalog lacks against the German source in wording.py: missing, fuzzy or empty entries and
placeholders that differ. The tests name each problem; `make bench` counts the complete catalogs.
"""

from appliance.domain.catalogs import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE
from appliance.domain.wording import MESSAGES
from appliance.languages import po_problems


def catalog_problems(language: str) -> list[str]:
    """Each problem of ``language``'s catalog in a line a translator can act on; none for German."""
    if language == SOURCE_LANGUAGE:
        return []
    return po_problems(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", language, MESSAGES.values())


def complete_languages() -> tuple[str, ...]:
    """The shipped languages whose catalog has every text (German, the source, always)."""
    return tuple(language for language in LANGUAGES if not catalog_problems(language))
