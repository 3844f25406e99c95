"""The backend's public pages ship the kiosk's languages, each complete: every text, the same placeholders,
none fuzzy, every plural form; a broken translation reaches the visitor in German rather than as an error."""

import re

import pytest

from appliance.domain import catalogs as device_catalogs
from entrance_backend import wording
from entrance_backend.wording import LANGUAGES, LOCALE_DIR, MESSAGES, Message, page_language, text
from support.page_catalogs import languages_complete_everywhere, page_catalog_problems

CATALOGS = [language for language in LANGUAGES if language != "de"]


def test_the_pages_ship_the_kiosks_seven_languages_each_complete():
    assert set(LANGUAGES) == set(device_catalogs.LANGUAGES)
    assert set(languages_complete_everywhere()) == {"de", "en", "uk", "ar", "tr", "ru", "fa"}


@pytest.mark.parametrize("language", CATALOGS)
def test_every_page_catalog_has_every_text_with_the_same_placeholders_and_none_fuzzy(language):
    assert page_catalog_problems(language) == []


def test_a_page_catalog_with_a_plural_form_left_empty_or_an_entry_marked_fuzzy_is_named(tmp_path, monkeypatch):
    po = (LOCALE_DIR / "ru" / "LC_MESSAGES" / "entrance_backend.po").read_text(encoding="utf-8")
    (tmp_path / "ru" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "ru" / "LC_MESSAGES" / "entrance_backend.po").write_text(
        po.replace('msgstr[1] "Перед вами {count} человека."', 'msgstr[1] ""').replace(
            'msgctxt "no_site"', '#, fuzzy\nmsgctxt "no_site"'
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(wording, "LOCALE_DIR", tmp_path)
    assert [problem.split(": ", 1)[1] for problem in page_catalog_problems("ru")] == [
        "'ahead' is not translated in every form",
        "'no_site' is fuzzy",
    ]


@pytest.mark.parametrize("language", CATALOGS)
def test_every_page_catalog_is_compiled_and_used(language):
    assert text("next", language) != text("next", "de"), f"make catalogs compiles {language}"


@pytest.mark.parametrize(
    ("language", "count", "says"),
    [
        ("de", 1, "Vor Ihnen wartet 1 Person."),
        ("de", 4, "Vor Ihnen warten 4 Personen."),
        ("uk", 1, "Перед вами 1 особа."),
        ("uk", 3, "Перед вами 3 особи."),
        ("uk", 5, "Перед вами 5 осіб."),
        ("uk", 21, "Перед вами 21 особа."),
        ("ru", 22, "Перед вами 22 человека."),
        ("ar", 11, "أمامك 11 شخصًا."),
    ],
)
def test_people_ahead_take_the_languages_plural_form(language, count, says):
    assert text("ahead", language, count=count) == says


def test_a_broken_placeholder_in_a_page_translation_shows_the_german_text(monkeypatch, caplog):
    class Broken:
        def pgettext(self, context, message):
            return "You are being called: counter {desk}"

    monkeypatch.setitem(MESSAGES, "called", Message("called", "Sie werden aufgerufen: Schalter {counter}"))
    monkeypatch.setattr(
        wording, "translations", lambda language: Broken() if language == "en" else wording.NullTranslations()
    )
    assert text("called", "en", counter=3) == "Sie werden aufgerufen: Schalter 3"
    assert re.search(r"en translation of 'called' is broken", caplog.text)


@pytest.mark.parametrize(
    ("asked", "accept_language", "language"),
    [
        (None, "uk-UA,uk;q=0.9,en-US;q=0.8", "uk"),
        (None, "fr-FR,fr;q=0.9,ar;q=0.8,en;q=0.7", "ar"),  # no French: the next the phone asks for
        (None, "en;q=0.2,tr;q=0.9", "tr"),  # by weight, not by order
        (None, "fa-AF", "fa"),
        (None, "fr, *", "de"),
        (None, "en;q=0, ru;q=bad", "de"),  # refused and broken weights count for nothing
        (None, None, "de"),
        ("ar", "uk", "ar"),  # the visitor's choice on the page (or the kiosk's) wins
        ("uk-UA", "en", "uk"),
        ("xx", "uk", "de"),  # a language without a catalog: German, never an error
        ("", "uk", "de"),
    ],
)
def test_the_pages_language_is_the_visitors_choice_else_the_phones_else_german(asked, accept_language, language):
    assert page_language(asked, accept_language) == language
