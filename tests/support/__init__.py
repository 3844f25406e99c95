"""Shared test setup: where the repository is, waiting for a condition, free ports, device configs.

Fixtures are in tests/conftest.py; this is what tests import by name (``from support import ...``).
"""

import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.domain.clock import SystemClock

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"
# Where the tests' clocks start: a Wednesday morning in the offices' zone, never the real date or time of day.
TEST_START = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


class RunningClock(SystemClock):
    """The real clock's pace from TEST_START: timeouts and waits pass as they really do, but the day and the
    time of day are the same in every run (one started just before midnight cannot fail)."""

    def __init__(self, start: datetime = TEST_START):
        self._start, self._started = start.astimezone(UTC), time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started)


# One clock for every device and backend a test process puts together: they agree to the millisecond.
CLOCK = RunningClock()


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


def run_seed() -> int:
    """The seed of every generated case (schemathesis, the power-loss kills): TEST_SEED, 0 when unset, so
    CI runs the same cases every time; ``TEST_SEED=random make test`` draws one (conftest.py picks it once
    per run and prints it in the header; ``TEST_SEED=<that number>`` replays the run)."""
    return int(os.environ.get("TEST_SEED", "0"))
