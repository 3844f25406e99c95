"""The public wait page under load: 200 phones keep a visitor's wait page open (each reloading it) while
counters call, against ``entrance-backend serve`` on SQLite in a process of its own, on loopback.

wait_page_bytes: the whole answer for one number (status line, headers, body); wait_page_p99_ms: the
99th percentile of the phones' reloads, from sending the request to the last byte of the answer.
"""

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from support import free_port

PHONES = 200
RELOAD_S = 2.0  # each phone reloads every 2 s (the page itself: every 20 s), so 100 requests a second
DURATION_S = 20.0
CALL_EVERY_S = 1.0  # a counter calls the next visitor: the office's state changes under the phones
SITE, DEVICE, TOKEN, STAFF = "bench-office", "bench-kiosk", "bench-device-token", "bench-staff-token"
CONCERNS = {"leave": "A", "documents": "D", "first-application": "E"}
TICKETS_PER_CONCERN = 150


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        access = directory / "access.toml"
        access.write_text(f'[[device]]\nid = "{DEVICE}"\nsite = "{SITE}"\ntoken = "{TOKEN}"\n', encoding="utf-8")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "entrance_backend.main", "serve", "--db", str(directory / "backend.db")]
            + ["--port", str(port), "--site", SITE, "--access", str(access), "--rate-limit", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ | {"ENTRANCE_STAFF_TOKEN": STAFF},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url)
            codes = _seed(url)
            size = asyncio.run(_one_answer_bytes(port, codes[-1]))
            latencies = asyncio.run(_phones(port, url, codes))
        finally:
            server.terminate()
            server.wait(10)
    return {
        "wait_page_bytes": size,
        "wait_page_p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 2),
    }


def _wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/openapi.json", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("the reference backend did not start")


def _seed(url: str) -> list[str]:
    """An office's morning: tickets of three concerns and their published waits."""
    now = datetime.now(UTC)
    day = now.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()  # the backend's site day
    created = now.isoformat().replace("+00:00", "Z")
    events, codes = [], []
    for number in range(1, TICKETS_PER_CONCERN + 1):
        for concern, prefix in CONCERNS.items():
            code = f"{prefix}{number:03d}"
            codes.append(code)
            body = {"day": day, "concern": concern, "number": number, "code": code}
            events.append({"key": uuid.uuid4().hex, "kind": "ticket_issued", "body": body, "created_at": created})
    for concern in CONCERNS:
        body = {"day": day, "concern": concern, "minutes": 90, "waiting": TICKETS_PER_CONCERN}
        events.append({"key": uuid.uuid4().hex, "kind": "wait_estimate", "body": body, "created_at": created})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for start in range(0, len(events), 200):
        answer = requests.post(
            f"{url}/v1/devices/{DEVICE}/events", json={"events": events[start : start + 200]}, headers=headers
        )
        answer.raise_for_status()
    return codes


async def _one_answer_bytes(port: int, code: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head, body = await _get(reader, writer, code, close=True)
        return len(head) + len(body)
    finally:
        writer.close()


async def _phones(port: int, url: str, codes: list[str]) -> list[float]:
    latencies: list[float] = []
    stop_at = time.monotonic() + DURATION_S
    rng = random.Random(7)
    phones = [_phone(port, rng.choice(codes), rng.uniform(0, RELOAD_S), stop_at, latencies) for _ in range(PHONES)]
    await asyncio.gather(*phones, _counters(url, stop_at))
    return latencies


async def _phone(port: int, code: str, phase: float, stop_at: float, latencies: list[float]) -> None:
    await asyncio.sleep(phase)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                await _get(reader, writer, code)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed this idle kept-alive connection to make room (it bounds connections
                # still to send a request); a browser opens a new one and asks again, and so does the phone.
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                await _get(reader, writer, code)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(max(0.0, RELOAD_S - (time.perf_counter() - started)))
    finally:
        writer.close()


async def _counters(url: str, stop_at: float) -> None:
    session = requests.Session()
    counter = 0
    while time.monotonic() < stop_at:
        counter = counter % 5 + 1
        await asyncio.to_thread(
            session.post,
            f"{url}/v1/sites/{SITE}/calls",
            json={"counter": counter, "next": True},
            headers={"Authorization": f"Bearer {STAFF}"},
            timeout=10,
        )
        await asyncio.sleep(CALL_EVERY_S)


async def _get(reader, writer, code: str, close: bool = False) -> tuple[bytes, bytes]:
    connection = "close" if close else "keep-alive"
    writer.write(f"GET /w/{SITE}/{code} HTTP/1.1\r\nHost: bench\r\nConnection: {connection}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    return head, await reader.readexactly(length)


if __name__ == "__main__":
    print(run())
