"""What a part of the device is to the supervisor: a name, start, stop, and why it stopped running.

The names every part reports its health under are declared here, once; drivers and sync implement
``Component``, and the wiring's supervisor starts, watches and restarts them.
"""

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

log = logging.getLogger(__name__)


class ComponentName(StrEnum):
    """The health names of the device's parts (status, the backend's view); code readers are named
    by their own label."""

    CORE = "core"
    CLOCK = "clock"
    PRINTER = "printer"
    BUTTONS = "buttons"
    BACKEND = "backend"
    PUSH = "push"
    NUMBERING = "numbering"


class Component(Protocol):
    """A part that runs on threads of its own: started, watched and restarted by the supervisor.

    ``start()`` returns None once it runs and raises when it cannot; after ``stop()`` it may be
    started again (that is a restart). It reports its own health under ``name`` (ReportHealth);
    ``failure()`` says why its work ended unexpectedly (its thread died), None while it runs.
    """

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def failure(self) -> str | None: ...


class WorkerThread(threading.Thread):
    """A component's thread that keeps the exception that ended it, so that the supervisor can
    report it and restart the component, instead of the thread vanishing with a traceback on stderr."""

    def __init__(self, target: Callable[[], None], name: str):
        super().__init__(name=name, daemon=True)
        self._work = target
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self._work()
        except Exception as error:
            self.error = error
            log.exception("thread %s ended by an error", self.name)

    @property
    def failure(self) -> str | None:
        """Why the thread ended, as one line; None while it runs or when it ended by itself."""
        if self.error is None or self.is_alive():
            return None
        return error_line(self.error)


def end_thread(thread: threading.Thread, timeout_s: float) -> bool:
    """Waits up to ``timeout_s`` for ``thread`` to end; False, with a warning naming the lines it is stuck
    at, when it has not: a stop that hangs says where, in the journal, instead of leaving a technician (or
    systemd's stop timeout) a silent process."""
    thread.join(timeout_s)
    if not thread.is_alive():
        return True
    frame = sys._current_frames().get(thread.ident)
    where = "".join(traceback.format_stack(frame, limit=6)).rstrip() if frame is not None else "  (not known)"
    log.warning("thread %s did not end within %g s; it is at:\n%s", thread.name, timeout_s, where)
    return False


def error_line(error: Exception) -> str:
    """An exception as the one line status and the journal show: its type, and its message if any."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
