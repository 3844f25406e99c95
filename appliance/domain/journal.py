"""Logging for journald: one line per event on stderr, with a syslog priority prefix.

journald reads the ``<N>`` prefix and keeps each line's level; no timestamps, journald adds them.
Nothing logged may identify a person: callers log ticket codes and short hashes, never payloads.
"""

import hashlib
import logging
import sys

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        # One event, one line: a traceback's lines are joined so journald keeps them together.
        return f"<{priority}>{record.name}: " + text.replace("\n", " | ")


def configure_logging(level: str = "info", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JournalFormatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def short_hash(payload: str | bytes) -> str:
    """What the logs say instead of a scanned payload: enough to match two lines, nothing more."""
    data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else payload
    return hashlib.sha256(data).hexdigest()[:10]
