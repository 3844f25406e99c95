"""The ticket and the morning list: what is on the paper, in which code page, and how many bytes it takes."""

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from appliance.domain.wording import text
from appliance.printer.errors import PrinterConfigError
from appliance.printer.layout import TicketContent, day_list_bytes, logo_problem, ticket_bytes
from appliance.printer.profiles import PAPER_DOTS
from appliance.printer.render import render
from support.ocr import read_page, similarity

BERLIN = ZoneInfo("Europe/Berlin")
ISSUED = datetime(2026, 11, 25, 9, 14, tzinfo=BERLIN)
GS_QR, GS_RASTER, CUT = b"\x1d(k", b"\x1dv0", b"\x1dV"
LONG_TITLE = (
    "Sie wollen einen Antrag auf Weiterbewilligung der Leistungen zur Sicherung des "
    "Lebensunterhalts stellen und dabei Nachweise über Einkommen, Vermögen, Unterkunftskosten "
    "und Änderungen der Wohnsituation abgeben?"
)[:200]


# The layout prints the words it is given; which words and languages is the caller's choice.
TICKET = TicketContent(
    code="A042",
    issued_local=ISSUED,
    heading=("Ihre Wartenummer", "Your number"),
    concern=("Urlaub beantragen", "Apply for leave"),
    queue=(("Vor Ihnen: 3 Personen", "3 people ahead of you"), ("Wartezeit ca. 10–20 Min.", "Wait approx. 10–20 min")),
    url="https://jobcenter.example/wartezeit/A042?d=2026-11-25",
    url_label=("Aktuelle Wartezeit online:", "Current wait online:"),
    footer=("Bitte achten Sie auf den Monitor.", "Please watch the screen."),
)
GERMAN_ONLY = replace(
    TICKET,
    heading=TICKET.heading[:1],
    concern=TICKET.concern[:1],
    queue=tuple(words[:1] for words in TICKET.queue),
    url_label=TICKET.url_label[:1],
    footer=TICKET.footer[:1],
)


def ticket(**changes) -> TicketContent:
    return replace(TICKET, **changes)


def printed(content: TicketContent, profile="TM-T88V", paper=80, native_qr=None):
    return render(ticket_bytes(content, profile=profile, paper_width_mm=paper, native_qr=native_qr), paper, profile)


def test_a_native_qr_ticket_is_small_and_the_raster_one_larger():
    native = ticket_bytes(ticket(), profile="TM-T88V", paper_width_mm=80, native_qr=True)
    raster = ticket_bytes(ticket(), profile="TM-T88V", paper_width_mm=80, native_qr=False)
    assert len(native) < 1500 and GS_QR in native and GS_RASTER not in native
    assert GS_RASTER in raster and GS_QR not in raster
    assert len(raster) > 4 * len(native)


def test_the_profile_decides_native_qr_when_not_told():
    assert GS_QR in ticket_bytes(ticket(), profile="TM-T88V", paper_width_mm=80)
    # The POS-5890 profile has no QR command: the code goes as an image.
    cheap = ticket_bytes(ticket(), profile="POS-5890", paper_width_mm=58)
    assert GS_QR not in cheap and GS_RASTER in cheap


def test_a_ticket_starts_from_a_reset_printer_and_ends_with_one_cut():
    data = ticket_bytes(ticket(), profile=None, paper_width_mm=80)
    assert data.startswith(b"\x1b@")
    assert data.count(CUT) == 1 and data.endswith(b"\x1bd\x06\x1dV\x00")  # feed past the cutter, then cut


def test_the_ticket_says_in_german_first_what_the_visitor_needs():
    text = printed(ticket()).text.splitlines()
    assert text[:5] == ["Ihre Wartenummer", "Your number", "A042", "Urlaub beantragen", "Apply for leave"]
    assert "25.11.2026 09:14" in text
    assert text.index("Vor Ihnen: 3 Personen") + 1 == text.index("3 people ahead of you")
    assert "Wartezeit ca. 10-20 Min." in text and "Wait approx. 10-20 min" in text
    assert text[-2:] == ["Bitte achten Sie auf den Monitor.", "Please watch the screen."]


def test_a_ticket_in_one_language_prints_only_that_language():
    text = printed(GERMAN_ONLY).text
    assert "Your number" not in text and "people ahead" not in text and "Wait approx." not in text
    assert "Ihre Wartenummer" in text and "Vor Ihnen: 3 Personen" in text


