"""The kiosk's own screen: what to do, every answer, out of order, and touch buttons that map to concerns."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.display import theme  # noqa: E402
from appliance.display.kiosk_render import KioskTicket, OneMoment, OutOfOrder, render_kiosk  # noqa: E402
from appliance.display.rotation import logical_size, to_picture  # noqa: E402
from appliance.display.view import WaitRange, parse_view  # noqa: E402
from appliance.domain.screen import ConcernInfo  # noqa: E402
from appliance.domain.wording import CLOCK_UNKNOWN, VisitorMessage, phrase  # noqa: E402
from support.ocr import count_colour, read_text  # noqa: E402
from support.samples import CONCERNS, NOW  # noqa: E402

CONCERN_INFOS = parse_view({"concerns": CONCERNS}).concerns


def kiosk(screen, size=(800, 480), **options):
    surface = pygame.Surface(size)
    return surface, render_kiosk(surface, screen, NOW, **options)


def test_the_welcome_screen_says_what_to_do_german_first():
    _, frame = kiosk(None)

    assert frame.texts("instruction") == [
        "Termin? QR-Code scannen",
        "Appointment? Scan your QR code",
        "Ohne Termin? Knopf drücken",
        "No appointment? Press the button",
    ]
    assert frame.buttons == ()


def test_on_a_touchscreen_each_concern_is_a_button_and_a_touch_maps_to_its_concern():
    surface, frame = kiosk(None, concerns=CONCERN_INFOS, touch=True)

    assert [b.concern for b in frame.buttons] == [c.name for c in CONCERN_INFOS]
    for button in frame.buttons:
        assert frame.hit(button.rect.center) == button.concern
        assert surface.get_rect().contains(button.rect)
        assert button.rect.height >= 64  # a finger's width on the 7" display
    assert frame.hit((2, 2)) is None
    assert not any(a.rect.colliderect(b.rect) for a in frame.buttons for b in frame.buttons if a is not b)
    assert "Ohne Termin? Anliegen wählen" in frame.texts("instruction")


def test_a_touch_on_a_kiosk_screen_mounted_upside_down_still_hits_the_right_button():
    panel_size = (800, 480)
    picture = pygame.Surface(logical_size(panel_size, 180))
    frame = render_kiosk(picture, None, NOW, concerns=CONCERN_INFOS, touch=True)
    target = frame.buttons[1]
    touched = (panel_size[0] - 1 - target.rect.centerx, panel_size[1] - 1 - target.rect.centery)

    assert frame.hit(to_picture(touched, panel_size, 180)) == target.concern


def test_many_concerns_on_a_small_screen_still_get_touchable_buttons_inside_the_screen():
    many = tuple(ConcernInfo(f"c{i}", "A", (("de", f"Anliegen Nummer {i} mit einem langen Titel"),)) for i in range(9))
    surface, frame = kiosk(None, concerns=many, touch=True)

    assert len(frame.buttons) == 9
    assert all(surface.get_rect().contains(b.rect) for b in frame.buttons)
    assert all(surface.get_rect().contains(d.rect) for d in frame.drawn)


def test_the_ticket_answer_shows_number_concern_people_ahead_and_wait():
    surface, frame = kiosk(KioskTicket("U043", CONCERN_INFOS[1], ahead=4, wait=WaitRange(10, 20)))
    code = next(d for d in frame.drawn if d.role == "ticket_code")

    assert read_text(surface, code.rect, charset="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == "U043"
    # The same words for people ahead and the wait as the printed ticket and the kiosk's answer.
    assert frame.texts("facts") == ["Vor Ihnen: 4 Personen · 10–20 Min.", "4 people ahead of you · 10–20 min"]


def test_a_ticket_with_no_one_ahead_says_you_are_next_and_one_wait():
    _, frame = kiosk(KioskTicket("U043", CONCERN_INFOS[1], ahead=0, wait=WaitRange(5, 5)))

    assert frame.texts("facts") == ["Sie sind als Nächstes dran · 5 Min.", "You are next · 5 min"]
    assert frame.texts("concern") == ["Urlaub beantragen", "Apply for leave"]


@pytest.mark.parametrize("kind, colour", [("ok", theme.OK), ("warn", theme.WARNING), ("error", theme.ERROR)])
def test_a_verdict_shows_its_title_and_body_in_both_languages_on_its_colour(kind, colour):
    message = VisitorMessage(kind, phrase("too_early.title"), phrase("too_early.body", at="10:15"))
    surface, frame = kiosk(message)

    assert frame.texts("message_title") == ["Noch zu früh", "Too early"]
    assert frame.texts("message_body")[0].startswith("Bitte scannen Sie Ihren Code ab 10:15 Uhr")
    assert any(text.startswith("Please scan your code") for text in frame.texts("message_body"))
    assert count_colour(surface, colour) > 800 * 480 * 0.3
    assert all(surface.get_rect().contains(d.rect) for d in frame.drawn)


def test_out_of_order_sends_visitors_to_the_information_desk():
    surface, frame = kiosk(OutOfOrder())

    assert frame.texts("out_of_order") == [
        "Außer Betrieb",
        "Out of order",
        "Bitte wenden Sie sich an die Information",
        "Please ask at the information desk",
    ]
    title = next(d for d in frame.drawn if d.text == "Außer Betrieb")
    # Tesseract's English model (the one Debian installs by default) has no ß: read the rest.
    assert read_text(surface, title.rect).endswith("Betrieb")


@pytest.mark.parametrize("size", [(480, 320), (800, 480), (1024, 600), (480, 800), (1920, 1080)])
def test_every_kiosk_screen_fits_any_small_screen(size):
    for screen in (
        None,
        KioskTicket("U043", CONCERN_INFOS[0], 2, WaitRange(5, 5)),
        OutOfOrder(),
        OneMoment(),
        CLOCK_UNKNOWN,
    ):
        surface, frame = kiosk(screen, size=size, concerns=CONCERN_INFOS, touch=True)
        assert all(surface.get_rect().contains(d.rect) for d in frame.drawn), (size, screen)
