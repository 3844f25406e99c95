"""What a code reader hands its owner, recorded so tests can wait on it; a pseudo-terminal as a
serial scanner."""

import os
import queue
import time

from support import ANSWER_S


class Recorder:
    """on_code / on_health callbacks that tests can wait on."""

    def __init__(self):
        self.codes: queue.Queue = queue.Queue()
        self.health: queue.Queue = queue.Queue()
        self.all_health: list[tuple[str, str]] = []

    def on_code(self, text: str, source: str) -> None:
        self.codes.put((text, source))

    def on_health(self, state: str, detail: str) -> None:
        self.all_health.append((state, detail))
        self.health.put((state, detail))

    def wait_health(self, state: str) -> str:
        deadline = time.monotonic() + ANSWER_S
        while time.monotonic() < deadline:
            try:
                got, detail = self.health.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got == state:
                return detail
        raise AssertionError(f"no {state!r} health within {ANSWER_S} s; saw {self.all_health}")

    def next_code(self) -> tuple[str, str]:
        return self.codes.get(timeout=ANSWER_S)

    def no_code(self, wait: float = 0.2) -> bool:
        try:
            self.codes.get(timeout=wait)
        except queue.Empty:
            return True
        return False


class Pty:
    """A pseudo-terminal: the scanner reads the slave through a stable link (like
    /dev/serial/by-id/…); the test writes to the master as the scanner's firmware would."""

    def __init__(self, link):
        self.master, slave = os.openpty()
        self.slave_path = os.ttyname(slave)
        os.close(slave)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(self.slave_path, link)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        os.close(self.master)


def started(reader):
    """``reader`` after its start() (which returns None, as every component's does)."""
    reader.start()
    return reader
