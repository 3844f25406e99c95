"""systemd's watchdog, fed only while the core loop runs, and the daemon's once-a-second look at the
core, the supervisor and the control socket: a blocked loop is logged, a dead one ends the daemon."""

import logging
import time

from appliance.app.sdnotify import SystemdNotifier
from appliance.app.status import DeviceStatus

log = logging.getLogger(__name__)
BLOCKED_AFTER_S = 5.0  # a core loop silent this long is reported (its tick is 1 s)


class Watchdog:
    def __init__(self, notifier: SystemdNotifier, monotonic=time.monotonic):
        self._notifier, self._monotonic = notifier, monotonic
        self._interval = notifier.watchdog_interval()
        self._last_ping = 0.0
        self._reported_block = False
        self._last_status = ""

    def feed(self) -> None:
        """Called by the core's loop: only a loop that runs keeps systemd from restarting us."""
        if self._interval is None:
            return
        now = self._monotonic()
        if now - self._last_ping >= self._interval / 2:
            self._last_ping = now
            self._notifier.watchdog()

    def check(self, core, supervisor, status: DeviceStatus, control=None) -> bool:
        """One look (run_daemon's loop, every second); False when the daemon must exit so that
        systemd restarts it. Sends systemd the status line when it changed."""
        silent = status.core_silent_for()
        if silent > BLOCKED_AFTER_S and not self._reported_block:
            log.warning("core loop blocked for %.0f s: the watchdog will restart the daemon if it stays so", silent)
        self._reported_block = silent > BLOCKED_AFTER_S
        if not core.running:
            log.error("the core thread has ended; exiting so systemd restarts the daemon")
            return False
        if not supervisor.running:
            log.error(
                "the supervisor has ended, so no component would be restarted; exiting so systemd restarts the daemon"
            )
            return False
        if control is not None and not control.running:
            log.error("the control socket is no longer served (monitors, status, touch); exiting so systemd restarts")
            return False
        summary = status.summary()
        if summary != self._last_status:
            self._notifier.status(summary)
            self._last_status = summary
        return True
