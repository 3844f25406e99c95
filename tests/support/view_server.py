"""A stand-in for the daemon's control socket: serves view lines, takes the kiosk's presses.

For the monitor's tests and benchmark, and for trying a monitor on a desk without a daemon.
"""

import json
import socket
import threading
from pathlib import Path

from support import ANSWER_S


class ViewServer:
    """Answers ``{"request": "subscribe"}`` with the current view, then every published one.

    Other requests are recorded in ``requests`` and answered from ``answers`` (name -> the "ok"
    value, or a function of the request returning it; raising ValueError answers an error), as
    the daemon answers ``{"request": "press", "concern": ...}`` with ``{"ok": "pressed"}``.
    """

    def __init__(self, path: Path, view: dict | None = None, *, keepalive_s: float = 5.0, answers: dict | None = None):
        self.path = Path(path)
        self.view = view
        self.keepalive_s = keepalive_s
        self.answers = {"press": "pressed"} if answers is None else answers
        self.requests: list[dict] = []  # every request but subscribe, in arrival order
        self.subscribers: list[socket.socket] = []
        self.subscriptions = 0  # how many clients have subscribed so far, reconnections included
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(8)
        threading.Thread(target=self._accept, name="view-server", daemon=True).start()
        threading.Thread(target=self._keepalive, name="view-server-keepalive", daemon=True).start()

    def publish(self, view: dict) -> None:
        with self._lock:
            self.view = view
            self._send_all()

    def close(self) -> None:
        """Goes away as a stopped daemon does: connections reset, socket file gone."""
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for client in self.subscribers:
                client.close()
            self.subscribers.clear()
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(ANSWER_S)  # a client's request, and a subscriber's reading: both do come
        try:
            request = json.loads(client.makefile("rb").readline(4096))
            if request.get("request") != "subscribe":
                with client:
                    client.sendall(json.dumps(self._answer(request)).encode() + b"\n")
                return
        except (OSError, ValueError, AttributeError):
            client.close()
            return
        with self._lock:
            if self._closed.is_set():
                client.close()
                return
            self.subscribers.append(client)
            self.subscriptions += 1
            if self.view is not None:
                self._send(client)

    def _answer(self, request: dict) -> dict:
        with self._lock:
            self.requests.append(request)
        answer = self.answers.get(request.get("request"))
        if answer is None:
            return {"error": f"unknown request; known: {', '.join(sorted(['subscribe', *self.answers]))}"}
        try:
            return {"ok": answer(request) if callable(answer) else answer}
        except ValueError as error:
            return {"error": str(error)}

    def _keepalive(self) -> None:
        while not self._closed.wait(self.keepalive_s):
            with self._lock:
                self._send_all()

    def _send_all(self) -> None:
        for client in list(self.subscribers):
            self._send(client)

    def _send(self, client: socket.socket) -> None:
        if self.view is None:
            return
        try:
            client.sendall(json.dumps(self.view).encode() + b"\n")
        except OSError:
            self.subscribers.remove(client)
            client.close()
