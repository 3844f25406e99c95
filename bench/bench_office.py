"""Office figures: how soon every screen of a three-device office (real device processes) shows a change,
and how many devices following their site's feeds the reference backend serves with calls still on time:
on its SQLite file, and on PostgreSQL with two worker processes (a job centre's or a region's backend).

The served devices are asyncio clients on keep-alive HTTP/1.1 connections (no device process each):
per device the calls long poll, the office-state long poll, and an event upload every EVENT_EVERY_S.
"""

import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from appliance.app.demo_backend import ReferenceBackend, demo_secret
from appliance.domain.backoff import Backoff
from support.office import Office
from support.postgres import PostgresServer

DEVICES_PER_SITE = 5  # two or three kiosks and as many monitors
EVENT_EVERY_S = 20.0  # each device uploads an event (a ticket) this often
CALLS_PER_S = 4.0  # staff calls across all sites
MEASURE_S = 15.0
CALL_TO_DEVICE_GOAL_S = 1.0
LEVELS = (100, 250, 500, 750, 1000, 1500, 2000)
CPU_LEVEL = 250  # the backend's CPU per answer is compared at this many devices


def office_screens_agree_p99_ms(changes: int = 40) -> float:
    """A new ticket at either kiosk or a call at the backend -> every device's screen (its view on the
    control socket, what its monitor draws) shows it: p99 over ``changes``."""
    with tempfile.TemporaryDirectory() as tmp:
        office = Office(Path(tmp)).start(booked=0)
        try:
            screens = office.screens
            screens.agree(time.monotonic(), "the start")
            screens.agreement.latencies_ms.clear()
            for n in range(changes):
                started = time.monotonic()
                if n % 2 == 0:
                    code = office.press(office.kiosks[n // 2 % 2], "leave")["code"]
                    screens.agree(started, code, lambda shown, code=code: code in shown[2])
                else:
                    call = office.backend.call_next(1 + n % 6)
                    screens.agree(
                        started, call["code"], lambda shown, call=call: shown[0][:1] and shown[0][0][2] == call["id"]
                    )
            agreement = screens.agreement
            if agreement.disagreements:
                raise RuntimeError(f"the screens disagreed: {agreement.disagreements[:3]}")
            return round(agreement.percentile(0.99), 1)
        finally:
            office.stop()


class Connection:
    """One keep-alive HTTP/1.1 connection to the backend (the answers carry Content-Length)."""

    answers = 0  # answers received on every connection, so far

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self._streams = None

    async def request(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        # The server closes a connection idle for a few seconds, and the oldest of too many still sending
        # (thousands connecting at once): then again on a new one at once, and after that with a device's
        # backoff, for as long as the run lasts (a device never gives up; its calls just come late).
        backoff, tried_again = Backoff(first=0.2, most=2.0), False
        while True:
            try:
                if self._streams is None:
                    self._streams = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = self._streams
                writer.write(head.encode() + data)
                await writer.drain()
                status_line = await reader.readline()
            except OSError:
                status_line = b""
            if status_line:
                break
            if self._streams is not None:
                self._streams[1].close()
                self._streams = None
            if tried_again:
                await asyncio.sleep(backoff.next_delay())
            tried_again = True
        status = int(status_line.split()[1])
        Connection.answers += 1
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length) if length else b""
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, body[:200].decode(errors="replace")


class SimulatedDevice:
    """Follows its site's calls and office state, and uploads a ticket event now and then."""

    def __init__(self, name: str, site: str, token: str, port: int, number_base: int, received: dict):
        self.name, self.site, self.number_base = name, site, number_base
        self._calls, self._office, self._events = (Connection(port, token) for _ in range(3))
        self.received = received  # call id -> {device: when (monotonic)}
        self.refusals: list[str] = []

    async def _refused(self, what: str, status: int, answer) -> None:
        """Noted, then tried again a second later, as a device's sync does (with its backoff)."""
        self.refusals.append(f"{self.name}: {what} answered {status}: {answer}")
        await asyncio.sleep(1.0)

    async def follow_calls(self):
        cursor = None
        while True:
            query = f"?after={cursor}&wait=25" if cursor else ""
            status, feed = await self._calls.request("GET", f"/v1/sites/{self.site}/calls{query}")
            if status != 200:
                await self._refused("calls feed", status, feed)
                continue
            now = time.monotonic()
            for call in feed["calls"]:
                self.received.setdefault(call["id"], {})[self.name] = now
            cursor = feed["cursor"]

    async def follow_office(self):
        version = None
        while True:
            query = f"?after={version}&wait=25" if version is not None else ""
            status, state = await self._office.request("GET", f"/v1/sites/{self.site}/office{query}")
            if status != 200:
                await self._refused("office state", status, state)
                continue
            version = state["version"]

    async def send_events(self, first_delay: float, tickets: int = 1):
        await asyncio.sleep(first_delay)
        number = self.number_base
        while True:
            events = []
            for _ in range(tickets):
                number += 1
                events.append(
                    {
                        "key": uuid.uuid4().hex,
                        "kind": "ticket_issued",
                        "created_at": datetime.now(UTC).isoformat(),
                        "body": {
                            "day": datetime.now(UTC).date().isoformat(),
                            "concern": "leave",
                            "number": number,
                            "code": f"A{number:03d}",
                        },
                    }
                )
            status, answer = await self._events.request("POST", f"/v1/devices/{self.name}/events", {"events": events})
            if status != 200:
                await self._refused("events", status, answer)
                continue
            tickets = 1
            await asyncio.sleep(EVENT_EVERY_S)


async def _after(delay_s: float, work) -> None:
    await asyncio.sleep(delay_s)
    await work


async def _serve_devices(count: int, port: int, tokens: dict, staff_token: str, cpu_s) -> tuple[list[float], float]:
    """Seconds from each call to each device of its site having it (inf: never within the run), and the
    backend's CPU milliseconds per answer (``cpu_s``: its CPU seconds so far) while the calls were made."""
    received: dict = {}
    devices = []
    for index, (key, token) in enumerate(tokens.items()):
        name, _, site = key.partition("@")
        # Numbers of the site's devices never meet: each device draws from a range of its own.
        devices.append(SimulatedDevice(name, site, token, port, (index % DEVICES_PER_SITE) * 150, received))
    # Devices come online over the first seconds, as an office's do, not as one burst of connections.
    tasks = [asyncio.create_task(_after(random.uniform(0, 3), d.follow_calls())) for d in devices]
    tasks += [asyncio.create_task(_after(random.uniform(0, 3), d.follow_office())) for d in devices]
    tasks += [asyncio.create_task(d.send_events(random.uniform(0, 2), tickets=3)) for d in devices]
    try:
        await asyncio.sleep(5.0)  # everyone connected, every site has visitors waiting
        staff = Connection(port, staff_token)
        sites = sorted({d.site for d in devices})
        made: list[tuple[str, str, float]] = []
        started, cpu_started, answers_started = time.monotonic(), cpu_s(), Connection.answers
        for n in range(int(MEASURE_S * CALLS_PER_S)):
            await asyncio.sleep(max(0.0, started + n / CALLS_PER_S - time.monotonic()))
            site = sites[n % len(sites)]
            asked = time.monotonic()
            status, call = await staff.request("POST", f"/v1/sites/{site}/calls", {"counter": 1 + n % 9, "next": True})
            if status == 201:
                made.append((call["id"], site, asked))
        await asyncio.sleep(CALL_TO_DEVICE_GOAL_S * 2)  # the last calls' stragglers
        cpu_ms = round((cpu_s() - cpu_started) * 1000 / max(1, Connection.answers - answers_started), 2)
        for task in tasks:
            if task.done() and task.exception():
                raise task.exception()
        refusals = [refusal for device in devices for refusal in device.refusals]
        if refusals:
            print(f"  {len(refusals)} refusals, the first: {refusals[0]}")
            return [float("inf")], cpu_ms
        members = {site: [d.name for d in devices if d.site == site] for site in sites}
        return [
            received.get(call_id, {}).get(name, float("inf")) - asked
            for call_id, site, asked in made
            for name in members[site]
        ], cpu_ms
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def call_to_device_p99_s(count: int, **backend) -> tuple[float, float]:
    """p99 of call -> device over every device of the called sites, ``count`` devices served, and the backend's
    CPU milliseconds per answer meanwhile (its processes' own time per piece of work: far less blurred by the
    machine's other work than a latency); ``backend``: ReferenceBackend's database and workers."""
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        tokens = {
            f"bench-{n:04d}@site-{n // DEVICES_PER_SITE:03d}": f"token-{n:04d}-{uuid.uuid4().hex}" for n in range(count)
        }
        backend = ReferenceBackend(var, var / "backend.log", "site-000", tokens, **backend)
        backend.start(clock_start=None)  # the real time, read as production reads it
        try:
            staff_token, cpu_s = demo_secret(var / "staff.token"), partial(_cpu_s, backend.pid)
            latencies, cpu_ms = asyncio.run(_serve_devices(count, backend.port, tokens, staff_token, cpu_s))
        finally:
            backend.stop()
    if not latencies:
        raise RuntimeError("no call was made")
    return statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies), cpu_ms


def _cpu_s(pid: int) -> float:
    """CPU seconds so far of process ``pid`` and its children (the workers), every thread (schedstat: ns)."""
    total, pids = 0.0, [pid]
    while pids:
        for task in Path(f"/proc/{pids.pop()}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0]) / 1e9
                pids += [int(child) for child in (task / "children").read_text().split()]
            except FileNotFoundError:  # a thread that just ended
                pass
    return total


def backend_devices_served(database=None) -> tuple[int, float, float]:
    """The most devices (of LEVELS) served with call -> device p99 within the goal, that p99 (ms), and the
    backend's CPU milliseconds per answer at CPU_LEVEL devices (measured even when fewer were served); with
    a PostgreSQL ``database`` (a server), two workers on a new database at each level."""
    served, p99_ms, cpu_ms, failed = 0, 0.0, float("inf"), False
    for count in LEVELS:
        backend = {"database": database.new_database(), "workers": 2} if database else {}
        p99, cpu = call_to_device_p99_s(count, **backend)
        print(f"  {count} devices: call -> device p99 {p99 * 1000:.0f} ms, backend CPU {cpu} ms an answer")
        cpu_ms = cpu if count == CPU_LEVEL else cpu_ms
        failed = failed or p99 > CALL_TO_DEVICE_GOAL_S
        if not failed:
            served, p99_ms = count, p99 * 1000
        if failed and count >= CPU_LEVEL:
            break
    return served, round(p99_ms, 1), cpu_ms


def run() -> dict:
    served, p99_ms, cpu_ms = backend_devices_served()
    postgres = PostgresServer().start()
    try:
        print("  on PostgreSQL, 2 workers:")
        served_postgresql, p99_ms_postgresql, cpu_ms_postgresql = backend_devices_served(postgres)
    finally:
        postgres.stop()
    return {
        "office_screens_agree_p99_ms": office_screens_agree_p99_ms(),
        "backend_devices_served": served,
        "backend_call_to_device_p99_ms_at_served": p99_ms,
        f"backend_cpu_ms_per_answer_at_{CPU_LEVEL}_devices": cpu_ms,
        "backend_devices_served_postgresql_2_workers": served_postgresql,
        "backend_call_to_device_p99_ms_at_served_postgresql": p99_ms_postgresql,
        f"backend_cpu_ms_per_answer_at_{CPU_LEVEL}_devices_postgresql": cpu_ms_postgresql,
    }