def test_the_first_language_of_the_heading_is_bold_and_the_others_are_not():
    data = ticket_bytes(ticket(), profile=None, paper_width_mm=80)
    bold_on, bold_off = b"\x1bE\x01", b"\x1bE\x00"
    assert data.index(bold_on) < data.index(b"Ihre Wartenummer") < data.index(bold_off) < data.index(b"Your number")


def test_no_queue_lines_means_none_printed():
    assert "Wartezeit ca." not in printed(ticket(queue=())).text


def test_the_number_is_printed_as_large_as_fits_on_one_line():
    for paper in (58, 80):
        job = printed(ticket(), profile=None, paper=paper)
        largest = job.largest_line()
        assert largest.text == "A042"
        assert largest.magnification == (8, 8)
        assert largest.height == 24 * 8
    longer = printed(ticket(code="C10042"), profile=None, paper=58).largest_line()
    assert longer.text == "C10042" and longer.magnification[0] == 5


@pytest.mark.parametrize(
    "profile, paper", [("TM-T88V", 80), (None, 80), (None, 58), ("POS-5890", 58), ("TM-T20II", 80)]
)
def test_a_200_character_concern_wraps_and_no_line_leaves_the_paper(profile, paper):
    assert len(LONG_TITLE) == 200
    content = ticket(concern=(LONG_TITLE, LONG_TITLE.replace("Ä", "A")), footer=(LONG_TITLE,))
    job = printed(content, profile, paper)
    assert job.wrapped_lines == 0  # the layout broke every line itself; the printer never had to
    assert all(0 <= line.left and line.left + line.width <= PAPER_DOTS[paper] for line in job.lines)
    assert " ".join(job.text.split()).count("Weiterbewilligung") == 3


def test_a_word_longer_than_a_line_is_broken_not_overflowing():
    job = printed(
        ticket(concern=("Grundsicherungsleistungsbescheidwiderspruchsverfahrensangelegenheit" * 2,)), None, 58
    )
    assert job.wrapped_lines == 0


def test_umlauts_print_in_the_printers_own_code_page():
    content = ticket(queue=(("Sie sind als Nächstes dran",),), concern=("Änderungen mitteilen (Ü, Ö, ß)",))
    data = ticket_bytes(content, profile="TM-T88V", paper_width_mm=80)
    # Code page 0 (CP437) from the start and never another: Ä is 0x8e there, ä 0x84.
    assert data.count(b"\x1bt") == 1 and b"\x1bt\x00" in data
    assert b"\x8e" in data and b"\x84" in data
    text = render(data, 80, "TM-T88V").text
    assert "Änderungen mitteilen (Ü, Ö, ß)" in text and "Sie sind als Nächstes dran" in text


def test_typography_outside_the_code_page_is_replaced_not_switched_to_another_page():
    content = ticket(footer=("Öffnungszeiten „Mo–Fr“ … 8–12 Uhr",))
    data = ticket_bytes(content, profile="TM-T88V", paper_width_mm=80)
    assert data.count(b"\x1bt") == 1
    assert 'Öffnungszeiten "Mo-Fr" ... 8-12 Uhr' in render(data, 80, "TM-T88V").text


def test_control_characters_in_a_title_are_not_printer_commands():
    data = ticket_bytes(ticket(concern=("Urlaub\x1b@\x1dV\x00 beantragen\n\tjetzt",)), profile=None, paper_width_mm=80)
    assert data.count(b"\x1b@") == 1 and data.count(CUT) == 1
    assert "Urlaub @ V beantragen jetzt" in render(data).text


@pytest.mark.parametrize(
    "write_logo",
    [
        lambda path: None,  # missing
        lambda path: path.write_text("not a picture"),  # not an image
        lambda path: path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),  # a broken PNG
    ],
)
def test_a_logo_that_cannot_be_used_is_left_out_and_the_ticket_still_prints(tmp_path, caplog, write_logo):
    logo = tmp_path / "logo.png"
    write_logo(logo)
    with caplog.at_level(logging.WARNING, logger="appliance.printer.layout"):
        job = printed(ticket(logo=logo), native_qr=True)
    assert job.raster_images == 0 and job.cut
    assert job.largest_line().text == "A042"
    assert "ticket printed without its logo" in caplog.text and str(logo) in caplog.text
    assert logo_problem(logo) is not None


