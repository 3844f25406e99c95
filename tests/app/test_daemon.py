"""The daemon as systemd runs it: READY, watchdog fed by the core loop, status, SIGTERM, refusals.

Every test runs the real `entrance-appliance run` process (or, for the watchdog's source, the real
Appliance in-process) against a datagram socket bound in tmp_path where systemd's would be.
"""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from appliance.app.config import load_config
from appliance.app.daemon import Appliance
from appliance.app.sdnotify import SystemdNotifier
from appliance.app.watchdog import Watchdog
from appliance.domain.clock import local_day
from appliance.domain.commands import IssueTicket
from appliance.domain.state import StateStore
from appliance.protocol.control import request
from support import ANSWER_S, CLOCK, REPO_ROOT, on_clock, wait_for
from support.notifier import CountingNotifier

CONCERN_TITLE = "Urlaub beantragen"  # shown to visitors; never in the journal
WATCHDOG_USEC = 400_000
WATCHDOG_INTERVAL_S = WATCHDOG_USEC / 1_000_000
# Generous: it only decides how long a daemon that never gets ready takes to fail (an emulated Pi
# needs seconds); how fast it gets ready is the benchmark's startup_to_ready_ms.
READY_WITHIN_S = 120.0

CONFIG = f"""\
[device]
id = kiosk-7
site = test-office
roles = kiosk, monitor

[concern:leave]
title_de = {CONCERN_TITLE}
prefix = A

[state]
database = var/state.db

[core]
control_socket = run/control.sock
tick = 50ms
"""


def line_of(text: str, start: str) -> int:
    """The 1-based number of the line in ``text`` that starts with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def appliance_env(**variables: str) -> dict:
    """The test's environment without any systemd variables of its own, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(variables)
    return on_clock(env)  # the tests' Wednesday morning, as issue_a_ticket_today's


def entrance_appliance(*args: str, cwd: Path, env: dict | None = None, timeout: float = 20):
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        cwd=cwd,
        env=env or appliance_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class SystemdStandIn:
    """A datagram socket bound where systemd's NOTIFY_SOCKET would be.

    A thread drains it at once, as systemd does (a full queue would block the daemon's sender),
    and keeps every notification with the monotonic time it arrived.
    """

    def __init__(self, path: Path):
        self.path = str(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.05)
        self._received: list[tuple[float, list[str]]] = []
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._closing:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                self._received.append((time.monotonic(), data.decode("utf-8").split("\n")))
                self._changed.notify_all()

    @property
    def received(self) -> list[tuple[float, list[str]]]:
        with self._changed:
            return list(self._received)

    def wait_for(self, line: str, timeout: float, after: float = 0.0) -> tuple[float, list[str]] | None:
        """The first notification after monotonic time ``after`` holding ``line``, or None."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for arrived, lines in self._received:
                    if arrived > after and line in lines:
                        return arrived, lines
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def arrivals(self, line: str, start: float = 0.0, end: float = float("inf")) -> list[float]:
        return [arrived for arrived, lines in self.received if line in lines and start < arrived <= end]

    def close(self) -> None:
        self._closing = True
        self._thread.join(1)
        self._sock.close()


@pytest.fixture
def systemd(tmp_path):
    stand_in = SystemdStandIn(tmp_path / "notify.sock")
    yield stand_in
    stand_in.close()


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "appliance.conf"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def issue_a_ticket_today(config_file: Path) -> str:
    """Puts one waiting ticket into the state database before the daemon starts; returns its code."""
    config = load_config(config_file)
    concern = config.concern("leave")
    store = StateStore(config.state.database)
    try:
        day = local_day(CLOCK.now(), config.device.timezone)
        ticket = store.issue_ticket(
            day=day,
            concern=concern.name,
            prefix=concern.prefix,
            low=concern.first,
            high=concern.last,
            last=concern.last,
            issued_at=CLOCK.now(),
        )
    finally:
        store.close()
    return ticket.code


class RunningDaemon:
    def __init__(self, process: subprocess.Popen, ready_at: float, ready: list[str]):
        self.process, self.ready_at, self.ready = process, ready_at, ready

    def terminate(self) -> tuple[int, str]:
        """SIGTERM; returns the exit code and everything on stderr. How soon it exits is the bench's
        (sigterm_to_exit_ms): on a loaded CI machine a 0.1 s stop once took more than 5 s."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(ANSWER_S), self.process.stderr.read()


def _limit_open_files(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


@pytest.fixture
def start_daemon(tmp_path, config_file, systemd):
    """start_daemon() runs `entrance-appliance run` under the systemd stand-in and waits for READY=1."""
    processes: list[subprocess.Popen] = []

    def start(open_files: int | None = None) -> RunningDaemon:
        """``open_files``: the daemon's descriptor limit, as systemd's default soft limit would set it."""
        env = appliance_env(NOTIFY_SOCKET=systemd.path, WATCHDOG_USEC=str(WATCHDOG_USEC))
        # stdout/stderr to files would do too; the daemon writes a few lines, far below a pipe's buffer.
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "run", "--config", str(config_file)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=None if open_files is None else lambda: _limit_open_files(open_files),
        )
        processes.append(process)
        ready = systemd.wait_for("READY=1", timeout=READY_WITHIN_S)
        if ready is None:
            process.kill()
            pytest.fail(f"no READY=1 within {READY_WITHIN_S} s; stderr: {process.communicate()[1]}")
        return RunningDaemon(process, *ready)

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()


