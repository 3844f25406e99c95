"""Shared test setup: where the repository is, waiting for a condition, free ports, programs run and stopped.

Fixtures are in tests/conftest.py; this is what tests import by name (``from support import ...``).
"""

import os
import signal
import socket
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

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
# Debian's libfaketime (the Makefile's test packages). Its synchronised build: a daemon reads the clock from many
# threads, and the plain build's shared parse buffer then now and then yields the real time.
LIBFAKETIME = next(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"), None)
# How long a test waits for something that does come (an answer, a process's exit, a line on a screen): only a
# failing test waits it out, so it never decides whether a passing test passes. A shared CI machine stalls a
# process for seconds (an fsync behind another job's writes, two cores shared by many workers): a daemon once
# took more than 5 s from SIGTERM to exit there, against 0.1 s alone. Silence that a test expects is waited for
# briefly instead: a slow machine can only make such a test pass, never fail.
ANSWER_S = 60.0


def on_clock(env: dict, now: datetime | None = None) -> dict:
    """``env`` for a program the test starts whose date and time of day must be the test's, not the run's:
    libfaketime shifts its real-time clock so that it reads ``now`` (``CLOCK.now()`` unless given) at this
    moment and runs on at the real pace; its monotonic clock, which timeouts use, stays the kernel's."""
    if LIBFAKETIME is None:
        raise RuntimeError("libfaketime is not installed (make test-packages): the program would run on the real date")
    offset = ((now or CLOCK.now()) - datetime.now(UTC)).total_seconds()
    preload = " ".join(filter(None, [str(LIBFAKETIME), env.get("LD_PRELOAD")]))
    return {**env, "LD_PRELOAD": preload, "FAKETIME": f"{offset:+.6f}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def wait_for(condition, timeout: float = ANSWER_S, what: str = "the condition", every: float = 0.01):
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


def serves(url: str, verify=True) -> bool:
    """Whether ``url`` answers 200 OK yet: False while its server still starts (on a busy machine, a while)."""
    try:
        return requests.get(url, timeout=1, verify=verify).status_code == 200
    except (requests.ConnectionError, requests.Timeout, ssl.SSLError):
        return False


def run_seed() -> int:
    """The seed of every generated case (schemathesis, the power-loss kills): TEST_SEED, 0 when unset, so
    CI runs the same cases every time; ``TEST_SEED=random make test`` draws one (conftest.py picks it once
    per run and prints it in the header; ``TEST_SEED=<that number>`` replays the run)."""
    return int(os.environ.get("TEST_SEED", "0"))


def stop_process(process: subprocess.Popen, timeout: float = ANSWER_S) -> int:
    """Stops ``process`` as systemd would (SIGTERM) and returns its exit code. One still running after
    ``timeout`` seconds is killed, so no test leaves a process behind, and fails the test."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"{process.args} did not stop within {timeout} s of SIGTERM; killed") from None


def run_program(command: list[str], timeout: float, **options) -> subprocess.CompletedProcess:
    """``subprocess.run(command, capture_output=True, **options)``, except at ``timeout``: the program then
    gets SIGTERM, so it stops what it started (the demo its devices and monitors, which run in sessions
    of their own and would outlive a SIGKILL), is killed only if that does not stop it, and the test fails.
    """
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            try:
                stdout, stderr = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            raise AssertionError(f"{command} did not finish within {timeout} s; stopped. stderr: {stderr}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
