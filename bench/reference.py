"""The yardsticks of one `make bench` run: a fixed piece of Python work and a fixed fsync, timed just
before each benchmark module, so every cost figure also reads as a multiple of what the machine did then.

The machine is shared and noisy: a figure alone says as much about the neighbours as about the code; its
ratio to the yardstick measured beside it is what compares across runs.
"""

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A waiting list's worth of records: JSON out and back, then sorted, as the daemon and backend do all day.
RECORDS = [
    {"code": f"A{n:03d}", "concern": ("leave", "money", "work")[n % 3], "rank": n * 7919 % 5000} for n in range(5000)
]


def cpu_ms(runs: int = 9) -> float:
    """Median time of the fixed Python job (tens of milliseconds on the 2-core development machine)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        sorted(json.loads(json.dumps(RECORDS)), key=lambda record: (record["concern"], record["rank"]))
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def fsync_ms(runs: int = 20) -> float:
    """Median time to write 4 KB to a file on the repository's disk (where the benchmarks keep their
    databases, not tmpfs) and fsync it: what each committed ticket or event waits for."""
    times = []
    with tempfile.TemporaryDirectory(dir=REPO / "bench") as folder:
        with open(Path(folder) / "yardstick", "wb") as file:
            for _ in range(runs):
                started = time.perf_counter()
                file.write(os.urandom(4096))
                file.flush()
                os.fsync(file.fileno())
                times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)
