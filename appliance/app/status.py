"""What `entrance-appliance status` and systemd's status line say about the running daemon.

No personal data: codes, counts and component health only. appliance.app.status_text prints it.
"""

import time
from collections.abc import Callable

from appliance import __version__


class DeviceStatus:
    def __init__(self, config, core, store, supervisor, subscribers: Callable[[], int]):
        """``subscribers()``: how many monitors are connected to the control socket now."""
        self._config = config
        self._core = core
        self._store = store
        self._supervisor = supervisor
        self._subscribers = subscribers
        self._started_at = time.monotonic()

    def core_silent_for(self) -> float:
        return time.monotonic() - self._core.last_alive

    def summary(self) -> str:
        snapshot = self._core.snapshot
        degraded = ", ".join(f"{c.name} {c.state.value}" for c in snapshot.degraded)
        return f"{snapshot.waiting_count()} waiting, {sum(n for _, n in snapshot.issued_today)} tickets today" + (
            f"; degraded: {degraded}" if degraded else ""
        )

    def status(self) -> dict:
        """Everything `entrance-appliance status` shows."""
        database = self._config.state.database
        return {
            "version": __version__,
            "device": self._config.device.id,
            "site": self._config.device.site,
            "roles": list(self._config.device.roles),
            "uptime_s": round(time.monotonic() - self._started_at, 1),
            "core_loop_silent_s": round(self.core_silent_for(), 2),
            "monitors_connected": self._subscribers(),
            "supervised": self._supervisor.status(),
            "state": {
                "path": str(database),
                "bytes": database.stat().st_size if database.exists() else 0,
                "schema": self._store.schema_version,
            },
            "snapshot": self._core.snapshot.to_json(),
        }
