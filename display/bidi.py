"""Right-to-left lines (Arabic, Farsi) for SDL_ttf, which shapes with HarfBuzz but does not reorder:
a line is cut into runs of one direction each, in the order they stand on screen from right to left.

The Unicode bidi algorithm's rules for one line of a right-to-left paragraph without explicit embeddings
(W7, N1, N2, L2), so the screen orders a line as FriBiDi orders it on paper: Latin words and numbers
(ticket codes, "QR") read left to right inside it, and "10–20" stands as Arabic readers expect it.
"""

import unicodedata


def is_right_to_left(text: str) -> bool:
    """Whether the line's first strong character is right to left (its paragraph direction)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def runs_right_to_left(text: str) -> list[tuple[str, bool]]:
    """``text`` (a right-to-left line) as (run, right_to_left) pairs, the rightmost run first; each run is in
    logical order, to be shaped in its own direction."""
    kinds: list[str | None] = []  # "R", "L", "N" (a number) or None (neutral)
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "NSM":  # a combining mark goes with the letter before it
            kinds.append(kinds[-1] if kinds else "R")
        elif kind in ("R", "AL"):
            kinds.append("R")
        elif kind == "L":
            kinds.append("L")
        elif kind in ("EN", "AN"):
            kinds.append("N")
        else:
            kinds.append(None)
    strong = "R"  # W7: a European number after a Latin letter is part of the Latin text
    for index, kind in enumerate(kinds):
        if kind in ("R", "L"):
            strong = kind
        elif kind == "N" and strong == "L":
            kinds[index] = "L"
    resolved: list[bool] = []
    for index, kind in enumerate(kinds):
        if kind is None:  # N1, N2: a neutral between two Latin letters is Latin; anything else follows the line
            before = next((k for k in reversed(kinds[:index]) if k is not None), "R")
            after = next((k for k in kinds[index + 1 :] if k is not None), "R")
            resolved.append(not (before == "L" and after == "L"))
        else:
            resolved.append(kind == "R")
    runs: list[tuple[str, bool]] = []
    for char, right_to_left in zip(text, resolved):
        if runs and runs[-1][1] == right_to_left:
            runs[-1] = (runs[-1][0] + char, right_to_left)
        else:
            runs.append((char, right_to_left))
    return runs
