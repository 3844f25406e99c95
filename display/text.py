"""Text on a pygame surface: DejaVu faces (Latin, Cyrillic, Arabic and Farsi in one family, so lines of
every language keep one height), sized to fit a box, shortened rather than overflowing; Arabic
and Farsi shaped (SDL_ttf's HarfBuzz) and laid out right to left.

Every drawn string is recorded with its rectangle, so tests and callers can see what went where.
"""

import logging
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import pygame

from appliance.display.bidi import is_right_to_left, runs_right_to_left

log = logging.getLogger(__name__)

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Debian's fonts-dejavu-core ships these files. Codes and counters use the mono face: its zero
# has a dot, so "D016" never reads as "DO16", and equal widths keep the lists of codes aligned.
FACES = {
    "regular": ("DejaVuSans.ttf", "dejavusans", False),
    "bold": ("DejaVuSans-Bold.ttf", "dejavusans", True),
    "mono": ("DejaVuSansMono-Bold.ttf", "dejavusansmono", True),
}
ELLIPSIS = "…"


@dataclass(frozen=True)
class Drawn:
    """A string as drawn: what it says, its role on the screen, where it stands, and its face and size
    (large text, as WCAG counts it, needs less contrast)."""

    role: str
    text: str
    rect: pygame.Rect
    face: str = "regular"
    size: int = 0


@cache
def font_file(face: str) -> str | None:
    """The face's TTF path, or None for pygame's built-in font (warned about once per face)."""
    filename, family, bold = FACES[face]
    if (DEJAVU_DIR / filename).is_file():
        return str(DEJAVU_DIR / filename)
    # Elsewhere (another distribution's font paths) ask fontconfig, which pygame runs as fc-list.
    matched = pygame.font.match_font(family, bold=bold)
    if matched and Path(matched).is_file():
        return matched
    log.warning(
        "font %s not found (install the Debian package fonts-dejavu-core); "
        "using pygame's built-in font, which lacks some characters",
        filename,
    )
    return None


# Bounded: text fitted to many boxes asks for many sizes, and each Font holds a FreeType face.
@lru_cache(maxsize=96)
def font(face: str, size: int, right_to_left: bool = False) -> pygame.font.Font:
    """The face at ``size``; ``right_to_left`` shapes a run of Arabic script in its direction."""
    if not pygame.font.get_init():
        pygame.font.init()
    chosen = pygame.font.Font(font_file(face), max(6, int(size)))
    if right_to_left:
        # Both are needed: without the script HarfBuzz neither joins the letters nor orders them.
        chosen.set_script("Arab")
        chosen.set_direction(pygame.DIRECTION_RTL)
    return chosen


def text_width(face: str, size: int, text: str) -> int:
    """How wide ``text`` is drawn, each run shaped in its own direction."""
    if not is_right_to_left(text):
        return font(face, size).size(text)[0]
    return sum(font(face, size, rtl).size(run)[0] for run, rtl in runs_right_to_left(text))


def render(face: str, size: int, text: str, colour) -> pygame.Surface:
    """``text`` as an image; a right-to-left line is drawn run by run from the right."""
    if not is_right_to_left(text):
        return font(face, size).render(text, True, colour)
    images = [font(face, size, rtl).render(run, True, colour) for run, rtl in runs_right_to_left(text)]
    line = pygame.Surface(
        (sum(image.get_width() for image in images), max(image.get_height() for image in images)), pygame.SRCALPHA
    )
    x = line.get_width()
    for image in images:
        x -= image.get_width()
        line.blit(image, (x, 0))
    return line


@cache
def cap_ratio(face: str) -> float:
    """Cap height as a share of the font size, measured on 'H' so it holds for any fallback font."""
    probe = font(face, 200)
    return probe.metrics("H")[0][3] / 200


def size_for_cap(face: str, cap_px: float) -> int:
    return int(cap_px / cap_ratio(face) + 0.999)


def fit_size(face: str, text: str, max_width: int, size: int, min_size: int = 8) -> int:
    """The largest size up to ``size`` at which ``text`` fits ``max_width`` (never below min_size)."""
    drawn = text_width(face, size, text)
    if drawn <= max_width or size <= min_size:
        return size
    # Width scales nearly linearly with size: one estimate, then step down for rounding.
    size = max(min_size, int(size * max_width / drawn))
    while size > min_size and text_width(face, size, text) > max_width:
        size -= 1
    return size


def shorten(face: str, size: int, text: str, max_width: int) -> str:
    """``text`` cut at a word (or character) with an ellipsis so that it fits ``max_width``."""
    if text_width(face, size, text) <= max_width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if text_width(face, size, text[:middle].rstrip() + ELLIPSIS) <= max_width:
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    if " " in cut and len(cut.rsplit(" ", 1)[0]) > low * 0.6:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + ELLIPSIS if cut else ""


def wrap(text: str, face: str, size: int, width: int) -> list[str]:
    """``text`` broken at spaces into lines that each fit ``width`` (a single word wider stays whole)."""
    lines, line = [], ""
    for part in text.split():
        candidate = f"{line} {part}".strip()
        if text_width(face, size, candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = part
    return lines + ([line] if line else [])


class Canvas:
    """A surface plus the record of every string drawn on it."""

    def __init__(self, surface: pygame.Surface):
        self.surface = surface
        self.drawn: list[Drawn] = []

    def text(
        self,
        role: str,
        text: str,
        face: str,
        size: int,
        colour,
        *,
        max_width: int | None = None,
        min_size: int | None = None,
        **anchor,
    ) -> pygame.Rect:
        """Draws ``text`` at ``anchor`` (a pygame.Rect attribute such as topleft=(x, y) or midright).

        With ``max_width`` the text first shrinks (down to ``min_size``) and is then shortened,
        so it never spills out of its box.
        """
        if max_width is not None:
            size = fit_size(face, text, max_width, size, min_size or max(8, int(size * 0.7)))
            text = shorten(face, size, text, max_width)
        if not text:
            return pygame.Rect(0, 0, 0, 0)
        image = render(face, size, text, colour)
        rect = image.get_rect(**anchor)
        self.surface.blit(image, rect)
        self.drawn.append(Drawn(role, text, rect, face, size))
        return rect

    def text_on_baseline(
        self,
        role: str,
        text: str,
        face: str,
        size: int,
        colour,
        x: int,
        baseline: int,
        align: str = "left",
        ink: bool = False,
    ) -> pygame.Rect:
        """Draws with the baseline at ``baseline``: mixed sizes on one line then share it.

        With ``ink`` the rectangle returned (and recorded) is that of the glyphs' pixels alone.
        """
        chosen = font(face, size)
        image = render(face, size, text, colour)
        rect = image.get_rect()
        rect.top = baseline - chosen.get_ascent()
        if align == "left":
            rect.left = x
        elif align == "right":
            rect.right = x
        else:
            rect.centerx = x
        self.surface.blit(image, rect)
        if ink:
            rect = image.get_bounding_rect().move(rect.topleft)
        self.drawn.append(Drawn(role, text, rect, face, size))
        return rect

    def texts(self, role: str | None = None) -> list[str]:
        return [d.text for d in self.drawn if role is None or d.role == role]