def test_a_logo_is_scaled_to_the_paper_and_printed_first(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (1200, 300), "black").save(logo)
    assert logo_problem(logo) is None
    job = printed(ticket(logo=logo), profile=None, paper=58, native_qr=True)
    assert job.raster_images == 1
    assert job.lines[0].top > 100  # below the 96-dot-high logo (1200 x 300 scaled to 384 wide)
    assert job.image.getpixel((192, 50)) == 0 and job.image.width == 384


def test_a_transparent_logo_prints_on_white(tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (200, 100), (0, 0, 0, 0)).save(logo)
    job = printed(ticket(logo=logo), native_qr=True)
    assert job.raster_images == 1
    assert job.image.crop((0, 16, job.image.width, 100)).getextrema() == (255, 255)


def test_a_ticket_without_url_has_no_qr_code():
    data = ticket_bytes(ticket(url=None), profile="TM-T88V", paper_width_mm=80)
    assert GS_QR not in data and GS_RASTER not in data


def test_ticket_content_refuses_what_would_print_wrongly():
    with pytest.raises(ValueError, match="aware"):
        ticket(issued_local=datetime(2026, 11, 25, 9, 14))


def test_the_date_is_the_local_one_given():
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC).astimezone(BERLIN)
    assert "26.11.2026 00:30" in printed(ticket(issued_local=late)).text


def test_an_unknown_profile_or_paper_is_refused_with_a_suggestion():
    with pytest.raises(PrinterConfigError, match="unknown printer profile 'TM-T88X'. Did you mean 'TM-T88V'"):
        ticket_bytes(ticket(), profile="TM-T88X", paper_width_mm=80)
    with pytest.raises(PrinterConfigError, match="paper width 76 mm is not a ticket roll; use 58 or 80"):
        ticket_bytes(ticket(), profile=None, paper_width_mm=76)


ROWS = [("09:00", "T-7K2", "Unterlagen abgeben"), ("08:30", "T-3F9", LONG_TITLE), ("08:30", "T-A11", "Urlaub")]


def test_the_morning_list_shows_date_count_and_rows_by_slot_without_names():
    data = day_list_bytes(ROWS, date(2026, 11, 25), "Jobcenter Musterstadt – Eingangszone", "TM-T88V", 80)
    job = render(data, 80, "TM-T88V")
    lines = job.text.splitlines()
    assert lines[:3] == ["Jobcenter Musterstadt - Eingangszone", "Termine am Mi. 25.11.2026", "3 Termine"]
    slots = [line[:5] for line in lines if line[:2] in ("08", "09")]
    assert slots == ["08:30", "08:30", "09:00"]
    assert lines[4].startswith("08:30 T-3F9  Sie wollen")
    assert job.wrapped_lines == 0 and job.cut and data.count(CUT) == 1


def test_an_empty_morning_list_says_so():
    text = render(day_list_bytes([], date(2026, 11, 28), "Jobcenter", None, 58), 58).text
    assert "Termine am Sa. 28.11.2026" in text and "Keine Termine" in text


def in_second_language(language: str, **changes) -> TicketContent:
    """The ticket with its heading, online label and footer in German and ``language``."""
    words = {key: text(key, language) for key in ("ticket.number", "ticket.online", "ticket.footer")}
    return ticket(
        heading=("Ihre Wartenummer", words["ticket.number"]),
        url_label=("Aktuelle Wartezeit online:", words["ticket.online"]),
        footer=("Bitte achten Sie auf den Monitor.", words["ticket.footer"]),
        **changes,
    )


def assert_read_back(job, language: str, expected: Iterable[str]) -> None:
    lines = read_page(job.image, language)
    for words in expected:
        best = max(lines, key=lambda line: similarity(words, line))
        assert similarity(words, best) >= 0.85, f"printed {words!r}, tesseract read {lines}"


def second_language_words(content: TicketContent) -> list[str]:
    return [content.heading[1], content.url_label[1], content.footer[1]]


@pytest.mark.slow  # tesseract reads the print back: make test runs it, make test-fast leaves it out
@pytest.mark.parametrize("language", ["ar", "fa"])
def test_arabic_and_farsi_lines_print_as_shaped_images_that_read_back(language):
    """No code page shapes Arabic or Farsi: those lines go as images of the shaped text, right to left,
    even on a printer with Arabic code pages, and tesseract reads them back."""
    content = in_second_language(language)

    data = ticket_bytes(content, profile="TM-T88V", paper_width_mm=80)  # CP720, CP864 and CP1256 among its pages
    job = render(data, 80, "TM-T88V")

    assert job.raster_images >= 3 and data.count(b"\x1bt") == 1  # no switch to an Arabic page
    assert "?" not in job.text and "Ihre Wartenummer" in job.text  # the German lines stay printer text
    assert_read_back(job, language, second_language_words(content))


