"""A stand-in for the daemon's SystemdNotifier where a test runs the daemon's parts in its own process: it
counts the watchdog pings and takes the rest."""


class CountingNotifier:
    """Counts watchdog pings; ``interval_s`` is the watchdog interval systemd would give (None: no watchdog)."""

    def __init__(self, interval_s: float | None = 0.1):
        self.interval_s, self.pings = interval_s, 0

    def watchdog_interval(self) -> float | None:
        return self.interval_s

    def watchdog(self) -> None:
        self.pings += 1

    def ready(self, status: str) -> None:
        pass

    def status(self, status: str) -> None:
        pass

    def stopping(self, status: str) -> None:
        pass
