"""Core figures: how long the daemon takes to be ready, and how fast tickets are issued durably."""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from appliance.app.config import load_config
from appliance.domain.clock import SystemClock
from appliance.domain.commands import CallNext, IssueTicket
from appliance.domain.core import Core
from appliance.domain.state import StateStore
from support.config import write_device_config

# Ranges wide enough that no benchmark runs out of numbers.
WIDE_CONCERNS = {
    "leave": {"title_de": "Urlaub beantragen", "prefix": "A", "last": 9999},
    "documents": {"title_de": "Unterlagen abgeben", "prefix": "C", "last": 9999},
}

REPO = Path(__file__).resolve().parent.parent


def _config(directory: Path) -> Path:
    return write_device_config(
        directory,
        device={"id": "bench-kiosk", "site": "bench-office", "roles": "kiosk"},
        concerns=WIDE_CONCERNS,
        core={"tick": "1s"},
    )


def startup_to_ready_ms(runs: int = 5) -> float:
    """Process start -> READY=1 on a real notify socket (median), with a fresh state file each run."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.bind(str(directory / "notify.sock"))
            notify.settimeout(30)
            env = dict(os.environ, NOTIFY_SOCKET=str(directory / "notify.sock"), PYTHONPATH=str(REPO))
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "appliance", "run", "--config", str(_config(directory))],
                env=env,
                stderr=subprocess.DEVNULL,
            )
            try:
                while b"READY=1" not in notify.recv(4096):
                    pass
                times.append((time.perf_counter() - started) * 1000)
            finally:
                process.terminate()
                process.wait(10)
                notify.close()
    return round(statistics.median(times), 1)


def tickets_issued_per_s(count: int = 2000, queue_length: int = 40) -> float:
    """Tickets handed to the running core from another thread, each committed with fsync and
    given its wait estimate, while counters keep the queue at a busy morning's length."""
    with tempfile.TemporaryDirectory(dir=REPO / "bench") as tmp:  # on the real disk, not tmpfs
        config = load_config(_config(Path(tmp)))
        store = StateStore(config.state.database)
        core = Core(config, store, SystemClock())
        core.start()
        started = time.perf_counter()
        for index in range(count):
            core.submit(IssueTicket("leave" if index % 2 else "documents")).result()
            if index >= queue_length:
                core.submit(CallNext(1 + index % 4))
        elapsed = time.perf_counter() - started
        core.stop()
        store.close()
    return round(count / elapsed, 1)


def run() -> dict:
    return {"startup_to_ready_ms": startup_to_ready_ms(), "tickets_issued_per_s": tickets_issued_per_s()}
