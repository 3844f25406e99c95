"""The kiosk part of the daemon's view: the latest answer and out of order, parsed without ever crashing."""

from datetime import timedelta

import pytest

from appliance.display.view import KioskState, parse_view
from appliance.domain.screen import KioskAnswer
from appliance.domain.wording import OUT_OF_ORDER, VisitorMessage, phrase, ticket_message
from support.samples import NOW, sample_view

HALLO = {"key": "checked_in.title"}  # a title of the daemon's, with no parameters
SEATED = {"key": "checked_in.body", "params": {"code": "T-4821"}}


def kiosk_view(kiosk) -> dict:
    return sample_view(kiosk=kiosk)


def test_the_daemons_ticket_answer_arrives_as_the_same_message_with_its_number_and_time():
    sent = KioskAnswer(ticket_message("U043", 4, (10, 20)), "U043", NOW)
    view = parse_view(kiosk_view({"answer": sent.to_json(), "out_of_order": None}))

    assert view.kiosk == KioskState(sent)
    assert (
        view.kiosk.answer.message.body.render("de")
        == "Bitte nehmen Sie Ihren Zettel. Vor Ihnen: 4 Personen. Wartezeit ca. 10–20 Min."
    )
    assert (
        view.kiosk.answer.message.body.render("en")
        == "Please take your ticket. 4 people ahead of you. Wait approx. 10–20 min."
    )
    assert view.problems == ()


def test_out_of_order_keeps_the_reason_and_a_view_without_a_kiosk_part_can_serve():
    assert parse_view(kiosk_view({"answer": None, "out_of_order": "paper out"})).kiosk.out_of_order == "paper out"
    plain = parse_view(sample_view())
    assert plain.kiosk == KioskState() and plain.problems == ()


def test_a_new_answer_is_a_new_picture_but_a_keep_alive_is_not():
    first = kiosk_view({"answer": KioskAnswer(OUT_OF_ORDER, None, NOW).to_json(), "out_of_order": "paper out"})
    again = dict(first, snapshot=dict(first["snapshot"], serial=999))
    later = kiosk_view(
        {"answer": KioskAnswer(OUT_OF_ORDER, None, NOW + timedelta(seconds=30)).to_json(), "out_of_order": "paper out"}
    )

    assert parse_view(first) == parse_view(again)
    assert parse_view(first) != parse_view(later)


NOT_SHOWN = "kiosk.answer has no message with a known title and body; it is not shown"
CHECKED_IN = VisitorMessage("ok", phrase("checked_in.title"), phrase("checked_in.body", code="T-4821"))


@pytest.mark.parametrize(
    "kiosk, expected, problem",
    [
        ("yes", KioskState(), "kiosk is not an object"),
        ({"answer": "A001"}, KioskState(), NOT_SHOWN),
        ({"answer": {"message": {"kind": "ok"}, "code": "A001"}}, KioskState(), NOT_SHOWN),
        (
            {"answer": {"message": {"kind": "ok", "title": {"key": "no.such.text"}, "body": SEATED}}},
            KioskState(),
            NOT_SHOWN,
        ),
        (
            {"answer": {"message": {"kind": "ok", "title": HALLO, "body": {"key": "checked_in.body"}}}},
            KioskState(),
            NOT_SHOWN,
        ),  # a parameter missing
        (
            {"answer": {"message": {"kind": "party", "title": HALLO, "body": SEATED}}},
            KioskState(KioskAnswer(VisitorMessage("warn", CHECKED_IN.title, CHECKED_IN.body))),
            "kiosk.answer.message.kind is not ok, warn or error; shown as warn",
        ),
        (
            {"answer": {"message": {"kind": "ok", "title": HALLO, "body": SEATED}, "at": "gestern"}},
            KioskState(KioskAnswer(CHECKED_IN)),
            "kiosk.answer.at is not an ISO time",
        ),
        (
            {"out_of_order": 3},
            KioskState(out_of_order="out of order"),
            "kiosk.out_of_order is not text; taken as out of order",
        ),
    ],
)
def test_a_bad_kiosk_part_becomes_a_safe_default_and_a_problem(kiosk, expected, problem):
    view = parse_view(kiosk_view(kiosk))

    assert view.kiosk == expected
    assert view.problems == (problem,)
    assert view.current_call.code == "U042"  # the rest of the view is untouched


def test_a_name_in_the_code_field_never_reaches_the_screen_nor_the_problems():
    view = parse_view(
        kiosk_view(
            {
                "answer": {
                    "message": {"kind": "ok", "title": HALLO, "body": SEATED},
                    "code": "Erika Mustermann",
                    "name": "Erika Mustermann",
                }
            }
        )
    )

    assert view.kiosk.answer == KioskAnswer(CHECKED_IN)
    assert view.problems == ("kiosk.answer.code is not shaped like a code; it is left out",)
    assert "Erika" not in repr(view)


@pytest.mark.parametrize(
    "parameter",
    ["Erika Mustermann, geboren am 1. Januar 1970, wohnhaft in Berlin", "Code\nungültig\x07", 4.5, True, None, [1]],
)
def test_a_parameter_that_is_not_a_short_printable_value_refuses_the_message(parameter):
    view = parse_view(
        kiosk_view(
            {
                "answer": {
                    "message": {
                        "kind": "ok",
                        "title": HALLO,
                        "body": {"key": "checked_in.body", "params": {"code": parameter}},
                    }
                }
            }
        )
    )

    assert view.kiosk.answer is None and view.problems == (NOT_SHOWN,)
    assert "Erika" not in repr(view)


def test_a_tickets_printed_figures_travel_with_its_answer_and_bad_ones_are_left_out():
    sent = KioskAnswer(ticket_message("U043", 4, (10, 20)), "U043", NOW, ahead=4, wait=(10, 20))
    assert parse_view(kiosk_view({"answer": sent.to_json()})).kiosk.answer == sent

    spoilt = dict(sent.to_json(), ahead="four", wait=[20])
    view = parse_view(kiosk_view({"answer": spoilt}))
    assert (view.kiosk.answer.ahead, view.kiosk.answer.wait) == (None, None)
    assert len(view.problems) == 2 and not any("four" in problem for problem in view.problems)
