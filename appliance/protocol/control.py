"""The control socket's protocol between the daemon and its local clients (CLI, monitor process).

One JSON object per line each way: a request ``{"request": name, ...}``, an answer ``{"ok": value}``
or ``{"error": text}``; a stream (``subscribe``) answers with one line per change until the client goes.
"""

import json
import socket
import time
from enum import StrEnum
from pathlib import Path

MAX_REQUEST = 4096  # bytes of one request line; the daemon reads no more


class Request(StrEnum):
    """Every request the daemon answers; the names are the wire's, so both ends agree on them."""

    STATUS = "status"  # {} -> the status dict
    PRINT_DAY_LIST = "print-day-list"  # {} -> what was done
    JUDGE = "judge"  # {"payload": text} -> the verdict a scan would get, changing nothing
    PRESS = "press"  # {"concern": name, "language": code or absent} -> a touch on the kiosk screen
    SUBSCRIBE = "subscribe"  # {} -> a stream: the view now, then one after every change


class ControlError(Exception):
    """The daemon refused a request; the message says what it answered."""


class DaemonNotRunning(ControlError, ConnectionError):
    """No daemon answers on the control socket."""


def encode(message) -> bytes:
    """One message as its line."""
    return json.dumps(message).encode() + b"\n"


def decode(line: bytes):
    """The message in one line; raises ValueError when it is not JSON."""
    return json.loads(line)


def connect(client: socket.socket, path: Path, timeout: float) -> None:
    """Connects, waiting while the daemon's listen queue is full: a Unix socket with a timeout answers
    EAGAIN at once instead of waiting, as it would under a flood of other clients."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect(str(path))
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError("its listen queue stayed full") from None
            time.sleep(0.005)


def request(path: Path, name: Request, timeout: float = 3.0, **arguments):
    """Ask the daemon listening on ``path``; raises DaemonNotRunning when none answers, ControlError
    when it refuses."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            connect(client, path, timeout)
            client.sendall(encode({"request": name, **arguments}))
            data = b""
            while not data.endswith(b"\n"):
                chunk = client.recv(65536)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError) as error:
        raise DaemonNotRunning(
            f"no daemon answers at {path} ({error.strerror}): is it running? (systemctl status entrance-appliance)"
        ) from None
    except (TimeoutError, OSError) as error:
        raise DaemonNotRunning(f"the daemon at {path} did not answer: {error}") from None
    answer = decode(data)
    if "error" in answer:
        raise ControlError(f"the daemon at {path} answered: {answer['error']}")
    return answer["ok"]
