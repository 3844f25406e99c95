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
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests

from entrance_backend.database import WRITE_LOCK
from entrance_backend.main import BackgroundBackend, CounterAccess, DeviceAccess, Settings
from support import ANSWER_S, free_port, serves, stop_process, wait_for
from support.backend_pages import long_polls_open
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
        f"{backend.url}/v1/sites/mitte/calls",
        json={"counter": counter, "next": True},
        headers=STAFF_AUTH,
        timeout=ANSWER_S,
    )


def test_a_call_made_through_one_backend_answers_the_long_polls_waiting_at_another(two_backends):
    first, second = two_backends
    upload(first, [ticket("A001")])
    cursor = requests.get(f"{second.url}/v1/sites/mitte/calls", headers=KIOSK).json()["cursor"]
    version = requests.get(f"{second.url}/v1/sites/mitte/office", headers=KIOSK).json()["version"]
    answers, asked = {}, time.monotonic()

    def wait_at_second(name, path, query):
        answer = requests.get(f"{second.url}{path}", params=query | {"wait": 30}, headers=KIOSK, timeout=30 + ANSWER_S)
        answers[name] = (answer, time.monotonic())

    polls = [
        threading.Thread(target=wait_at_second, args=("calls", "/v1/sites/mitte/calls", {"after": cursor})),
        threading.Thread(target=wait_at_second, args=("office", "/v1/sites/mitte/office", {"after": version})),
    ]
    for poll in polls:
        poll.start()
    wait_for(lambda: long_polls_open(second.url) == len(polls), what="both polls waiting")
    assert call_next(first, 3).status_code == 201
    for poll in polls:
        poll.join(30 + ANSWER_S)
    calls, calls_at = answers["calls"]
    office, office_at = answers["office"]
    assert [(c["code"], c["counter"]) for c in calls.json()["calls"]] == [("A001", 3)]
    assert office.json()["recent_calls"][0]["code"] == "A001" and office.json()["waiting_total"] == 0
    # Woken by the other backend's notice, not answered at the end of their 30 s wait (the backends have no
    # other way to learn of each other's changes); how fast: the benchmark's.
    assert max(calls_at, office_at) - asked < 30


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
            timeout=ANSWER_S,
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
    signed_in = staff.post(f"{first.url}/counter", data={"token": COUNTER_3.token}, timeout=ANSWER_S)
    assert signed_in.url == f"{first.url}/counter/mitte/3"
    page = "/counter/mitte/3"
    assert 'id="paused"' in staff.post(second.url + page, data={"action": "pause"}, timeout=ANSWER_S).text
    assert "Pausiert" in staff.post(first.url + page, data={"action": "next"}, timeout=ANSWER_S).text
    staff.post(first.url + page, data={"action": "pause"}, timeout=ANSWER_S)
    staff.post(second.url + page, data={"action": "concerns", "concern": ["documents"]}, timeout=ANSWER_S)
    assert "D001 aufgerufen" in staff.post(first.url + page, data={"action": "next"}, timeout=ANSWER_S).text
    session_id = staff.cookies.get("counter_session")
    staff.post(second.url + "/counter/logout", timeout=ANSWER_S)  # ends it at both: its id, kept, lets nobody in
    staff.cookies.set("counter_session", session_id, path="/counter")
    assert staff.get(first.url + page, timeout=ANSWER_S).url.startswith(f"{first.url}/counter?expired=1")


@pytest.mark.slow
def test_after_the_postgresql_server_restarted_the_backends_reconnect_and_wake_each_other_again():
    with ExitStack() as stack:  # everything stops, whatever fails
        server = PostgresServer().start()  # its own: restarting the session's would cut the other tests
        stack.callback(server.stop)
        settings = Settings(server.new_database(), DEVICES, STAFF, "mitte", rate_limit=0, clock=lambda: NOW)
        first, second = BackgroundBackend(settings).start(), BackgroundBackend(settings).start()
        stack.callback(first.stop)
        stack.callback(second.stop)
        upload(first, [ticket(f"A{n:03d}") for n in range(1, 21)])  # one call each try
        server.restart()
        # The request that finds the connection cut is answered 503 with Retry-After, as a busy database is.
        wait_for(lambda: call_next(first, 1).status_code == 201, what="a call after the restart")

        wait_s = 10  # a poll waiting before the other backend listens again waits this out: then one more try

        def a_call_wakes_a_poll_at_the_other() -> bool:
            latest = requests.get(f"{second.url}/v1/sites/mitte/calls", headers=KIOSK, timeout=ANSWER_S)
            if latest.status_code == 503:  # its own connection found cut: the next request has a new one
                return False
            cursor, answers, asked = latest.json()["cursor"], [], time.monotonic()
            query = {"after": cursor, "wait": wait_s}
            poll = threading.Thread(
                target=lambda: answers.append(
                    (
                        requests.get(
                            f"{second.url}/v1/sites/mitte/calls", params=query, headers=KIOSK, timeout=wait_s + ANSWER_S
                        ),
                        time.monotonic(),
                    )
                )
            )
            poll.start()
            wait_for(lambda: long_polls_open(second.url) == 1, what="the poll waiting")
            assert call_next(first, 2).status_code == 201
            poll.join(wait_s + ANSWER_S)
            (answer, answered) = answers[0]
            # The answer of a poll that waited its wait out holds the call too: woken is answered before its end.
            return answer.status_code == 200 and answer.json()["calls"] != [] and answered - asked < wait_s

        wait_for(a_call_wakes_a_poll_at_the_other, what="the other backend listening again")


