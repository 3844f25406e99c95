"""The device's sync against the reference backend on loopback: real HTTP, real SQLite on both sides.

The backend runs behind a Gate, an ASGI wrapper that records every exchange and injects faults at the
lowest boundary (status codes, cut connections, slow or mangled answers); test_sync_device_faults.py
uses the same harness for the fault cases.
"""
import asyncio
import json
import re
import socket
import sqlite3
import statistics
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from appliance.clock import FakeClock, SystemClock
from appliance.commands import (CallNext, CheckIn, Health, IssueTicket, RecordEvent, ReportHealth, TakeDayList,
                                VoidTicket)
from appliance.config import load_config
from appliance.core import Core
from appliance.daemon import Appliance
from appliance.errors import ClockNotTrusted
from appliance.state import StateStore
from appliance.sync.backend_http import Backend, DeviceAccess, Settings, create_app
from appliance.sync.clock_trust import WAITING, ClockTrust
from appliance.sync.device_sync import DeviceSync
from appliance.sync.http_server import BackgroundServer

TOKEN = "token-kiosk-1-0123456789"
STAFF = "staff-secret"
SITE = "mitte"
ZONE = "Europe/Berlin"
CONFIG = """
[device]
id = kiosk-1
site = mitte
roles = kiosk, monitor

[concern:leave]
title_de = Urlaub beantragen
prefix = A

[concern:documents]
title_de = Unterlagen abgeben
prefix = C

[state]
database = {dir}/state.db

[core]
control_socket = {dir}/control.sock
tick = 50ms

[backend]
url = {url}
token_file = {dir}/backend.token
timeout = {timeout}
batch_size = {batch_size}
outbox_alarm = {outbox_alarm}
"""


# --- the backend, behind a gate that can misbehave -----------------------------------------------

class Gate:
    """ASGI middleware in front of the reference backend: records (method, path, query, status) of
    every exchange and, while a fault is set for a path, answers as the fault says."""

    def __init__(self, app):
        self.app = app
        self.faults: list[list] = []  # [method, path regex, action, times left (None: always)]
        self.exchanges: list[tuple] = []  # (method, path, query, status, when answered)
        self.arrivals: list[tuple] = []   # (method, path, query), also of requests still waiting
        self.lock = threading.Lock()

    def fault(self, method: str, path: str, action, times: int | None = 1) -> None:
        with self.lock:
            self.faults.append([method, re.compile(path), action, times])

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def count(self, method: str, path: str, status: int | None = None, query: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, q, s, _ in self.exchanges
                       if m == method and re.search(path, p) and query in q and status in (None, s))

    def arrived(self, method: str, path: str, query: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, q in self.arrivals if m == method and re.search(path, p) and query in q)

    def _take(self, scope):
        with self.lock:
            for fault in self.faults:
                method, path, action, times = fault
                if method == scope["method"] and path.search(scope["path"]) and times != 0:
                    if times is not None:
                        fault[3] -= 1
                    return action
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        action = self._take(scope)
        status = []
        with self.lock:
            self.arrivals.append((scope["method"], scope["path"], scope["query_string"].decode()))

        async def recording_send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            if action is None:
                await self.app(scope, receive, recording_send)
            else:
                await action(self.app, scope, receive, recording_send)
        finally:
            with self.lock:
                self.exchanges.append((scope["method"], scope["path"], scope["query_string"].decode(),
                                       status[0] if status else None, time.monotonic()))


