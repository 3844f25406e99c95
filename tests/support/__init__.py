"""Shared test setup: where the repository is, waiting for a condition, free ports, device configs.

Fixtures are in tests/conftest.py; this is what tests import by name (``from support import ...``).
"""

import socket
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"


def wait_for(condition, timeout: float = 15.0, what: str = "the condition", every: float = 0.01):
    """``condition()``'s first truthy value; AssertionError naming ``what`` after ``timeout`` seconds.

    Bounds are generous on purpose: they only decide how long a failing test takes, never whether
    a passing one passes on a loaded machine.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not come true within {timeout} s")
        time.sleep(every)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
