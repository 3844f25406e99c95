"""Ticket numbering rules: which numbers the office draws, which a kiosk may issue on its own, and how
a number is written.

Each concern's range ends in fallback blocks (block 1 the highest numbers): the backend draws the
office's numbers below them and hands each kiosk one block for when it does not answer in time, so
no two kiosks can ever issue the same number. A device without a backend numbers the whole range.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class OfficeNumber:
    """A number the office drew for one ticket; ``key`` is also the key of its ticket_issued event."""

    key: str
    number: int


@dataclass(frozen=True)
class FallbackLease:
    """The fallback block the backend handed this device: ``slot`` of ``blocks`` blocks of ``size``."""

    slot: int
    blocks: int
    size: int


def office_range(first: int, last: int, blocks: int, size: int) -> tuple[int, int]:
    """The numbers the office draws: ``first`` up to just below the fallback blocks."""
    return first, last - blocks * size


def fallback_block(first: int, last: int, slot: int, size: int) -> tuple[int, int]:
    """Block ``slot`` (1-based, 1 the highest) of ``size`` numbers at the top of ``first..last``."""
    high = last - (slot - 1) * size
    return max(first, high - size + 1), high


def blocks_leave_office_numbers(first: int, last: int, blocks: int, size: int) -> bool:
    """Whether ``blocks`` fallback blocks of ``size`` leave the office at least one number of ``first..last``."""
    low, high = office_range(first, last, blocks, size)
    return high >= low


def display_code(prefix: str, number: int, last: int) -> str:
    """'A042': zero-padded to the width of the concern's largest number, so codes line up."""
    return f"{prefix}{number:0{len(str(last))}d}"


def next_number(highest_issued: int | None, low: int, high: int) -> int | None:
    """The next number to issue in ``low..high`` after ``highest_issued``; None when used up.

    Numbers only ever go up within a day: a voided or skipped number is never issued again.
    """
    candidate = low if highest_issued is None else max(highest_issued + 1, low)
    return candidate if candidate <= high else None
