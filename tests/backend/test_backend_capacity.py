"""How many connections the reference backend serves at once: every device holds two long polls (calls,
office state) and uploads on two more, so an office region's devices need thousands (bench_office
measures how many devices it serves with calls on time)."""

import os
import resource
import subprocess
import sys

from entrance_backend.access import STAFF_TOKEN_VARIABLE
from support import free_port, serves, stop_process, wait_for


def open_files_limit(pid: int) -> int:
    """The process's soft limit of open files, as /proc says."""
    with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
        line = next(line for line in limits if line.startswith("Max open files"))
    return int(line.split()[3])


def test_the_backend_raises_a_low_open_files_limit_to_serve_every_connection_it_admits(tmp_path):
    port = free_port()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "entrance_backend.main", "serve", "--db", str(tmp_path / "backend.db")]
        + ["--port", str(port), "--max-connections", "1500"],
        env=os.environ | {STAFF_TOKEN_VARIABLE: "staff-token-0123456789"},
        # Debian's default soft limit, under which 1,000 connections would already be refused.
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: serves(f"http://127.0.0.1:{port}/openapi.json"), what="the backend answering")
        assert open_files_limit(process.pid) >= min(1500, hard)
    finally:
        stop_process(process)
