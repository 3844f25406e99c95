"""The supervisor: a component that raises, at start or later in its own thread, is reported FAILED
with its reason, restarted with capped exponential backoff, and shown in the daemon's status.

The supervisor's own tests step a fake monotonic clock and call check(): no real waiting.
"""

import socket
import threading
from concurrent.futures import Future
from datetime import UTC, datetime

import pytest

from appliance.app.config import load_config
from appliance.app.daemon import Appliance
from appliance.app.status_text import format_status
from appliance.app.supervisor import Supervisor
from appliance.domain.backoff import Backoff
from appliance.domain.clock import FakeClock
from appliance.domain.commands import Health, ReportHealth
from appliance.domain.component import WorkerThread, end_thread
from appliance.protocol.control import request
from support import ANSWER_S, free_port, wait_for
from support.notifier import CountingNotifier


class Reports:
    """The core as the supervisor sees it: keeps every health report."""

    def __init__(self):
        self.health: list[tuple[str, Health, str]] = []

    def submit(self, command) -> Future:
        assert isinstance(command, ReportHealth)
        self.health.append((command.component, command.state, command.detail))
        future = Future()
        future.set_result(None)
        return future

    def last(self) -> tuple[Health, str]:
        return self.health[-1][1:]


class UpperBound:
    """Backoff's jitter at its upper bound, so the delays are exact."""

    def uniform(self, low, high):
        return high


class Scanner:
    """A component whose start fails ``start_failures`` times; its worker thread dies when told to."""

    name = "scanner test"

    def __init__(self, start_failures: int = 0):
        self.start_failures = start_failures
        self.starts = self.stops = 0
        self._die = threading.Event()
        self._stop = threading.Event()
        self._thread: WorkerThread | None = None

    def start(self) -> None:
        self.starts += 1
        if self.start_failures:
            self.start_failures -= 1
            raise OSError("no such device")
        self._die.clear()
        self._stop.clear()
        self._thread = WorkerThread(self._run, self.name)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            if self._die.is_set():
                raise KeyError("lost state")

    def die(self) -> None:
        self._die.set()
        wait_for(lambda: self.failure(), what="the worker thread ended")

    def stop(self) -> None:
        self.stops += 1
        self._stop.set()
        if self._thread is not None:
            self._thread.join(ANSWER_S)

    def failure(self) -> str | None:
        return self._thread.failure if self._thread is not None else None


class Stepped:
    """A supervisor on a monotonic clock that the test moves."""

    def __init__(self, stable_after_s: float = 60.0):
        self.now = 1000.0
        self.core = Reports()
        self.supervisor = Supervisor(
            self.core,
            monotonic=lambda: self.now,
            stable_after_s=stable_after_s,
            backoff=lambda: Backoff(1.0, 60.0, rng=UpperBound()),
        )

    def at(self, seconds_later: float) -> None:
        self.now += seconds_later
        self.supervisor.check()

    def status(self) -> dict:
        return self.supervisor.status()[0]


@pytest.fixture
def stepped():
    stepped = Stepped()
    yield stepped
    stepped.supervisor.stop()


def test_a_component_that_raises_at_start_is_reported_failed_and_retried_with_backoff(stepped):
    scanner = Scanner(start_failures=2)

    stepped.supervisor.add(scanner)

    assert stepped.core.last() == (Health.FAILED, "did not start: OSError: no such device; restarting in 1 s")
    assert stepped.status() == {
        "name": "scanner test",
        "state": "failed",
        "restarts": 0,
        "last_error": "did not start: OSError: no such device",
        "restart_in_s": 1.0,
    }
    stepped.at(0.9)
    assert scanner.starts == 1  # not yet due
    stepped.at(0.1)
    assert scanner.starts == 2
    assert stepped.core.last() == (Health.FAILED, "did not start: OSError: no such device; restarting in 2 s")
    stepped.at(2.0)
    assert scanner.starts == 3 and scanner.failure() is None
    assert stepped.core.last() == (Health.OK, "")  # said before start(): the component's own reports follow
    assert stepped.status()["state"] == "ok" and stepped.status()["restarts"] == 2


def test_a_component_whose_thread_dies_later_is_reported_stopped_and_restarted(stepped):
    scanner = Scanner()
    stepped.supervisor.add(scanner)
    stepped.at(5.0)
    assert stepped.core.health == [("scanner test", Health.OK, "")]

    scanner.die()
    stepped.at(0.5)

    assert stepped.core.last() == (Health.FAILED, "stopped running: KeyError: 'lost state'; restarting in 1 s")
    assert scanner.stops == 1  # cleaned up before it is started again
    stepped.at(1.0)
    assert scanner.starts == 2 and scanner.failure() is None
    assert stepped.status() == {
        "name": "scanner test",
        "state": "ok",
        "restarts": 1,
        "last_error": "stopped running: KeyError: 'lost state'",
        "restart_in_s": None,
    }


def test_backoff_doubles_up_to_its_cap_and_starts_afresh_after_a_stable_run(stepped):
    scanner = Scanner(start_failures=8)
    stepped.supervisor.add(scanner)
    delays = []
    for _ in range(8):
        delays.append(stepped.status()["restart_in_s"])
        stepped.at(delays[-1])
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert scanner.starts == 9 and stepped.status()["state"] == "ok"

    stepped.at(60.0)  # ran a minute without trouble
    scanner.die()
    stepped.at(0.0)
    assert stepped.status()["restart_in_s"] == 1.0


