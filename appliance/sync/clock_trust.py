"""When the wall clock counts as right: systemd's time sync says so, or the backend's clock agrees.

A Pi has no real-time clock and may boot in 1970 or in last week; until one of the two signals
comes (again, after the core saw the clock jump), nothing day-bound is issued. Each heartbeat's
server_time is also a measurement: an offset of more than [backend] clock_warning is reported.
"""

import logging
import threading
from datetime import datetime
from pathlib import Path

from appliance.domain.commands import NoteClockOffset, SetClockTrusted
from appliance.domain.component import ComponentName, WorkerThread, end_thread

log = logging.getLogger(__name__)

# systemd-timesyncd touches it on each synchronisation since boot (systemd >= 239).
TIMESYNC_FILE = Path("/run/systemd/timesync/synchronized")
WAITING = "waiting for time sync (systemd-timesyncd) or the backend's clock"
ADVICE = "enable systemd-timesyncd / NTP"


def time_synchronized(path: Path = TIMESYNC_FILE) -> bool:
    """Whether systemd's time sync has set the clock since boot: the daemon's initial trust."""
    return path.exists()


def _sync_mark(path: Path) -> int | None:
    """When time sync last touched its file (None: not since boot): a new mark is a new confirmation."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _within(offset_s: float, limit_s: float, round_trip_s: float, resolution_s: float) -> bool:
    """Whether a measured offset may be within ``limit_s``: the server's time was written somewhere in
    the round trip, and its reading drops what is below its resolution."""
    return -limit_s - round_trip_s <= offset_s <= limit_s + resolution_s + round_trip_s


class ClockTrust:
    """Gives the core its clock's trust when a signal comes, and says how far the backend's clock is off.

    The core owns the trust: it withdraws it itself when it sees the wall clock jump."""

    name = ComponentName.CLOCK

    def __init__(
        self,
        core,
        clock,
        tolerance_s: float,
        trusted: bool,
        synchronized_file: Path = TIMESYNC_FILE,
        check_every_s: float = 2.0,
        warning_s: float = 5.0,
    ):
        self._core, self._clock = core, clock
        self.tolerance_s, self.warning_s = tolerance_s, warning_s
        self._file, self._check_every = Path(synchronized_file), check_every_s
        # A sync that was already there when the clock was trusted confirms nothing new after a jump.
        self._mark_used = _sync_mark(self._file) if trusted else None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: WorkerThread | None = None
        self._started = False
        self._offset: tuple[str, float] | None = None  # (how far off, the offset noted), None: agrees

    @property
    def trusted(self) -> bool:
        return self._core.clock_trusted

    def start(self) -> None:
        if not self._started and not self.trusted:
            self._core.submit(SetClockTrusted(False, WAITING))
        self._started = True
        self._stop.clear()
        self._thread = WorkerThread(self._watch_file, "clock-trust")
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            end_thread(self._thread, timeout)

    def failure(self) -> str | None:
        return self._thread.failure if self._thread is not None else None

    def observe_server_date(self, server_date: datetime | None, round_trip_s: float) -> None:
        """An answer's Date header (whole seconds) read just now, ``round_trip_s`` after asking: enough to
        confirm an unconfirmed clock."""
        if server_date is not None and not self.trusted:
            offset = (self._clock.now() - server_date).total_seconds()
            if _within(offset, self.tolerance_s, round_trip_s, resolution_s=1.0):
                self._trust(f"the backend's clock agrees within {abs(offset):.0f} s")

    def observe_server_time(self, server_time: datetime, round_trip_s: float) -> None:
        """The heartbeat's server_time (to the millisecond, the backend's own clock) read just now: it
        confirms an unconfirmed clock too, and measures how far off ours is."""
        offset = (self._clock.now() - server_time).total_seconds()

        def within(limit: float) -> bool:
            return _within(offset, limit, round_trip_s, resolution_s=0.001)

        if within(self.tolerance_s) and not self.trusted:
            self._trust(f"the backend's clock agrees within {abs(offset):.1f} s")
        if not within(self.tolerance_s):
            self._note(("tolerance", offset))
        elif not within(self.warning_s):
            self._note(("warning", offset))
        elif self._offset is None or within(self.warning_s / 2):
            # Cleared at half the warning only, so an offset near it does not flap (each change is an event).
            self._note(None)

    def _note(self, offset: tuple[str, float] | None) -> None:
        with self._lock:
            known = self._offset
            if offset is None and known is None:
                return
            # The offset said stays until it moves by more than the warning and half itself: each
            # new detail is an event to send, and a clock running away must not flood the outbox.
            moved = abs(offset[1] - known[1]) if offset and known else 0.0
            if offset and known and offset[0] == known[0] and moved <= max(self.warning_s, abs(known[1]) / 2):
                return
            self._offset = offset
        if offset is None:
            log.info("the clock agrees with the backend's again")
            self._core.submit(NoteClockOffset(""))
            return
        kind, seconds = offset
        allowed = (
            f"the {self.warning_s:g} s of [backend] clock_warning"
            if kind == "warning"
            else f"the {self.tolerance_s:g} s allowed by [backend] clock_tolerance"
        )
        detail = f"the clock is {seconds:+.0f} s off the backend's (more than {allowed}): {ADVICE}"
        log.warning("%s", detail)
        self._core.submit(NoteClockOffset(detail))

    def _watch_file(self) -> None:
        while not self._stop.wait(self._check_every):
            if self.trusted:
                continue
            mark = _sync_mark(self._file)
            if mark is not None and mark != self._mark_used:
                self._mark_used = mark
                self._trust("systemd's time sync says the clock is synchronised")

    def _trust(self, why: str) -> None:
        log.info("clock trusted: %s", why)
        self._core.submit(SetClockTrusted(True, why))
