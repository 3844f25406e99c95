"""Key events to text: the keyboard-wedge rules, fed with real evdev InputEvents."""

import random

import pytest
from evdev import InputEvent
from evdev import ecodes as e

from appliance.drivers.errors import BadDriverSetting
from appliance.drivers.keymap import KeyDecoder, type_events

T0 = 1_700_000_000.0


def decode_keys(events, **options) -> list[str]:
    """Every complete code in ``events``, in order, as a scanner's reader would deliver them."""
    decoder = KeyDecoder(**options)
    return [code for code in map(decoder.feed, events) if code is not None]


def key(t: float, code: int, value: int) -> InputEvent:
    sec = int(t)
    return InputEvent(sec, round((t - sec) * 1_000_000), e.EV_KEY, code, value)


def tap(t: float, code: int) -> list[InputEvent]:
    return [key(t, code, 1), key(t + 0.001, code, 0)]


def test_lowercase_digits_and_enter_make_one_code():
    events = tap(T0, e.KEY_A) + tap(T0 + 0.004, e.KEY_1) + tap(T0 + 0.008, e.KEY_ENTER)
    assert decode_keys(events) == ["a1"]


def test_keypad_enter_ends_a_code_too():
    events = tap(T0, e.KEY_X) + tap(T0 + 0.004, e.KEY_KP7) + tap(T0 + 0.008, e.KEY_KPENTER)
    assert decode_keys(events) == ["x7"]


@pytest.mark.parametrize("shift", [e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT])
def test_either_shift_key_types_capitals_and_symbols(shift):
    events = [
        key(T0, shift, 1),
        *tap(T0 + 0.001, e.KEY_B),
        *tap(T0 + 0.003, e.KEY_2),
        key(T0 + 0.004, shift, 0),
        *tap(T0 + 0.006, e.KEY_B),
        *tap(T0 + 0.010, e.KEY_ENTER),
    ]
    assert decode_keys(events) == ["B@b"]


def test_caps_lock_inverts_letters_only_and_shift_inverts_it_back():
    events = [
        *tap(T0, e.KEY_CAPSLOCK),
        *tap(T0 + 0.004, e.KEY_Q),
        *tap(T0 + 0.008, e.KEY_3),
        key(T0 + 0.010, e.KEY_LEFTSHIFT, 1),
        *tap(T0 + 0.012, e.KEY_Q),
        key(T0 + 0.013, e.KEY_LEFTSHIFT, 0),
        *tap(T0 + 0.016, e.KEY_ENTER),
        *tap(T0 + 0.020, e.KEY_CAPSLOCK),
        *tap(T0 + 0.024, e.KEY_Q),
        *tap(T0 + 0.028, e.KEY_ENTER),
    ]
    assert decode_keys(events) == ["Q3q", "q"]


def test_us_layout_types_every_printable_ascii_character():
    text = "".join(chr(c) for c in range(0x20, 0x7F))
    assert decode_keys(type_events(text, start=T0)) == [text]


def test_german_layout_swaps_y_and_z_and_moves_the_symbols():
    # What a German-configured scanner sends for "zy-_/" is, read as US keys, "yz/?&".
    events = type_events("zy-_/", layout="de", start=T0)
    assert decode_keys(events, layout="de") == ["zy-_/"]
    assert decode_keys(events, layout="us") == ["yz/?&"]


def test_german_layout_types_altgr_symbols_umlauts_and_dead_keys():
    text = "Grüße ÄÖÜ @€ {[]}\\|~ <> §\" ^ ´ ` #'°"
    assert decode_keys(type_events(text, layout="de", start=T0), layout="de") == [text]


def test_german_dead_key_before_a_letter_composes_it():
    events = [*tap(T0, e.KEY_GRAVE), *tap(T0 + 0.004, e.KEY_A), *tap(T0 + 0.008, e.KEY_ENTER)]
    assert decode_keys(events, layout="de") == ["â"]


def test_german_keypad_decimal_key_types_a_comma():
    events = tap(T0, e.KEY_KP1) + tap(T0 + 0.004, e.KEY_KPDOT) + tap(T0 + 0.008, e.KEY_KPENTER)
    assert decode_keys(events, layout="de") == ["1,"]
    assert decode_keys(events, layout="us") == ["1."]


def test_pause_longer_than_the_limit_drops_the_partial_code_and_starts_a_new_one():
    decoder = KeyDecoder(max_gap_s=0.05)
    events = type_events("HALF", start=T0, enter=False) + type_events("WHOLE", start=T0 + 1.0)
    assert [c for c in map(decoder.feed, events) if c] == ["WHOLE"]
    assert decoder.dropped_partial == 1