def test_a_component_that_keeps_dying_right_after_start_backs_off_too(stepped):
    scanner = Scanner()
    stepped.supervisor.add(scanner)
    delays = []
    for _ in range(3):
        scanner.die()
        stepped.at(0.0)
        delays.append(stepped.status()["restart_in_s"])
        stepped.at(delays[-1])
    assert delays == [1.0, 2.0, 4.0]


def test_two_components_of_one_name_are_refused(stepped):
    stepped.supervisor.add(Scanner())
    with pytest.raises(ValueError, match="two components named 'scanner test'"):
        stepped.supervisor.add(Scanner())


def test_stop_stops_every_component_and_no_restart_follows(stepped):
    scanner = Scanner()
    stepped.supervisor.add(scanner)
    stepped.supervisor.stop()
    assert scanner.stops == 1 and stepped.status()["state"] == "stopped"
    stepped.at(120.0)
    assert scanner.starts == 1


def stuck_waiting_for_the_core(arrived: threading.Event, release: threading.Event) -> None:
    arrived.set()
    release.wait()  # however long the test takes to look: it is stuck until released


def test_a_thread_that_does_not_end_in_time_is_named_with_the_line_it_is_stuck_at(caplog):
    arrived, release = threading.Event(), threading.Event()
    thread = WorkerThread(lambda: stuck_waiting_for_the_core(arrived, release), "dispenser")
    thread.start()
    try:
        assert arrived.wait(ANSWER_S)  # in the function by now, not still starting
        with caplog.at_level("WARNING", logger="appliance.domain.component"):
            assert end_thread(thread, 0.05) is False
        warning = caplog.records[-1].getMessage()
        assert warning.startswith("thread dispenser did not end within 0.05 s; it is at:")
        assert "in stuck_waiting_for_the_core" in warning and "test_supervisor.py" in warning
    finally:
        release.set()
    assert end_thread(thread, ANSWER_S) is True  # an ended thread: no warning
    assert caplog.records[-1].getMessage() == warning


# --- in the daemon: status shows it, the watchdog is still fed ------------------------------------


def test_a_component_failing_in_the_daemon_shows_in_status_and_the_watchdog_is_still_fed(device_config_file, tmp_path):
    token = tmp_path / "push.token"
    token.write_text("a-push-token-of-some-length\n", encoding="utf-8")
    token.chmod(0o600)
    port = free_port()
    device_config_file.write_text(
        device_config_file.read_text() + f"\n[push]\nenabled = yes\nport = {port}\ntoken_file = {token}\n"
    )
    config = load_config(device_config_file)
    notifier = CountingNotifier()
    appliance = Appliance(config, clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)), notifier=notifier)
    with socket.create_server(("127.0.0.1", port)):  # someone else holds the push port
        appliance.start()
        try:
            status = request(config.core.control_socket, "status", timeout=ANSWER_S)
            push = next(c for c in status["supervised"] if c["name"] == "push")
            assert push["state"] == "failed" and "Address already in use" in push["last_error"]
            text = wait_for(
                lambda: (
                    (text := format_status(request(config.core.control_socket, "status", timeout=ANSWER_S)))
                    and "push         failed" in text
                    and text
                ),
                what="the core heard of the failure",
            )
            assert "did not start: OSError" in text

            pings = notifier.pings
            wait_for(lambda: notifier.pings >= pings + 3, what="the watchdog pings go on")
            assert appliance.watchdog.check(appliance.core, appliance.supervisor, appliance.status)
            # Each try to restart it reports it ok to the core first, failed again a moment later (longer when loaded).
            wait_for(lambda: "degraded: push failed" in appliance.status.summary(), what="the summary naming push")
        except BaseException:
            appliance.stop()
            raise
    try:  # the port is free again: the restart succeeds
        wait_for(
            lambda: request(config.core.control_socket, "status", timeout=ANSWER_S)["supervised"][-1]["state"] == "ok",
            what="the push endpoint restarted",
        )
        status = request(config.core.control_socket, "status", timeout=ANSWER_S)
        assert status["supervised"][-1]["restarts"] >= 1
        assert "restarted " in format_status(status) and "last error: did not start: OSError" in format_status(status)
    finally:
        appliance.stop()


def test_the_watchdog_ends_the_daemon_when_the_supervisor_has_died(device_config):
    appliance = Appliance(device_config, clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)))
    appliance.start()
    try:
        assert appliance.watchdog.check(appliance.core, appliance.supervisor, appliance.status)
        appliance.supervisor.stop()
        assert not appliance.watchdog.check(appliance.core, appliance.supervisor, appliance.status)
    finally:
        appliance.stop()


def test_the_watchdog_ends_the_daemon_when_its_control_socket_is_no_longer_served(device_config):
    """Without it no monitor gets a view and no touch reaches the kiosk: a restart is better."""
    appliance = Appliance(device_config, clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)))
    appliance.start()
    try:
        assert appliance.watchdog.check(appliance.core, appliance.supervisor, appliance.status, appliance.control)
        appliance.control.close()  # serve_forever returns: the socket's thread ends
        wait_for(lambda: not appliance.control.running, what="the control socket's thread to end")
        assert not appliance.watchdog.check(appliance.core, appliance.supervisor, appliance.status, appliance.control)
    finally:
        appliance.supervisor.stop()
        appliance.core.stop()
        appliance.store.close()
