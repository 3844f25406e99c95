"""What is printed: a waiting ticket and the staff's morning list, as the ESC/POS bytes python-escpos makes.

Pure: words in the ticket's languages and values in, bytes out (through python-escpos' Dummy printer).
A Cyrillic or Turkish line goes through a code page of the configured profile that has all its letters; a line
no page prints (Arabic, Farsi, Turkish on a TM-T88IV, any of them without a profile) goes as an image of the text.
"""

from __future__ import annotations

import logging
import textwrap
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image, ImageDraw, ImageFont

from appliance.printer.profiles import load_profile, printable_dots, text_columns

log = logging.getLogger(__name__)

# ESC/POS character magnification (GS !) goes up to 8 in each direction.
MAX_MAGNIFICATION = 8
# A QR module of 6 dots (0.75 mm) scans well from paper with any phone; the code takes at most 60 %
# of the line so that it never touches the paper's edges (scanners need a quiet zone).
QR_MODULE_DOTS = 6
QR_SHARE_OF_LINE = 0.6
LOGO_MAX_HEIGHT_DOTS = 160
LOGO_MAX_PIXELS = 20_000_000
# Typography outside the printer's code page, replaced rather than left to a code page switch:
# python-escpos would switch to CP1252 for an en dash, a page many cheap printers number differently.
# Of letters only ẞ is replaced (by SS, as German spelling allows): 'ğ' as 'g' would change a word.
_ASCII_FALLBACKS = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\u201e": '"',
    "\u201c": '"',
    "\u201d": '"',
    "\u201a": "'",
    "\u2018": "'",
    "\u2019": "'",
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u00a0": " ",
    "\u1e9e": "SS",
}
_HOME_CODE_PAGES = ("CP437", "CP858", "CP850")
# Cyrillic pages in the order tried for a line the home page cannot print: CP1251 and CP1125 have every
# letter of Ukrainian (і, ї, є, ґ) and Russian, so a ticket keeps one page; CP866 lacks і and ґ,
# ISO-8859-5 and CP855 lack ґ. Arabic and Farsi need shaping, which no code page does: no page is tried.
_CYRILLIC_CODE_PAGES = ("CP1251", "CP1125", "CP866", "ISO_8859-5", "CP855")
# Turkish pages: each has every letter of Turkish (ç ğ ı İ ö ş ü, â î û, and the capitals). CP857 first, as
# Epson and most clones have it; CP853 (Latin-3) has them too, but python-escpos has no table to encode it.
_TURKISH_CODE_PAGES = ("CP857", "CP1254", "ISO_8859-9")
# Lines outside the code page are drawn in DejaVu Sans (Debian's fonts-dejavu-core covers Latin, Cyrillic,
# Arabic and Farsi) through Pillow's raqm layout: HarfBuzz joins the letters, FriBiDi orders them.
TEXT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TEXT_FONT_PX = 26  # about the height of the printer's own font A (24 dots), so both kinds of line match
TEXT_LINE_DOTS = 34
_WEEKDAYS_DE = ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So.")


# One phrase in each of the ticket's languages, the first language first.
Words = tuple[str, ...]


@dataclass(frozen=True)
class TicketContent:
    """Everything a waiting ticket shows, its words already in the ticket's languages; nothing identifies
    the visitor. The caller chooses the languages and words (the layout prints what it is given)."""

    code: str  # 'A042'
    issued_local: datetime  # aware, local time of the device's site
    heading: Words  # 'Ihre Wartenummer', 'Your number'
    concern: Words  # the concern in plain words
    queue: tuple[Words, ...] = ()  # people ahead, the estimated wait
    url: str | None = None  # the online wait-time page for this ticket
    url_label: Words = ()
    footer: Words = ()
    logo: Path | None = None

    def __post_init__(self) -> None:
        if self.issued_local.tzinfo is None:
            raise ValueError("issued_local must be an aware datetime (the site's local time zone)")


def ticket_bytes(
    content: TicketContent, *, profile: str | None, paper_width_mm: int, native_qr: bool | None = None
) -> bytes:
    """The ticket as python-escpos would send it to a printer of this profile and paper width.

    ``native_qr`` None: the printer draws the QR code (``GS ( k``) when its profile says it can,
    otherwise it goes as a raster image. A logo that cannot be used is left out with a warning.
    """
    out = _Writer(profile, paper_width_mm)
    p = out.printer
    p.hw("INIT")  # whatever the last job left set (sizes, code page) starts fresh
    p.set(align="center")
    if content.logo is not None:
        out.logo(content.logo)
    out.words(content.heading, bold=True)
    out.big(content.code)
    p.set(double_height=True, bold=True)
    out.lines(content.concern[0] if content.concern else "")
    p.set(normal_textsize=True, bold=False)
    for line in content.concern[1:]:
        out.lines(line)
    p.ln()
    out.lines(content.issued_local.strftime("%d.%m.%Y %H:%M"))
    for words in content.queue:
        out.words(words)
    if content.url:
        p.ln()
        out.words(content.url_label)
        out.qr(content.url, native_qr)
    if content.footer:
        p.ln()
        out.words(content.footer)
    p.cut()
    return p.output


