"""What visitors read: each phrase written once, per language, German when a language lacks a text."""

from datetime import datetime

import pytest

from appliance.domain.wording import (
    LANGUAGES,
    OUT_OF_ORDER,
    TEXTS,
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


def test_every_language_has_every_text_german_has():
    for language in LANGUAGES:
        assert set(TEXTS[language]) == set(TEXTS["de"]), language


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


def test_a_language_without_texts_falls_back_to_german():
    assert text("ticket.number", "uk") == "Ihre Wartenummer"
    assert OUT_OF_ORDER.body.render("ar") == OUT_OF_ORDER.body.render("de")
    assert long_date(datetime(2025, 11, 25), "fr") == "Dienstag, 25. November 2025"
    assert long_date(datetime(2025, 11, 25), "en") == "Tuesday, 25 November 2025"


def test_a_message_travels_as_keys_and_parameters_and_comes_back_equal():
    message = ticket_message("A042", 3, (10, 20))
    assert VisitorMessage.from_json(message.to_json()) == message
    assert Phrase.from_json({"key": "ticket.title", "params": {"code": "A042"}}) == phrase("ticket.title", code="A042")
    assert Phrase.from_json({"key": "ticket.title"}) is None  # its parameter is missing


def test_a_ticket_is_printed_in_german_first_then_the_devices_other_languages():
    assert ticket_languages(("en", "de")) == ("de", "en")
    assert ticket_languages(("de",)) == ("de",)


def test_paper_and_kiosk_screen_say_the_same_about_the_queue_and_no_wait_when_next_in_line():
    """The ticket printed "Sie sind als Nächstes dran" above "Wartezeit ca. 0–103 Min."; the screen did not."""
    assert ticket_queue(0, (0, 103)) == (people_ahead(0),)
    assert ticket_queue(3, (10, 20)) == (people_ahead(3), wait_estimate(10, 20))
    for ahead, wait in [(0, (0, 103)), (3, (10, 20)), (1, None)]:
        body = ticket_message("A001", ahead, wait).body.render("de")
        assert all(line.render("de") in body for line in ticket_queue(ahead, wait))
    assert "Wartezeit" not in ticket_message("A001", 0, (0, 103)).body.render("de")
