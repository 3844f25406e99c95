"""Readable from a wheelchair and across the room (EN 301 549 5.1.4, WCAG 1.4.3): every text on every kiosk
and monitor screen stands out from what is behind it by at least 4.5:1 (3:1 for large text), measured on
the rendered frame's pixels; the kiosk's large-text mode; the monitor's call at least 1/8 of the height.
"""

import os
from datetime import timedelta

os.environ["SDL_VIDEODRIVER"] = "dummy"

import numpy  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.display import theme  # noqa: E402
from appliance.display.kiosk_render import (  # noqa: E402
    LARGE_TEXT_MIN_PX,
    MIN_BUTTON_PX,
    KioskTicket,
    OneMoment,
    OutOfOrder,
    render_kiosk,
)
from appliance.display.monitor_render import render_monitor  # noqa: E402
from appliance.display.view import WaitRange, parse_view  # noqa: E402
from appliance.domain.checkin import CheckInVerdict, Judgement, LatePolicy  # noqa: E402
from appliance.domain.wording import OUT_OF_ORDER, TRY_AGAIN, check_in_message, ticket_message  # noqa: E402
from support.ocr import glyph_boxes  # noqa: E402
from support.samples import NOW, call, sample_view  # noqa: E402

# WCAG 2.x: large text is 18 pt (24 px) or 14 pt bold (about 18.7 px).
LARGE_PX, LARGE_BOLD_PX = 24, 18.7


def luminance(colour) -> float:
    """WCAG's relative luminance of an sRGB colour."""
    channels = [c / 255 for c in colour[:3]]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one, other) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def measured_contrast(surface: pygame.Surface, rect: pygame.Rect) -> tuple[float, tuple, tuple]:
    """(ratio, text colour, background) read from the pixels of a text's box: the background is the box's
    commonest colour, the text the commonest other one (a glyph's solid strokes; its anti-aliased edges
    are blends, each rare)."""
    box = rect.clip(surface.get_rect())
    pixels = pygame.surfarray.array3d(surface.subsurface(box)).reshape(-1, 3)
    colours, counts = numpy.unique(pixels, axis=0, return_counts=True)
    order = counts.argsort()[::-1]
    background, ink = tuple(colours[order[0]]), tuple(colours[order[1]])
    return contrast(ink, background), ink, background


def is_large(drawn) -> bool:
    return drawn.size >= LARGE_PX or (drawn.face != "regular" and drawn.size >= LARGE_BOLD_PX)


def assert_every_text_readable(surface, frame, what: str):
    checked = [d for d in frame.drawn if d.text.strip(" ·–-…")]
    assert checked, f"{what}: no text drawn"
    for drawn in checked:
        ratio, ink, background = measured_contrast(surface, drawn.rect)
        needed = 3.0 if is_large(drawn) else 4.5
        assert ratio >= needed, (
            f"{what}: {drawn.role} {drawn.text!r} ({drawn.size} px {drawn.face}) is {ink} on {background}: "
            f"{ratio:.2f}:1, needs {needed}:1"
        )


TOO_EARLY = check_in_message(Judgement(CheckInVerdict.TOO_EARLY, None), "T-4821", LatePolicy.INFORMATION)
KIOSK_SCREENS = {
    "welcome": None,
    "ticket": KioskTicket("A042", None, ahead=3, wait=WaitRange(10, 20)),
    "ok": ticket_message("A042", 3, (10, 20)),
    "warn": TOO_EARLY,
    "error": TRY_AGAIN,
    "out of order message": OUT_OF_ORDER,
    "out of order": OutOfOrder(),
    "one moment": OneMoment(),
}


def draw_kiosk(screen, *, touch=True, large_text=False, language="de", returning=False, size=(800, 480)):
    surface = pygame.Surface(size)
    view = parse_view(sample_view(NOW, languages=["de", "en", "uk", "ar"]))
    second = "de" if language != "de" else "en"
    frame = render_kiosk(
        surface,
        screen,
        NOW,
        concerns=view.concerns,
        touch=touch,
        language=language,
        second_language=second,
        languages=view.languages,
        language_returning=returning,
        large_text=large_text,
    )
    return surface, frame


@pytest.mark.parametrize("large_text", [False, True], ids=["normal", "large text"])
@pytest.mark.parametrize("touch", [False, True], ids=["buttons", "touch"])
@pytest.mark.parametrize("name", list(KIOSK_SCREENS))
def test_every_text_on_every_kiosk_screen_has_enough_contrast(name, touch, large_text):
    surface, frame = draw_kiosk(KIOSK_SCREENS[name], touch=touch, large_text=large_text)
    assert_every_text_readable(surface, frame, f"kiosk {name}")


