"""The shipped catalogs: every language has every text, with the same placeholders, none fuzzy; a broken
translation reaches the visitor in German rather than as a crash."""

import re

import pytest

from appliance.domain import catalog_check, catalogs, wording
from appliance.domain.catalog_check import catalog_problems, complete_languages
from appliance.domain.catalogs import LANGUAGES, LOCALE_DIR, language_name
from appliance.domain.wording import MESSAGES, Message, text

SHIPPED = ("de", "en", "uk", "ar", "tr", "ru", "fa")
CATALOGS = [language for language in LANGUAGES if language != "de"]


def test_the_seven_languages_of_the_issue_are_shipped_and_complete():
    assert set(SHIPPED) <= set(LANGUAGES)
    assert set(SHIPPED) <= set(complete_languages())


@pytest.mark.parametrize("language", CATALOGS)
def test_every_catalog_has_every_text_with_the_same_placeholders_and_none_fuzzy(language):
    assert catalog_problems(language) == []


def test_a_catalog_that_lacks_a_text_or_breaks_a_placeholder_is_named(tmp_path, monkeypatch):
    po = (LOCALE_DIR / "tr" / "LC_MESSAGES" / "appliance.po").read_text(encoding="utf-8")
    broken = po.replace('msgstr "Sıra numaranız: {code}"', 'msgstr "Sıra numaranız: {kod}"')
    broken = broken.replace('msgctxt "desk"', 'msgctxt "desk-gone"')
    (tmp_path / "tr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "tr" / "LC_MESSAGES" / "appliance.po").write_text(broken, encoding="utf-8")
    monkeypatch.setattr(catalog_check, "LOCALE_DIR", tmp_path)

    problems = catalog_problems("tr")

    assert [problem.split(": ", 1)[1] for problem in problems] == [
        "'desk' is missing (make catalogs-update, then translate it)",
        "'ticket.title' has placeholders ['kod'], not ['code']",
    ]


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
