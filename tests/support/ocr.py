"""Reading the screen as a viewer would: tesseract OCR and pixel measures, shared by the screen tests.

tests/display/test_monitor_ocr.py checks them first, so a failing screen test means the screen, not the reader.
"""

import difflib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

# Measured on the monitor's codes: tesseract reads them reliably with capitals of 30-40 px.
OCR_CAP_PX = 36


def tesseract() -> str:
    program = shutil.which("tesseract")
    if program is None:
        # `make test` installs it: a screen test that silently skips would hide a broken screen.
        pytest.fail("tesseract is not installed (Debian package tesseract-ocr; `make test` installs it)")
    return program


# Tesseract's language data (Debian's tesseract-ocr-LANG, which `make test` installs) per shipped language.
TESSERACT_LANGUAGES = {"de": "eng", "en": "eng", "uk": "ukr", "ar": "ara", "tr": "tur", "ru": "rus", "fa": "fas"}


def read_text(
    surface: pygame.Surface,
    rect: pygame.Rect,
    *,
    pad: int = 20,
    charset: str | None = None,
    language: str | None = None,
) -> str:
    """What tesseract reads in ``rect`` of ``surface`` (one line, in ``language``: de, uk, ar, ...), after
    turning it black on white.

    The background is the colour at the crop's corner, so it works on the highlighted band
    (dark on amber) and on the normal one (white on dark blue) alike.
    """
    crop = surface.subsurface(rect.inflate(2 * pad, 2 * pad).clip(surface.get_rect())).copy()
    ink = pygame.mask.from_threshold(crop, crop.get_at((1, 1)), (60, 60, 60, 255))
    ink.invert()
    image = _to_rgb(ink)
    scale = min(1.0, OCR_CAP_PX / max(1, rect.height))
    image = pygame.transform.smoothscale(
        image, (max(1, int(image.get_width() * scale)), max(1, int(image.get_height() * scale)))
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "crop.png"
        pygame.image.save(image, str(path))
        command = [tesseract(), str(path), "-", "--psm", "7"]
        if charset:
            command += ["-c", f"tessedit_char_whitelist={charset}"]
        if language:
            command += ["-l", TESSERACT_LANGUAGES[language]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    return result.stdout.strip()


def read_page(image, language: str) -> list[str]:
    """The lines tesseract reads on a whole black-on-white page (a PIL image, such as a printed ticket)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.png"
        image.save(path)
        command = [tesseract(), str(path), "-", "--psm", "6", "-l", TESSERACT_LANGUAGES[language]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def similarity(expected: str, read: str) -> float:
    """How close OCR came to ``expected`` (1.0: the same), blind to spacing: stray dots and the odd
    misread letter lower it a little, words in the wrong order a lot."""
    return difflib.SequenceMatcher(None, "".join(expected.split()), "".join(read.split())).ratio()


def _to_rgb(mask: pygame.mask.Mask) -> pygame.Surface:
    surface = pygame.Surface(mask.get_size())
    surface.fill((255, 255, 255))
    mask.to_surface(surface, setcolor=(0, 0, 0), unsetcolor=None)
    return surface


def glyph_boxes(surface: pygame.Surface, rect: pygame.Rect, colour, tolerance: int = 40) -> list[pygame.Rect]:
    """Bounding boxes of the separate glyphs drawn in ``colour`` inside ``rect``, left to right."""
    crop = surface.subsurface(rect.clip(surface.get_rect()))
    mask = pygame.mask.from_threshold(crop, colour, (tolerance, tolerance, tolerance, 255))
    boxes = [box.move(rect.topleft) for box in mask.get_bounding_rects() if box.width * box.height > 20]
    return sorted(boxes, key=lambda box: box.left)


def count_colour(surface: pygame.Surface, colour, rect: pygame.Rect | None = None, tolerance: int = 8) -> int:
    crop = surface.subsurface(rect) if rect else surface
    return pygame.mask.from_threshold(crop, colour, (tolerance, tolerance, tolerance, 255)).count()