def test_the_limit_is_measured_on_the_events_own_timestamps():
    slow = type_events("SLOW", start=T0, interval_s=0.08)
    assert decode_keys(slow, max_gap_s=0.05) == []
    assert decode_keys(slow, max_gap_s=0.1) == ["SLOW"]


def test_a_late_enter_drops_the_code():
    events = type_events("ABC", start=T0, enter=False) + tap(T0 + 0.5, e.KEY_ENTER)
    assert decode_keys(events) == []


def test_a_clock_stepped_backwards_counts_as_a_pause():
    events = type_events("AB", start=T0, enter=False) + type_events("CD", start=T0 - 10)
    assert decode_keys(events) == ["CD"]


def test_over_long_input_is_dropped_up_to_its_enter_and_the_next_code_is_read():
    events = type_events("X" * 300, start=T0) + type_events("NEXT", start=T0 + 5)
    decoder = KeyDecoder(max_length=256)
    assert [c for c in map(decoder.feed, events) if c] == ["NEXT"]
    assert decoder.dropped_too_long == 1


def test_a_code_of_exactly_the_maximum_length_is_kept():
    assert decode_keys(type_events("Y" * 64, start=T0), max_length=64) == ["Y" * 64]


def test_autorepeat_adds_no_characters():
    events = [key(T0, e.KEY_A, 1), key(T0 + 0.25, e.KEY_A, 2), key(T0 + 0.28, e.KEY_A, 2), key(T0 + 0.29, e.KEY_A, 0)]
    # The key was held 290 ms (a stalled host); the pause limit is raised so that only the
    # repeat rule is under test.
    events += tap(T0 + 0.294, e.KEY_ENTER)
    assert decode_keys(events, max_gap_s=0.5) == ["a"]


def test_a_pause_forgets_modifiers_whose_release_was_lost():
    events = [key(T0, e.KEY_LEFTSHIFT, 1), *tap(T0 + 0.001, e.KEY_A)] + type_events("lower", start=T0 + 1)
    assert decode_keys(events) == ["lower"]


def test_keys_that_type_nothing_are_ignored():
    events = [
        *tap(T0, e.KEY_F1),
        *tap(T0 + 0.002, e.KEY_A),
        *tap(T0 + 0.004, e.KEY_LEFT),
        *tap(T0 + 0.006, e.KEY_BACKSPACE),
        *tap(T0 + 0.008, e.KEY_ESC),
        *tap(T0 + 0.010, e.KEY_ENTER),
    ]
    assert decode_keys(events) == ["a"]


def test_keys_held_with_ctrl_or_alt_are_shortcuts_not_text():
    events = [
        key(T0, e.KEY_LEFTCTRL, 1),
        *tap(T0 + 0.001, e.KEY_C),
        key(T0 + 0.002, e.KEY_LEFTCTRL, 0),
        *tap(T0 + 0.004, e.KEY_D),
        *tap(T0 + 0.008, e.KEY_ENTER),
    ]
    assert decode_keys(events) == ["d"]


def test_enter_alone_is_no_code():
    assert decode_keys(tap(T0, e.KEY_ENTER) + tap(T0 + 0.004, e.KEY_KPENTER)) == []


def test_lost_events_drop_the_code_in_progress_and_release_the_modifiers():
    events = [
        key(T0, e.KEY_LEFTSHIFT, 1),
        *tap(T0 + 0.001, e.KEY_A),
        InputEvent(int(T0), 3000, e.EV_SYN, e.SYN_DROPPED, 0),
        *tap(T0 + 0.004, e.KEY_B),
        *tap(T0 + 0.006, e.KEY_ENTER),
        *type_events("ok", start=T0 + 0.010),
    ]
    assert decode_keys(events) == ["ok"]


def test_scan_and_sync_events_between_keys_are_ignored():
    events = []
    for ev in type_events("Z9", start=T0):
        events.append(InputEvent(ev.sec, ev.usec, e.EV_MSC, e.MSC_SCAN, 0x70004))
        events.append(ev)
    assert decode_keys(events) == ["Z9"]


def test_random_event_soup_never_raises_and_yields_only_bounded_strings():
    rng = random.Random(7)
    t = T0
    events = []
    for _ in range(20_000):
        t += rng.choice([0.001, 0.003, 0.2, -0.5])
        kind = rng.choice([e.EV_KEY, e.EV_KEY, e.EV_SYN, e.EV_MSC, 99])
        events.append(
            InputEvent(int(t), rng.randrange(1_000_000), kind, rng.randrange(0, 0x300), rng.choice([0, 1, 1, 2, -1, 7]))
        )
    codes = decode_keys(events, layout="de", max_length=40)
    assert all(isinstance(c, str) and 0 < len(c) <= 40 for c in codes)


def test_unknown_layout_is_refused_with_the_choices():
    with pytest.raises(BadDriverSetting, match="us, de"):
        KeyDecoder("fr")
