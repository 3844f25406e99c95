"""Core figures: how long the daemon takes to be ready and to stop, and how fast tickets are issued durably."""

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


def start_and_stop_ms(runs: int = 5) -> dict:
    """Process start -> READY=1 on a real notify socket, and SIGTERM -> exit (medians), with a fresh state file
    each run. The stop is systemd's concern: the unit's TimeoutStopSec (10 s) ends in SIGKILL."""
    ready, stop = [], []
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
                ready.append((time.perf_counter() - started) * 1000)
                signalled = time.perf_counter()
                process.terminate()
                process.wait(60)
                stop.append((time.perf_counter() - signalled) * 1000)
            finally:
                process.kill()
                process.wait(10)
                notify.close()
    return {
        "startup_to_ready_ms": round(statistics.median(ready), 1),
        "sigterm_to_exit_ms": round(statistics.median(stop), 1),
    }


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
    return {**start_and_stop_ms(), "tickets_issued_per_s": tickets_issued_per_s()}