@pytest.mark.slow  # tesseract reads the print back: make test runs it, make test-fast leaves it out
@pytest.mark.parametrize("language", ["uk", "ru"])
def test_ukrainian_and_russian_lines_print_as_text_in_the_profiles_cyrillic_code_page(language):
    content = in_second_language(language, concern=("Urlaub beantragen", "Оформити відпустку (ґанок, їжа, є)"))

    data = ticket_bytes(content, profile="TM-T88V", paper_width_mm=80, native_qr=True)

    assert GS_RASTER not in data
    # TM-T88V's CP1251 is page 46: every letter of Ukrainian (і, ї, є, ґ) and Russian, one page for the ticket.
    heading = b"\x1bt\x2e" + content.heading[1].encode("cp1251") + b"\n\x1bt\x00"
    assert heading in data
    job = render(data, 80, "TM-T88V")
    for line in (*second_language_words(content), "Оформити відпустку (ґанок, їжа, є)", "Ihre Wartenummer"):
        assert line in job.text.splitlines()
    assert_read_back(job, language, second_language_words(content))


@pytest.mark.slow  # tesseract reads the print back: make test runs it, make test-fast leaves it out
@pytest.mark.parametrize("language", ["uk", "ru"])
def test_a_profile_without_a_cyrillic_code_page_prints_those_lines_as_images_that_read_back(language):
    content = in_second_language(language)

    job = printed(content, profile="simple", native_qr=True)  # python-escpos' simple profile: CP437 only

    assert job.raster_images >= 3 and "?" not in job.text  # a long line breaks into two images
    assert_read_back(job, language, second_language_words(content))


def test_without_a_profile_cyrillic_lines_go_as_images_as_the_printers_page_numbers_are_unknown():
    data = ticket_bytes(in_second_language("uk"), profile=None, paper_width_mm=80, native_qr=True)
    assert data.count(b"\x1bt") == 1 and data.count(GS_RASTER) >= 3


def test_a_ukrainian_line_whose_letters_the_only_cyrillic_page_lacks_goes_as_an_image():
    """TM-T88IV has CP866 only, which lacks і and ґ: Russian and a Ukrainian line without them are text,
    a Ukrainian line with them an image."""
    content = in_second_language("uk", concern=("Urlaub beantragen", "Перед вами: 3 особи"))

    job = printed(content, profile="TM-T88IV", native_qr=True)

    assert "Перед вами: 3 особи" in job.text.splitlines()  # no і: text in CP866
    assert content.heading[1] in job.text.splitlines()  # 'Ваш номер'
    assert content.url_label[1] not in job.text and content.footer[1] not in job.text  # both have an і
    assert job.raster_images == 3 and "?" not in job.text  # the online label, the footer in two lines
    russian = printed(in_second_language("ru"), profile="TM-T88IV", native_qr=True)
    assert russian.raster_images == 0 and text("ticket.footer", "ru") in russian.text.splitlines()


def test_typography_in_a_cyrillic_line_is_replaced_where_the_page_lacks_it():
    # CP866 has no en dash: the line stays text with a hyphen, as German lines do in CP437.
    wait = text("ticket.footer", "ru").replace(",", " –")
    job = printed(ticket(footer=("Bitte achten Sie auf den Monitor.", wait)), profile="TM-T88IV", native_qr=True)
    assert wait.replace("–", "-") in job.text.splitlines() and job.raster_images == 0


TURKISH_CONCERN = "Yıllık izin başvurusu (İŞ, ĞÜÇÖ)"


