"""Draws an ESC/POS job as a thermal printer would print it, into a PNG at the paper's width in dots.

The subset the project sends: text in code pages, sizes, emphasis, alignment, raster images, native QR, cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import qrcode
from escpos.capabilities import CAPABILITIES
from escpos.codepages import CodePages
from PIL import Image, ImageDraw, ImageFont

from appliance.printer.profiles import check_paper_width
from appliance.printer.stream import Command, next_command

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Font A and Font B character cells in dots, as on Epson's 203 dpi thermal printers.
CELLS = {0: (12, 24), 1: (9, 17)}
DEFAULT_LINE_SPACING = 30
MAX_PAPER_DOTS = 8000  # a metre of paper: anything longer is cut off, not drawn into memory
MARGIN = 16
_QR_EC = {
    48: qrcode.constants.ERROR_CORRECT_L,
    49: qrcode.constants.ERROR_CORRECT_M,
    50: qrcode.constants.ERROR_CORRECT_Q,
    51: qrcode.constants.ERROR_CORRECT_H,
}


@dataclass(frozen=True)
class PrintedLine:
    """A line of text as printed: its characters, where it is and how large (GS ! magnification)."""

    text: str
    top: int
    left: int
    width: int
    height: int
    magnification: tuple[int, int]


@dataclass
class PrintedJob:
    """What came out of the printer for one job."""

    image: Image.Image
    lines: list[PrintedLine] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)  # contents of native QR codes, as the printer got them
    raster_images: int = 0
    cut: bool = False
    wrapped_lines: int = 0  # lines longer than the paper that the printer had to break itself
    skipped_commands: int = 0
    truncated: bool = False

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def largest_line(self) -> PrintedLine | None:
        return max(self.lines, key=lambda line: (line.height, line.width), default=None)


def render(job: bytes, paper_width_mm: int = 80, profile: str | None = None) -> PrintedJob:
    """Print ``job`` on emulated paper; never fails on bad input, skipping what it does not know."""
    return _Renderer(check_paper_width(paper_width_mm), profile).run(bytes(job))


def render_png(job: bytes, path, paper_width_mm: int = 80, profile: str | None = None) -> PrintedJob:
    """``render()`` and write the result as a PNG to ``path``."""
    printed = render(job, paper_width_mm, profile)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    printed.image.save(path, format="PNG")
    return printed


@lru_cache(maxsize=64)
def _font(bold: bool, size: int):
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        # Without Debian's fonts-dejavu-core: Pillow's own font, less even but still legible.
        return ImageFont.load_default(size)


@lru_cache(maxsize=4096)
def _glyph(char: str, font: int, bold: bool, w: int, h: int) -> Image.Image:
    """A character at magnification w x h as a mask, drawn at full size so large numbers stay sharp."""
    cell_w, cell_h = CELLS[font]
    cell = Image.new("L", (cell_w * h, cell_h * h), 0)
    face = _font(bold, (20 if font == 0 else 15) * h)
    ImageDraw.Draw(cell).text((cell.width / 2, 0), char, font=face, fill=255, anchor="ma")
    if w != h:
        cell = cell.resize((cell_w * w, cell_h * h), Image.Resampling.BILINEAR)
    # A thermal head prints a dot or none: no grey.
    return cell.point(lambda value: 255 if value >= 110 else 0)


@lru_cache(maxsize=64)
def _code_page(profile: str | None, number: int) -> tuple[str, ...]:
    """The 256 characters of code page ``number`` as the profile numbers them (ESC t n)."""
    pages = CAPABILITIES["profiles"].get(profile or "default", CAPABILITIES["profiles"]["default"])["codePages"]
    high = ["?"] * 128
    encoding = CodePages.data.get(pages.get(str(number), ""), {})
    if "python_encode" in encoding:
        high = [bytes([b]).decode(encoding["python_encode"], errors="replace") for b in range(128, 256)]
    elif "data" in encoding:
        chars = list("".join(encoding["data"]))[:128]
        high = chars + ["?"] * (128 - len(chars))
    return tuple(chr(b) for b in range(128)) + tuple(high)


class _Renderer:
    def __init__(self, width: int, profile: str | None) -> None:
        self.width = width
        self.profile = profile
        self.canvas = Image.new("L", (width, MAX_PAPER_DOTS), 255)
        self.job = PrintedJob(image=self.canvas)
        self.y = MARGIN
        self.items: list[tuple[str, int, int, int, bool, int, bool]] = []
        self.line_width = 0
        self.qr = {"data": b"", "size": 3, "ec": 48}
        self.reset()

    def reset(self) -> None:
        self.align = 0
        self.bold = False
        self.underline = 0
        self.font = 0
        self.size = (1, 1)
        self.invert = False
        self.page = 0
        self.spacing = DEFAULT_LINE_SPACING

    def run(self, job: bytes) -> PrintedJob:
        i = 0
        while i < len(job):
            command = next_command(job, i)
            if command is None:  # the job ends inside a command: print what came before it
                self.job.skipped_commands += 1
                break
            try:
                self.apply(job, command)
            except (ValueError, IndexError, LookupError, OSError):
                self.job.skipped_commands += 1  # a malformed command: the printer would ignore it too
            i = command.end
        self.flush(feed_if_empty=False)
        height = min(MAX_PAPER_DOTS, self.y + MARGIN)
        self.job.image = self.canvas.crop((0, 0, self.width, height))
        return self.job

    def apply(self, job: bytes, c: Command) -> None:
        params = c.params(job, 2)
        n = params[0] if params else 0
        name = c.name
        if name == "TEXT":
            self.text(bytes(job[c.start : c.end]))
        elif name == "LF":
            self.flush()
        elif name == "HT":
            self.text(b" " * (8 - (self.line_width // CELLS[self.font][0]) % 8))
        elif name == "FF":
            self.flush(feed_if_empty=False)
        elif name == "ESC @":
            self.items, self.line_width = [], 0  # initialising clears the unprinted line
            self.reset()
        elif name == "ESC !":
            self.font, self.bold = n & 1, bool(n & 0x08)
            self.size = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1)
            self.underline = 1 if n & 0x80 else 0
        elif name == "GS !":
            self.size = (((n >> 4) & 7) + 1, (n & 7) + 1)
        elif name in ("ESC E", "ESC G"):
            self.bold = bool(n & 1)
        elif name == "ESC -":
            self.underline = n & 3
        elif name == "ESC M":
            self.font = 1 if n & 3 else 0
        elif name == "ESC a":
            self.align = {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}.get(n, self.align)
        elif name == "ESC t":
            self.page = n
        elif name == "GS B":
            self.invert = bool(n & 1)
        elif name == "ESC 2":
            self.spacing = DEFAULT_LINE_SPACING
        elif name == "ESC 3":
            self.spacing = n
        elif name == "ESC d":
            self.flush(feed_if_empty=False)
            self.y += n * self.spacing
        elif name == "ESC J":
            self.flush(feed_if_empty=False)
            self.y += n
        elif name == "GS v 0":
            self.raster(job, c)
        elif name == "GS ( k":
            self.qr_function(c.params(job, 5))
        elif name in ("GS V", "ESC i", "ESC m"):
            self.flush(feed_if_empty=False)
            self.job.cut = True
            self.cut_mark()
        elif name in (
            "CR",
            "CAN",
            "CTRL",
            "DLE EOT",
            "DLE ENQ",
            "DLE DC4",
            "ESC R",
            "ESC {",
            "ESC V",
            "GS b",
            "ESC c",
            "ESC =",
            "GS a",
        ):
            pass  # no mark on the paper (smoothing, paper sensors, status back, rotation)
        else:
            self.job.skipped_commands += 1

    def text(self, raw: bytes) -> None:
        table = _code_page(self.profile, self.page)
        cell_w, cell_h = CELLS[self.font]
        w, h = self.size
        for char in (table[b] for b in raw):
            if self.line_width + cell_w * w > self.width:
                self.job.wrapped_lines += 1
                self.flush()
            self.items.append((char, self.font, w, h, self.bold, self.underline, self.invert))
            self.line_width += cell_w * w

    def flush(self, feed_if_empty: bool = True) -> None:
        if not self.items:
            if feed_if_empty:
                self.y += self.spacing
            return
        height = max(CELLS[font][1] * h for _, font, _, h, _, _, _ in self.items)
        x = self._left(self.line_width)
        text = "".join(item[0] for item in self.items)
        magnification = max((w, h) for _, _, w, h, _, _, _ in self.items)
        if self.y + height <= MAX_PAPER_DOTS:
            for char, font, w, h, bold, underline, invert in self.items:
                cell_w, cell_h = CELLS[font]
                glyph = _glyph(char, font, bold, w, h)
                top = self.y + height - cell_h * h  # characters of different sizes share a baseline
                if invert:
                    self.canvas.paste(0, (x, top, x + glyph.width, top + glyph.height))
                    self.canvas.paste(255, (x, top), glyph)
                else:
                    self.canvas.paste(0, (x, top), glyph)
                if underline:
                    self.canvas.paste(0, (x, top + glyph.height - underline, x + glyph.width, top + glyph.height))
                x += glyph.width
        else:
            self.job.truncated = True
        self.job.lines.append(
            PrintedLine(text, self.y, self._left(self.line_width), self.line_width, height, magnification)
        )
        self.y += max(self.spacing, height)
        self.items, self.line_width = [], 0

    def _left(self, width: int) -> int:
        free = max(0, self.width - width)
        return (0, free // 2, free)[self.align]

    def place(self, image: Image.Image) -> None:
        """Put a black-on-white image on the paper at the current alignment, cut to the paper's width."""
        self.flush(feed_if_empty=False)
        if image.width > self.width:
            image = image.crop((0, 0, self.width, image.height))
        if self.y + image.height > MAX_PAPER_DOTS:
            self.job.truncated = True
            return
        self.canvas.paste(image, (self._left(image.width), self.y))
        self.y += image.height

    def raster(self, job: bytes, c: Command) -> None:
        mode, xl, xh, yl, yh = c.params(job, 3)[:5]
        width_bytes, height = xl + 256 * xh, yl + 256 * yh
        if not width_bytes or not height:
            return
        data = c.params(job, 8)
        # ESC/POS sets a bit for a black dot; Pillow's "1;I" raw mode reads exactly that.
        image = Image.frombytes("1", (width_bytes * 8, height), data, "raw", "1;I").convert("L")
        scale_x, scale_y = (2 if mode & 1 else 1), (2 if mode & 2 else 1)
        if scale_x > 1 or scale_y > 1:
            image = image.resize((image.width * scale_x, image.height * scale_y), Image.Resampling.NEAREST)
        self.place(image)
        self.job.raster_images += 1

    def qr_function(self, body: bytes) -> None:
        # GS ( k pL pH cn fn [m] data; cn 49 is QR, the only symbol this project prints.
        if len(body) < 2 or body[0] != 49:
            return
        function, rest = body[1], body[2:]
        if function == 67 and rest:
            self.qr["size"] = rest[0]
        elif function == 69 and rest:
            self.qr["ec"] = rest[0]
        elif function == 80:
            self.qr["data"] = rest[1:]
        elif function == 81 and self.qr["data"]:
            size = max(1, min(16, self.qr["size"]))
            code = qrcode.QRCode(error_correction=_QR_EC.get(self.qr["ec"], _QR_EC[48]), box_size=size, border=0)
            code.add_data(self.qr["data"])
            code.make(fit=True)
            self.place(code.make_image(fill_color="black", back_color="white").get_image().convert("L"))
            self.job.qr_codes.append(self.qr["data"].decode("utf-8", errors="replace"))

    def cut_mark(self) -> None:
        # A dotted line where the cutter went, so a PNG of several jobs shows where each ends.
        self.y += 8
        if self.y < MAX_PAPER_DOTS:
            for x in range(0, self.width, 8):
                self.canvas.paste(160, (x, self.y, x + 4, self.y + 1))
        self.y += 8