async def _inner(app, scope, receive) -> tuple[int, list, bytes]:
    """The backend's own answer, kept back."""
    parts, start = [], {}

    async def keep(message):
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))
    await app(scope, receive, keep)
    return start["status"], [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"], \
        b"".join(parts)


async def _send(send, status: int, body: bytes, headers=(), content_type=b"application/json") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def answer(status: int, body: bytes = b'{"error": "internal_error", "message": "injected"}', headers=(),
           content_type=b"application/json"):
    """The gate answers this itself; the backend never sees the request."""
    async def action(app, scope, receive, send):
        await _send(send, status, body, headers, content_type)
    return action


def mangled(change):
    """The backend's real answer with its body changed by ``change(bytes) -> bytes``."""
    async def action(app, scope, receive, send):
        status, headers, body = await _inner(app, scope, receive)
        await _send(send, status, change(body), [(k, v) for k, v in headers if k.lower() != b"content-type"])
    return action


def json_mangled(change):
    """The backend's real JSON answer with ``change(document)`` applied."""
    def rewrite(body: bytes) -> bytes:
        document = json.loads(body)
        change(document)
        return json.dumps(document).encode()
    return mangled(rewrite)


def cut_after_apply():
    """The backend does the work, then the connection breaks in the middle of its answer."""
    async def action(app, scope, receive, send):
        status, headers, body = await _inner(app, scope, receive)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-length", str(len(body) + 100).encode()), *headers]})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise ConnectionResetError("injected: the backend died mid-answer")
    return action


def slow(seconds: float, after_work: bool = True):
    """The answer comes ``seconds`` late; with ``after_work`` the backend has already done the work."""
    async def action(app, scope, receive, send):
        if not after_work:
            await asyncio.sleep(seconds)
            return await app(scope, receive, send)
        status, headers, body = await _inner(app, scope, receive)
        await asyncio.sleep(seconds)
        await _send(send, status, body, [(k, v) for k, v in headers if k.lower() != b"content-type"])
    return action


class Central:
    """The reference backend on a fixed loopback port and SQLite file: stopped and started again at will."""

    def __init__(self, tmp_path, port: int | None = None):
        self.settings = Settings(tmp_path / "backend.db", (DeviceAccess("kiosk-1", SITE, TOKEN),), STAFF, SITE,
                                 ZONE, rate_limit=0)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gate = Gate(None)
        self.backend = self.server = None

    def start(self) -> "Central":
        self.backend = Backend(self.settings)
        self.gate.app = create_app(self.backend)
        self.server = BackgroundServer(self.gate, port=self.port, on_stop=self.backend.stopping).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.backend.store.close()
            self.server = None

    @property
    def store(self):
        return self.backend.store

    def events(self) -> list[dict]:
        """Every event the backend holds for kiosk-1, read from its file (also while it is stopped)."""
        with sqlite3.connect(self.settings.database) as db:
            rows = db.execute("SELECT key, kind, body FROM events WHERE device='kiosk-1' ORDER BY id").fetchall()
        return [{"key": key, "kind": kind, "body": json.loads(body)} for key, kind, body in rows]

    def count(self) -> int:
        try:
            with sqlite3.connect(self.settings.database, timeout=5) as db:
                return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    def health(self) -> dict:
        with sqlite3.connect(self.settings.database) as db:
            return {c: (s, d) for c, s, d in db.execute("SELECT component, state, detail FROM health")}

    def call(self, **body) -> requests.Response:
        return requests.post(f"{self.url}/v1/sites/{SITE}/calls", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {STAFF}"})

    def book(self, count: int, day, slot: str = "09:00", first: int = 1) -> list[dict]:
        return self.store.add_appointments(
            [{"site": SITE, "day": day.isoformat(), "slot": slot, "concern": "leave",
              "display_code": f"T{first + i:03d}", "reference": f"REF{first + i:03d}X"} for i in range(count)],
            datetime.now(timezone.utc))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the device ------------------------------------------------------------------------------------

def write_config(directory, url: str, token: str = TOKEN, timeout: str = "2s", batch_size: int = 100,
                 outbox_alarm: int = 10000):
    token_file = directory / "backend.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    path = directory / "appliance.conf"
    path.write_text(CONFIG.format(dir=directory, url=url, timeout=timeout, batch_size=batch_size,
                                  outbox_alarm=outbox_alarm), encoding="utf-8")
    return path


class Device:
    """Core, state, clock trust and sync as the daemon puts them together, with fast test intervals."""

    def __init__(self, directory, url: str, clock=None, trusted: bool = True, **config):
        self.config = load_config(write_config(directory, url, **config))
        self.clock = clock or SystemClock()
        self.store = StateStore(self.config.state.database)
        self.core = Core(self.config, self.store, self.clock, clock_trusted=trusted)
        self.clock_trust = ClockTrust(self.core, self.clock, 60, trusted=trusted,
                                      synchronized_file=directory / "no-timesync", check_every_s=0.05)
        self.sync = DeviceSync(self.core, self.config, self.clock, self.clock_trust, calls_wait_s=5,
                               retry_first_s=0.05, retry_most_s=0.5)
        self.sync.heartbeat_s = self.sync.appointments_s = 0.3

    def start(self) -> "Device":
        self.core.start()
        self.clock_trust.start()
        self.sync.start()
        return self

    def stop(self) -> None:
        self.sync.stop()
        self.clock_trust.stop()
        self.core.stop()
        self.store.close()

    def do(self, command, timeout: float = 5):
        return self.core.submit(command).result(timeout)

    def health(self, name: str = "backend"):
        return next((c for c in self.core.snapshot.components if c.name == name), None)

    def events(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.config.state.database) as db:
            return db.execute("SELECT key, kind FROM events ORDER BY seq").fetchall()

    def delivered_events(self) -> list[tuple[str, str]]:
        """Those the backend confirmed: a health change may be recorded just after the outbox
        emptied, and is then legitimately still on its way."""
        with sqlite3.connect(self.config.state.database) as db:
            return db.execute("SELECT key, kind FROM events WHERE delivered_at IS NOT NULL ORDER BY seq").fetchall()


def wait_for(condition, timeout: float = 10.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"{what} did not come true within {timeout} s")


def delivered(device: Device, timeout: float = 20.0) -> None:
    wait_for(lambda: device.core.snapshot.outbox_pending == 0, timeout, "an empty outbox")


def assert_held_once_in_order(central: Central, device: Device, delivered_before: list[tuple[str, str]]) -> None:
    """The backend holds each event once, in the order the device recorded it: all of those delivered
    before, and at most the device's later ones (it records wait estimates on its own schedule)."""
    held = [(e["key"], e["kind"]) for e in central.events()]
    assert len(held) == len(set(held))
    assert held == device.events()[:len(held)]
    assert held[:len(delivered_before)] == delivered_before


def local_now():
    from zoneinfo import ZoneInfo
    return datetime.now(ZoneInfo(ZONE))


@pytest.fixture
def central(tmp_path):
    central = Central(tmp_path).start()
    yield central
    central.stop()


@pytest.fixture
def device(tmp_path, central):
    device = Device(tmp_path, central.url).start()
    yield device
    device.stop()


# --- events up -------------------------------------------------------------------------------------

def test_every_kind_of_event_reaches_the_backend_once_in_order_with_its_effect(tmp_path, central):
    today = local_now().date()
    central.book(2, today, slot=local_now().strftime("%H:%M"))
    device = Device(tmp_path, central.url).start()
    try:
        wait_for(lambda: len(device.do(TakeDayList())) == 2, what="the day list on the device")
        for concern in ("leave", "leave", "leave", "documents"):
            device.do(IssueTicket(concern))
        assert device.do(CallNext(2)).code == "A001"
        device.do(VoidTicket("A002", "printer: paper out"))
        assert device.do(CheckIn("REF001X")).verdict.accepted
        assert device.do(CallNext(3)).display_code == "T001"
        device.do(RecordEvent("day_list_printed", {"day": today.isoformat(), "appointments": 2}))
        device.do(ReportHealth("printer", Health.DEGRADED, "paper near end"))
        device.do(ReportHealth("scanner evdev:/dev/input/event3", Health.FAILED, "unplugged"))
        delivered(device)
        sent = device.delivered_events()
    finally:
        device.stop()

    assert_held_once_in_order(central, device, sent)
    held = central.events()
    assert {kind for _, kind in sent} >= {"ticket_issued", "ticket_called", "ticket_void", "check_in",
                                          "appointment_called", "day_list_printed", "component_health"}
    assert "invalid_event" not in {e["kind"] for e in held}
    void = next(e for e in held if e["kind"] == "ticket_void")["body"]
    assert void == {"day": today.isoformat(), "code": "A002", "reason": "not_printed", "detail": "printer: paper out"}
    assert {t["code"]: t["state"] for t in central.store.tickets(SITE, today.isoformat())} == {
        "A001": "called", "A002": "void", "A003": "waiting", "C001": "waiting"}
    assert central.health()["printer"] == ("degraded", "paper near end")
    assert central.health()["scanner-evdev-dev-input-event3"] == ("failed", "unplugged")
    # T001 checked in and was called at the device: the backend offers the next ticket instead.
    assert central.call(counter=1, next=True).json()["code"] == "A003"


def test_offline_the_device_goes_on_and_its_outbox_survives_a_restart(tmp_path):
    central = Central(tmp_path)  # not started: the backend is away
    device = Device(tmp_path, central.url).start()
    try:
        codes = [device.do(IssueTicket("leave")).code for _ in range(5)]
        assert codes == ["A001", "A002", "A003", "A004", "A005"]  # tickets need no backend
        health = wait_for(lambda: (h := device.health()) and h.state == Health.DEGRADED and h)
        assert re.fullmatch(r"unreachable since \d\d:\d\d \(.*refused.*\)", health.detail, re.I), health.detail
        assert device.sync.stale_since is not None
        assert device.core.snapshot.outbox_pending >= 5
    finally:
        device.stop()
    central.start()
    device = Device(tmp_path, central.url).start()  # a reboot, then the backend is back
    try:
        delivered(device)
        wait_for(lambda: device.health().state == Health.OK, what="backend ok again")
        assert device.sync.stale_since is None
        sent = device.delivered_events()
    finally:
        device.stop()
        central.stop()
    assert_held_once_in_order(central, device, sent)
    assert [e["body"]["code"] for e in central.events() if e["kind"] == "ticket_issued"] == codes


def test_an_outbox_past_its_limit_raises_an_alarm_and_drops_nothing(tmp_path, caplog):
    central = Central(tmp_path)
    device = Device(tmp_path, central.url, outbox_alarm=10).start()
    try:
        for _ in range(12):
            device.do(IssueTicket("documents"))
        health = wait_for(lambda: (h := device.health()) and "outbox alarm" in h.detail and h, what="the alarm")
        assert health.state == Health.DEGRADED
        assert "more than 10 events not delivered (none is dropped)" in health.detail
        assert re.search(r"outbox alarm: 1\d events not delivered, more than \[backend\] outbox_alarm = 10",
                         caplog.text)
        central.start()
        delivered(device)
        wait_for(lambda: device.health().state == Health.OK, what="the alarm to end")
    finally:
        device.stop()
        central.stop()
    assert len([e for e in central.events() if e["kind"] == "ticket_issued"]) == 12


# --- day lists down --------------------------------------------------------------------------------

def test_day_lists_of_today_and_tomorrow_come_whole_then_as_changes_and_304s(tmp_path, central, device):
    today = local_now().date()
    tomorrow = today + timedelta(days=1)
    booked = central.book(3, today)
    central.book(2, tomorrow, first=4)
    wait_for(lambda: len(device.do(TakeDayList())) == 3, what="today's list")
    wait_for(lambda: central.gate.count("GET", "/appointments", 304, "since=") >= 2, what="304 for unchanged days")
    with sqlite3.connect(device.config.state.database) as db:
        assert db.execute("SELECT COUNT(*) FROM appointments WHERE day=?", (tomorrow.isoformat(),)).fetchone()[0] == 2

    central.store.change_appointment(booked[1]["id"], datetime.now(timezone.utc), status="cancelled")
    central.book(1, today, slot="10:00", first=6)
    wait_for(lambda: sorted(a.display_code for a in device.do(TakeDayList())) == ["T001", "T003", "T006"],
             what="the changes applied")
    assert central.gate.count("GET", "/appointments", 200, "since=") >= 1  # changes came since a cursor
    assert central.gate.count("GET", "/appointments", 200, "") - central.gate.count(
        "GET", "/appointments", 200, "since=") == 2  # the whole list once per day, no more


@pytest.mark.parametrize("fault, reason", [
    (lambda a: a.update(slot=900), "slot: must be of type string"),
    (lambda a: a.update(reference="Erika Mustermann"), "reference: is not a valid value (pattern)"),
    (lambda a: a.update(site="nord"), "is site nord's, not mitte"),
    (lambda a: a.update(day="2001-01-01"), "is for 2001-01-01"),
    (lambda a: a.update(display_code="T001"), "T001 appears twice"),
    (lambda a: a.update(name="Erika Mustermann"), "unknown field(s) 'name'"),
])
def test_a_day_list_with_any_wrong_entry_is_refused_whole(central, device, fault, reason, caplog):
    today = local_now().date()
    central.book(3, today)
    wait_for(lambda: len(device.do(TakeDayList())) == 3, what="the first list")
    before = device.do(TakeDayList())

    def spoil(document):
        items = document.get("appointments") or [change["appointment"] for change in document.get("changes", [])]
        if items:  # tomorrow's empty list, and unchanged days, stay as they are
            fault(items[-1])
    central.gate.fault("GET", "/appointments", json_mangled(spoil), times=None)
    central.book(2, today, slot="11:00", first=4)
    health = wait_for(lambda: (h := device.health()) and h.state == Health.DEGRADED and h, what="the refusal")
    assert f"day list {today} refused" in health.detail and reason in health.detail, health.detail
    assert device.do(TakeDayList()) == before  # nothing of it applied
    assert "Erika" not in caplog.text + health.detail  # the rule is named, never the value

    central.gate.clear()
    wait_for(lambda: len(device.do(TakeDayList())) == 5, what="the good list applied")
    wait_for(lambda: device.health().state == Health.OK, what="health ok again")


@pytest.mark.parametrize("spoil, reason", [
    (lambda body: body[: len(body) // 2], "not valid JSON"),
    (lambda body: b"<html><body>Gateway error</body></html>", "not valid JSON"),
    (lambda body: json.dumps({"site": "mitte", "x": "y" * 5_000_000}).encode(), "bytes; at most 4194304"),
    (lambda body: b'{"site": "mitte", "day": NaN}', "not valid JSON"),
])
def test_truncated_garbage_or_huge_day_lists_change_nothing(central, device, spoil, reason):
    today = local_now().date()
    central.book(2, today)
    wait_for(lambda: len(device.do(TakeDayList())) == 2, what="the first list")
    central.gate.fault("GET", "/appointments", mangled(spoil), times=None)
    central.book(1, today, slot="11:00", first=3)
    health = wait_for(lambda: (h := device.health()) and reason in h.detail and h, what="the refusal")
    assert health.state == Health.DEGRADED
    assert len(device.do(TakeDayList())) == 2
    assert device.core.running
    central.gate.clear()
    wait_for(lambda: len(device.do(TakeDayList())) == 3, what="the good list applied")


# --- calls down ------------------------------------------------------------------------------------

def test_a_staff_call_at_the_backend_is_on_the_device_within_a_second(central, device):
    for _ in range(5):
        device.do(IssueTicket("leave"))
    delivered(device)
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") >= 1, what="the long poll")
    latencies = []
    for counter in range(1, 6):
        time.sleep(0.1)  # the poll is waiting again
        called = time.monotonic()
        code = central.call(counter=counter, next=True).json()["code"]
        wait_for(lambda: device.core.snapshot.recent_calls and device.core.snapshot.recent_calls[0].code == code,
                 timeout=3, what=f"{code} on the device")
        latencies.append(time.monotonic() - called)
        assert device.core.snapshot.recent_calls[0].counter == counter
    print(f"\nstaff call -> device snapshot: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")
    assert max(latencies) < 1.0
    assert [c.code for c in device.core.snapshot.recent_calls] == ["A005", "A004", "A003", "A002", "A001"]


def test_cursors_outlive_a_backend_restart_and_a_reset_backend_is_followed(tmp_path, central, device):
    for _ in range(3):
        device.do(IssueTicket("leave"))
    delivered(device)
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") >= 1, what="the long poll")
    central.stop()
    central.start()  # same database: the device's cursor is still good
    polls = central.gate.arrived("GET", "/calls", "after=")
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") > polls, what="the poll again")
    central.call(counter=1, code="A001")
    wait_for(lambda: "A001" in {c.code for c in device.core.snapshot.recent_calls}, what="A001 on the device")
    assert central.gate.count("GET", "/calls", 410) == 0

    central.stop()
    central.settings.database.unlink()  # a new backend: the cursor means nothing there
    central.start()
    central.store.apply_events("kiosk-1", SITE, [
        {"key": "moved-over-a002", "kind": "ticket_issued", "created_at": datetime.now(timezone.utc).isoformat(),
         "body": {"day": local_now().date().isoformat(), "concern": "leave", "number": 2, "code": "A002"}}],
        datetime.now(timezone.utc))
    wait_for(lambda: central.gate.count("GET", "/calls", 410) >= 1, what="410 for the old cursor")
    polls = central.gate.arrived("GET", "/calls", "after=")
    wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") > polls, what="polling the new backend")
    central.call(counter=2, code="A002")
    wait_for(lambda: "A002" in {c.code for c in device.core.snapshot.recent_calls}, what="A002 on the device")
    central.book(2, local_now().date(), first=40)  # the day lists' cursors are gone too: whole lists again
    wait_for(lambda: [a.display_code for a in device.do(TakeDayList())] == ["T040", "T041"], what="the new list")
    assert central.gate.count("GET", "/appointments", 410) >= 1


def test_yesterdays_calls_never_call_todays_same_number(tmp_path, central):
    now = datetime.now(timezone.utc)
    yesterday = (local_now() - timedelta(days=1)).date().isoformat()
    central.store.apply_events("kiosk-2", SITE, [
        {"key": "yesterday-a001", "kind": "ticket_issued", "created_at": (now - timedelta(days=1)).isoformat(),
         "body": {"day": yesterday, "concern": "leave", "number": 1, "code": "A001"}}], now)
    central.store.call_code(SITE, yesterday, 4, "A001", now - timedelta(days=1))
    directory = tmp_path / "device"
    directory.mkdir()
    device = Device(directory, central.url)
    device.core.start()
    device.do(IssueTicket("leave"))  # today's A001, waiting
    device.clock_trust.start()
    device.sync.start()
    try:
        wait_for(lambda: central.gate.arrived("GET", "/calls", "after=") >= 1, what="the latest calls taken")
        time.sleep(0.2)
        assert [e.code for e in device.core.snapshot.waiting] == ["A001"]
        assert device.core.snapshot.recent_calls == ()
    finally:
        device.stop()


# --- heartbeat and clock ---------------------------------------------------------------------------

def test_heartbeats_carry_the_components_health(central, device):
    device.do(ReportHealth("printer", Health.DEGRADED, "paper near end " + "x" * 300))
    wait_for(lambda: (beat := central.store.heartbeat("kiosk-1")) and any(
        c["name"] == "printer" for c in beat["components"]), what="a heartbeat with the printer")
    beat = central.store.heartbeat("kiosk-1")
    assert beat["version"] and beat["roles"] == ["kiosk", "monitor"] and beat["clock_ok"] is True
    printer = next(c for c in beat["components"] if c["name"] == "printer")
    assert printer["state"] == "degraded" and len(printer["detail"]) == 200


def test_nothing_day_bound_is_issued_until_the_backends_clock_agrees(tmp_path, central):
    device = Device(tmp_path, central.url, trusted=False)
    device.core.start()
    device.clock_trust.start()
    try:
        with pytest.raises(ClockNotTrusted):
            device.do(IssueTicket("leave"))
        assert device.health("clock").state == Health.DEGRADED and device.health("clock").detail == WAITING
        device.sync.start()
        wait_for(lambda: device.health("clock").state == Health.OK, what="the clock trusted")
        assert device.do(IssueTicket("leave")).code == "A001"
    finally:
        device.stop()


def test_a_clock_hours_off_the_backends_stays_untrusted_and_says_why(tmp_path, central):
    clock = FakeClock(datetime.now(timezone.utc) - timedelta(hours=2))
    device = Device(tmp_path, central.url, clock=clock, trusted=False).start()
    try:
        health = wait_for(lambda: (h := device.health("clock")) and "off the backend's" in h.detail and h)
        assert re.search(r"the clock is -7\d\d\d s off the backend's \(more than the 60 s allowed", health.detail)
        with pytest.raises(ClockNotTrusted):
            device.do(IssueTicket("leave"))
        assert central.gate.count("GET", "/appointments") == 0  # which day it is is not known yet
    finally:
        device.stop()


def test_systemds_time_sync_signal_trusts_the_clock(tmp_path):
    central = Central(tmp_path)  # no backend at all
    device = Device(tmp_path, central.url, trusted=False).start()
    try:
        with pytest.raises(ClockNotTrusted):
            device.do(IssueTicket("leave"))
        (tmp_path / "no-timesync").touch()
        wait_for(lambda: device.health("clock").state == Health.OK, what="the clock trusted")
        assert device.do(IssueTicket("leave")).code == "A001"
    finally:
        device.stop()


# --- the daemon --------------------------------------------------------------------------------------

def test_the_daemon_runs_the_sync_and_its_view_says_since_when_calls_may_be_stale(tmp_path, central):
    config = load_config(write_config(tmp_path, central.url))
    appliance = Appliance(config)
    appliance.start()
    try:
        wait_for(lambda: central.store.heartbeat("kiosk-1"), what="the daemon's heartbeat")
        assert appliance.view(appliance.core.snapshot)["backend"] == {"stale_since": None}
        central.stop()
        stale = wait_for(lambda: appliance.view(appliance.core.snapshot)["backend"]["stale_since"], timeout=30)
        assert datetime.fromisoformat(stale) <= datetime.now(timezone.utc)
        wait_for(lambda: "degraded: backend degraded" in appliance.summary(), what="the summary says so")
    finally:
        started = time.monotonic()
        appliance.stop()
    assert time.monotonic() - started < 5  # the sync cuts its long poll instead of waiting it out
