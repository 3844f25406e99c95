"""What every code reader shares (evdev and serial scanners, cameras): one worker thread, the
``on_code``/``on_health`` callbacks, and logs that name a code by its hash. No hardware library here.
"""

import logging
import threading
from collections.abc import Callable

from appliance.domain.component import WorkerThread, end_thread
from appliance.domain.journal import short_hash

OnCode = Callable[[str, str], None]
"""``on_code(text, source)``: a finished code and which reader saw it (e.g. "scanner by-id/…")."""
OnHealth = Callable[[str, str], None]
"""``on_health(state, detail)``: state "ok" or "failed"; detail names device and cause, no payload."""

OK = "ok"
FAILED = "failed"


class CodeReader:
    """What every code reader shares: one worker thread, the two callbacks, health reported on
    changes only, and logs that name a code by its short hash, never by its text.

    Subclasses implement ``_run`` (ending soon after ``_stop`` is set) and, when their thread
    can block in a read, ``_wake`` to interrupt it.
    """

    def __init__(self, label: str, on_code: OnCode, on_health: OnHealth, logger: logging.Logger):
        self.label = label
        """What ``on_code`` gets as its source, and what the log lines start with."""
        self._on_code = on_code
        self._on_health = on_health
        self._log = logger
        self._stop = threading.Event()
        self._thread: WorkerThread | None = None
        self._health: tuple[str, str] | None = None
        self.codes_read = 0

    @property
    def name(self) -> str:
        """The reader as a component: its health is reported under its label."""
        return self.label

    def start(self) -> None:
        """Starts the worker; after stop() (or the worker's death) it starts afresh."""
        self._stop.clear()
        self._health = None  # a restarted reader reports its health again
        self._thread = WorkerThread(self._run, self.label)
        self._thread.start()

    def failure(self) -> str | None:
        return self._thread.failure if self._thread is not None else None

    def stop(self, timeout: float = 2.0) -> bool:
        """Stops the worker; False when it did not end within ``timeout`` (it is a daemon)."""
        self._stop.set()
        self._wake()
        return self._thread is None or end_thread(self._thread, timeout)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def health(self) -> tuple[str, str] | None:
        """The last (state, detail) reported; None before the first attempt to open."""
        return self._health

    def _run(self) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        """Interrupts a read the worker may be blocked in."""

    def _deliver(self, code: str) -> None:
        self.codes_read += 1
        self._log.info("%s: code %s (%d characters)", self.label, short_hash(code), len(code))
        try:
            self._on_code(code, self.label)
        except Exception as exc:  # the reader goes on; no traceback, its message might quote the code
            self._log.error("%s: on_code failed for code %s: %s", self.label, short_hash(code), type(exc).__name__)

    def _report(self, state: str, detail: str) -> None:
        if self._health == (state, detail):
            return
        self._health = (state, detail)
        (self._log.info if state == OK else self._log.warning)("%s: %s: %s", self.label, state, detail)
        try:
            self._on_health(state, detail)
        except Exception:
            self._log.exception("%s: on_health failed", self.label)
