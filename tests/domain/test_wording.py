"""What visitors read: each phrase written once, per language, German when a language lacks a text."""

from datetime import datetime

import pytest

from appliance.domain.wording import (
    OUT_OF_ORDER,
    Phrase,
    VisitorMessage,
    in_languages,
    long_date,
    people_ahead,
    phrase,
    text,
    ticket_languages,
    ticket_message,
    ticket_queue,
    wait_estimate,
    wait_minutes,
)


@pytest.mark.parametrize(
    "count, german, english",
    [
        (0, "Sie sind als Nächstes dran", "You are next"),
        (1, "Vor Ihnen: 1 Person", "1 person ahead of you"),
        (3, "Vor Ihnen: 3 Personen", "3 people ahead of you"),
    ],
)
def test_people_ahead_reads_naturally_for_none_one_and_many(count, german, english):
    assert in_languages(people_ahead(count), ("de", "en")) == (german, english)


@pytest.mark.parametrize(
    "count, ukrainian",
    [(1, "Перед вами: 1 особа"), (3, "Перед вами: 3 особи"), (5, "Перед вами: 5 осіб"), (21, "Перед вами: 21 особа")],
)
def test_people_ahead_takes_the_languages_own_plural_forms(count, ukrainian):
    assert people_ahead(count).render("uk") == ukrainian


def test_a_wait_is_a_range_or_one_number_when_both_ends_meet():
    assert in_languages(wait_estimate(10, 20), ("de", "en")) == ("Wartezeit ca. 10–20 Min.", "Wait approx. 10–20 min")
    assert in_languages(wait_estimate(15, 15), ("de", "en")) == ("Wartezeit ca. 15 Min.", "Wait approx. 15 min")
    with pytest.raises(ValueError, match="range"):
        wait_minutes(20, 10)
    with pytest.raises(ValueError, match="negative"):
        people_ahead(-1)


def test_the_kiosk_answer_for_a_ticket_uses_the_same_phrases_as_the_ticket():
    message = ticket_message("U043", 1, (15, 15))
    assert message.title.render("de") == "Ihre Wartenummer: U043"
    assert message.body.render("de") == "Bitte nehmen Sie Ihren Zettel. Vor Ihnen: 1 Person. Wartezeit ca. 15 Min."
    assert message.body.render("en") == "Please take your ticket. 1 person ahead of you. Wait approx. 15 min."
    assert (
        ticket_message("U043", 0, (15, 15)).body.render("de")
        == "Bitte nehmen Sie Ihren Zettel. Sie sind als Nächstes dran."
    )


def test_a_language_without_a_catalog_falls_back_to_german():
    assert text("ticket.number", "fr") == "Ihre Wartenummer"
    assert OUT_OF_ORDER.body.render("fr") == OUT_OF_ORDER.body.render("de")
    assert long_date(datetime(2025, 11, 25), "fr") == "Dienstag, 25. November 2025"


def test_dates_are_spelt_as_each_language_writes_them():
    day = datetime(2025, 11, 25)
    assert long_date(day, "de") == "Dienstag, 25. November 2025"
    assert long_date(day, "en") == "Tuesday, November 25, 2025"
    assert (
        long_date(day, "uk") == "вівторок, 25 листопада 2025\u202fр."
    )  # CLDR keeps the year and its abbreviation together
    assert long_date(day, "tr") == "25 Kasım 2025 Salı"


def test_a_message_travels_as_keys_and_parameters_and_comes_back_equal():
    message = ticket_message("A042", 3, (10, 20))
    assert VisitorMessage.from_json(message.to_json()) == message
    assert Phrase.from_json({"key": "ticket.title", "params": {"code": "A042"}}) == phrase("ticket.title", code="A042")
    assert Phrase.from_json({"key": "ticket.title"}) is None  # its parameter is missing


def test_a_ticket_is_printed_in_german_first_then_the_chosen_language_or_the_devices_next():
    assert ticket_languages("ar", ("de", "en", "ar")) == ("de", "ar")
    assert ticket_languages("de", ("de", "en")) == ("de",)
    assert ticket_languages(None, ("en", "de")) == ("de", "en")
    assert ticket_languages(None, ("de",)) == ("de",)
    assert ticket_languages("xx", ("de", "en")) == ("de",)  # no catalog: German alone


def test_paper_and_kiosk_screen_say_the_same_about_the_queue_and_no_wait_when_next_in_line():
    """The ticket printed "Sie sind als Nächstes dran" above "Wartezeit ca. 0–103 Min."; the screen did not."""
    assert ticket_queue(0, (0, 103)) == (people_ahead(0),)
    assert ticket_queue(3, (10, 20)) == (people_ahead(3), wait_estimate(10, 20))
    for ahead, wait in [(0, (0, 103)), (3, (10, 20)), (1, None)]:
        body = ticket_message("A001", ahead, wait).body.render("de")
        assert all(line.render("de") in body for line in ticket_queue(ahead, wait))
    assert "Wartezeit" not in ticket_message("A001", 0, (0, 103)).body.render("de")
