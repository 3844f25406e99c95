"""A real PostgreSQL server for the tests, from Debian's package: one per test session, a new database per test.

Its data and its unix socket live in a temporary directory; as root it runs as the package's postgres user
(PostgreSQL refuses to run as root).
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql")
# Waits for its stdin (a pipe only the tests' process holds) to close, then stops the server and removes its
# directory: for a tests' process that ended without stop() (killed at a timeout, say), so no PostgreSQL
# server outlives the tests that started it.
GUARD = (
    "import shutil, subprocess, sys; sys.stdin.read(); "
    "subprocess.run(sys.argv[2:], capture_output=True); shutil.rmtree(sys.argv[1], ignore_errors=True)"
)


def server_programs() -> Path | None:
    """The newest installed server's bin directory (initdb, pg_ctl), or None."""
    versions = sorted((p for p in BIN.glob("*/bin") if (p / "initdb").exists()), key=lambda p: int(p.parent.name))
    return versions[-1] if versions else None


class PostgresServer:
    def __init__(self):
        self.programs = server_programs()
        if self.programs is None:
            raise RuntimeError("no PostgreSQL server: install Debian's postgresql (make test does)")
        self.directory = Path(tempfile.mkdtemp(prefix="entrance-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        self._databases = 0

    def start(self) -> "PostgresServer":
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        data = self.directory / "data"
        stop = self._command("pg_ctl", "-D", data, "-w", "-m", "immediate", "stop")
        self._guard = subprocess.Popen(
            [sys.executable, "-c", GUARD, self.directory, *stop],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
            start_new_session=True,  # a Ctrl-C of the tests does not end it before it has stopped the server
        )
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--locale=C.UTF-8", "-E", "UTF8")
        options = f"-k {self.directory} -c listen_addresses='' -c fsync=off -c max_connections=300"
        self._run("pg_ctl", "-D", data, "-w", "-l", self.directory / "log", "-o", options, "start")
        return self

    def restart(self) -> None:
        """As an operator's restart (or a failover): every connection is cut."""
        self._run("pg_ctl", "-D", self.directory / "data", "-w", "-m", "fast", "-l", self.directory / "log", "restart")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.directory / "data", "-w", "-m", "immediate", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
        self._guard.stdin.close()  # it finds nothing left to stop

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.directory}"

    def new_database(self) -> str:
        """A new, empty database's URL."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """The database is gone: as after a lost server, the next store there starts an empty one."""
        name = url.rpartition("/")[2].partition("?")[0]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")

    def _run(self, program: str, *args) -> None:
        subprocess.run(self._command(program, *args), check=True, capture_output=True, cwd=self.directory)

    def _command(self, program: str, *args) -> list[str]:
        command = [str(self.programs / program), *map(str, args)]
        return ["runuser", "-u", self.user, "--", *command] if self.user else command
