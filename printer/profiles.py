"""Printer capability profiles (python-escpos' printer database) by name, fitted to the paper in use.

The layout asks here how many dots and characters fit on a line and what the printer can do.
"""

from __future__ import annotations

import difflib

from escpos.capabilities import CAPABILITIES, get_profile_class

from appliance.printer.errors import PrinterConfigError

# Thermal printers print 8 dots per mm; these are the printable widths of the two paper rolls.
PAPER_DOTS = {58: 384, 80: 576}
# Font A is 12 x 24 dots on ESC/POS thermal printers; Font B is 9 x 17.
FONT_A_WIDTH = 12


def profile_names() -> list[str]:
    """Every profile python-escpos knows, as the config's ``profile`` key accepts them."""
    return sorted(CAPABILITIES["profiles"])


def check_paper_width(paper_width_mm: int) -> int:
    """Return the printable width in dots for a paper roll, or say which rolls exist."""
    if paper_width_mm not in PAPER_DOTS:
        raise PrinterConfigError(f"paper width {paper_width_mm} mm is not a ticket roll; use 58 or 80")
    return PAPER_DOTS[paper_width_mm]


def load_profile(name: str | None, paper_width_mm: int):
    """The named python-escpos profile (``None``: the generic Epson-compatible one), fitted to the paper.

    The profile's media width becomes what really fits: the smaller of the paper and the printer's
    head. python-escpos checks images against it, and it no longer prints a notice on stdout for
    profiles that do not know their width.
    """
    paper_dots = check_paper_width(paper_width_mm)
    key = name or "default"
    if key not in CAPABILITIES["profiles"]:
        close = difflib.get_close_matches(key, profile_names(), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise PrinterConfigError(
            f"unknown printer profile '{key}'.{hint} "
            "Leave it out for a generic ESC/POS printer; known profiles: " + ", ".join(profile_names())
        )
    base = get_profile_class(key)
    data = dict(base.profile_data)
    head_dots = _int_or_none(data.get("media", {}).get("width", {}).get("pixels"))
    dots = min(paper_dots, head_dots) if head_dots else paper_dots
    media = dict(data.get("media", {}))
    media["width"] = {**media.get("width", {}), "pixels": dots}
    data["media"] = media
    fitted = type(base.__name__, (base,), {"profile_data": data})
    return fitted()


def printable_dots(profile) -> int:
    """Dots across the printable line of a profile returned by ``load_profile``."""
    return int(profile.profile_data["media"]["width"]["pixels"])


def text_columns(profile) -> int:
    """Characters of Font A that fit on a line: what the paper allows and what the profile says."""
    by_paper = printable_dots(profile) // FONT_A_WIDTH
    try:
        by_profile = int(profile.get_columns("a"))
    except (KeyError, ValueError, TypeError):
        by_profile = by_paper
    return max(8, min(by_paper, by_profile))


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
