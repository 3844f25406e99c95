"""What a catalog lacks against its German source (wording.py): missing, fuzzy or empty entries and
placeholders that differ. The tests name each problem; `make bench` counts the complete catalogs.
"""

import string
from collections.abc import Iterable
from pathlib import Path

from babel.messages.pofile import read_po

from appliance.domain.catalogs import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE
from appliance.domain.wording import MESSAGES


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def catalog_problems(language: str) -> list[str]:
    """Each problem of ``language``'s catalog in a line a translator can act on; none for German."""
    if language == SOURCE_LANGUAGE:
        return []
    return po_problems(LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", language, MESSAGES.values())


def po_problems(path: Path, language: str, messages: Iterable) -> list[str]:
    """Each problem of the catalog at ``path`` against the German source ``messages`` (each with a key, its
    German and its German plural): the reference backend's page catalogs are checked the same way."""
    with open(path, "rb") as po:
        catalog = read_po(po, locale=language)
    problems = [f"{path}: the header is marked fuzzy"] if catalog.fuzzy else []
    for message in messages:
        source = (message.german, message.german_plural) if message.german_plural else message.german
        entry = catalog.get(source, context=message.key)
        if entry is None:
            problems.append(f"{path}: {message.key!r} is missing (make catalogs-update, then translate it)")
            continue
        if entry.fuzzy:
            problems.append(f"{path}: {message.key!r} is fuzzy")
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if len(forms) != (catalog.num_plurals if message.german_plural else 1) or not all(forms):
            problems.append(f"{path}: {message.key!r} is not translated in every form")
        expected = placeholders(message.german_plural or message.german)
        for form in forms:
            if form and placeholders(form) != expected:
                problems.append(
                    f"{path}: {message.key!r} has placeholders {sorted(placeholders(form))}, not {sorted(expected)}"
                )
    return problems


def complete_languages() -> tuple[str, ...]:
    """The shipped languages whose catalog has every text (German, the source, always)."""
    return tuple(language for language in LANGUAGES if not catalog_problems(language))
