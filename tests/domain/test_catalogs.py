"""The shipped catalogs: every language has every text, with the same placeholders, none fuzzy; a broken
translation reaches the visitor in German rather than as a crash."""

import re
import string

import pytest
from babel.messages.pofile import read_po

from appliance.domain import catalogs, wording
from appliance.domain.catalogs import LANGUAGES, LOCALE_DIR, language_name
from appliance.domain.wording import MESSAGES, Message, text

SHIPPED = ("de", "en", "uk", "ar", "tr", "ru", "fa")
CATALOGS = [language for language in LANGUAGES if language != "de"]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def read_catalog(language: str):
    with open(LOCALE_DIR / language / "LC_MESSAGES" / "appliance.po", "rb") as po:
        return read_po(po, locale=language)


def test_the_seven_languages_of_the_issue_are_shipped():
    assert set(SHIPPED) <= set(LANGUAGES)


@pytest.mark.parametrize("language", CATALOGS)
def test_every_catalog_has_every_text_with_the_same_placeholders_and_none_fuzzy(language):
    catalog = read_catalog(language)
    assert not catalog.fuzzy, f"{language}: the catalog's header is marked fuzzy"
    for message in MESSAGES.values():
        german = (message.german, message.german_plural) if message.german_plural else message.german
        entry = catalog.get(german, context=message.key)
        assert entry is not None, f"{language}: {message.key!r} is missing (make catalogs-update, then translate)"
        assert not entry.fuzzy, f"{language}: {message.key!r} is fuzzy"
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert len(forms) == (catalog.num_plurals if message.german_plural else 1), f"{language}: {message.key!r}"
        for form in forms:
            assert form, f"{language}: {message.key!r} is not translated"
            assert placeholders(form) == placeholders(message.german_plural or message.german), (
                f"{language}: {message.key!r} has placeholders {sorted(placeholders(form))}"
            )


@pytest.mark.parametrize("language", CATALOGS)
def test_every_catalog_is_compiled_and_used(language):
    assert text("ticket.number", language) != text("ticket.number", "de"), f"make catalogs compiles {language}"


def test_each_language_is_named_in_its_own_script():
    assert [language_name(code) for code in SHIPPED] == [
        "Deutsch",
        "English",
        "Українська",
        "العربية",
        "Türkçe",
        "Русский",
        "فارسی",
    ]


def test_a_broken_placeholder_in_a_translation_shows_the_german_text(monkeypatch, caplog):
    broken = Message("ticket.title", "Ihre Wartenummer: {code}")

    class Broken:
        def pgettext(self, context, message):
            return "Your number: {cod}"

    monkeypatch.setitem(MESSAGES, "ticket.title", broken)
    monkeypatch.setattr(
        wording, "translations", lambda language: Broken() if language == "en" else catalogs.translations(language)
    )
    assert text("ticket.title", "en", code="A042") == "Ihre Wartenummer: A042"
    assert re.search(r"en translation of 'ticket.title' is broken", caplog.text)
