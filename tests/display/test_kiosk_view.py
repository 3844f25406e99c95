"""The kiosk part of the daemon's view: the latest answer and out of order, parsed without ever crashing."""
from datetime import timedelta

import pytest

from appliance.domain.messages import OUT_OF_ORDER, KioskAnswer as DaemonAnswer, ticket_message
from support.samples import NOW, sample_view
from appliance.display.view import KioskAnswer, KioskState, parse_view


def kiosk_view(kiosk) -> dict:
    return sample_view(kiosk=kiosk)


def test_the_daemons_ticket_answer_arrives_with_its_message_number_and_time():
    answer = DaemonAnswer(ticket_message("U043", 4, (10, 20)), "U043", NOW).to_json()
    view = parse_view(kiosk_view({"answer": answer, "out_of_order": None}))

    assert view.kiosk == KioskState(KioskAnswer(
        "ok", "Ihre Wartenummer: U043",
        "Bitte nehmen Sie Ihren Zettel. Vor Ihnen: 4 Personen. Wartezeit ca. 10–20 Min.",
        "Your number: U043", "Please take your ticket. 4 people ahead of you. Wait approx. 10–20 min.", "U043", NOW))
    assert view.problems == ()


def test_out_of_order_keeps_the_reason_and_a_view_without_a_kiosk_part_can_serve():
    assert parse_view(kiosk_view({"answer": None, "out_of_order": "paper out"})).kiosk.out_of_order == "paper out"
    plain = parse_view(sample_view())
    assert plain.kiosk == KioskState() and plain.problems == ()


def test_a_new_answer_is_a_new_picture_but_a_keep_alive_is_not():
    first = kiosk_view({"answer": DaemonAnswer(OUT_OF_ORDER, None, NOW).to_json(), "out_of_order": "paper out"})
    again = dict(first, snapshot=dict(first["snapshot"], serial=999))
    later = kiosk_view({"answer": DaemonAnswer(OUT_OF_ORDER, None, NOW + timedelta(seconds=30)).to_json(),
                        "out_of_order": "paper out"})

    assert parse_view(first) == parse_view(again)
    assert parse_view(first) != parse_view(later)


@pytest.mark.parametrize("kiosk, expected, problem", [
    ("yes", KioskState(), "kiosk is not an object"),
    ({"answer": "A001"}, KioskState(), "kiosk.answer has no message with a title_de; it is not shown"),
    ({"answer": {"message": {"kind": "ok"}, "code": "A001"}}, KioskState(),
     "kiosk.answer has no message with a title_de; it is not shown"),
    ({"answer": {"message": {"kind": "party", "title_de": "Hallo"}}}, KioskState(KioskAnswer("warn", "Hallo")),
     "kiosk.answer.message.kind is not ok, warn or error; shown as warn"),
    ({"answer": {"message": {"kind": "ok", "title_de": "Hallo"}, "at": "gestern"}},
     KioskState(KioskAnswer("ok", "Hallo")), "kiosk.answer.at is not an ISO time"),
    ({"out_of_order": 3}, KioskState(out_of_order="out of order"),
     "kiosk.out_of_order is not text; taken as out of order"),
])
def test_a_bad_kiosk_part_becomes_a_safe_default_and_a_problem(kiosk, expected, problem):
    view = parse_view(kiosk_view(kiosk))

    assert view.kiosk == expected
    assert view.problems == (problem,)
    assert view.current_call.code == "U042"  # the rest of the view is untouched


def test_a_name_in_the_code_field_never_reaches_the_screen_nor_the_problems():
    view = parse_view(kiosk_view({"answer": {"message": {"kind": "ok", "title_de": "Sie sind angemeldet",
                                                         "body_de": "Bitte nehmen Sie Platz."},
                                             "code": "Erika Mustermann", "name": "Erika Mustermann"}}))

    assert view.kiosk.answer == KioskAnswer("ok", "Sie sind angemeldet", "Bitte nehmen Sie Platz.")
    assert view.problems == ("kiosk.answer.code is not shaped like a code; it is left out",)
    assert "Erika" not in repr(view)


def test_control_characters_and_overlong_texts_are_cleaned_and_cut():
    view = parse_view(kiosk_view({"answer": {"message": {"kind": "error", "title_de": "Code\nungültig\x07",
                                                         "body_de": "x" * 5000, "title_en": 42}}}))

    assert view.kiosk.answer.title_de == "Code ungültig"
    assert len(view.kiosk.answer.body_de) == 600 and view.kiosk.answer.body_de.endswith("…")
    assert view.kiosk.answer.title_en is None and view.kiosk.answer.body_en is None
