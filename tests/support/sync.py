"""The sync tests' harness: the reference backend behind a Gate (an ASGI wrapper that records every
exchange and injects faults at the lowest boundary: status codes, cut connections, slow or mangled
answers) and a Device put together as the daemon does, with fast test intervals.
"""

import asyncio
import json
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import UTC
from email.utils import format_datetime

import psycopg
import requests

from appliance.app.config import load_config
from appliance.domain.commands import IssueTicket, KeepFallbackLease, TakeFallbackLease
from appliance.domain.core import Core
from appliance.domain.numbering import FallbackLease
from appliance.domain.state import StateStore
from appliance.protocol.http_server import BackgroundServer
from appliance.sync.clock_trust import ClockTrust
from appliance.sync.device_sync import DeviceSync
from entrance_backend.database import is_postgresql
from entrance_backend.http import Backend, DeviceAccess, Settings, create_app
from entrance_backend.store import BackendStore
from support import ANSWER_S, CLOCK, free_port, wait_for
from support.config import secret_file, write_device_config

TOKEN = "token-kiosk-1-0123456789"
TOKEN_2 = "token-kiosk-2-0123456789"  # a second kiosk of the office, device id kiosk-2
STAFF = "staff-secret"
SITE = "mitte"
ZONE = "Europe/Berlin"
KIOSK_1 = DeviceAccess("kiosk-1", SITE, TOKEN)
KIOSK_2 = DeviceAccess("kiosk-2", SITE, TOKEN_2)


# --- the backend, behind a gate that can misbehave -----------------------------------------------


class Gate:
    """ASGI middleware in front of the reference backend: records (method, path, query, status) of
    every exchange and, while a fault is set for a path, answers as the fault says."""

    def __init__(self, app):
        self.app = app
        self.faults: list[list] = []  # [method, path regex, action, times left (None: always)]
        self.exchanges: list[tuple] = []  # (method, path, query, status, when answered)
        self.arrivals: list[tuple] = []  # (method, path, query), also of requests still waiting
        self.lock = threading.Lock()

    def fault(self, method: str, path: str, action, times: int | None = 1) -> None:
        with self.lock:
            self.faults.append([method, re.compile(path), action, times])

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def count(self, method: str, path: str, status: int | None = None, query: str = "") -> int:
        with self.lock:
            return sum(
                1
                for m, p, q, s, _ in self.exchanges
                if m == method and re.search(path, p) and query in q and status in (None, s)
            )

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
                # The Date of the backend's own clock, as a backend on the real clock sends it (uvicorn's is off).
                date = format_datetime(CLOCK.now().astimezone(UTC), usegmt=True).encode()
                message = dict(message, headers=[*message.get("headers", []), (b"date", date)])
            await send(message)

        try:
            if action is None:
                await self.app(scope, receive, recording_send)
            else:
                await action(self.app, scope, receive, recording_send)
        finally:
            with self.lock:
                self.exchanges.append(
                    (
                        scope["method"],
                        scope["path"],
                        scope["query_string"].decode(),
                        status[0] if status else None,
                        time.monotonic(),
                    )
                )


async def _inner(app, scope, receive) -> tuple[int, list, bytes]:
    """The backend's own answer, kept back."""
    parts, start = [], {}

    async def keep(message):
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, keep)
    return (
        start["status"],
        [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"],
        b"".join(parts),
    )


async def _send(send, status: int, body: bytes, headers=(), content_type=b"application/json") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def answer(
    status: int,
    body: bytes = b'{"error": "internal_error", "message": "injected"}',
    headers=(),
    content_type=b"application/json",
):
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
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(body) + 100).encode()), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise ConnectionResetError("injected: the backend died mid-answer")

    return action


