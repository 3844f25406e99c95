"""The monitor's line to the daemon: subscribe on the control socket, hand on each view as it comes.

Runs on its own thread and never gives up: when the daemon goes away it reconnects with backoff.
"""

import json
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from appliance.display.view import parse_view
from appliance.domain.backoff import Backoff
from appliance.protocol.control import Request, connect, encode

log = logging.getLogger(__name__)

SUBSCRIBE = encode({"request": Request.SUBSCRIBE})
# The daemon sends a line at least every 5 s; three missed keep-alives mean it hangs.
SILENCE_S = 15.0
BACKOFF_S = (0.2, 5.0)
MAX_LINE = 4 * 1024 * 1024


class ViewFeed:
    """Calls ``deliver("view", MonitorView)`` per line and ``deliver("connected", bool)`` on changes."""

    def __init__(
        self,
        path: Path,
        deliver: Callable[[str, object], None],
        *,
        silence_s: float = SILENCE_S,
        backoff_s: tuple[float, float] = BACKOFF_S,
    ):
        self.path = Path(path)
        self._deliver = deliver
        self._silence_s = silence_s
        self._backoff_s = backoff_s
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="view-feed", daemon=True)

    def start(self) -> "ViewFeed":
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked recv at once
            except OSError:
                pass
        self._thread.join(timeout)

    def _run(self) -> None:
        backoff = Backoff(*self._backoff_s)
        complained = False
        while not self._stop.is_set():
            connected = False
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    self._socket = sock
                    sock.settimeout(3.0)
                    connect(sock, self.path, 3.0)
                    sock.sendall(SUBSCRIBE)
                    sock.settimeout(self._silence_s)
                    for line in _lines(sock):
                        payload = _payload(line)
                        if payload is None:
                            continue
                        if not connected:
                            connected, complained = True, False
                            backoff.reset()
                            log.info("subscribed to the daemon at %s", self.path)
                            self._deliver("connected", True)
                        self._deliver("view", parse_view(payload))
                        if self._stop.is_set():
                            break
            except TimeoutError:
                log.warning("the daemon at %s sent nothing for %.0f s; reconnecting", self.path, self._silence_s)
            except _Refused as refusal:
                if not complained:
                    log.warning("the daemon at %s refused the subscription (%s); retrying", self.path, refusal)
                    complained = True
            except OSError as error:
                if not complained and not self._stop.is_set():
                    # Once per outage: a monitor waiting for its daemon must not fill the journal.
                    log.warning(
                        "no daemon answers at %s (%s); retrying until one does", self.path, error.strerror or error
                    )
                    complained = True
            finally:
                self._socket = None
            if connected:
                self._deliver("connected", False)
                if not self._stop.is_set():
                    log.warning("lost the daemon at %s; reconnecting", self.path)
            if self._stop.wait(backoff.next_delay()):
                break


class _Refused(Exception):
    """The daemon answered with an error instead of views (an older daemon without subscribe)."""


def _lines(sock: socket.socket):
    buffer = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line
        if len(buffer) > MAX_LINE:
            raise OSError(f"a line longer than {MAX_LINE} bytes")


def _payload(line: bytes):
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except ValueError:
        log.warning("the daemon sent a line that is not JSON; it is skipped")
        return None
    if isinstance(data, dict) and set(data) == {"error"}:
        raise _Refused(str(data["error"])[:200])
    # The status request answers {"ok": ...}; accept a view wrapped the same way.
    if isinstance(data, dict) and set(data) == {"ok"} and isinstance(data["ok"], dict):
        return data["ok"]
    return data
