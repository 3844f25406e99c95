"""Sync figures: a big day list applied through the core, the outbox drained to the reference backend
on loopback, and how soon a staff call made at the backend is in the device core's snapshot."""

import json
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from appliance.app.config import load_config
from appliance.domain.clock import SystemClock, local_day
from appliance.domain.commands import ApplyDayList, IssueTicket
from appliance.domain.core import Core
from appliance.domain.state import Appointment, StateStore
from appliance.sync.device_sync import DeviceSync
from entrance_backend.main import BackgroundBackend, DeviceAccess, Settings
from support.config import secret_file, write_device_config

TOKEN, STAFF = "bench-device-token", "bench-staff-token"


def _config(directory: Path, url: str = "http://127.0.0.1:9"):
    token = secret_file(directory / "backend.token", TOKEN)
    path = write_device_config(
        directory,
        device={"id": "bench-kiosk", "site": "bench-office"},
        concerns={"leave": {"title_de": "Urlaub beantragen", "prefix": "A"}},
        core={"tick": "1s"},
        backend={"url": url, "token_file": token, "batch_size": 200},
    )
    return load_config(path)


def _backend(directory: Path) -> BackgroundBackend:
    settings = Settings(
        directory / "backend.db",
        (DeviceAccess("bench-kiosk", "bench-office", TOKEN),),
        STAFF,
        "bench-office",
        rate_limit=0,
    )
    return BackgroundBackend(settings).start()


def appointments_apply_10k_ms(runs: int = 3) -> float:
    """ApplyDayList of 10,000 appointments handed to the running core, committed on disk (median)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(Path(tmp))
        store = StateStore(config.state.database)
        core = Core(config, store, SystemClock())
        core.start()
        try:
            day = core.snapshot.day
            times = []
            for run in range(runs):
                appointments = tuple(
                    Appointment(
                        f"apt-{run}-{n}",
                        "bench-office",
                        day,
                        clock_time(7 + n % 10, n % 60),
                        "leave",
                        f"T{n:04d}",
                        f"REF{n:05d}",
                    )
                    for n in range(10_000)
                )
                started = time.perf_counter()
                core.submit(ApplyDayList(day, appointments)).result(60)
                times.append((time.perf_counter() - started) * 1000)
        finally:
            core.stop()
            store.close()
    return round(statistics.median(times), 1)


def outbox_drain_events_per_s(events: int = 5000) -> float:
    """5,000 undelivered events (a very busy day offline) delivered to the reference backend on loopback."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        backend = _backend(directory)
        config = _config(directory, backend.url)
        StateStore(config.state.database).close()  # the schema; then the outbox, filled in one go
        now = datetime.now(UTC)
        day = local_day(now, config.device.timezone).isoformat()
        with sqlite3.connect(config.state.database) as db:
            db.executemany(
                "INSERT INTO events (key, kind, body, created_at) VALUES (?, 'ticket_issued', ?, ?)",
                [
                    (
                        uuid.uuid4().hex,
                        json.dumps({"code": f"A{n:04d}", "concern": "leave", "day": day, "number": n}, sort_keys=True),
                        (now + timedelta(milliseconds=n)).isoformat(),
                    )
                    for n in range(1, events + 1)
                ],
            )
        store = StateStore(config.state.database)
        core = Core(config, store, SystemClock())
        sync = DeviceSync(core, config, SystemClock())
        core.start()
        try:
            started = time.perf_counter()
            sync.start()
            while core.snapshot.outbox_pending:
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
            assert len(backend.store.events("bench-kiosk")) == events
        finally:
            sync.stop()
            core.stop()
            store.close()
            backend.stop()
    return round(events / elapsed, 1)


def call_to_device_p99_ms(calls: int = 200) -> float:
    """A staff call posted at the reference backend -> in the device core's snapshot (p99 of 200)."""
    import requests

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        backend = _backend(directory)
        config = _config(directory, backend.url)
        store = StateStore(config.state.database)
        core = Core(config, store, SystemClock())
        sync = DeviceSync(core, config, SystemClock())
        seen: dict[str, float] = {}
        arrived = threading.Condition()

        def listener(snapshot):
            if snapshot.recent_calls:
                with arrived:
                    seen.setdefault(snapshot.recent_calls[0].code, time.perf_counter())
                    arrived.notify_all()

        core.subscribe(listener)
        core.start()
        sync.start()
        latencies = []
        try:
            # Pressed as the daemon serves a press: the office draws the number, then the core issues it.
            codes = [
                core.submit(IssueTicket("leave", "bench", sync.numbers.draw("leave"))).result(10).code
                for _ in range(calls)
            ]
            while core.snapshot.outbox_pending:
                time.sleep(0.01)
            session = requests.Session()
            for counter, code in enumerate(codes):
                time.sleep(0.02)  # the device's long poll is waiting again, as it would between calls
                started = time.perf_counter()
                answer = session.post(
                    f"{backend.url}/v1/sites/bench-office/calls",
                    timeout=10,
                    json={"counter": counter % 9 + 1, "code": code},
                    headers={"Authorization": f"Bearer {STAFF}"},
                )
                assert answer.status_code == 201, answer.text
                with arrived:
                    if not arrived.wait_for(lambda: code in seen, timeout=5):  # noqa: B023 (waited on before the loop moves on)
                        raise AssertionError(f"{code} never reached the device")
                latencies.append((seen[code] - started) * 1000)
        finally:
            sync.stop()
            core.stop()
            store.close()
            backend.stop()
    return round(statistics.quantiles(latencies, n=100)[98], 1)


def run() -> dict:
    return {
        "appointments_apply_10k_ms": appointments_apply_10k_ms(),
        "outbox_drain_events_per_s": outbox_drain_events_per_s(),
        "call_to_device_p99_ms": call_to_device_p99_ms(),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<32} {value}")
