"""The visitor's language on the kiosk screen: offered on the welcome screen in its own script, shown
first with German beside it, sent with the press, gone again when the visitor has; every script drawn
so that tesseract reads it back (Arabic and Farsi shaped and right to left)."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

from appliance.display.bidi import runs_right_to_left  # noqa: E402
from appliance.display.kiosk import KioskScreen  # noqa: E402
from appliance.display.kiosk_render import render_kiosk  # noqa: E402
from appliance.display.text import font  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from appliance.domain.catalogs import LANGUAGES, LOCALE_DIR, language_name  # noqa: E402
from appliance.domain.screen import KioskAnswer  # noqa: E402
from appliance.domain.wording import MESSAGES, OUT_OF_ORDER, TRY_AGAIN, text, ticket_message  # noqa: E402
from support import TEST_START  # noqa: E402
from support.ocr import read_text, similarity  # noqa: E402
from support.samples import sample_view  # noqa: E402

PANEL = (800, 480)
OFFERED = ["de", "en", "uk", "ar", "tr", "ru", "fa"]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def kiosk(languages=OFFERED, **options):
    """A touch kiosk screen on a clock the test turns, showing a view that offers ``languages``."""
    clock, sent = Clock(), []
    screen = KioskScreen(
        lambda concern, language: sent.append((concern, language)), touch=True, monotonic=clock, **options
    )
    screen.set_connected(True)
    now = TEST_START
    screen.offer(parse_view(sample_view(now, languages=list(languages), kiosk={"answer": None})), now)
    return screen, clock, sent, now


def draw(screen, now):
    return screen.render(pygame.Surface(PANEL), now)


def touch_language(screen, now, language):
    frame = draw(screen, now)
    button = next(b for b in frame.language_buttons if b.language == language)
    assert screen.touched(button.rect.center) is True


def test_the_welcome_screen_offers_each_language_named_in_its_own_script():
    screen, _, _, now = kiosk()

    frame = draw(screen, now)

    assert [b.language for b in frame.language_buttons] == OFFERED
    assert frame.texts("language_button") == [language_name(code) for code in OFFERED]  # Deutsch ... فارسی
    assert all(b.rect.height >= 64 for b in frame.language_buttons)  # a finger's width
    concern_bottom = max(b.rect.bottom for b in frame.buttons)
    assert concern_bottom < min(b.rect.top for b in frame.language_buttons)


def test_a_kiosk_offering_one_language_shows_no_language_buttons():
    screen, _, _, now = kiosk(languages=["de"])

    assert draw(screen, now).language_buttons == ()


def test_a_chosen_language_comes_first_with_german_beside_it_and_goes_with_the_press():
    screen, _, sent, now = kiosk()

    touch_language(screen, now, "uk")
    frame = draw(screen, now)

    assert frame.texts("instruction")[:2] == [text("kiosk_appointment", "uk"), "Termin? QR-Code scannen"]
    leave = next(b for b in frame.buttons if b.concern == "leave")
    assert screen.touched(leave.rect.center) is True
    assert sent == [("leave", "uk")]


def test_german_chosen_again_sends_no_language_and_shows_german_with_the_next_language():
    screen, _, sent, now = kiosk()
    touch_language(screen, now, "ar")
    touch_language(screen, now, "de")

    frame = draw(screen, now)

    assert frame.texts("instruction")[:2] == ["Termin? QR-Code scannen", "Appointment? Scan your QR code"]
    screen.touched(frame.buttons[0].rect.center)
    assert sent == [(frame.buttons[0].concern, None)]


def test_the_answer_comes_in_the_chosen_language_with_german_beside_it():
    screen, clock, _, now = kiosk()
    touch_language(screen, now, "tr")

    answer = KioskAnswer(OUT_OF_ORDER, None, now).to_json()
    screen.offer(parse_view(sample_view(now, languages=OFFERED, kiosk={"answer": answer})), now)

    assert draw(screen, now).texts("message_title") == ["Hizmet dışı", "Außer Betrieb"]


def test_the_kiosk_returns_to_german_after_the_idle_time_and_each_answer_starts_it_again():
    screen, clock, _, now = kiosk(language_idle_s=60.0)
    touch_language(screen, now, "ru")
    clock.now += 50.0
    answer = KioskAnswer(ticket_message("U043", 2, None), "U043", now, ahead=2).to_json()
    screen.offer(parse_view(sample_view(now, languages=OFFERED, kiosk={"answer": answer})), now)

    clock.now += 50.0  # 100 s after the choice, 50 s after the visitor's answer
    assert screen.language == "ru"
    assert draw(screen, now).texts("instruction")[1] == "Termin? QR-Code scannen" and not screen.due()
    assert screen.seconds_to_next_change() == pytest.approx(10.0)
    clock.now += 10.0
    assert screen.language == "de" and screen.due()
    assert draw(screen, now).texts("instruction")[0] == "Termin? QR-Code scannen"


def test_right_to_left_lines_keep_codes_and_latin_words_left_to_right_inside():
    assert runs_right_to_left("رقم انتظارك: A007") == [("رقم انتظارك: ", True), ("A007", False)]
    assert runs_right_to_left("امسح رمز QR") == [("امسح رمز ", True), ("QR", False)]
    # As FriBiDi orders it on paper: a range between Arabic words reads from the right.
    assert runs_right_to_left("حوالي 10–20 دقيقة") == [
        ("حوالي ", True),
        ("10", False),
        ("–", True),
        ("20", False),
        (" دقيقة", True),
    ]


@pytest.mark.parametrize("language", ["uk", "ar", "tr", "ru", "fa"])
@pytest.mark.parametrize("message", [OUT_OF_ORDER, TRY_AGAIN], ids=["out_of_order", "try_again"])
def test_each_language_reads_back_from_the_kiosk_screen(language, message):
    """Tesseract, with the language's own data, reads what was drawn: letters joined and in their order."""
    surface = pygame.Surface(PANEL)
    frame = render_kiosk(surface, message, TEST_START, language=language, second_language="de")

    title = frame.drawn[0]
    body = next(d for d in frame.drawn if d.role == "message_body")
    assert title.text == message.title.render(language)
    for drawn in (title, body):
        read = read_text(surface, drawn.rect, language=language)
        assert similarity(drawn.text, read) >= 0.9, f"drew {drawn.text!r}, tesseract read {read!r}"


