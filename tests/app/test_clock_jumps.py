"""Time is checked, not trusted: a real daemon process whose wall clock libfaketime sets while it runs.

The daemon's wall clock is the real one plus an offset in a faketime file that the test rewrites (as
`date -s` would set the clock); its monotonic clock stays real, as the kernel's does. Its clock counts
as confirmed at start (as systemd's time sync would say); with no backend and no new time sync,
nothing confirms it again in these tests.
"""

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.printer.emulator import PrinterEmulator
from appliance.protocol.control import ControlError, encode, request
from support import ANSWER_S, LIBFAKETIME, REPO_ROOT, stop_process, wait_for
from support.config import CONCERNS, write_device_config

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.skipif(LIBFAKETIME is None, reason="libfaketime is not installed (make system-packages)")

# The daemon as systemd runs it, run_daemon, whose stop on SIGTERM these tests end it by (a hand-made copy that
# waited for its stop without a timeout missed now and then a SIGTERM that one of its other threads took: the main
# thread, asleep, never ran the handler). Confirmed at start: no time sync runs where the tests do.
DAEMON = r"""
import logging, sys
from pathlib import Path
from appliance.app.config import load_config
from appliance.app.daemon import run_daemon
from appliance.sync import clock_trust

logging.basicConfig(level=logging.INFO)
clock_trust.time_synchronized = lambda: True
sys.exit(run_daemon(load_config(Path(sys.argv[1]))))
"""


class FakedDaemon:
    """The daemon process under libfaketime; ``set_clock`` sets its wall clock while it runs."""

    def __init__(self, tmp_path: Path, printer: PrinterEmulator):
        self.config = tmp_path / "appliance.conf"
        self.socket = tmp_path / "control.sock"
        self.clock_file = tmp_path / "faketime"
        write_device_config(
            tmp_path,
            device={"roles": "kiosk", "timezone": "Europe/Berlin"},
            concerns={"leave": CONCERNS["leave"]},
            state={"database": f"{tmp_path}/var/state.db"},
            printer={"uri": printer.uri, "timeout": "60s"},
            gpio={"min_gap": "0s"},
        )
        self.process: subprocess.Popen | None = None
        self.stderr = tmp_path / "daemon.stderr"

    def set_clock(self, local: str) -> None:
        """The wall clock reads ``local`` (Berlin's time) from now on, and runs on."""
        self._offset = datetime.fromisoformat(local).replace(tzinfo=BERLIN) - datetime.now(UTC)
        self._write_offset()

    def jump(self, delta: timedelta) -> None:
        """The wall clock is set ``delta`` away, as `date -s` would set it."""
        self._offset += delta
        self._write_offset()

    def _write_offset(self) -> None:
        # Replaced whole: libfaketime reads the file at every reading, and a file caught half-written
        # (empty) would be no offset, a jump to the real date.
        partial = self.clock_file.with_suffix(".new")
        partial.write_text(f"{self._offset.total_seconds():+.3f}\n", encoding="ascii")
        os.replace(partial, self.clock_file)

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "TZ": "Europe/Berlin",
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(self.clock_file),
            "FAKETIME_NO_CACHE": "1",  # read the file at every reading: the test sets the clock while it runs
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # the kernel's monotonic clock is never set
        }
        with open(self.stderr, "w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", DAEMON, str(self.config)], env=env, stderr=stderr, stdout=subprocess.DEVNULL
            )
        wait_for(self._answers, what="the daemon's control socket")
        wait_for(lambda: self.health("printer")["state"] == "ok", what="the printer ready")

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; one that does not end is killed, and its log says which thread held it."""
        if self.process is not None:
            try:
                assert stop_process(self.process) == 0, "the daemon's exit code after SIGTERM is not 0"
            except AssertionError as error:
                raise AssertionError(f"{error}\n{self.stderr.read_text()[-3000:]}") from None

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.stderr.read_text()
        try:
            self.status()
        except ControlError:
            return False
        return True

    def status(self) -> dict:
        return request(self.socket, "status", timeout=ANSWER_S)

    def press(self) -> None:
        request(self.socket, "press", timeout=ANSWER_S, concern="leave")

    def kiosk_says(self) -> dict | None:
        """What the kiosk screen shows now: the first view of a subscription."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(ANSWER_S)
            client.connect(str(self.socket))
            client.sendall(encode({"request": "subscribe"}))
            line = client.makefile("rb").readline()
        return json.loads(line)["kiosk"]["answer"]

    def health(self, component: str) -> dict:
        components = self.status()["snapshot"]["components"]
        return next((c for c in components if c["name"] == component), {"state": "unknown", "detail": ""})


