"""The demo's central system: the reference backend as a program of its own (``entrance-backend``),
and the demo's counters and booking office, which talk to it as an office's would: HTTP and its CLI.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import requests

from appliance.app.child_lifetime import dies_with_parent
from appliance.domain.errors import ApplianceError

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class ReferenceBackend:
    """``entrance-backend serve`` on a free loopback port, its clock started at the simulated day's
    moment; ``stop()`` (also after Ctrl-C or an error) ends the process, killing it if need be."""

    def __init__(
        self, var_dir: Path, log_path: Path, site: str, devices: dict[str, str], database: str = "", workers: int = 1
    ):
        """``devices``: the token of each device the backend lets in, by device id (``id@site`` for a device of
        another site than ``site``); ``database``: a PostgreSQL
        URL, with ``workers`` backend processes (default: a SQLite file in ``var_dir``, one process)."""
        self.database = database or var_dir / "backend.db"
        self.workers = workers
        self.site, self.devices = site, devices
        self._log_path = log_path
        self._staff_token = demo_secret(var_dir / "staff.token")
        self._access = var_dir / "backend-access.toml"
        self._clock_file = var_dir / "backend.clock"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen | None = None
        self._session = requests.Session()

    def start(self, clock_start: datetime | None) -> "ReferenceBackend":
        """``clock_start``: the simulated day's moment; None: the backend keeps the real time, as in production
        (the benchmark's, where a clock read from a file at every request would be counted as the backend's cost)."""
        command = _backend_command(
            "serve",
            "--db",
            str(self.database),
            "--port",
            str(self.port),
            "--site",
            self.site,
            "--access",
            str(self._write_access()),
            "--rate-limit",
            "0",
            "--workers",
            str(self.workers),
        )
        if clock_start is not None:
            self.set_clock(clock_start)
            command += ["--clock-file", str(self._clock_file)]
        with open(self._log_path, "ab") as log:
            # A session of its own: Ctrl-C reaches the demo only, which then stops the backend last,
            # once the device's final events are up.
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=dict(os.environ, ENTRANCE_STAFF_TOKEN=self._staff_token),
                start_new_session=True,
                preexec_fn=dies_with_parent(),
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ApplianceError(
                    f"the reference backend ended at start (exit code {self._process.returncode}); see {self._log_path}"
                )
            try:
                self._session.get(f"{self.url}/openapi.json", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):  # workers accept only once they are up
                time.sleep(0.05)
        raise ApplianceError(f"the reference backend did not answer within {START_TIMEOUT_S:g} s; see {self._log_path}")

    def stop(self) -> None:
        self._session.close()
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def set_clock(self, at: datetime) -> None:
        """Moves the backend's clock with the simulated day: its waits follow the pace of its calls."""
        partial = self._clock_file.with_suffix(".partial")
        partial.write_text(at.isoformat(), encoding="ascii")
        partial.replace(self._clock_file)  # whole or not at all: the backend never reads half a time

    def _write_access(self) -> Path:
        """The backend's access file: tokens go there (mode 0600), never on its command line."""
        self._access.unlink(missing_ok=True)
        descriptor = os.open(self._access, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            for key, token in self.devices.items():
                device, _, site = key.partition("@")  # the benchmark's devices of many sites: id@site
                file.write(f'[[device]]\nid = "{device}"\nsite = "{site or self.site}"\ntoken = "{token}"\n\n')
        return self._access

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def booked_ids(self, day: date) -> list[str]:
        """The ids of the day's appointments, as a device sees them."""
        answer = self._session.get(
            f"{self.url}/v1/sites/{self.site}/appointments",
            params={"day": day.isoformat()},
            headers={"Authorization": f"Bearer {next(iter(self.devices.values()))}"},
            timeout=10,
        )
        answer.raise_for_status()
        return [appointment["id"] for appointment in answer.json()["appointments"]]

    def book(self, appointments: list[dict], file: Path) -> None:
        """Books ``appointments`` (as the protocol writes them) with ``entrance-backend book``."""
        file.write_text(json.dumps(appointments, indent=1), encoding="utf-8")
        done = subprocess.run(
            _backend_command("book", "--db", str(self.database), "--site", self.site, "--file", str(file)),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ApplianceError(f"booking the demo's day at the reference backend failed: {done.stderr.strip()}")

    def call_next(self, counter: int) -> dict | None:
        """Counter ``counter`` calls the next visitor, as `entrance-backend call --next` does; None when
        nobody waits."""
        return self.staff({"counter": counter, "next": True})

    def recall(self, code: str, counter: int) -> dict:
        """The counter calls ``code`` again (`entrance-backend call --code`)."""
        return self.staff({"counter": counter, "code": code})

    def not_come(self, code: str) -> dict:
        """The called visitor did not come (`entrance-backend call --not-come`)."""
        return self.staff({"code": code, "not_come": True})

    def transfer(self, code: str, concern: str) -> dict:
        """The visitor is handed to ``concern``, keeping the number (`entrance-backend call --transfer`)."""
        return self.staff({"code": code, "transfer": {"concern": concern}})

    def staff(self, request: dict) -> dict | None:
        """One of the counters' operations (makeCall); None when nobody waits for a next call."""
        answer = self._session.post(
            f"{self.url}/v1/sites/{self.site}/calls",
            json=request,
            headers={"Authorization": f"Bearer {self._staff_token}"},
            timeout=10,
        )
        if answer.status_code == 409 and answer.json().get("error") == "nobody_waiting":
            return None
        if answer.status_code not in (200, 201):
            raise ApplianceError(f"the reference backend refused {request}: {answer.status_code} {answer.text[:200]}")
        return answer.json()

    def events(self, device: str) -> list[dict]:
        """The events the backend holds of ``device`` (``entrance-backend events``)."""
        done = subprocess.run(
            _backend_command("events", "--db", str(self.database), "--device", device),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise ApplianceError(f"reading the reference backend's events failed: {done.stderr.strip()}")
        return [json.loads(line) for line in done.stdout.splitlines()]


def demo_secret(path: Path) -> str:
    """A token made once and kept beside the demo's state (readable by its owner only)."""
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text(encoding="ascii").strip()


def _backend_command(*arguments: str) -> list[str]:
    # The same program as the `entrance-backend` console script, with the demo's interpreter, so a
    # venv that was not activated works too.
    return [sys.executable, "-m", "entrance_backend.main", *arguments]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
