"""A job centre's backend: several backend processes on one PostgreSQL database. A change made through one
wakes the long polls waiting at another, two of them never hand out one visitor or number twice, and a
counter signed in at one is signed in at all of them."""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from datetime import UTC, datetime

import pytest
import requests

from entrance_backend.main import BackgroundBackend, CounterAccess, DeviceAccess, Settings
from support import free_port, wait_for
from support.postgres import PostgresServer

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
DAY = "2026-03-09"
STAFF = "staff-secret"
DEVICES = (DeviceAccess("kiosk-1", "mitte", "token-kiosk-1"), DeviceAccess("kiosk-2", "mitte", "token-kiosk-2"))
KIOSK = {"Authorization": "Bearer token-kiosk-1"}
STAFF_AUTH = {"Authorization": f"Bearer {STAFF}"}
COUNTER_3 = CounterAccess("mitte", 3, "counter-3-key-mitte")


def ticket(code: str, day: str = DAY, at: datetime = NOW, concern: str = "leave") -> dict:
    body = {"day": day, "concern": concern, "number": int(code[1:]), "code": code}
    return {"key": uuid.uuid4().hex, "kind": "ticket_issued", "body": body, "created_at": at.isoformat()}


@pytest.fixture
def two_backends(postgres_server):
    """Two backend processes' worth (each its own store, connections and long polls) on one database."""
    database = postgres_server.new_database()
    settings = Settings(database, DEVICES, STAFF, "mitte", rate_limit=0, clock=lambda: NOW)
    first = BackgroundBackend(settings, counters=(COUNTER_3,)).start()
    second = BackgroundBackend(settings, counters=(COUNTER_3,)).start()
    yield first, second
    second.stop()
    first.stop()


def upload(backend, events):
    answer = requests.post(f"{backend.url}/v1/devices/kiosk-1/events", json={"events": events}, headers=KIOSK)
    assert answer.status_code == 200, answer.text


def call_next(backend, counter: int) -> requests.Response:
    return requests.post(
        f"{backend.url}/v1/sites/mitte/calls", json={"counter": counter, "next": True}, headers=STAFF_AUTH, timeout=10
    )


def test_a_call_made_through_one_backend_answers_the_long_polls_waiting_at_another_within_a_second(two_backends):
    first, second = two_backends
    upload(first, [ticket("A001")])
    cursor = requests.get(f"{second.url}/v1/sites/mitte/calls", headers=KIOSK).json()["cursor"]
    version = requests.get(f"{second.url}/v1/sites/mitte/office", headers=KIOSK).json()["version"]
    answers = {}

    def wait_at_second(name, path, query):
        answer = requests.get(f"{second.url}{path}", params=query | {"wait": 20}, headers=KIOSK, timeout=30)
        answers[name] = (answer, time.monotonic())

    polls = [
        threading.Thread(target=wait_at_second, args=("calls", "/v1/sites/mitte/calls", {"after": cursor})),
        threading.Thread(target=wait_at_second, args=("office", "/v1/sites/mitte/office", {"after": version})),
    ]
    for poll in polls:
        poll.start()
    time.sleep(0.5)  # both polls are waiting by now
    called = time.monotonic()
    assert call_next(first, 3).status_code == 201
    for poll in polls:
        poll.join(25)
    calls, calls_at = answers["calls"]
    office, office_at = answers["office"]
    assert [(c["code"], c["counter"]) for c in calls.json()["calls"]] == [("A001", 3)]
    assert office.json()["recent_calls"][0]["code"] == "A001" and office.json()["waiting_total"] == 0
    assert max(calls_at, office_at) - called < 1.0


def test_counters_calling_next_at_once_through_two_backends_each_get_a_different_visitor(two_backends):
    upload(two_backends[0], [ticket(f"A{n:03d}") for n in range(1, 41)])
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: call_next(two_backends[n % 2], n % 9 + 1), range(40)))
    assert all(answer.status_code == 201 for answer in answers)
    assert sorted(answer.json()["code"] for answer in answers) == [f"A{n:03d}" for n in range(1, 41)]
    assert call_next(two_backends[1], 1).json()["error"] == "nobody_waiting"


