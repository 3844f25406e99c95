"""The monitor's view parser: whatever arrives on the socket, it never crashes and never shows a name."""

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.display.view import MonitorView, WaitRange, parse_view
from appliance.domain.snapshot import AppointmentEntry
from support.samples import NOW, call, sample_view


def test_a_full_view_becomes_frozen_dataclasses_with_every_field():
    view = parse_view(sample_view())

    assert view.device == "monitor-mitte-1" and view.site == "mitte"
    assert view.languages == ("de", "en") and view.timezone == ZoneInfo("Europe/Berlin")
    assert [c.prefix for c in view.concerns] == ["E", "U", "D", "S"]
    assert view.current_call.code == "U042" and view.current_call.counter == 3
    assert view.current_call.called_at == NOW - timedelta(seconds=5)
    assert len(view.recent_calls) == 6 and len(view.waiting) == 12
    assert view.appointments == (
        AppointmentEntry("T-4821", "leave", "09:30", NOW - timedelta(minutes=3)),
        AppointmentEntry("T-4835", "documents", "09:40", NOW - timedelta(minutes=3)),
    )
    assert view.concerns[1].title("en") == "Apply for leave" and view.concerns[1].title("fr") == view.concerns[1].title(
        "de"
    )
    assert view.wait_for("leave") == WaitRange(10, 20) and view.wait_for("other") is None
    assert view.open and view.stale_since is None and view.ticker.startswith("Heute")
    assert view.serial == 812 and view.taken_at == NOW and view.problems == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.open = False


def test_only_the_snapshot_is_needed_and_every_optional_key_has_a_safe_default():
    view = parse_view({"snapshot": {"serial": 1, "taken_at": NOW.isoformat(), "recent_calls": [call("A001", 2, NOW)]}})

    assert view.current_call.code == "A001"
    assert (view.waits, view.appointments, view.concerns, view.ticker) == ((), (), (), "")
    assert view.open is True and view.stale_since is None and view.languages == ("de", "en")
    assert view.problems == ()


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        [],
        "text",
        42,
        {"snapshot": "no"},
        {"snapshot": {"waiting": "x"}},
        {"concerns": [1, "two", {"prefix": "A"}]},
        {"waits": {"leave": "soon"}},
        {"backend": {"stale_since": "yesterday"}},
        {"open": "maybe"},
        {"timezone": "Mars/Olympus"},
        {"languages": [1, 2]},
    ],
)
def test_bad_input_never_raises_and_is_reported_in_problems(garbage):
    view = parse_view(garbage)

    assert isinstance(view, MonitorView)
    assert view.problems
    assert view.open is True and view.timezone == ZoneInfo("Europe/Berlin")


def test_bad_entries_are_left_out_one_by_one_and_the_rest_is_kept():
    view = parse_view(
        {
            "snapshot": {
                "recent_calls": [
                    call("A001", 1, NOW),
                    {"code": "A002", "counter": 1},  # no called_at
                    {"code": "A003", "counter": True, "called_at": NOW.isoformat()},  # a bool is no counter
                    {"code": "A004", "counter": 2, "called_at": "soon"},
                    call("A005", 3, NOW),
                ]
            }
        }
    )

    assert [c.code for c in view.recent_calls] == ["A001", "A005"]
    assert len(view.problems) == 3


def test_a_naive_time_is_read_as_utc_like_the_cores_clock():
    view = parse_view(
        {"snapshot": {"recent_calls": [{"code": "A1", "counter": 1, "called_at": "2025-11-25T08:00:00"}]}}
    )

    assert view.current_call.called_at == datetime(2025, 11, 25, 8, 0, tzinfo=UTC)


def test_waits_accept_a_single_number_and_put_a_reversed_range_in_order():
    view = parse_view({"waits": {"a": 15, "b": [30, 10], "c": [-5, 10], "d": [1, 2, 3]}})

    assert dict(view.waits) == {"a": WaitRange(15, 15), "b": WaitRange(10, 30)}
    assert len(view.problems) == 2


def test_personal_fields_are_ignored_and_never_reach_the_view():
    raw = sample_view()
    raw["name"] = "Erika Mustermann"
    raw["snapshot"]["recent_calls"][0]["name"] = "Max Mustermann"
    raw["snapshot"]["waiting"][0].update(name="Max Mustermann", birthdate="1970-01-01")
    raw["snapshot"]["appointments"][0].update(name="Max Mustermann", email="max@example.org", customer_number="123D456")

    view = parse_view(raw)

    assert "Mustermann" not in repr(view) and "example.org" not in repr(view) and "1970" not in repr(view)
    assert view == parse_view(sample_view())
    for record in (view.current_call, view.waiting[0], view.appointments[0]):
        assert not hasattr(record, "name")


@pytest.mark.parametrize("not_a_code", ["Max Mustermann", "mustermann", "A 42", "", "A" * 13, "<b>A1</b>", 42])
def test_a_code_field_holding_anything_but_a_code_is_refused(not_a_code):
    view = parse_view(
        {
            "snapshot": {
                "waiting": [{"code": not_a_code, "concern": "leave", "issued_at": NOW.isoformat()}],
                "recent_calls": [{"code": not_a_code, "counter": 1, "called_at": NOW.isoformat()}],
                "appointments": [{"code": not_a_code}],
            }
        }
    )

    assert (view.waiting, view.recent_calls, view.appointments) == ((), (), ())


def test_keepalives_with_a_new_serial_compare_equal_so_nothing_is_redrawn():
    first, again = sample_view(), sample_view()
    again["snapshot"]["serial"] = 813
    again["snapshot"]["taken_at"] = (NOW + timedelta(seconds=5)).isoformat()

    assert parse_view(first) == parse_view(again)
    assert parse_view(first) != parse_view(sample_view(open=False))


def test_runaway_lists_are_cut_to_a_bound():
    view = parse_view(sample_view(waiting=2000, ticker="x" * 5000))

    assert len(view.waiting) == 500 and len(view.ticker) <= 600
    assert any("first 500" in problem for problem in view.problems)


def test_control_characters_in_titles_and_ticker_become_spaces():
    view = parse_view(
        {"ticker": "Heute\ngeschlossen\x07", "concerns": [{"name": "a", "prefix": "A", "titles": {"de": "Ur\tlaub"}}]}
    )

    assert view.ticker == "Heute geschlossen" and view.concerns[0].title("de") == "Ur laub"