# --- under systemd: ready, watchdog, status, stop -----------------------------------------------


@pytest.mark.slow
def test_daemon_sends_ready_with_a_status_line_once_its_control_socket_answers(start_daemon, config_file):
    daemon = start_daemon()

    assert any(line.startswith("STATUS=") and "waiting" in line for line in daemon.ready), daemon.ready
    # READY=1 means "serving": the control socket answers as soon as systemd hears it.
    assert request(load_config(config_file).core.control_socket, "status")["device"] == "kiosk-7"


@pytest.mark.slow
def test_watchdog_is_pinged_again_and_again_once_ready(start_daemon, systemd):
    daemon = start_daemon()

    # How often is the next test's, on its own clock: here, the daemon's loop keeps pinging.
    wait_for(lambda: len(systemd.arrivals("WATCHDOG=1", start=daemon.ready_at)) >= 3, what="three WATCHDOG=1")


def test_watchdog_pings_once_per_half_interval_of_the_core_loop_s_feeding():
    now = [100.0]
    notifier = CountingNotifier(interval_s=30.0)
    watchdog = Watchdog(notifier, monotonic=lambda: now[0])
    pings_at = []
    for tick in range(61):  # a minute of a core loop feeding once a second
        now[0] = 100.0 + tick
        before = notifier.pings
        watchdog.feed()
        if notifier.pings > before:
            pings_at.append(tick)

    assert pings_at == [0, 15, 30, 45, 60]  # never more than half of systemd's 30 s apart


def test_watchdog_sends_nothing_when_systemd_expects_no_pings():
    notifier = CountingNotifier(interval_s=None)
    watchdog = Watchdog(notifier, monotonic=lambda: 1000.0)

    watchdog.feed()

    assert notifier.pings == 0


@pytest.mark.slow
def test_status_command_shows_device_components_and_queue_of_the_running_daemon(start_daemon, config_file, tmp_path):
    code = issue_a_ticket_today(config_file)
    start_daemon()

    text = entrance_appliance("status", "--config", str(config_file), cwd=tmp_path)
    as_json = entrance_appliance("status", "--config", str(config_file), "--json", cwd=tmp_path)

    assert text.returncode == 0, text.stderr
    assert "device kiosk-7 at site test-office" in text.stdout
    assert re.search(r"^  core +ok ", text.stdout, re.MULTILINE), text.stdout
    assert "1 waiting, 1 tickets issued" in text.stdout
    assert re.search(r"^  leave +issued +1 +waiting +1$", text.stdout, re.MULTILINE), text.stdout
    assert as_json.returncode == 0, as_json.stderr
    status = json.loads(as_json.stdout)
    assert status["device"] == "kiosk-7"
    core = next(c for c in status["snapshot"]["components"] if c["name"] == "core")
    assert core["state"] == "ok"
    assert [entry["code"] for entry in status["snapshot"]["waiting"]] == [code]
    assert status["snapshot"]["issued_today"] == [["leave", 1]]


def test_status_and_press_answer_while_1100_idle_connections_hold_the_control_socket(start_daemon, tmp_path):
    daemon = start_daemon(open_files=1024)  # the unit's LimitNOFILE
    socket_path = tmp_path / "run" / "control.sock"
    idle = []
    try:
        for _ in range(1100):
            idle.append(connect_when_accepted(socket_path))  # and never a word: an idle or slow client

        assert request(socket_path, "status", timeout=ANSWER_S)["device"] == "kiosk-7"
        # This device has no printer: the press is answered, and says so.
        assert request(socket_path, "press", timeout=ANSWER_S, concern="leave").startswith("out of order: no printer")
        assert len(os.listdir(f"/proc/{daemon.process.pid}/fd")) < 256  # of 1024
    finally:
        for client in idle:
            client.close()
    returncode, stderr = daemon.terminate()
    assert returncode == 0
    closed = [line for line in stderr.splitlines() if "sent no request" in line]
    assert 1 <= len(closed) <= 2, closed  # once with a count, not once per connection


