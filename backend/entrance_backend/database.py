"""The store's two databases behind one small interface: a SQLite file (a pilot office, the demo) or a
PostgreSQL server (a job centre or a region, several backend processes); the store's SQL is written once.

Writes take the whole database (SQLite's one writer; on PostgreSQL an advisory lock), so what the store
reads in a write holds until it commits; reads see one moment. PostgreSQL tells every process's
``on_change`` of the sites other processes changed (LISTEN/NOTIFY).
"""

import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("entrance-backend")

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")
NOTIFY_CHANNEL = "entrance_office"
WRITE_LOCK = 470_112_026  # the advisory lock every writing transaction holds: one writer, as in SQLite


def is_postgresql(database: str | Path) -> bool:
    return str(database).startswith(POSTGRESQL_SCHEMES)


def describe(database: str | Path) -> str:
    """The database for a log line: a PostgreSQL URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(database))


def errors() -> tuple[type[Exception], ...]:
    """The drivers' errors: a database that failed or could not be reached, not a refusal of the store's."""
    return (sqlite3.Error, *_psycopg_errors("Error"))


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The drivers' errors worth a retry: SQLite busy, PostgreSQL unreachable or restarting."""
    return (sqlite3.OperationalError, *_psycopg_errors("OperationalError"))


def _psycopg_errors(name: str) -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # no libpq: nothing can raise them
        return ()
    return (getattr(psycopg, name),)


def connect(database: str | Path, on_change: Callable[[str], None]) -> "Database":
    """A SQLite file (created if missing) or, for a ``postgresql://`` URL, a PostgreSQL database."""
    return PostgreSQL(str(database), on_change) if is_postgresql(database) else SQLite(Path(database))


class Database:
    """One connection, used by one thread at a time (the store's lock)."""

    def execute(self, sql: str, args: tuple | list = ()):
        """Runs one statement written with ``?`` placeholders; the cursor's fetchone/fetchall/rowcount."""
        raise NotImplementedError

    @contextmanager
    def write(self):
        """A transaction no other writer runs beside, in this process or another."""
        self._begin_write()
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def _begin_write(self) -> None:
        raise NotImplementedError

    def read(self):
        """Statements that see one moment of the database."""
        raise NotImplementedError

    def changed(self, site: str) -> None:
        """In a write: tell the other processes, at its commit, that ``site``'s state changed."""

    def schema_version(self) -> int:
        raise NotImplementedError

    def set_schema_version(self, version: int) -> None:
        raise NotImplementedError

    def schema(self, script: str) -> str:
        """The schema's SQL as this database writes it."""
        return script

    def close(self) -> None:
        raise NotImplementedError


class SQLite(Database):
    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")

    def execute(self, sql, args=()):
        return self._db.execute(sql, args)

    def _begin_write(self):
        self._db.execute("BEGIN IMMEDIATE")

    @contextmanager
    def read(self):
        yield  # one process, one connection, the store's lock: nothing writes in between

    def schema_version(self):
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def set_schema_version(self, version):
        self._db.execute(f"PRAGMA user_version={int(version)}")

    def close(self):
        self._db.close()


class PostgreSQL(Database):
    """psycopg 3 on one connection for the store, and one more that listens for the other processes'
    changes. The password comes from libpq's own places (PGPASSWORD, ~/.pgpass), never the URL on a
    command line."""

    def __init__(self, url: str, on_change: Callable[[str], None]):
        import psycopg  # only where PostgreSQL is used: a pilot office on SQLite needs no libpq

        self._connect = lambda: psycopg.connect(url, autocommit=True)
        self._db = self._connect()
        self._pid = self._db.info.backend_pid
        self._listener = self._connect()
        self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self._on_change = on_change
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="postgresql-listen", daemon=True)
        self._thread.start()

    def execute(self, sql, args=()):
        return self._db.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(args))

    def _begin_write(self):
        self._reconnect()
        self._db.execute("BEGIN")
        # Held to the commit by every writing process: numbers drawn once, calls made once, as on SQLite.
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    @contextmanager
    def read(self):
        self._reconnect()
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def _reconnect(self) -> None:
        """After a lost connection (the server restarted), the next transaction runs on a new one."""
        if self._db.closed or self._db.broken:
            self._db = self._connect()
            self._pid = self._db.info.backend_pid

    def changed(self, site):
        self._db.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, site))

    def schema_version(self):
        if self._db.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            return 0
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        return int(row[0]) if row else 0

    def set_schema_version(self, version):
        self._db.execute(
            "INSERT INTO meta VALUES ('schema', %s) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (str(version),),
        )

    def schema(self, script):
        # A new PostgreSQL database has no rows to carry over: the SQLite row ids older schemas ordered by are none.
        script = script.replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        )
        return re.sub(r"\browid\b", "NULL::bigint", script)

    def close(self):
        self._closing.set()
        try:
            self._db.execute("SELECT pg_notify(%s, '')", (NOTIFY_CHANNEL,))  # wakes the listening thread to end
        except Exception:  # a connection already cut: the thread ends at its next second
            pass
        self._thread.join(timeout=5)
        self._listener.close()
        self._db.close()

    def _listen(self) -> None:
        while not self._closing.is_set():
            try:
                for notice in self._listener.notifies(timeout=1):
                    if self._closing.is_set():
                        return
                    if notice.pid != self._pid:  # this process's own changes it told at once
                        self._on_change(notice.payload)
            except Exception as error:  # meanwhile the long polls answer at their wait's end
                if self._closing.wait(1):
                    return
                log.warning("no change notices from PostgreSQL (%s): listening again", error)
                try:
                    self._listener = self._connect()
                    self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
                except Exception:  # the server is still away: try again
                    continue
