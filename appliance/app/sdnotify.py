"""Tells systemd how the daemon is doing (sd_notify: ready, status, watchdog, stopping).
Pure Python and without dependencies; outside systemd every call is a no-op."""

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)

# Marks "read $NOTIFY_SOCKET", because an explicit None means "disabled".
_FROM_ENVIRON = object()


class SystemdNotifier:
    """Sends notifications to the socket systemd names in $NOTIFY_SOCKET.

    A lost notification must never crash the daemon: send failures are logged
    (once per run of failures) and otherwise ignored.
    """

    def __init__(self, address: str | None | object = _FROM_ENVIRON, environ: Mapping[str, str] = os.environ) -> None:
        self._environ = environ
        if address is _FROM_ENVIRON:
            address = environ.get("NOTIFY_SOCKET")
        self._address = self._socket_address(address)
        self._socket = None
        # The watchdog may be pinged from another thread than the one reporting status.
        self._lock = threading.Lock()
        self._failing = False

    @staticmethod
    def _socket_address(address: str | None) -> str | None:
        if not address:
            return None
        if address.startswith("@"):
            return "\0" + address[1:]  # abstract namespace socket
        if address.startswith("/"):
            return address
        # systemd only ever hands out absolute paths and abstract names.
        log.warning("ignoring NOTIFY_SOCKET=%r: not an absolute path or @name", address)
        return None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *lines: str) -> None:
        """Sends the lines as one datagram, e.g. notify("READY=1", "STATUS=Bereit")."""
        if self._address is None:
            return
        data = "\n".join(lines).encode("utf-8")
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # sendto rather than connect: systemd may re-create the socket
                # (daemon-reexec), and the next datagram should still arrive.
                self._socket.sendto(data, self._address)
            except OSError as exc:
                if not self._failing:
                    log.warning("cannot notify systemd at %r: %s", self._address.replace("\0", "@", 1), exc)
                self._failing = True
                return
            if self._failing:
                log.info("notifying systemd works again")
            self._failing = False

    def ready(self, status: str | None = None) -> None:
        self.notify("READY=1", *self._status_lines(status))

    def status(self, text: str) -> None:
        self.notify(*self._status_lines(text))

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> None:
        self.notify("STOPPING=1", *self._status_lines(status))

    @staticmethod
    def _status_lines(text: str | None) -> tuple[str, ...]:
        if text is None:
            return ()
        # A newline would end the STATUS= assignment and start a bogus one.
        return ("STATUS=" + text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "),)

    def watchdog_interval(self) -> float | None:
        """Seconds within which systemd expects watchdog(), or None if it expects none."""
        usec = self._environ.get("WATCHDOG_USEC")
        pid = self._environ.get("WATCHDOG_PID")
        try:
            if pid is not None and int(pid) != os.getpid():
                return None  # meant for the process that started us, not for us
            usec = int(usec) if usec is not None else 0
        except ValueError:
            log.warning("ignoring malformed WATCHDOG_USEC=%r / WATCHDOG_PID=%r", usec, pid)
            return None
        return usec / 1_000_000 if usec > 0 else None

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None