def connect_when_accepted(socket_path: Path, timeout: float = ANSWER_S) -> socket.socket:
    """A connected client; a full listen queue is waited out, as a flooding client would."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.setblocking(False)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect(str(socket_path))
            return client
        except BlockingIOError:
            assert time.monotonic() < deadline, "the daemon stopped accepting connections"
            time.sleep(0.001)


@pytest.mark.slow
def test_sigterm_sends_stopping_and_exits_0_on_its_own_removing_the_control_socket(start_daemon, config_file, systemd):
    daemon = start_daemon()
    control_socket = load_config(config_file).core.control_socket
    assert control_socket.is_socket()
    signalled = time.monotonic()

    returncode, stderr = daemon.terminate()

    assert returncode == 0, stderr  # its own orderly end: a SIGKILL after systemd's TimeoutStopSec would be -9
    assert re.search(r"stopping on signal [\s\S]*: stopped$", stderr, re.MULTILINE), stderr
    assert systemd.wait_for("STOPPING=1", timeout=ANSWER_S, after=signalled) is not None
    assert not control_socket.exists()


@pytest.mark.slow
def test_every_stderr_line_has_a_syslog_priority_and_none_names_a_concern_title(start_daemon, config_file):
    issue_a_ticket_today(config_file)
    daemon = start_daemon()

    _, stderr = daemon.terminate()

    lines = stderr.splitlines()
    assert lines, "the daemon logged nothing"
    assert [line for line in lines if not re.match(r"<[0-7]>\S", line)] == []
    startup = [line for line in lines if " ready: device kiosk-7" in line]
    assert len(startup) == 1 and startup[0].startswith("<6>"), lines
    assert not [line for line in lines if CONCERN_TITLE in line or "Urlaub" in line]


# --- refusals: nothing starts on a bad config or a damaged database -----------------------------


def test_config_with_any_error_never_starts_the_daemon(tmp_path, systemd):
    config_file = tmp_path / "appliance.conf"
    broken = CONFIG.replace("tick = 50ms", "tick = 50")
    config_file.write_text(broken, encoding="utf-8")
    env = appliance_env(NOTIFY_SOCKET=systemd.path, WATCHDOG_USEC=str(WATCHDOG_USEC))

    result = entrance_appliance("run", "--config", str(config_file), cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert f"{config_file}:{line_of(broken, 'tick =')}: [core] tick: '50' needs a unit" in result.stderr
    assert not (tmp_path / "var" / "state.db").exists()
    assert not (tmp_path / "run" / "control.sock").exists()
    time.sleep(0.1)  # anything sent before the exit has arrived by now
    assert systemd.received == []


def test_damaged_state_database_is_refused_with_exit_3_and_left_byte_for_byte_unchanged(tmp_path, config_file, systemd):
    database = tmp_path / "var" / "state.db"
    database.parent.mkdir()
    database.write_bytes(b"ticket A001 leave\nnot a database at all\n")
    before = database.read_bytes()
    env = appliance_env(NOTIFY_SOCKET=systemd.path, WATCHDOG_USEC=str(WATCHDOG_USEC))

    result = entrance_appliance("run", "--config", str(config_file), cwd=tmp_path, env=env)

    assert result.returncode == 3
    assert f"{database} is not an SQLite database" in result.stderr
    assert "move it aside" in result.stderr
    assert database.read_bytes() == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["state.db"]  # no -wal, no -shm
    time.sleep(0.1)
    assert systemd.arrivals("READY=1") == []


def test_status_without_a_running_daemon_exits_4_naming_the_socket(tmp_path, config_file):
    result = entrance_appliance("status", "--config", str(config_file), cwd=tmp_path)

    assert result.returncode == 4
    assert "not running" in result.stderr
    assert str(tmp_path / "run" / "control.sock") in result.stderr


# --- in-process: the watchdog comes from the core loop ------------------------------------------


@pytest.mark.slow
def test_watchdog_stops_while_the_core_loop_is_stalled_and_resumes_after(tmp_path, config_file, systemd, monkeypatch):
    config = load_config(config_file)
    notifier = SystemdNotifier(environ={"NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)})
    # When each ping is sent, not when the stand-in reads it: a starved reader cannot move a ping into the stall.
    sent, send_ping = [], notifier.watchdog
    monkeypatch.setattr(notifier, "watchdog", lambda: (sent.append(time.monotonic()), send_ping()))
    appliance = Appliance(config, notifier=notifier)
    stalled_at, release = [], threading.Event()
    real_issue_ticket = appliance.store.issue_ticket

    def stalled_issue_ticket(**kwargs):
        stalled_at.append(time.monotonic())
        release.wait(ANSWER_S)
        return real_issue_ticket(**kwargs)

    monkeypatch.setattr(appliance.store, "issue_ticket", stalled_issue_ticket)
    appliance.start()
    try:
        wait_for(lambda: len(systemd.arrivals("WATCHDOG=1")) >= 2, what="pings while the core loop runs")

        future = appliance.core.submit(IssueTicket("leave"))
        wait_for(lambda: stalled_at, what="the core loop to stall")
        time.sleep(2.5 * WATCHDOG_INTERVAL_S)
        silent_until = time.monotonic()
        # The control socket still answers, and says how long the loop has been silent.
        silent_s = request(config.core.control_socket, "status", timeout=ANSWER_S)["core_loop_silent_s"]
        release.set()

        assert [at for at in sent if stalled_at[0] < at < silent_until] == [], "WATCHDOG=1 sent while stalled"
        assert silent_s >= 2 * WATCHDOG_INTERVAL_S
        assert future.result(timeout=ANSWER_S).code == "A001"
        wait_for(lambda: sent[-1] > silent_until, what="a WATCHDOG=1 once the loop runs again")
    finally:
        release.set()
        appliance.stop()
    assert systemd.wait_for("STOPPING=1", timeout=ANSWER_S) is not None