def held_back(release: threading.Event):
    """The backend does the work; its answer is held back until the test sets ``release``: late by as much as
    the test needs, however slow the machine (a failing test's answer comes after ANSWER_S)."""

    async def action(app, scope, receive, send):
        status, headers, body = await _inner(app, scope, receive)
        await asyncio.get_running_loop().run_in_executor(None, release.wait, ANSWER_S)
        await _send(send, status, body, [(k, v) for k, v in headers if k.lower() != b"content-type"])

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
    """The reference backend on a fixed loopback port and its database (a SQLite file in tmp_path unless given):
    stopped, started again and reset at will."""

    def __init__(self, tmp_path, port: int | None = None, devices=(KIOSK_1, KIOSK_2), database=None):
        database = database or tmp_path / "backend.db"
        self.settings = Settings(database, tuple(devices), STAFF, SITE, ZONE, rate_limit=0, clock=CLOCK.now)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gate = Gate(None)
        self.backend = self.server = None

    def start(self) -> "Central":
        self.backend = Backend(self.settings)
        self.gate.app = create_app(self.backend)
        self.server = BackgroundServer(
            self.gate, port=self.port, on_stop=self.backend.stopping, date_header=False
        ).start(timeout=ANSWER_S)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=ANSWER_S)
            self.backend.store.close()
            self.server = None

    def reset(self) -> None:
        """While stopped: the backend's database is lost; it starts again with an empty one."""
        database = self.settings.database
        if is_postgresql(database):
            with psycopg.connect(database, autocommit=True) as db:
                db.execute("DROP SCHEMA public CASCADE")
                db.execute("CREATE SCHEMA public")
        else:
            for path in database.parent.glob(database.name + "*"):
                path.unlink()

    @property
    def store(self):
        return self.backend.store

    def events(self, device: str = "kiosk-1") -> list[dict]:
        """Every event the backend holds for ``device`` (also while it is stopped)."""
        with self._reading() as store:
            return [{k: e[k] for k in ("key", "kind", "body")} for e in store.events(device)]

    def count(self) -> int:
        with self._reading() as store:
            return store.events_applied()

    def health(self) -> dict:
        with self._reading() as store:
            return {component: (state, detail) for _, component, state, detail in store.health()}

    @contextmanager
    def _reading(self):
        if self.server is not None:
            yield self.store
            return
        store = BackendStore(self.settings.database)
        try:
            yield store
        finally:
            store.close()

    def call(self, **body) -> requests.Response:
        return requests.post(
            f"{self.url}/v1/sites/{SITE}/calls",
            json=body,
            timeout=ANSWER_S,
            headers={"Authorization": f"Bearer {STAFF}"},
        )

    def book(self, count: int, day, slot: str = "09:00", first: int = 1) -> list[dict]:
        return self.store.add_appointments(
            [
                {
                    "site": SITE,
                    "day": day.isoformat(),
                    "slot": slot,
                    "concern": "leave",
                    "display_code": f"T{first + i:03d}",
                    "reference": f"REF{first + i:03d}X",
                }
                for i in range(count)
            ],
            CLOCK.now(),
        )


# --- the device ------------------------------------------------------------------------------------


def write_config(
    directory,
    url: str,
    token: str = TOKEN,
    timeout: str = f"{ANSWER_S:g}s",
    batch_size: int = 100,
    outbox_alarm: int = 10000,
    **sections: dict,
):
    """A device of SITE syncing with ``url``; ``sections`` add to its config (``device={"id": ...}``)."""
    token_file = secret_file(directory / "backend.token", token)
    device = {"site": SITE} | sections.pop("device", {})
    # A loaded test machine may take longer than a Pi's 300 ms to answer a draw: the longest deadline the
    # config allows (Device waits longer still); tests of the deadline set it themselves.
    sections["numbering"] = {"office_deadline": "5s"} | sections.get("numbering", {})
    return write_device_config(
        directory,
        **sections,
        device=device,
        backend={
            "url": url,
            "token_file": token_file,
            "timeout": timeout,
            "batch_size": batch_size,
            "outbox_alarm": outbox_alarm,
        },
    )


