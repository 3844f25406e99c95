"""Serving our ASGI apps with uvicorn: in the foreground (a command) or in a background thread.

The background form binds its socket first, so a caller can ask for port 0 and learn the port;
the reference backend's tests and demo use it, and so can the device's push endpoint.
Connections are bounded: a client has REQUEST_DEADLINE_S to send its whole request, and when too many
are still sending, the one that started first is closed, so slow or idle clients never use up the
process's descriptors (uvicorn itself has no such deadline, and its concurrency limit counts only
after a request arrived).
"""

import asyncio
import logging
import resource
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from appliance.protocol.tally import Tally

log = logging.getLogger(__name__)

REQUEST_DEADLINE_S = 10.0  # to send a request's headers and body, from connecting or the last answer
MAX_RECEIVING = 128  # connections still sending their request; far below any descriptor limit


def server_config(app, limit_concurrency: int | None = None, **options) -> uvicorn.Config:
    """uvicorn's settings for our apps; ``limit_concurrency``: requests at once (long polls count),
    beyond which uvicorn answers 503 (at most, and by default, what the descriptor limit allows);
    ``options`` are uvicorn.Config's (host, port, log_config ...)."""
    budget = connection_budget()
    return uvicorn.Config(
        app,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=3,
        limit_concurrency=min(limit_concurrency or budget, budget),
        http=BoundedH11Protocol,
        **options,
    )


def connection_budget(most_files: int = 65536) -> int:
    """Raises this process's soft descriptor limit to its hard one (systemd's default soft limit is
    1024, its hard one far higher) and returns how many requests may be open at once: half of it,
    the rest left for connections still sending, the database, logs and outgoing calls."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = most_files if hard == resource.RLIM_INFINITY else min(hard, most_files)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return max(16, soft // 2 - MAX_RECEIVING)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for receiving each request and a bound on how many
    connections may be receiving at once (the oldest is closed to make room)."""

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._receiving()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._received()  # the whole request is in (or the connection is over)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._receiving()  # a kept-alive connection may send its next request

    def connection_lost(self, exc: Exception | None) -> None:
        self._received()
        super().connection_lost(exc)

    def _receiving(self) -> None:
        self._received()
        self._deadline = self.loop.call_later(REQUEST_DEADLINE_S, self._too_slow)
        waiting = _receiving_of(self.server_state)
        waiting[id(self)] = self
        if len(waiting) > MAX_RECEIVING:
            next(iter(waiting.values()))._too_slow()

    def _received(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        _receiving_of(self.server_state).pop(id(self), None)

    def _too_slow(self) -> None:
        self._received()
        _closed.count(REQUEST_DEADLINE_S)
        self.transport.abort()  # frees the descriptor now, however much the client left unsent


def _receiving_of(server_state) -> OrderedDict:
    """The server's connections still sending a request, oldest first (kept on uvicorn's shared state)."""
    if not hasattr(server_state, "receiving"):
        server_state.receiving = OrderedDict()
    return server_state.receiving


CLOSED_SLOW_CLIENTS = "closed %d HTTP connection(s) that did not send a request within %.0f s"
_closed = Tally(log, CLOSED_SLOW_CLIENTS)  # one journal line a minute, for the whole process


class Server(uvicorn.Server):
    """uvicorn, calling ``on_stop`` as soon as a stop is asked for (e.g. to answer waiting long polls,
    which would otherwise hold the graceful shutdown for up to their whole wait)."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None] | None = None):
        super().__init__(config)
        self._on_stop = on_stop

    def handle_exit(self, sig, frame) -> None:  # SIGTERM, SIGINT
        self._stopping()
        super().handle_exit(sig, frame)

    def request_stop(self) -> None:
        """Stop from any thread."""
        self._stopping()
        self.should_exit = True

    def _stopping(self) -> None:
        if self._on_stop is not None:
            self._on_stop()


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread; ``port=0`` takes a free port (see ``url``)."""

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        on_stop: Callable[[], None] | None = None,
        limit_concurrency: int | None = None,
        tls: tuple[str, str] | None = None,
        date_header: bool = True,
    ):
        """``tls``: (certificate file, key file): HTTPS only; ``date_header``: uvicorn's Date (from the
        real clock), off where the app sends its own."""
        self._socket = socket.create_server((host, port))
        # Accepted connections inherit it: asyncio sets it only on sockets made with proto IPPROTO_TCP, and
        # without it each answer's body waits for the client's delayed ACK of its headers (40 ms).
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.host, self.port = host, self._socket.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        options = {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}
        config = server_config(
            app, limit_concurrency, log_config=None, access_log=False, date_header=date_header, **options
        )
        self._server = Server(config, on_stop)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"http-{self.port}", daemon=True
        )

    def start(self, timeout: float = 10) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise RuntimeError(f"the HTTP server on {self.url} did not start")
            time.sleep(0.01)
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10) -> None:
        self._server.request_stop()
        self._thread.join(timeout)
        self._socket.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
