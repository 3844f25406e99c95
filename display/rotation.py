"""Rotation of the picture for monitors mounted in portrait (or upside down).

``rotation`` is how far the picture is turned clockwise on the panel: 0, 90, 180 or 270 degrees.
"""

import pygame

ROTATIONS = (0, 90, 180, 270)


def logical_size(panel: tuple[int, int], rotation: int) -> tuple[int, int]:
    """The size the layout works in: a 1920x1080 panel turned by 90 is a 1080x1920 picture."""
    width, height = panel
    return (height, width) if rotation in (90, 270) else (width, height)


def to_panel(picture: pygame.Surface, rotation: int) -> pygame.Surface:
    # pygame turns counter-clockwise for positive angles; multiples of 90 are exact, no resampling.
    return picture if rotation == 0 else pygame.transform.rotate(picture, -rotation)


def to_picture(point: tuple[int, int], panel: tuple[int, int], rotation: int) -> tuple[int, int]:
    """A touch on the panel at ``point``, in the picture's own coordinates (for hit rectangles)."""
    x, y = point
    width, height = panel
    if rotation == 90:
        return (y, width - 1 - x)
    if rotation == 180:
        return (width - 1 - x, height - 1 - y)
    if rotation == 270:
        return (height - 1 - y, x)
    return (x, y)
