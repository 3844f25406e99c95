"""The monitor's picture as a viewer sees it: read back with OCR, measured and sampled in pixels."""

import os
from datetime import timedelta

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.display import theme  # noqa: E402
from appliance.display.monitor_render import render_monitor  # noqa: E402
from appliance.display.rotation import logical_size, to_panel, to_picture  # noqa: E402
from appliance.display.slides import Slides  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from support.ocr import count_colour, glyph_boxes, read_text  # noqa: E402
from support.samples import CONCERNS, NOW, call, make_slides, sample_view  # noqa: E402

CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"


def draw(view: dict | None, size=(1920, 1080), now=NOW, **options):
    surface = pygame.Surface(size)
    frame = render_monitor(surface, parse_view(view) if view is not None else None, now, **options)
    return surface, frame


def a_call(code="A042", counter=3, seconds_ago=2.0, **changes):
    return sample_view(
        calls=[call(code, counter, NOW - timedelta(seconds=seconds_ago)), call("D017", 1, NOW - timedelta(minutes=3))],
        **changes,
    )


def test_landscape_the_called_number_and_counter_read_back_from_the_screen():
    surface, frame = draw(a_call("A042", 3))

    assert read_text(surface, frame.regions["call_code"], charset=CODE_CHARS) == "A042"
    assert read_text(surface, frame.regions["call_counter"], charset=CODE_CHARS) == "3"
    assert frame.regions["call_code"].colliderect(frame.regions["call"])


def test_portrait_turned_by_90_reads_back_upright_for_a_viewer_of_the_turned_monitor():
    panel_size = (1920, 1080)
    picture = pygame.Surface(logical_size(panel_size, 90))
    frame = render_monitor(picture, parse_view(a_call("C117", 12)), NOW)
    panel = to_panel(picture, 90)
    # The monitor hangs turned a quarter counter-clockwise; a viewer sees the panel turned back.
    seen = pygame.transform.rotate(panel, 90)

    assert picture.get_size() == (1080, 1920) and panel.get_size() == panel_size
    assert read_text(seen, frame.regions["call_code"], charset=CODE_CHARS) == "C117"
    assert read_text(seen, frame.regions["call_counter"], charset=CODE_CHARS) == "12"


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (1280, 720), (3840, 2160), (1024, 1280)])
def test_cap_height_of_the_current_call_is_at_least_an_eighth_of_the_screen_height(size):
    surface, frame = draw(a_call("A042", 3), size=size)

    # The first glyph of the code is the capital A: its pixel box is the cap height.
    letter = glyph_boxes(surface, frame.regions["call"], theme.HIGHLIGHT_TEXT)
    letter = [box for box in letter if box.colliderect(frame.regions["call_code"])][0]
    counter = glyph_boxes(surface, frame.regions["call_counter"], theme.HIGHLIGHT_TEXT)[0]

    assert letter.height >= size[1] / 8, (letter, size)
    assert counter.height >= size[1] / 8, (counter, size)


def test_a_new_call_is_highlighted_and_the_highlight_is_gone_after_highlight_s():
    fresh, frame = draw(a_call(seconds_ago=1), highlight_s=20)
    later, later_frame = draw(a_call(seconds_ago=21), highlight_s=20)
    band = frame.regions["call"]

    assert frame.highlighted and count_colour(fresh, theme.HIGHLIGHT, band) > band.width * band.height * 0.5
    assert not later_frame.highlighted and count_colour(later, theme.HIGHLIGHT) == 0
    assert later.get_at((band.left + 40, band.bottom - 10))[:3] == theme.PANEL
    # The monitor wakes for the end of the highlight, not a second later.
    assert frame.next_change == NOW - timedelta(seconds=1) + timedelta(seconds=20)
    assert read_text(later, later_frame.regions["call_code"], charset=CODE_CHARS) == "A042"


def test_the_last_calls_are_listed_newest_first_without_the_current_one():
    _, frame = draw(sample_view(), recent=3)

    assert frame.texts("recent") == ["D017", "E008", "U041"]
    assert frame.texts("recent_counter") == ["1", "4", "2"]


def test_a_recalled_or_transferred_number_is_listed_once_with_its_latest_counter_and_never_beside_itself():
    calls = [
        call("A042", 3, NOW - timedelta(seconds=5)),  # the current call: a transfer of A042 to counter 3
        call("D017", 2, NOW - timedelta(minutes=1)),  # D017 recalled at counter 2...
        call("A042", 1, NOW - timedelta(minutes=2)),
        call("D017", 2, NOW - timedelta(minutes=3)),  # ...first called here
        call("E008", 4, NOW - timedelta(minutes=4)),
    ]
    _, frame = draw(sample_view(calls=calls), recent=5)

    assert frame.texts("recent") == ["D017", "E008"]
    assert frame.texts("recent_counter") == ["2", "4"]


