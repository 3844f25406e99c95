"""Serving our ASGI apps with uvicorn: in the foreground (a command) or in a background thread.

The background form binds its socket first, so a caller can ask for port 0 and learn the port;
the reference backend's tests and demo use it, and so can the device's push endpoint.
"""

import socket
import threading
import time
from collections.abc import Callable

import uvicorn


def server_config(app, limit_concurrency: int = 1000, **options) -> uvicorn.Config:
    """uvicorn's settings for our apps; ``options`` are uvicorn.Config's (host, port, log_config ...).
    Beyond ``limit_concurrency`` connections at once, a request is answered 503."""
    return uvicorn.Config(
        app,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=3,
        limit_concurrency=limit_concurrency,
        **options,
    )


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

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, on_stop: Callable[[], None] | None = None):
        self._socket = socket.create_server((host, port))
        self.host, self.port = host, self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._server = Server(server_config(app, log_config=None, access_log=False), on_stop)
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
