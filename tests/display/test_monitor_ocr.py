"""The screen reader of the display tests (support/ocr.py) checked first: a failing screen test then
means the screen, not the reader."""

import os

os.environ["SDL_VIDEODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.display.text import font  # noqa: E402
from support.ocr import glyph_boxes, read_text  # noqa: E402


@pytest.mark.parametrize(
    "text, background, colour", [("A042", (255, 196, 0), (10, 24, 46)), ("C117", (22, 44, 78), (255, 255, 255))]
)
def test_the_reader_reads_a_code_on_either_band_colour(text, background, colour):
    surface = pygame.Surface((900, 300))
    surface.fill(background)
    image = font("bold", 200).render(text, True, colour)
    rect = surface.blit(image, (40, 20))

    assert read_text(surface, rect) == text


def test_the_reader_does_not_make_up_the_expected_text():
    surface = pygame.Surface((900, 300))
    surface.fill((22, 44, 78))
    rect = surface.blit(font("bold", 200).render("B731", True, (255, 255, 255)), (40, 20))

    assert read_text(surface, rect) != "A042"


def test_glyph_boxes_measure_the_cap_height_of_a_capital():
    surface = pygame.Surface((600, 300))
    surface.fill((0, 0, 0))
    surface.blit(font("bold", 200).render("H", True, (255, 255, 255)), (10, 10))

    box = glyph_boxes(surface, surface.get_rect(), (255, 255, 255))[0]

    assert abs(box.height - font("bold", 200).metrics("H")[0][3]) <= 1