@pytest.mark.parametrize("face", ["regular", "bold"])
def test_the_screens_typeface_has_a_glyph_for_every_letter_of_every_catalog(face):
    """A missing glyph draws an empty box; every word the catalogs hold, and each language's name, has one."""
    letters = {char for language in LANGUAGES for char in language_name(language)}
    for language in LANGUAGES[1:]:
        with open(LOCALE_DIR / language / "LC_MESSAGES" / "appliance.po", "rb") as po:
            for entry in read_po(po):
                for form in entry.string if isinstance(entry.string, tuple) else (entry.string,):
                    letters |= set(form)
    letters |= {char for message in MESSAGES.values() for char in message.german + (message.german_plural or "")}
    letters -= {"\n", "\u200c"}  # a line break, and the zero-width non-joiner that Farsi words carry

    chosen = font(face, 24)

    def drawn(char):
        return pygame.image.tobytes(chosen.render(char, False, (0, 0, 0), (255, 255, 255)), "RGB")

    empty_box = drawn("\U000f0000")  # a private-use character no font has: the face's "missing" glyph
    assert drawn("\u4e2d") == empty_box  # (a Chinese letter DejaVu lacks, to show the check sees one)
    assert sorted(f"U+{ord(char):04X} {char}" for char in letters if drawn(char) == empty_box) == []


def test_before_the_language_returns_to_german_the_screen_says_so_and_a_touch_keeps_it():
    screen, clock, _, now = kiosk(language_idle_s=60.0)
    touch_language(screen, now, "fa")
    assert draw(screen, now).texts("language_returning") == []

    assert screen.seconds_to_next_change() == pytest.approx(50.0)  # the notice is time's next change
    clock.now += 50.0
    assert screen.due()
    frame = draw(screen, now)
    assert frame.texts("language_returning") == [
        text("language_returning", "fa"),
        "Gleich wieder auf Deutsch – tippen Sie, um zu bleiben",
    ]
    notice = next(d for d in frame.drawn if d.role == "language_returning")
    assert screen.touched(notice.rect.center) is False  # no button there, but the visitor is still there

    clock.now += 30.0
    assert screen.language == "fa" and draw(screen, now).texts("language_returning") == []