def day_list_bytes(
    rows: Iterable[Sequence[str]], day: date, site_title: str, profile: str | None, paper_width_mm: int
) -> bytes:
    """The staff's list of the day's appointments: slot, display code and concern, by slot; no names."""
    out = _Writer(profile, paper_width_mm)
    p = out.printer
    rows = sorted(
        ((out.clean(slot), out.clean(code), out.clean(concern)) for slot, code, concern in rows), key=lambda row: row[0]
    )
    p.hw("INIT")
    p.set(align="center", bold=True, double_height=True)
    out.lines(site_title)
    p.set(normal_textsize=True)
    out.lines(f"Termine am {_WEEKDAYS_DE[day.weekday()]} {day:%d.%m.%Y}")
    p.set(bold=False)
    count = len(rows)
    out.lines("Keine Termine" if count == 0 else "1 Termin" if count == 1 else f"{count} Termine")
    p.set(align="left")
    p.textln("-" * out.columns)
    slot_width = max((len(slot) for slot, _, _ in rows), default=5)
    code_width = max((len(code) for _, code, _ in rows), default=4)
    indent = slot_width + code_width + 3
    for slot, code, concern in rows:
        head = f"{slot:<{slot_width}} {code:<{code_width}}  "
        if indent > out.columns // 2:
            # Codes too long for a column: the concern goes on its own indented lines.
            out.row(head.rstrip()[: out.columns])
            head, indent = "    ", 4
        width = out.columns - indent
        for number, line in enumerate(_wrap(concern, width)):
            out.row((head if number == 0 else " " * indent) + line)
    p.textln("-" * out.columns)
    p.cut()
    return p.output


def logo_problem(path: Path) -> str | None:
    """Why a logo file cannot be printed, or None; for ``check-config`` as much as for the layout."""
    try:
        with Image.open(path) as image:
            if image.width * image.height > LOGO_MAX_PIXELS:
                return f"logo {path} is {image.width} x {image.height} pixels: too large, scale it to 384 wide"
            image.load()
    except FileNotFoundError:
        return f"logo {path} does not exist"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return f"logo {path} is not an image PIL can read ({error.__class__.__name__}: {error})"
    return None


def _wrap(text: str, width: int) -> list[str]:
    # break_long_words: a 60-letter compound noun or URL still stays within the line.
    return textwrap.wrap(text, max(1, width), break_long_words=True, break_on_hyphens=True) or [""]


