"""Startup to READY=1 of the installed daemon (median of 3, fresh state each), for tools/arm64-check.

Run with the installed venv's Python; prints milliseconds. The same measurement as bench's
startup_to_ready_ms, on the device as installed (no repository, no test helpers).
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
[device]
id = arm64-kiosk
site = arm64-office
roles = kiosk

[concern:leave]
title_de = Urlaub beantragen
prefix = A

[state]
database = {directory}/state.db

[core]
control_socket = {directory}/control.sock
"""


def ready_ms(directory: Path) -> float:
    config = directory / "appliance.conf"
    config.write_text(CONFIG.format(directory=directory), encoding="utf-8")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(directory / "notify.sock"))
        notify.settimeout(300)
        env = dict(os.environ, NOTIFY_SOCKET=str(directory / "notify.sock"))
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "run", "--config", str(config)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            while b"READY=1" not in notify.recv(4096):
                pass
            return (time.perf_counter() - started) * 1000
        finally:
            process.terminate()
            process.wait(60)


def main() -> None:
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(ready_ms(Path(tmp)))
    print(round(statistics.median(times)))


if __name__ == "__main__":
    main()
