"""'Did you mean …?' for misspelt sections, keys and choices."""

import difflib


def closest(word: str, candidates) -> str | None:
    """The candidate most like ``word``, or None when none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, candidates) -> str:
    """A ready-to-append suggestion, or '' when nothing is close."""
    match = closest(word, candidates)
    return f". Did you mean '{match}'?" if match else ""