@pytest.fixture
def printer():
    with PrinterEmulator() as emulator:
        yield emulator


@pytest.fixture
def daemon(tmp_path, printer):
    daemons = []

    def start(local: str) -> FakedDaemon:
        made = FakedDaemon(tmp_path, printer)
        made.set_clock(local)
        daemons.append(made)  # before it starts: one that never answers is stopped all the same
        made.start()
        return made

    yield start
    failures = []
    for made in daemons:  # every one, also after one that would not stop
        try:
            made.stop()
        except AssertionError as failure:
            failures.append(failure)
        print(made.stderr.read_text())
    if failures:
        raise failures[0]


def issue(daemon: FakedDaemon, printer: PrinterEmulator, count: int) -> None:
    for _ in range(count):
        printed = len(printer.jobs)
        daemon.press()
        assert len(printer.wait_for_jobs(printed + 1, timeout_s=ANSWER_S)) == printed + 1


def issued(daemon: FakedDaemon) -> tuple[str, dict]:
    snapshot = daemon.status()["snapshot"]
    return snapshot["day"], dict(snapshot["issued_today"])


def refused_for_the_clock(daemon: FakedDaemon, printer: PrinterEmulator) -> dict:
    printed = len(printer.jobs)
    daemon.press()
    wait_for(lambda: (daemon.kiosk_says() or {"code": "none yet"})["code"] is None, what="a refusal")
    assert len(printer.jobs) == printed
    return daemon.kiosk_says()


@pytest.mark.slow
@pytest.mark.parametrize(
    "jump, said, to_day",
    [
        (-timedelta(days=1), "jumped back 1 d", "2026-06-15"),  # the day before: its numbers A001... are not free
        (-timedelta(minutes=30), "jumped back 30 min", "2026-06-16"),
        (timedelta(hours=1), "jumped forward 1 h", "2026-06-16"),
        (timedelta(days=2), "jumped forward 2 d", "2026-06-18"),  # numbering must not start again at A001
    ],
)
def test_a_clock_set_while_the_daemon_runs_stops_numbers_until_confirmed(daemon, printer, jump, said, to_day):
    running = daemon("2026-06-16 09:00:00")
    issue(running, printer, 3)
    assert issued(running) == ("2026-06-16", {"leave": 3})

    running.jump(jump)

    wait_for(lambda: running.health("clock")["state"] == "degraded", what="the jump seen")
    detail = running.health("clock")["detail"]
    assert said in detail and f"(to {to_day} " in detail
    assert "numbering stays on 2026-06-16" in detail and "confirms the clock" in detail
    answer = refused_for_the_clock(running, printer)
    assert "clock_unknown" in json.dumps(answer)
    assert issued(running) == ("2026-06-16", {"leave": 3})


@pytest.mark.slow
def test_a_restart_with_the_clock_set_back_never_goes_back_to_the_earlier_day(daemon, printer):
    first = daemon("2026-06-16 09:00:00")
    issue(first, printer, 3)
    first.stop()

    restarted = daemon("2026-06-15 09:00:00")  # the day before, and "confirmed" by a wrong time source

    assert issued(restarted) == ("2026-06-16", {"leave": 3})
    health = restarted.health("clock")
    assert health["state"] == "degraded" and "behind the latest time recorded here" in health["detail"]
    answer = refused_for_the_clock(restarted, printer)
    assert "clock_unknown" in json.dumps(answer)
    time.sleep(0.2)
    assert issued(restarted) == ("2026-06-16", {"leave": 3})
