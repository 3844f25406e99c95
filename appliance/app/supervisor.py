"""Starts the device's components, watches them, and restarts one that fails, with backoff.

A component that raises at start or whose thread dies is reported FAILED with its reason (to the
core and the journal) and started again later; the others run on. Status shows every component.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.domain.backoff import Backoff
from appliance.domain.commands import Health, ReportHealth
from appliance.domain.component import Component, WorkerThread, end_thread, error_line

log = logging.getLogger(__name__)
FIRST_RESTART_S = 1.0
MOST_RESTART_S = 60.0
STABLE_AFTER_S = 60.0  # a component that ran this long starts its backoff afresh after its next failure
CHECK_EVERY_S = 0.5


@dataclass
class _Watched:
    component: Component
    backoff: Backoff
    state: Health = Health.STARTING
    restarts: int = 0
    last_error: str = ""
    started_at: float = 0.0
    restart_at: float | None = field(default=None)


class Supervisor:
    """Owns the components' lifecycle: ``add`` starts one, ``check`` (its own thread, every
    ``check_every_s``) detects failures and restarts when due, ``stop`` stops them all.

    ``monotonic`` and ``backoff`` are injectable, so tests step through restarts without waiting.
    """

    def __init__(
        self,
        core,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        backoff: Callable[[], Backoff] = lambda: Backoff(FIRST_RESTART_S, MOST_RESTART_S),
        stable_after_s: float = STABLE_AFTER_S,
        check_every_s: float = CHECK_EVERY_S,
    ):
        self._core = core
        self._monotonic = monotonic
        self._backoff = backoff
        self._stable_after_s = stable_after_s
        self._check_every_s = check_every_s
        self._watched: dict[str, _Watched] = {}
        self._lock = threading.RLock()  # check() runs on the supervisor's thread, add() and stop() on others
        self._stopping = threading.Event()
        self._thread: WorkerThread | None = None

    def add(self, component: Component) -> None:
        """Starts ``component`` now; one that raises is reported and retried later, never lost."""
        with self._lock:
            if component.name in self._watched:
                raise ValueError(f"two components named {component.name!r}")
            watched = _Watched(component, self._backoff())
            self._watched[component.name] = watched
            self._start(watched)

    def start(self) -> None:
        self._stopping.clear()
        self._thread = WorkerThread(self._watch, "supervisor")
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stops the watching, then every component, the last added first."""
        self._stopping.set()
        if self._thread is not None:
            end_thread(self._thread, 5)
        with self._lock:
            for watched in reversed(list(self._watched.values())):
                self._stop(watched)
                watched.state = Health.STOPPED

    def check(self) -> None:
        """Reports components that died since the last check and restarts those that are due."""
        with self._lock:
            now = self._monotonic()
            for watched in self._watched.values():
                if watched.state is Health.OK:
                    failure = self._failure_of(watched)
                    if failure is not None:
                        if now - watched.started_at >= self._stable_after_s:
                            watched.backoff.reset()
                        self._stop(watched)
                        self._failed(watched, f"stopped running: {failure}")
                elif watched.state is Health.FAILED and watched.restart_at is not None and now >= watched.restart_at:
                    watched.restarts += 1
                    log.info("restarting %s (restart %d)", watched.component.name, watched.restarts)
                    self._start(watched)

    def status(self) -> list[dict]:
        """Every component as the supervisor sees it, for `entrance-appliance status`."""
        with self._lock:
            now = self._monotonic()
            return [
                {
                    "name": name,
                    "state": watched.state.value,
                    "restarts": watched.restarts,
                    "last_error": watched.last_error or None,
                    "restart_in_s": (
                        round(max(0.0, watched.restart_at - now), 1)
                        if watched.state is Health.FAILED and watched.restart_at is not None
                        else None
                    ),
                }
                for name, watched in self._watched.items()
            ]

    def failed(self) -> list[str]:
        """The names of the components that are not running now (waiting for their restart)."""
        with self._lock:
            return [name for name, watched in self._watched.items() if watched.state is Health.FAILED]

    def _watch(self) -> None:
        while not self._stopping.wait(self._check_every_s):
            self.check()

    def _start(self, watched: _Watched) -> None:
        component = watched.component
        # Reported before start(): whatever the component itself reports while starting comes after.
        self._core.submit(ReportHealth(component.name, Health.OK))
        try:
            component.start()
        except Exception as error:  # one broken part must not take check-in or the monitor with it
            self._stop(watched)
            self._failed(watched, f"did not start: {error_line(error)}")
            return
        watched.state, watched.started_at, watched.restart_at = Health.OK, self._monotonic(), None

    def _failed(self, watched: _Watched, reason: str) -> None:
        delay = watched.backoff.next_delay()
        watched.state, watched.last_error = Health.FAILED, reason
        watched.restart_at = self._monotonic() + delay
        name = watched.component.name
        log.error("%s %s; restarting in %.0f s", name, reason, delay)
        self._core.submit(ReportHealth(name, Health.FAILED, f"{reason}; restarting in {delay:.0f} s"))

    @staticmethod
    def _failure_of(watched: _Watched) -> str | None:
        try:
            return watched.component.failure()
        except Exception as error:
            return f"its failure() raised {error_line(error)}"

    @staticmethod
    def _stop(watched: _Watched) -> None:
        try:
            watched.component.stop()
        except Exception:
            log.exception("stopping %s failed", watched.component.name)
