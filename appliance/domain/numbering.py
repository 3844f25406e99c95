"""Ticket numbering rules: which numbers a device may issue, and how a number is written.

Several kiosks share an office, so each takes its own contiguous block of every concern's range
(kiosk 1 of 3 issues A1–A333, kiosk 2 A334–A666 ...): no two kiosks can ever issue the same number.
"""


def number_block(first: int, last: int, series: int, series_count: int) -> tuple[int, int]:
    """The numbers ``first..last`` split into ``series_count`` blocks; block ``series`` (1-based)."""
    if not 1 <= series <= series_count:
        raise ValueError(f"series {series} is not within 1..{series_count}")
    size = (last - first + 1) // series_count
    if size < 1:
        raise ValueError(f"the range {first}-{last} is too small for {series_count} series")
    low = first + (series - 1) * size
    high = last if series == series_count else low + size - 1
    return low, high


def display_code(prefix: str, number: int, last: int) -> str:
    """'A042': zero-padded to the width of the concern's largest number, so codes line up."""
    return f"{prefix}{number:0{len(str(last))}d}"


def next_number(highest_issued: int | None, low: int, high: int) -> int | None:
    """The next number to issue in ``low..high`` after ``highest_issued``; None when used up.

    Numbers only ever go up within a day: a voided or skipped number is never issued again.
    """
    candidate = low if highest_issued is None else max(highest_issued + 1, low)
    return candidate if candidate <= high else None
