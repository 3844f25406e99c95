"""When the wall clock counts as right: systemd's time sync says so, or the backend's clock agrees.

A Pi has no real-time clock and may boot in 1970 or in last week; until one of the two signals
comes, the core issues no day-bound number or check-in, and the clock's health says why.
"""

import logging
import threading
from datetime import datetime
from pathlib import Path

from appliance.domain.commands import SetClockTrusted
from appliance.domain.component import ComponentName, WorkerThread

log = logging.getLogger(__name__)

# systemd-timesyncd creates it once the clock was synchronised since boot (systemd >= 239).
TIMESYNC_FILE = Path("/run/systemd/timesync/synchronized")
WAITING = "waiting for time sync (systemd-timesyncd) or the backend's clock"


def time_synchronized(path: Path = TIMESYNC_FILE) -> bool:
    """Whether systemd's time sync has set the clock since boot: the daemon's initial trust."""
    return path.exists()


class ClockTrust:
    """Watches for the signals while the clock is not trusted and tells the core once one comes."""

    name = ComponentName.CLOCK

    def __init__(
        self,
        core,
        clock,
        tolerance_s: float,
        trusted: bool,
        synchronized_file: Path = TIMESYNC_FILE,
        check_every_s: float = 2.0,
    ):
        self._core, self._clock = core, clock
        self.tolerance_s = tolerance_s
        self._file, self._check_every = Path(synchronized_file), check_every_s
        self._trusted = trusted
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: WorkerThread | None = None
        self.reason = "" if trusted else WAITING

    @property
    def trusted(self) -> bool:
        return self._trusted

    def start(self) -> None:
        if not self._trusted:
            self._core.submit(SetClockTrusted(False, self.reason))
            self._stop.clear()
            self._thread = WorkerThread(self._watch_file, "clock-trust")
            self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def failure(self) -> str | None:
        return self._thread.failure if self._thread is not None else None

    def observe_server_date(self, server_date: datetime | None, round_trip_s: float) -> None:
        """An answer's Date header (whole seconds) read just now, ``round_trip_s`` after asking."""
        if server_date is None or self._trusted:
            return
        offset = (self._clock.now() - server_date).total_seconds()
        # The header drops the fraction of its second and was written somewhere in the round trip.
        if -self.tolerance_s - round_trip_s <= offset <= self.tolerance_s + 1 + round_trip_s:
            self._trust(f"the backend's clock agrees within {abs(offset):.0f} s")
        else:
            self._distrust(
                f"the clock is {offset:+.0f} s off the backend's (more than the {self.tolerance_s:g} s "
                "allowed by [backend] clock_tolerance): waiting for time sync"
            )

    def _watch_file(self) -> None:
        while not self._trusted and not self._stop.wait(self._check_every):
            if time_synchronized(self._file):
                self._trust("systemd's time sync says the clock is synchronised")

    def _trust(self, why: str) -> None:
        with self._lock:
            if self._trusted:
                return
            self._trusted, self.reason = True, ""
        log.info("clock trusted: %s", why)
        self._core.submit(SetClockTrusted(True, why))

    def _distrust(self, why: str) -> None:
        with self._lock:
            # Said once: every answer would give another offset, and each change is an event to send.
            if self._trusted or self.reason != WAITING:
                return
            self.reason = why
        self._core.submit(SetClockTrusted(False, why))
