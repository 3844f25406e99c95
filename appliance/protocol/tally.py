"""A repeated event logged once a minute with its count, not once each: a flood of bad clients must
not flood the journal (one line per closed connection filled a Pi's journal in seconds)."""

import logging
import threading
import time

EVERY_S = 60.0


class Tally:
    """Counts an event; logs ``message % (count, *args)`` as a warning at most once per ``every_s``."""

    def __init__(self, log: logging.Logger, message: str, every_s: float = EVERY_S):
        self._log, self._message, self._every_s = log, message, every_s
        self._lock = threading.Lock()
        self._count, self._logged_at = 0, float("-inf")

    def count(self, *args) -> None:
        with self._lock:
            self._count += 1
            now = time.monotonic()
            if now - self._logged_at < self._every_s:
                return
            count, self._count, self._logged_at = self._count, 0, now
        self._log.warning(self._message, count, *args)
