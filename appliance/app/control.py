"""The control socket's server: a local Unix socket on which the daemon answers ``status`` and streams views.

The line format is appliance.protocol.control's. Only the same machine can connect, and the socket
file's mode (0660) limits it to the service's user and group. Its resources are bounded: a client
has a few seconds to send its request, and when too many wait, the one waiting longest is closed,
so a flood of idle connections never keeps ``status`` or ``press`` from an answer.
"""

import logging
import os
import socket
import socketserver
import threading
from collections import OrderedDict
from pathlib import Path

from appliance.domain.errors import ApplianceError
from appliance.protocol.control import MAX_REQUEST, decode, encode
from appliance.protocol.tally import Tally

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 3.0  # to send the request line; real clients send it at once
MAX_WAITING = 64  # connections that have not sent their request yet; the oldest goes first
MAX_STREAMS = 16  # subscribed monitors; a device has one or two


class ControlServer:
    """Answers requests from ``handlers``: name -> function(request dict) returning a JSON-able value."""

    def __init__(self, path: Path, handlers: dict, streams: dict | None = None):
        """``streams``: name -> function returning an iterator of JSON-able values to send."""
        self.path = Path(path)
        self._handlers = handlers
        self._streams = streams or {}
        self.subscribers = 0  # monitors connected now: the status shows them
        self._count_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_socket():
            if _answers(self.path):
                raise ApplianceError(
                    f"another entrance-appliance already answers at {self.path}; "
                    "stop it first (systemctl stop entrance-appliance)"
                )
            self.path.unlink()  # left by a previous run that was killed
        server = self

        self._waiting: OrderedDict[int, socket.socket] = OrderedDict()  # by arrival, oldest first
        self._closed = Tally(log, "control socket: closed %d connection(s) that sent no request within %.0f s")

        class Handler(socketserver.StreamRequestHandler):
            timeout = REQUEST_TIMEOUT_S

            def setup(self):
                super().setup()
                server.arrived(self.connection)

            def handle(self):
                try:
                    line = self.rfile.readline(MAX_REQUEST)
                except OSError:  # no request in time, or shut to make room
                    line = b""
                finally:
                    server.requested(self.connection)
                if not line:
                    server.gave_up()
                    return
                try:
                    stream = server.stream_for(line)
                    if stream is not None:
                        self.connection.settimeout(None)  # a monitor listens for as long as it runs
                        server.send_stream(stream, self.wfile)
                        return
                    self.wfile.write(encode(server.answer(line)))
                except OSError as error:
                    # The client hung up first. Left to socketserver, this would print a
                    # multi-line traceback on stderr, outside the journal's one-line format.
                    log.debug("control client left before its answer: %s", error)

        self._server = _Server(str(self.path), Handler)
        os.chmod(self.path, 0o660)
        # A short poll interval: shutdown() waits for it, and SIGTERM should end the daemon promptly.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="control", daemon=True
        )

    def arrived(self, connection: socket.socket) -> None:
        """A new client: when too many wait for their request, the one waiting longest is shut."""
        with self._count_lock:
            self._waiting[id(connection)] = connection
            oldest = next(iter(self._waiting.values())) if len(self._waiting) > MAX_WAITING else None
        if oldest is not None:
            self.requested(oldest)
            _shut(oldest)

    def requested(self, connection: socket.socket) -> None:
        with self._count_lock:
            self._waiting.pop(id(connection), None)

    def gave_up(self) -> None:
        self._closed.count(REQUEST_TIMEOUT_S)

    def stream_for(self, line: bytes):
        try:
            return self._streams.get(decode(line)["request"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def send_stream(self, stream, wfile) -> None:
        with self._count_lock:
            if self.subscribers >= MAX_STREAMS:
                wfile.write(encode({"error": f"already {MAX_STREAMS} monitors connected"}))
                return
            self.subscribers += 1
        items = stream()
        try:
            for item in items:
                wfile.write(encode(item))
                wfile.flush()
        finally:
            items.close()
            with self._count_lock:
                self.subscribers -= 1

    def answer(self, line: bytes) -> dict:
        known = ", ".join(sorted([*self._handlers, *self._streams]))
        try:
            request = decode(line)
            handler = self._handlers[request["request"]]
        except (ValueError, KeyError, TypeError):
            return {"error": f"unknown request; known: {known}"}
        try:
            return {"ok": handler(request)}
        except Exception as error:
            log.exception("control request %r failed", request.get("request"))
            return {"error": str(error)}

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the socket is still served: without it no monitor, CLI or touch reaches the daemon."""
        return self._thread.is_alive()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of clients waits in the kernel instead of being refused


def _shut(connection: socket.socket) -> None:
    """Ends a connection another thread is reading from (close() alone would not wake it)."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
            return True
        except OSError:
            return False
