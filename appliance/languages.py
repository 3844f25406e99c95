"""Gettext catalogs of visitors' words as the devices and the reference backend both keep them: German texts in
the code under stable keys, a Babel catalog per other language, and the checks a translator acts on.

A library like appliance.protocol (it imports nothing of ours): the devices' wording and the backend's pages
each keep their own texts and catalogs, and share only how a catalog is read and checked.
"""

import logging
import string
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from babel import Locale
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "de"  # the texts in the code; the fallback for any missing or broken translation


class Message(NamedTuple):
    """A text's key (the catalogs' context) and its German words; a plural form when it counts."""

    key: str
    german: str
    german_plural: str | None = None  # with a ``count`` parameter: ngettext's plural form


def N_(key: str, german: str) -> Message:  # noqa: N802 -- gettext's marker name, which pybabel extract looks for
    return Message(key, german)


def NP_(key: str, german: str, german_plural: str) -> Message:  # noqa: N802
    return Message(key, german, german_plural)


def shipped_languages(folder: Path, domain: str) -> tuple[str, ...]:
    """German, then every language with a catalog in ``folder``: adding a language is adding its catalog."""
    catalogs = sorted(p.parent.parent.name for p in folder.glob(f"*/LC_MESSAGES/{domain}.po"))
    return (SOURCE_LANGUAGE, *(code for code in catalogs if code != SOURCE_LANGUAGE))


def load_translations(folder: Path, domain: str, language: str) -> NullTranslations:
    """The compiled catalog of ``language``; without one, the German source texts (with a warning)."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    loaded = Translations.load(str(folder), [language], domain)
    if not isinstance(loaded, Translations):
        log.warning("no compiled %s catalog for %r (make catalogs): its texts show in German", domain, language)
    return loaded


def translated(catalog: NullTranslations, message: Message, count=None) -> str:
    """The catalog's template of ``message`` (the plural form for ``count`` where it counts)."""
    if message.german_plural is None:
        return catalog.pgettext(message.key, message.german)
    return catalog.npgettext(message.key, message.german, message.german_plural, int(count))


@cache
def language_name(language: str) -> str:
    """The language's name in its own script, as a visitor looks for it: 'Deutsch', 'Українська', 'العربية'."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


@cache
def is_right_to_left(language: str) -> bool:
    """Whether the language is written right to left (Arabic, Farsi), as the Unicode CLDR says."""
    return Locale.parse(language).text_direction == "rtl"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def po_problems(path: Path, language: str, messages: Iterable[Message]) -> list[str]:
    """Each problem of the catalog at ``path`` against its German ``messages``, in a line a translator can
    act on: missing, fuzzy or untranslated entries (every plural form) and placeholders that differ."""
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