def test_checked_in_appointments_stand_above_the_walk_in_numbers():
    _, frame = draw(sample_view())
    appointments = [d for d in frame.drawn if d.role == "next_appointment"]
    walk_ins = [d for d in frame.drawn if d.role == "next"]

    assert [d.text for d in appointments] == ["T-4821", "T-4835"]
    assert walk_ins and max(d.rect.bottom for d in appointments) < min(d.rect.top for d in walk_ins)
    assert walk_ins[0].text == "E020"


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
def test_thirty_waiting_numbers_show_in_call_order_and_the_rest_as_a_count(size):
    surface, frame = draw(sample_view(waiting=30), size=size, slides=None)
    shown = frame.texts("next")
    expected = [f"{p}{20 + i:03d}" for i, p in zip(range(30), "EUDS" * 8)]

    assert shown == expected[: len(shown)] and len(shown) >= 6
    more = frame.texts("next_more")
    assert more == ([f"+ {30 - len(shown)} weitere · more"] if len(shown) < 30 else [])
    next_panel = frame.regions["next"]
    for drawn in frame.drawn:
        if drawn.role in ("next", "next_more", "next_appointment"):
            assert next_panel.contains(drawn.rect), drawn


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (800, 480)])
def test_long_concern_titles_are_shortened_inside_their_panel_and_nothing_leaves_the_screen(size):
    long = [
        dict(
            c,
            titles={
                "de": "Antrag auf Weiterbewilligung der Leistungen zur Sicherung des Lebensunterhalts "
                "nach dem Zweiten Buch Sozialgesetzbuch " + c["prefix"],
                "en": "Application for the continued payment of benefits to secure a living under the "
                "Second Book of the Social Code " + c["prefix"],
            },
        )
        for c in CONCERNS
    ]
    surface, frame = draw(sample_view(concerns=long, ticker="Wort " * 200), size=size)
    waits = frame.regions["waits"]
    titles = [d for d in frame.drawn if d.role in ("concern", "concern_second")]

    assert len([d for d in titles if d.role == "concern"]) == 4 and all(d.text.endswith("…") for d in titles)
    assert all(waits.contains(d.rect) for d in titles)
    assert all(surface.get_rect().contains(d.rect) for d in frame.drawn)


def test_an_empty_queue_says_so_instead_of_an_empty_box():
    surface, frame = draw(sample_view(snapshot={"serial": 1, "taken_at": NOW.isoformat()}, appointments=[]))

    assert "Bitte achten Sie auf Ihre Nummer" in frame.texts("call")
    assert "Please watch for your number" in frame.texts("call")
    assert frame.texts("next") == ["Niemand wartet", "No one waiting"]
    assert frame.texts("recent") == ["–"]
    assert count_colour(surface, theme.HIGHLIGHT) == 0 and "call_code" not in frame.regions


def test_outside_opening_hours_the_closed_screen_replaces_the_calls():
    surface, frame = draw(sample_view(open=False))

    assert frame.texts("closed") == ["Geschlossen", "Closed", "Außerhalb der Öffnungszeiten", "Outside opening hours"]
    assert "call" not in frame.regions and frame.texts("next") == []
    title = next(d for d in frame.drawn if d.text == "Geschlossen")
    assert read_text(surface, title.rect) == "Geschlossen"


def test_a_backend_away_longer_than_configured_gets_the_discreet_mark():
    away = sample_view(backend={"stale_since": (NOW - timedelta(minutes=5)).isoformat()})
    surface, frame = draw(away, stale_after_s=120)

    assert frame.marks == ("stale",) and frame.texts("mark") == ["● nicht aktuell", "not up to date"]
    mark = next(d for d in frame.drawn if d.role == "mark")
    assert frame.regions["header"].contains(mark.rect)
    assert count_colour(surface, theme.WARNING, frame.regions["header"], tolerance=30) > 50
    # Discreet: smaller than the clock beside it.
    assert mark.rect.height < next(d for d in frame.drawn if d.role == "clock").rect.height


def test_a_short_backend_outage_shows_no_mark_but_wakes_when_it_is_due():
    since = NOW - timedelta(seconds=30)
    surface, frame = draw(sample_view(backend={"stale_since": since.isoformat()}), stale_after_s=120)

    assert frame.marks == () and count_colour(surface, theme.WARNING, frame.regions["header"], tolerance=30) == 0
    assert frame.next_change <= since + timedelta(seconds=120)


def test_lost_daemon_shows_reconnecting_over_the_last_state_and_a_waiting_screen_before_any():
    _, frame = draw(sample_view(), connected=False)
    _, before = draw(None, connected=False)

    assert frame.marks == ("reconnecting",) and "Verbindung wird hergestellt" in frame.texts("mark")[0]
    assert frame.texts("call_code") == ["U042"]
    assert before.texts("connecting") == ["Verbindung wird hergestellt …", "Reconnecting"]