class Device:
    """Core, state, clock trust and sync as the daemon puts them together, with fast test intervals."""

    def __init__(self, directory, url: str, clock=None, trusted: bool = True, **config):
        self.config = load_config(write_config(directory, url, **config))
        self.clock = clock or CLOCK
        self.store = StateStore(self.config.state.database)
        self.core = Core(self.config, self.store, self.clock, clock_trusted=trusted, calls_by_backend=True)
        backend = self.config.backend
        self.clock_trust = ClockTrust(
            self.core,
            self.clock,
            backend.clock_tolerance.total_seconds(),
            trusted=trusted,
            synchronized_file=directory / "no-timesync",
            check_every_s=0.05,
            warning_s=backend.clock_warning.total_seconds(),
        )
        self.sync = DeviceSync(
            self.core, self.config, self.clock, self.clock_trust, calls_wait_s=5, retry_first_s=0.05, retry_most_s=0.5
        )
        self.sync.heartbeat_s = self.sync.appointments_s = 0.3
        if "office_deadline" not in config.get("numbering", {}):
            # A shared test machine stalls for longer than the 5 s the config allows: a draw waits for the
            # office's answer as long as any test waits for one, so only a test of the deadline meets it.
            self.sync.numbers.deadline = ANSWER_S

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

    def do(self, command, timeout: float = ANSWER_S):
        return self.core.submit(command).result(timeout)

    def issue(self, concern: str = "leave", source: str = "button"):
        """A press as the daemon serves it: the office's number when the backend answers in time, else one
        of the device's own fallback block."""
        return self.do(IssueTicket(concern, source, self.sync.numbers.draw(concern)))

    def holds_block(self, slot: int) -> "Device":
        """As if the backend had handed this device fallback block ``slot`` before (it numbers offline)."""
        numbering = self.config.numbering
        self.core.apply(KeepFallbackLease(FallbackLease(slot, numbering.fallback_blocks, numbering.fallback_size)))
        return self

    def leased(self, timeout: float = ANSWER_S) -> None:
        wait_for(lambda: self.do(TakeFallbackLease()) is not None, timeout, "a fallback block leased")

    def health(self, name: str = "backend"):
        return next((c for c in self.core.snapshot.components if c.name == name), None)

    def health_is(self, state, name: str = "backend") -> bool:
        """Whether component ``name`` reports ``state``; not before it reported at all (a device just started)."""
        health = self.health(name)
        return health is not None and health.state is state

    def events(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.config.state.database) as db:
            return db.execute("SELECT key, kind FROM events ORDER BY seq").fetchall()

    def delivered_events(self) -> list[tuple[str, str]]:
        """Those the backend confirmed: a health change may be recorded just after the outbox
        emptied, and is then legitimately still on its way."""
        with sqlite3.connect(self.config.state.database) as db:
            return db.execute("SELECT key, kind FROM events WHERE delivered_at IS NOT NULL ORDER BY seq").fetchall()


def delivered(device: Device, timeout: float = ANSWER_S) -> None:
    wait_for(lambda: device.core.snapshot.outbox_pending == 0, timeout, "an empty outbox")


def assert_held_once_in_order(central: Central, device: Device, delivered_before: list[tuple[str, str]]) -> None:
    """The backend holds each event once, in the order the device recorded it: all of those delivered
    before, and at most the device's later ones (it records wait estimates on its own schedule)."""
    held = [(e["key"], e["kind"]) for e in central.events()]
    assert len(held) == len(set(held))
    assert held == device.events()[: len(held)]
    assert held[: len(delivered_before)] == delivered_before


def local_now():
    """The tests' clock (support.CLOCK) in the office's zone: never the real date or time of day."""
    from zoneinfo import ZoneInfo

    return CLOCK.now().astimezone(ZoneInfo(ZONE))
