"""The reference backend's page catalogs checked as the devices' are (appliance.languages' po_problems): the
tests name each problem, and `make bench` counts the languages complete on the devices and the pages alike.
"""

from appliance.domain.catalog_check import complete_languages
from appliance.languages import po_problems
from entrance_backend import wording


def page_catalog_problems(language: str) -> list[str]:
    """Each problem of ``language``'s page catalog in a line a translator can act on; none for German."""
    if language == wording.SOURCE_LANGUAGE:
        return []
    path = wording.LOCALE_DIR / language / "LC_MESSAGES" / f"{wording.DOMAIN}.po"
    return po_problems(path, language, wording.MESSAGES.values())


def languages_complete_everywhere() -> tuple[str, ...]:
    """The languages whose catalogs are complete both on the devices and on the backend's public pages."""
    return tuple(
        language
        for language in complete_languages()
        if language in wording.LANGUAGES and not page_catalog_problems(language)
    )