@pytest.mark.slow  # tesseract reads the print back: make test runs it, make test-fast leaves it out
@pytest.mark.parametrize(
    "profile, number, encoding",
    [("TM-T88V", 13, "cp857"), ("RP326", 29, "cp857")],
    ids=["epson", "rongta-cp857-before-cp1254-and-iso-8859-9"],
)
def test_turkish_lines_print_as_text_in_the_profiles_turkish_code_page(profile, number, encoding):
    content = in_second_language(
        "tr",
        concern=("Urlaub beantragen", TURKISH_CONCERN),
        queue=(("Wartezeit ca. 10–20 Min.", "Bekleme süresi yaklaşık 10–20 dk"),),
    )

    data = ticket_bytes(content, profile=profile, paper_width_mm=80, native_qr=True)

    assert GS_RASTER not in data
    # The switch to the profile's number for its Turkish page, the heading in its bytes, back to CP437.
    assert bytes([0x1B, 0x74, number]) + content.heading[1].encode(encoding) + b"\n\x1bt\x00" in data
    job = render(data, 80, profile)
    # ğ, ı, ş and the capitals as they are; the en dash, which the page lacks, a hyphen.
    for line in (*second_language_words(content), TURKISH_CONCERN, "Bekleme süresi yaklaşık 10-20 dk"):
        assert line in job.text.splitlines()
    assert_read_back(job, "tr", second_language_words(content))


@pytest.mark.slow  # tesseract reads the print back: make test runs it, make test-fast leaves it out
def test_a_profile_without_a_turkish_code_page_prints_turkish_lines_as_images_that_read_back():
    """TM-T88IV has no Turkish page: a line with ğ, ı or ş goes as an image, one with only ç, ö and ü (which
    CP437 has) stays text."""
    content = in_second_language("tr")

    job = printed(content, profile="TM-T88IV", native_qr=True)

    assert content.url_label[1] in job.text.splitlines()  # 'Güncel bekleme süresi internette:'
    assert content.heading[1] not in job.text and content.footer[1] not in job.text  # 'Sıra', 'çağrıyı'
    assert job.raster_images >= 2 and "?" not in job.text
    assert_read_back(job, "tr", second_language_words(content))


@pytest.mark.parametrize("profile", ["TM-T88V", "TM-T88IV", "simple", None])
@pytest.mark.parametrize(
    "word, lookalike",
    [("dağ", "dag"), ("Şubat", "Subat"), ("sığ", "sig"), ("Țară", "Tara"), ("Čeština", "Cestina")],
)
def test_a_letter_no_code_page_has_is_never_printed_as_a_lookalike(profile, word, lookalike):
    """'dağ' (mountain) printed 'dag' would be another word: the line is text in a page with every letter
    (CP857 for Turkish on a TM-T88V) or an image of the letters themselves."""
    line = f"Bitte {word}"

    job = printed(ticket(footer=(line,)), profile=profile, native_qr=True)

    assert lookalike not in job.text and "?" not in job.text
    assert line in job.text.splitlines() or (job.raster_images == 1 and "Bitte" not in job.text)


def test_a_letter_written_as_letter_and_combining_accent_prints_as_the_letter():
    composed = ticket(footer=(text("ticket.footer", "tr"),))
    decomposed = ticket(footer=(unicodedata.normalize("NFD", composed.footer[0]),))
    assert composed.footer != decomposed.footer
    assert ticket_bytes(decomposed, profile="TM-T88V", paper_width_mm=80) == ticket_bytes(
        composed, profile="TM-T88V", paper_width_mm=80
    )


def test_a_morning_list_row_prints_its_letters_through_a_code_page_or_as_an_image():
    rows = [("08:30", "T-3F9", "Yıllık izin başvurusu"), ("09:00", "T-7K2", "Unterlagen abgeben")]

    epson = render(day_list_bytes(rows, date(2026, 11, 25), "Jobcenter", "TM-T88V", 80), 80, "TM-T88V")
    cp437_only = render(day_list_bytes(rows, date(2026, 11, 25), "Jobcenter", "simple", 80), 80, "simple")

    assert "08:30 T-3F9  Yıllık izin başvurusu" in epson.text.splitlines() and epson.raster_images == 0
    assert "09:00 T-7K2  Unterlagen abgeben" in cp437_only.text.splitlines()
    assert cp437_only.raster_images == 1 and "T-3F9" not in cp437_only.text and "?" not in cp437_only.text


def test_a_shaped_line_wider_than_the_paper_breaks_between_words():
    long_footer = " ".join([text("ticket.footer", "ar")] * 3)

    data = ticket_bytes(ticket(footer=(long_footer,)), profile="TM-T20II", paper_width_mm=58, native_qr=True)

    headers = [data[at + 4 : at + 8] for at in range(len(data)) if data.startswith(GS_RASTER, at)]
    widths = [8 * (header[0] + 256 * header[1]) for header in headers]
    assert len(widths) >= 3 and max(widths) <= PAPER_DOTS[58]