def test_kiosks_drawing_through_two_backends_never_get_one_number_twice(two_backends):
    tokens = {"kiosk-1": "token-kiosk-1", "kiosk-2": "token-kiosk-2"}

    def draw(n):
        device = f"kiosk-{n % 2 + 1}"
        request = {
            "key": uuid.uuid4().hex,
            "day": DAY,
            "concern": "leave",
            "first": 1,
            "last": 999,
            "instance": f"run-{device}",
        }
        answer = requests.post(
            f"{two_backends[n % 2].url}/v1/sites/mitte/numbers",
            json=request,
            headers={"Authorization": f"Bearer {tokens[device]}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["number"]

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(draw, range(40)))
    assert sorted(numbers) == list(range(1, 41))


def test_a_counter_signed_in_at_one_backend_is_signed_in_at_the_other_with_its_choices(two_backends):
    first, second = two_backends
    upload(first, [ticket("A001"), ticket("D001", concern="documents")])
    staff = requests.Session()  # its cookie goes to both: one host
    signed_in = staff.post(f"{first.url}/counter", data={"token": COUNTER_3.token}, timeout=10)
    assert signed_in.url == f"{first.url}/counter/mitte/3"
    page = "/counter/mitte/3"
    assert 'id="paused"' in staff.post(second.url + page, data={"action": "pause"}, timeout=10).text
    assert "Pausiert" in staff.post(first.url + page, data={"action": "next"}, timeout=10).text
    staff.post(first.url + page, data={"action": "pause"}, timeout=10)
    staff.post(second.url + page, data={"action": "concerns", "concern": ["documents"]}, timeout=10)
    assert "D001 aufgerufen" in staff.post(first.url + page, data={"action": "next"}, timeout=10).text
    session_id = staff.cookies.get("counter_session")
    staff.post(second.url + "/counter/logout", timeout=10)  # ends it at both: its id, kept, lets nobody in
    staff.cookies.set("counter_session", session_id, path="/counter")
    assert staff.get(first.url + page, timeout=10).url.startswith(f"{first.url}/counter?expired=1")


@pytest.mark.slow
def test_after_the_postgresql_server_restarted_the_backends_reconnect_and_wake_each_other_again():
    with ExitStack() as stack:  # everything stops, whatever fails
        server = PostgresServer().start()  # its own: restarting the session's would cut the other tests
        stack.callback(server.stop)
        settings = Settings(server.new_database(), DEVICES, STAFF, "mitte", rate_limit=0, clock=lambda: NOW)
        first, second = BackgroundBackend(settings).start(), BackgroundBackend(settings).start()
        stack.callback(first.stop)
        stack.callback(second.stop)
        upload(first, [ticket(f"A{n:03d}") for n in range(1, 11)])
        server.restart()
        # The request that finds the connection cut is answered 503 with Retry-After, as a busy database is.
        wait_for(lambda: call_next(first, 1).status_code == 201, timeout=30, what="a call after the restart")

        def a_call_wakes_a_poll_at_the_other() -> bool:
            latest = requests.get(f"{second.url}/v1/sites/mitte/calls", headers=KIOSK, timeout=10)
            if latest.status_code == 503:  # its own connection found cut: the next request has a new one
                return False
            cursor, answers = latest.json()["cursor"], []
            query = {"after": cursor, "wait": 3}
            poll = threading.Thread(
                target=lambda: answers.append(
                    (requests.get(f"{second.url}/v1/sites/mitte/calls", params=query, headers=KIOSK), time.monotonic())
                )
            )
            poll.start()
            time.sleep(0.3)
            called = time.monotonic()
            assert call_next(first, 2).status_code == 201
            poll.join(10)
            return answers[0][0].json()["calls"] != [] and answers[0][1] - called < 1.0

        wait_for(a_call_wakes_a_poll_at_the_other, timeout=30, what="the other backend listening again")


@pytest.mark.slow
def test_serve_with_two_workers_on_postgresql_serves_one_address_and_stops_on_sigterm(postgres_server, tmp_path):
    port, url, workers = free_port(), None, []
    access = tmp_path / "access.toml"
    access.write_text('[[device]]\nid = "kiosk-1"\ntoken = "token-kiosk-1"\n', encoding="utf-8")
    command = ["serve", "--db", postgres_server.new_database(), "--workers", "2", "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "entrance_backend.main", *command, "--access", str(access), "--site", "mitte"],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1", "ENTRANCE_STAFF_TOKEN": STAFF},
        start_new_session=True,  # a group of its own: a failed test kills the workers with it, not the master alone
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/openapi.json"), timeout=30, what="the workers serving")
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 2
        today = requests.get(f"{url}/v1/sites/mitte/office", headers=KIOSK).json()["day"]
        events = [ticket(code, today, datetime.now(UTC)) for code in ("A001", "A002")]
        answer = requests.post(f"{url}/v1/devices/kiosk-1/events", json={"events": events}, headers=KIOSK)
        assert answer.status_code == 200, answer.text
        with ThreadPoolExecutor(4) as pool:  # new connections: the kernel hands them to either worker
            codes = list(pool.map(lambda n: _call_next(url, n).json()["code"], (1, 2)))
        assert sorted(codes) == ["A001", "A002"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        for worker in workers:  # one that had not stopped when its server was killed would outlive the test
            with suppress(ProcessLookupError):
                os.kill(int(worker), signal.SIGKILL)
    assert "2 worker processes" in server.stderr.read()


def test_two_workers_on_a_sqlite_file_are_refused(tmp_path, capsys):
    from entrance_backend.main import main

    assert main(["serve", "--db", str(tmp_path / "b.db"), "--workers", "2"]) == 1
    assert "--workers above 1 needs a PostgreSQL --db" in capsys.readouterr().err


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # a worker still starting, on a busy machine
        return False


def _call_next(url: str, counter: int) -> requests.Response:
    return requests.post(
        f"{url}/v1/sites/mitte/calls", json={"counter": counter, "next": True}, headers=STAFF_AUTH, timeout=10
    )