@pytest.mark.slow
def test_serve_with_two_workers_on_postgresql_serves_one_address_and_stops_on_sigterm(postgres_server, tmp_path):
    with serving(postgres_server.new_database(), tmp_path) as (server, url):
        wait_for(lambda: serves(f"{url}/openapi.json"), what="the workers serving")
        workers = _workers(server)
        assert len(workers) == 2
        today = requests.get(f"{url}/v1/sites/mitte/office", headers=KIOSK).json()["day"]
        events = [ticket(code, today, datetime.now(UTC)) for code in ("A001", "A002")]
        answer = requests.post(f"{url}/v1/devices/kiosk-1/events", json={"events": events}, headers=KIOSK)
        assert answer.status_code == 200, answer.text
        with ThreadPoolExecutor(4) as pool:  # new connections: the kernel hands them to either worker
            codes = list(pool.map(lambda n: _call_next(url, n).json()["code"], (1, 2)))
        assert sorted(codes) == ["A001", "A002"]
        assert stop_process(server) == 0
        assert not _running(workers)
    assert "2 worker processes" in server.stderr.read()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_stopped_while_it_still_waits_for_the_database_ends_with_all_its_workers(
    postgres_server, tmp_path, workers
):
    database = postgres_server.new_database()
    with psycopg.connect(database, autocommit=True) as other_writer:  # e.g. a long write by another backend
        other_writer.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
        with serving(database, tmp_path, workers) as (server, url):
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            wait_for(lambda: other_writer.execute(waiting).fetchone()[0] == workers, what="each worker waiting")
            started = _workers(server) if workers > 1 else []
            assert stop_process(server) == 0  # as systemd stops it, within its stop timeout
            assert not _running(started)
            assert not serves(f"{url}/openapi.json")


@pytest.mark.slow
def test_the_workers_of_a_killed_serve_stop_serving(postgres_server, tmp_path):
    with serving(postgres_server.new_database(), tmp_path) as (server, url):
        wait_for(lambda: serves(f"{url}/openapi.json"), what="the workers serving")
        workers = _workers(server)
        server.kill()
        server.wait()
        wait_for(lambda: not _running(workers), what="the workers stopped")
        assert not serves(f"{url}/openapi.json")


@contextmanager
def serving(database: str, tmp_path, workers: int = 2):
    """``entrance-backend serve --workers N`` on ``database``: the process and its URL. It runs in a session of its
    own, which is killed whole at the end, so no worker outlives the test, whatever failed."""
    port = free_port()
    access = tmp_path / "access.toml"
    access.write_text('[[device]]\nid = "kiosk-1"\ntoken = "token-kiosk-1"\n', encoding="utf-8")
    command = ["serve", "--db", database, "--workers", str(workers), "--port", str(port), "--access", str(access)]
    server = subprocess.Popen(
        [sys.executable, "-m", "entrance_backend.main", *command, "--site", "mitte"],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1", "ENTRANCE_STAFF_TOKEN": STAFF},
        start_new_session=True,
    )
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _workers(server: subprocess.Popen) -> list[int]:
    return [
        int(pid)
        for pid in subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
    ]


def _running(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (an ended one no parent reaped yet is a zombie: ended too)."""
    running = []
    for pid in pids:
        with suppress(FileNotFoundError):
            if Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
                running.append(pid)
    return running


def test_two_workers_on_a_sqlite_file_are_refused(tmp_path, capsys):
    from entrance_backend.main import main

    assert main(["serve", "--db", str(tmp_path / "b.db"), "--workers", "2"]) == 1
    assert "--workers above 1 needs a PostgreSQL --db" in capsys.readouterr().err


def _call_next(url: str, counter: int) -> requests.Response:
    return requests.post(
        f"{url}/v1/sites/mitte/calls", json={"counter": counter, "next": True}, headers=STAFF_AUTH, timeout=ANSWER_S
    )