@pytest.mark.parametrize("language", ["ar", "uk"])
def test_the_language_choice_and_its_returning_notice_have_enough_contrast(language):
    surface, frame = draw_kiosk(None, language=language, returning=True)
    assert frame.texts("language_returning")
    assert_every_text_readable(surface, frame, f"kiosk welcome in {language}, German returning")


@pytest.mark.parametrize("name", list(KIOSK_SCREENS))
def test_in_large_text_mode_no_kiosk_text_is_smaller_than_wcag_large_text(name):
    for size in [(800, 480), (1280, 800)]:
        u = min(size) / 480
        _, normal = draw_kiosk(KIOSK_SCREENS[name], size=size)
        _, large = draw_kiosk(KIOSK_SCREENS[name], large_text=True, size=size)

        assert min(d.size for d in large.drawn) >= round(LARGE_TEXT_MIN_PX * u), (name, size)
        # The ticket's number is huge in both; it gives up a little of its height to the lines below it.
        normal_sizes = [d.size for d in normal.drawn if d.role != "ticket_code"]
        large_sizes = [d.size for d in large.drawn if d.role != "ticket_code"]
        assert sum(large_sizes) / len(large_sizes) >= 1.2 * sum(normal_sizes) / len(normal_sizes), (name, size)
        assert all(d.rect.bottom <= size[1] and d.rect.right <= size[0] for d in large.drawn)  # nothing cut off


@pytest.mark.parametrize("large_text", [False, True], ids=["normal", "large text"])
@pytest.mark.parametrize("language", ["ar", "uk"])
def test_the_welcomes_buttons_stay_big_enough_for_a_finger_with_the_returning_notice(language, large_text):
    surface, frame = draw_kiosk(None, language=language, returning=True, large_text=large_text)

    assert len(frame.buttons) == 4 and len(frame.language_buttons) == 4
    assert all(b.rect.height >= MIN_BUTTON_PX for b in frame.buttons + frame.language_buttons)
    assert all(d.rect.bottom <= 480 for d in frame.drawn)
    assert_every_text_readable(surface, frame, f"kiosk welcome in {language}, German returning")


def monitor_view(**changes):
    return parse_view(sample_view(NOW, **changes))


MONITOR_STATES = {
    "a fresh call, highlighted": (monitor_view(), {}),
    "the call after its highlight": (monitor_view(), {"highlight_s": 1}),
    "no call yet": (monitor_view(calls=[]), {}),
    "backend away": (monitor_view(backend={"stale_since": (NOW - timedelta(minutes=10)).isoformat()}), {}),
    "daemon away": (monitor_view(), {"connected": False}),
    "closed": (monitor_view(open=False), {}),
    "no view yet": (None, {}),
    "ticker": (monitor_view(ticker="Termine online buchen: jobcenter.example/termin"), {}),
    "arabic first": (monitor_view(languages=["ar", "de"]), {"language": "ar"}),
}


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
@pytest.mark.parametrize("state", list(MONITOR_STATES))
def test_every_text_on_the_monitor_has_enough_contrast_in_every_state(state, size):
    view, options = MONITOR_STATES[state]
    surface = pygame.Surface(size)
    frame = render_monitor(surface, view, NOW, **options)
    assert_every_text_readable(surface, frame, f"monitor, {state}")


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (1280, 720)])
@pytest.mark.parametrize(
    "state, code, counter",
    [
        ("highlighted", "A042", 3),
        ("after the highlight", "A042", 3),
        ("a two-letter prefix at a two-digit counter", "AB042", 12),
        ("in Arabic first", "D017", 4),
    ],
)
def test_the_monitors_call_stays_at_least_an_eighth_of_the_screen_height(state, code, counter, size):
    view = monitor_view(calls=[call(code, counter, NOW - timedelta(seconds=2))])
    options = {"highlight_s": 1} if state == "after the highlight" else {}
    if state == "in Arabic first":
        view = monitor_view(calls=[call(code, counter, NOW - timedelta(seconds=2))], languages=["ar", "de"])
        options["language"] = "ar"
    surface = pygame.Surface(size)
    frame = render_monitor(surface, view, NOW, **options)
    ink = theme.TEXT if state == "after the highlight" else theme.HIGHLIGHT_TEXT

    # The tallest glyph's pixel box is the cap height (a zero's dot is a glyph of its own).
    code = [b for b in glyph_boxes(surface, frame.regions["call"], ink) if b.colliderect(frame.regions["call_code"])]
    counter = glyph_boxes(surface, frame.regions["call_counter"], ink)

    assert max(box.height for box in code) >= size[1] / 8, (state, size)
    assert max(box.height for box in counter) >= size[1] / 8, (state, size)
