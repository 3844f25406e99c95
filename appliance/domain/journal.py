"""Logging for journald: one line per event on stderr, with a syslog priority prefix.

journald reads the ``<N>`` prefix and keeps each line's level; no timestamps, journald adds them.
Nothing logged may identify a person: callers log ticket codes and short hashes, never payloads.
The hashes are keyed with the device's own secret, so a booking reference cannot be found from its
hash by trying every possible one.
"""

import hashlib
import hmac
import logging
import os
import sys
from pathlib import Path

from appliance.domain.errors import StateError

KEY_BYTES = 32
_key = os.urandom(KEY_BYTES)  # until the daemon gives the device's key: lines still match within a run

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
    return hmac.new(_key, data, hashlib.sha256).hexdigest()[:10]


def use_hash_key(path: Path) -> None:
    """Keys short_hash with the device's secret in ``path`` (made on first use, readable by the service
    only), so the same payload has the same hash across restarts of this device and on no other."""
    global _key
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) == KEY_BYTES:
            _key = key
            return
        problem = f"the log key is {len(key)} bytes, not {KEY_BYTES}; remove it to make a new one"
        raise StateError(f"{path}: {problem}") from None
    key = os.urandom(KEY_BYTES)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
        file.flush()
        os.fsync(file.fileno())
    _key = key