def test_names_are_never_drawn_even_when_upstream_sends_them():
    raw = sample_view()
    raw["snapshot"]["recent_calls"][0]["name"] = "Max Mustermann"
    raw["snapshot"]["appointments"][0]["name"] = "Erika Mustermann"
    raw["snapshot"]["waiting"].append({"code": "Max Mustermann", "concern": "leave", "issued_at": NOW.isoformat()})
    surface, frame = draw(raw)

    assert not any("Mustermann" in text for text in frame.texts())
    assert "Mustermann" not in read_text(surface, frame.regions["next"].inflate(-4, -4))


def test_date_clock_ticker_and_wait_ranges_are_shown_german_first():
    _, frame = draw(sample_view(), highlight_s=1)

    assert frame.texts("clock") == ["09:42"]
    assert frame.texts("date") == ["Dienstag, 25. November 2025", "Tuesday, November 25, 2025"]
    assert frame.texts("wait") == ["25–40 Min.", "10–20 Min.", "5–10 Min.", "3 wartend"]
    assert frame.texts("ticker")[0].startswith("Heute bis 12:00 Uhr")
    assert frame.texts("title")[:2] == ["Zuletzt aufgerufen", "Recent calls"]
    assert frame.next_change == NOW.replace(second=0) + timedelta(minutes=1)


def test_a_long_ticker_is_paged_and_the_next_page_is_due_on_time():
    text = " ".join(f"Hinweis{i}" for i in range(80))
    _, first = draw(sample_view(ticker=text), ticker_page_s=8)
    _, second = draw(sample_view(ticker=text), now=NOW + timedelta(seconds=8), ticker_page_s=8)

    assert first.texts("ticker") != second.texts("ticker")
    assert first.texts("ticker")[0].startswith("Hinweis")


def test_slides_rotate_every_interval_scaled_into_their_panel(tmp_path):
    slides = Slides(make_slides(tmp_path / "slides"), interval_s=10)
    at_zero = NOW.replace(second=0)
    surface, frame = draw(sample_view(), now=at_zero, slides=slides)
    other, _ = draw(sample_view(), now=at_zero + timedelta(seconds=10), slides=slides)
    panel = frame.regions["slide"]
    slide_background = (235, 241, 248)

    inside = count_colour(surface, slide_background, panel, tolerance=4)
    assert inside > panel.width * panel.height * 0.3
    assert count_colour(surface, slide_background, tolerance=4) == inside  # nothing spills out
    assert pygame.image.tobytes(surface.subsurface(panel), "RGB") != pygame.image.tobytes(
        other.subsurface(panel), "RGB"
    )
    assert frame.next_change == at_zero + timedelta(seconds=10)


def test_a_broken_slide_is_skipped_not_fatal(tmp_path):
    folder = make_slides(tmp_path / "slides")
    (folder / "00-broken.png").write_bytes(b"not a png")
    slides = Slides(folder, interval_s=10)

    for second in range(0, 40, 10):
        draw(sample_view(), now=NOW.replace(second=0) + timedelta(seconds=second), slides=slides)

    assert len(slides.paths()) == 2


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_touch_on_the_turned_panel_maps_back_to_the_same_point_of_the_picture(rotation):
    panel_size = (800, 480)
    picture = pygame.Surface(logical_size(panel_size, rotation))
    point = (picture.get_width() // 5, picture.get_height() // 3)
    picture.set_at(point, (255, 0, 0))
    panel = to_panel(picture, rotation)
    found = pygame.mask.from_threshold(panel, (255, 0, 0), (1, 1, 1, 255)).get_bounding_rects()[0].topleft

    assert panel.get_size() == panel_size
    assert to_picture(found, panel_size, rotation) == point


def test_rotation_90_turns_the_picture_clockwise_so_its_top_is_at_the_panels_right():
    picture = pygame.Surface((1080, 1920))
    render_monitor(picture, parse_view(sample_view()), NOW)
    panel = to_panel(picture, 90)

    # The header band (background colour) is the picture's top; the call band (amber) is below it.
    assert panel.get_at((1919, 540))[:3] == theme.BACKGROUND
    assert count_colour(panel, theme.HIGHLIGHT, pygame.Rect(1300, 0, 620, 1080)) > 100000
    assert count_colour(panel, theme.HIGHLIGHT, pygame.Rect(0, 0, 600, 1080)) == 0


def test_a_long_appointment_code_in_portrait_still_fits_the_width():
    surface, frame = draw(a_call("T-48213", 12), size=(1080, 1920))

    assert surface.get_rect().contains(frame.regions["call_code"])
    assert read_text(surface, frame.regions["call_code"], charset=CODE_CHARS) == "T-48213"