@lru_cache(maxsize=2)
def _text_font(bold: bool):
    try:
        return ImageFont.truetype(
            str(TEXT_FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")),
            TEXT_FONT_PX,
            layout_engine=ImageFont.Layout.RAQM,
        )
    except OSError:
        return None


class _Writer:
    """A Dummy printer for one job, with the paper's measures and text made safe to print."""

    def __init__(self, profile: str | None, paper_width_mm: int) -> None:
        self.profile = load_profile(profile, paper_width_mm)
        self.printer = Dummy(profile=profile)
        self.printer.profile = self.profile  # the paper-fitted profile: python-escpos checks images against it
        self.columns = text_columns(self.profile)
        self.dots = printable_dots(self.profile)
        encoder = self.printer.magic.encoder
        self._home = next((page for page in _HOME_CODE_PAGES if page in encoder.codepages), None)
        # Without a profile the printer's numbers for its pages are unknown (CP1251 is ESC t 46 on Epson,
        # 73 on many clones): a Cyrillic or Turkish line goes as an image, which every ESC/POS printer prints alike.
        known = () if profile is None else _CYRILLIC_CODE_PAGES + _TURKISH_CODE_PAGES
        self._pages = (self._home, *(page for page in known if page in encoder.codepages))
        self._encoder = encoder

    def clean(self, text) -> str:
        # Control characters in a configured title would be printer commands: ESC in a concern
        # name could switch the printer into any mode. Every run of them becomes one space. NFC: a 'ğ' typed
        # as 'g' and a combining breve is the letter the code pages have.
        text = unicodedata.normalize("NFC", str(text or ""))
        text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
        return " ".join(text.split())

    def printable(self, text: str, page: str | None = None) -> str:
        """``text`` with the typography code page ``page`` (the home page if None) lacks replaced, and '?'
        for a letter it lacks."""
        page = page or self._home
        if page is None:
            return text
        return "".join(ch if self._encoder.can_encode(page, ch) else self._fallback(ch, page) for ch in text)

    def _fallback(self, ch: str, page: str) -> str:
        if ch in _ASCII_FALLBACKS:
            return _ASCII_FALLBACKS[ch]
        # A compatibility form (the ligature 'ﬁ', a superscript '²') prints as what it stands for; a letter
        # without its accent ('ğ' as 'g', 'ș' as 's') would be another word, so the combining mark of its
        # decomposition, which the page lacks, makes it '?': not this page, and with no other, an image.
        spelled = unicodedata.normalize("NFKD", ch)
        return spelled if all(self._encoder.can_encode(page, c) for c in spelled) else "?"

    def lines(self, text: str, magnification: int = 1, bold: bool = False) -> None:
        text = self.clean(text)
        page = self.code_page_for(text)
        if page is None and magnification == 1 and self.draws_text():
            self.shaped_lines(text, bold)
            return
        self.text_in(page, _wrap(text, self.columns // magnification))

    def row(self, line: str) -> None:
        """A line of a table, its spaces kept: printer text in the first page that has all its letters, else
        an image of it (its columns then lost rather than a letter)."""
        page = self.code_page_for(line)
        if page is None and self.draws_text():
            self.shaped_lines(line, bold=False)
        else:
            self.text_in(page, [line])

    def draws_text(self) -> bool:
        """Whether a line no code page prints can go as an image of its text."""
        return self._home is not None and bool(self.profile.supports("bitImageRaster"))

    def text_in(self, page: str | None, lines: Iterable[str]) -> None:
        """``lines`` as printer text in code page ``page`` (the home page if None), then back home."""
        if page not in (None, self._home):
            self.printer.charcode(page)  # python-escpos sends ESC t with the profile's number for the page
        for line in lines:
            self.printer.textln(self.printable(line, page))
        if page not in (None, self._home):
            # Back to the home page, and python-escpos' own choice of page for what follows.
            self.printer.charcode(self._home)
            self.printer.charcode("AUTO")

    def code_page_for(self, text: str) -> str | None:
        """The first page of the profile (the home page, then the Cyrillic and Turkish ones) that prints
        every letter of ``text``, typography replaced; None when none does (or the profile has no home page)."""
        if self._home is None:
            return None
        return next((page for page in self._pages if "?" not in self.printable(text.replace("?", ""), page)), None)

    def shaped_lines(self, text: str, bold: bool) -> None:
        """``text`` as images of shaped lines as wide as the paper allows, broken between words."""
        font = _text_font(bold)
        if font is None:
            log.warning("no font for a line outside the printer's code page (install fonts-dejavu-core)")
            self.printer.textln(self.printable(text))
            return
        line = ""
        for word in text.split():
            candidate = f"{line} {word}".strip()
            if line and font.getlength(candidate) > self.dots:
                self._shaped_line(line, font)
                candidate = word
            line = candidate
        if line:
            self._shaped_line(line, font)

    def _shaped_line(self, line: str, font) -> None:
        width = min(self.dots, max(8, int(font.getlength(line)) + 2))
        image = Image.new("1", (width, TEXT_LINE_DOTS), 1)
        # Right to left or left to right as the line's first strong letter says (raqm's default).
        ImageDraw.Draw(image).text((width / 2, TEXT_LINE_DOTS / 2), line, font=font, fill=0, anchor="mm")
        self.printer.image(image, center=False)

    def words(self, words: Words, bold: bool = False) -> None:
        """The first language's line (bold if asked), then the others' in normal type."""
        for number, line in enumerate(words):
            if bold and number < 2:
                self.printer.set(bold=number == 0)
            self.lines(line, bold=bold and number == 0)
        if bold and len(words) == 1:
            self.printer.set(bold=False)

    def big(self, code: str) -> None:
        """The number as large as the printer can make it while it stays on one line."""
        code = self.clean(code)
        width = max(1, min(MAX_MAGNIFICATION, self.columns // max(1, len(code))))
        height = min(MAX_MAGNIFICATION, 2 * width)
        self.printer.set(custom_size=True, width=width, height=height, bold=True)
        self.lines(code, width)
        self.printer.set(normal_textsize=True, bold=False)

    def logo(self, path: Path) -> None:
        problem = logo_problem(path)
        if problem is None and not self.profile.supports("bitImageRaster"):
            problem = f"this printer profile prints no raster images; logo {path} left out"
        if problem is not None:
            log.warning("ticket printed without its logo: %s", problem)
            return
        with Image.open(path) as image:
            image.load()
            image = image.convert("RGBA")
        scale = min(1.0, self.dots / image.width, LOGO_MAX_HEIGHT_DOTS / image.height)
        if scale < 1.0:
            image = image.resize(
                (max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.LANCZOS
            )
        # Centred by ESC a, which applies to raster images: no white padding to send.
        self.printer.image(image, center=False)

    def qr(self, url: str, native: bool | None) -> None:
        if native is None:
            native = bool(self.profile.supports("qrCode"))
        module = self._qr_module(url)
        if native:
            self.printer.qr(url, ec=QR_ECLEVEL_M, size=module, native=True)
            self.printer.ln()
        elif self.profile.supports("bitImageRaster"):
            self.printer.qr(url, ec=QR_ECLEVEL_M, size=module, native=False)
        else:
            # Neither drawn by the printer nor as an image: the address itself is still useful.
            for line in _wrap(url, self.columns):
                self.printer.textln(self.printable(line))

    def _qr_module(self, url: str) -> int:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
        code.add_data(url.encode("utf-8"))
        code.make(fit=True)
        modules = code.modules_count + 2  # python-escpos' raster adds a one-module border
        return max(1, min(QR_MODULE_DOTS, int(self.dots * QR_SHARE_OF_LINE) // modules))
