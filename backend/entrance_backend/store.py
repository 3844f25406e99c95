"""The reference backend's data in one SQLite file: appointments, devices' events, tickets, calls, waits.

An event batch is one transaction and (device, key) is unique, so each event's effect happens once
however often a device sends it. Thread-safe: one connection, one lock, short transactions.
"""

import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from appliance.protocol.contract import ProtocolError, parse_timestamp, timestamp

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    slot TEXT NOT NULL,                  -- local HH:MM
    concern TEXT NOT NULL,
    display_code TEXT NOT NULL,          -- what the monitor shows; never a name
    reference TEXT NOT NULL,             -- plain booking reference
    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in')),
    updated_at TEXT NOT NULL,
    created_seq INTEGER NOT NULL,        -- change sequence when added
    seq INTEGER NOT NULL,                -- change sequence of the last change: cursors count these
    checked_in_at TEXT,
    called_at TEXT,
    UNIQUE (site, day, display_code)
);
CREATE INDEX appointments_changes ON appointments (site, day, seq);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order of application
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,                    -- canonical JSON
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (device, key)
);
CREATE TABLE tickets (                 -- rowid: the order of arrival, which is the calling order
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    code TEXT NOT NULL,
    concern TEXT NOT NULL,
    number INTEGER NOT NULL,
    device TEXT NOT NULL,
    issued_at TEXT NOT NULL,             -- by the device's clock: kept, never ordered by
    state TEXT NOT NULL CHECK (state IN ('waiting', 'called', 'void')),
    called_at TEXT,
    counter INTEGER,
    PRIMARY KEY (site, day, code)
);
CREATE TABLE calls (
    n INTEGER PRIMARY KEY AUTOINCREMENT,   -- feed position
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    counter INTEGER NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('ticket', 'appointment')),
    called_at TEXT NOT NULL
);
CREATE INDEX calls_site ON calls (site, n);
CREATE TABLE waits (
    site TEXT NOT NULL,
    concern TEXT NOT NULL,
    day TEXT NOT NULL,
    minutes INTEGER NOT NULL,
    waiting INTEGER NOT NULL,
    estimated_at TEXT NOT NULL,
    PRIMARY KEY (site, concern)
);
CREATE TABLE health (
    device TEXT NOT NULL,
    component TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    PRIMARY KEY (device, component)
);
CREATE TABLE heartbeats (
    device TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body TEXT NOT NULL
);
"""
_APPOINTMENT_COLUMNS = "id, site, day, slot, concern, display_code, reference, status, updated_at"


class BackendRefusal(ProtocolError):
    """The backend's data does not allow what was asked."""


class CursorGone(BackendRefusal, LookupError):
    """A cursor this database never issued (it was reset, or the cursor is another backend's)."""


class KeyConflict(BackendRefusal):
    """An idempotency key was sent again with a different event; ``keys`` names them."""

    def __init__(self, keys):
        self.keys = list(keys)
        super().__init__(
            f"idempotency key(s) already used for a different event: {', '.join(self.keys[:10])}; "
            "the batch was not applied"
        )


class UnknownCode(BackendRefusal, LookupError):
    """No ticket or appointment of the day has this code."""


class NotCallable(BackendRefusal):
    """The code exists but cannot be called (void ticket, cancelled appointment)."""


class NobodyWaiting(BackendRefusal):
    """Nobody is waiting to be called."""


class BackendStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._transaction():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise BackendRefusal(f"{self.path} was written by a newer reference backend (schema {version})")
            if version == 0:
                for statement in _statements(SCHEMA):
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO meta VALUES ('epoch', ?), ('appointment_seq', '0')", (secrets.token_hex(4),)
                )
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        # Cursors carry the epoch, so one issued by an earlier (reset) database is recognised as foreign.
        self.epoch = self._db.execute("SELECT value FROM meta WHERE key='epoch'").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- cursors -------------------------------------------------------------------------------

    def cursor(self, position: int) -> str:
        return f"{self.epoch}-{position}"

    def position(self, cursor: str) -> int:
        epoch, _, position = cursor.rpartition("-")
        if epoch != self.epoch or not position.isdigit() or len(position) > 18:
            raise CursorGone(
                f"cursor {cursor!r} is not from this backend (it was reset, or the cursor is "
                "another's): fetch the full list again"
            )
        return int(position)

    # --- appointments --------------------------------------------------------------------------

    def add_appointments(self, appointments: list[dict], now: datetime) -> list[dict]:
        """Book appointments (dicts with site, day, slot, concern, display_code, reference, optional id)."""
        ids = []
        with self._transaction():
            for appointment in appointments:
                seq = self._next_seq()
                ids.append(appointment.get("id") or "apt-" + secrets.token_hex(6))
                self._db.execute(
                    f"INSERT INTO appointments ({_APPOINTMENT_COLUMNS}, created_seq, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ids[-1],
                        appointment["site"],
                        appointment["day"],
                        appointment["slot"],
                        appointment["concern"],
                        appointment["display_code"],
                        appointment["reference"],
                        appointment.get("status", "booked"),
                        timestamp(now),
                        seq,
                        seq,
                    ),
                )
            return [self._appointment("id=?", (id_,)) for id_ in ids]

    def change_appointment(self, appointment_id: str, now: datetime, **changes) -> dict:
        """Change slot, concern or status (e.g. ``status='cancelled'``); devices see it as a change."""
        allowed = {"slot", "concern", "status"}
        if not changes or set(changes) - allowed:
            raise ValueError(f"only {', '.join(sorted(allowed))} can change")
        with self._transaction():
            assignments = ", ".join(f"{name}=?" for name in changes)
            cursor = self._db.execute(
                f"UPDATE appointments SET {assignments}, seq=?, updated_at=? WHERE id=?",
                (*changes.values(), self._next_seq(), timestamp(now), appointment_id),
            )
            if cursor.rowcount == 0:
                raise UnknownCode(f"no appointment {appointment_id!r}")
            return self._appointment("id=?", (appointment_id,))

    def appointment_day(self, site: str, day: str) -> tuple[int, list[dict]]:
        """The day's appointments in slot order, and the position to continue from."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE site=? AND day=? ORDER BY slot, display_code",
                (site, day),
            ).fetchall()
            return self._day_position(site, day), [_appointment_from_row(row) for row in rows]

    def appointment_changes(self, site: str, day: str, since: int) -> tuple[int, list[tuple[str, dict]]]:
        """The day's appointments changed after position ``since``, each as (change, appointment)."""
        with self._lock:
            position = self._day_position(site, day)
            if since > position:
                raise CursorGone(
                    f"this backend never issued a cursor this far for {site} {day}: fetch the full day again"
                )
            rows = self._db.execute(
                f"SELECT {_APPOINTMENT_COLUMNS}, created_seq FROM appointments "
                "WHERE site=? AND day=? AND seq>? ORDER BY seq",
                (site, day, since),
            ).fetchall()
        changes = []
        for *columns, created_seq in rows:
            appointment = _appointment_from_row(columns)
            change = (
                "cancelled" if appointment["status"] == "cancelled" else "added" if created_seq > since else "changed"
            )
            changes.append((change, appointment))
        return position, changes

    def day_position(self, site: str, day: str) -> int:
        with self._lock:
            return self._day_position(site, day)

    # --- devices -------------------------------------------------------------------------------

    def record_heartbeat(self, device: str, site: str, heartbeat: dict, received_at: datetime) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO heartbeats VALUES (?, ?, ?, ?)",
                (device, site, timestamp(received_at), json.dumps(heartbeat, sort_keys=True)),
            )
            for component in heartbeat["components"]:
                self._health(
                    device, component["name"], component["state"], component.get("detail", ""), timestamp(received_at)
                )

    def apply_events(
        self, device: str, site: str, events: list[dict], received_at: datetime
    ) -> tuple[list[str], list[str]]:
        """Apply a batch in order, all or nothing; answers (accepted keys, duplicate keys)."""
        accepted, duplicates, conflicts = [], [], []
        with self._transaction():
            for event in events:
                body = json.dumps(event["body"], sort_keys=True, separators=(",", ":"))
                held = self._db.execute(
                    "SELECT kind, body FROM events WHERE device=? AND key=?", (device, event["key"])
                ).fetchone()
                if held is not None:
                    (duplicates if held == (event["kind"], body) else conflicts).append(event["key"])
                    continue
                self._db.execute(
                    "INSERT INTO events (device, key, kind, body, created_at, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (device, event["key"], event["kind"], body, event["created_at"], timestamp(received_at)),
                )
                # Devices may write any offset: effects keep UTC, so times order as text.
                created_at = timestamp(parse_timestamp(event["created_at"]))
                self._apply(device, site, event["kind"], event["body"], created_at, received_at)
                accepted.append(event["key"])
            if conflicts:
                raise KeyConflict(conflicts)  # rolls the whole batch back
        return accepted, duplicates

    def events(self, device: str) -> list[dict]:
        """Every event held for ``device``, in the order it was applied."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, kind, body, created_at FROM events WHERE device=? ORDER BY id", (device,)
            ).fetchall()
        return [
            {"key": key, "kind": kind, "body": json.loads(body), "created_at": created}
            for key, kind, body, created in rows
        ]

    def heartbeat(self, device: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM heartbeats WHERE device=?", (device,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- calls ---------------------------------------------------------------------------------

    def calls_after(self, site: str, after: int | None, limit: int) -> tuple[int, list[dict]]:
        """Calls after position ``after`` (None: the latest ``limit``), oldest first, and the new position."""
        with self._lock:
            position = self._calls_position(site)
            if after is None:
                rows = self._db.execute(
                    "SELECT * FROM (SELECT n, counter, code, kind, called_at FROM calls "
                    "WHERE site=? ORDER BY n DESC LIMIT ?) ORDER BY n",
                    (site, limit),
                ).fetchall()
            elif after > position:
                raise CursorGone(
                    f"this backend never issued a calls cursor this far for {site}: start again without 'after'"
                )
            else:
                rows = self._db.execute(
                    "SELECT n, counter, code, kind, called_at FROM calls WHERE site=? AND n>? ORDER BY n LIMIT ?",
                    (site, after, limit),
                ).fetchall()
        # With a limit, the answer may stop before the newest call: continue from the last one given.
        continue_from = position if after is None else rows[-1][0] if rows else after
        return continue_from, [self._call(*row) for row in rows]

    def call_code(self, site: str, day: str, counter: int, code: str, now: datetime) -> dict:
        """Counter ``counter`` calls ``code`` (again, if it was called before)."""
        with self._transaction():
            appointment = self._db.execute(
                "SELECT id, status FROM appointments WHERE site=? AND day=? AND display_code=?", (site, day, code)
            ).fetchone()
            if appointment is not None:
                if appointment[1] == "cancelled":
                    raise NotCallable(f"appointment {code} of {day} is cancelled")
                self._db.execute("UPDATE appointments SET called_at=? WHERE id=?", (timestamp(now), appointment[0]))
                return self._record_call(site, day, counter, code, "appointment", now)
            ticket = self._db.execute(
                "SELECT state FROM tickets WHERE site=? AND day=? AND code=?", (site, day, code)
            ).fetchone()
            if ticket is None:
                raise UnknownCode(f"no ticket or appointment {code} at {site} on {day}")
            if ticket[0] == "void":
                raise NotCallable(f"ticket {code} of {day} is void")
            self._call_ticket(site, day, code, counter, now)
            return self._record_call(site, day, counter, code, "ticket", now)

    def call_next(self, site: str, day: str, counter: int, now: datetime, concerns: list[str] | None = None) -> dict:
        """Checked-in appointments first (by slot, then check-in), then walk-in tickets in the order of arrival."""
        only = f" AND concern IN ({','.join('?' * len(concerns))})" if concerns else ""
        with self._transaction():
            row = self._db.execute(
                "SELECT id, display_code FROM appointments WHERE site=? AND day=? AND status='checked_in' AND "
                f"called_at IS NULL{only} ORDER BY slot, checked_in_at, id LIMIT 1",
                (site, day, *(concerns or ())),
            ).fetchone()
            if row is not None:
                self._db.execute("UPDATE appointments SET called_at=? WHERE id=?", (timestamp(now), row[0]))
                return self._record_call(site, day, counter, row[1], "appointment", now)
            # In the order the tickets reached the backend: never by a device's clock (its issued_at).
            row = self._db.execute(
                f"SELECT code FROM tickets WHERE site=? AND day=? AND state='waiting'{only} ORDER BY rowid LIMIT 1",
                (site, day, *(concerns or ())),
            ).fetchone()
            if row is None:
                raise NobodyWaiting(
                    f"nobody is waiting at {site} on {day}" + (f" for {', '.join(concerns)}" if concerns else "")
                )
            self._call_ticket(site, day, row[0], counter, now)
            return self._record_call(site, day, counter, row[0], "ticket", now)

    def tickets(self, site: str, day: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT code, concern, state, counter FROM tickets WHERE site=? AND day=? ORDER BY rowid",
                (site, day),
            ).fetchall()
        return [dict(zip(("code", "concern", "state", "counter"), row)) for row in rows]

    # --- wait estimates ------------------------------------------------------------------------

    def waits(self, site: str, day: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT concern, minutes, waiting, estimated_at FROM waits WHERE site=? AND day=? ORDER BY concern",
                (site, day),
            ).fetchall()
        return [dict(zip(("concern", "minutes", "waiting", "estimated_at"), row)) for row in rows]

    # --- internals -----------------------------------------------------------------------------

    def _apply(self, device: str, site: str, kind: str, body: dict, created_at: str, now: datetime) -> None:
        """An event's effect; unknown kinds and events about unknown things are kept without effect."""
        if kind == "ticket_issued":
            # A code issued twice is a kiosk misconfiguration; the first one stays.
            self._db.execute(
                "INSERT OR IGNORE INTO tickets (site, day, code, concern, number, device, issued_at, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting')",
                (site, body["day"], body["code"], body["concern"], body["number"], device, created_at),
            )
        elif kind == "ticket_void":
            self._db.execute(
                "UPDATE tickets SET state='void' WHERE site=? AND day=? AND code=?", (site, body["day"], body["code"])
            )
        elif kind == "ticket_called":
            self._db.execute(
                "UPDATE tickets SET state='called', called_at=?, counter=? WHERE site=? AND day=? "
                "AND code=? AND state='waiting'",
                (created_at, body["counter"], site, body["day"], body["code"]),
            )
        elif kind == "check_in":
            self._db.execute(
                "UPDATE appointments SET status='checked_in', checked_in_at=?, seq=?, updated_at=? "
                "WHERE id=? AND site=? AND status='booked'",
                (created_at, self._next_seq(), timestamp(now), body["appointment"], site),
            )
        elif kind == "appointment_called":
            self._db.execute(
                "UPDATE appointments SET called_at=? WHERE id=? AND site=? AND called_at IS NULL",
                (created_at, body["appointment"], site),
            )
        elif kind == "component_health":
            self._health(device, body["component"], body["state"], body.get("detail", ""), created_at)
        elif kind in ("printer_health", "scanner_health"):
            self._health(device, kind.removesuffix("_health"), body["state"], body.get("detail", ""), created_at)
        elif kind == "wait_estimate":
            # Several kiosks estimate the same concern: the latest estimate wins, whatever arrives last.
            self._db.execute(
                "INSERT INTO waits VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site, concern) DO UPDATE "
                "SET day=excluded.day, minutes=excluded.minutes, waiting=excluded.waiting, "
                "estimated_at=excluded.estimated_at WHERE excluded.estimated_at >= waits.estimated_at",
                (site, body["concern"], body["day"], body["minutes"], body["waiting"], created_at),
            )

    def _health(self, device, component, state, detail, reported_at) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO health VALUES (?, ?, ?, ?, ?)", (device, component, state, detail, reported_at)
        )

    def _call_ticket(self, site, day, code, counter, now) -> None:
        self._db.execute(
            "UPDATE tickets SET state='called', called_at=?, counter=? WHERE site=? AND day=? AND code=?",
            (timestamp(now), counter, site, day, code),
        )

    def _record_call(self, site, day, counter, code, kind, now) -> dict:
        called_at = timestamp(now)
        n = self._db.execute(
            "INSERT INTO calls (site, day, counter, code, kind, called_at) VALUES (?, ?, ?, ?, ?, ?)",
            (site, day, counter, code, kind, called_at),
        ).lastrowid
        return self._call(n, counter, code, kind, called_at)

    def _call(self, n, counter, code, kind, called_at) -> dict:
        return {
            "id": str(n),
            "cursor": self.cursor(n),
            "counter": counter,
            "code": code,
            "kind": kind,
            "called_at": called_at,
        }

    def _calls_position(self, site: str) -> int:
        return self._db.execute("SELECT COALESCE(MAX(n), 0) FROM calls WHERE site=?", (site,)).fetchone()[0]

    def _day_position(self, site: str, day: str) -> int:
        return self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM appointments WHERE site=? AND day=?", (site, day)
        ).fetchone()[0]

    def _next_seq(self) -> int:
        return int(
            self._db.execute(
                "UPDATE meta SET value=CAST(value AS INTEGER) + 1 WHERE key='appointment_seq' RETURNING value"
            ).fetchone()[0]
        )

    def _appointment(self, where: str, args) -> dict:
        row = self._db.execute(f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE {where}", args).fetchone()
        return _appointment_from_row(row)

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _appointment_from_row(row) -> dict:
    return dict(zip(("id", "site", "day", "slot", "concern", "display_code", "reference", "status", "updated_at"), row))


def site_day(moment: datetime, zone) -> str:
    """The calendar day at the site for ``moment``, as the protocol writes it (YYYY-MM-DD)."""
    return moment.astimezone(zone).date().isoformat()


def _statements(script: str):
    """The script's statements: comments off first (they may hold ';'), then split at ';'."""
    code = "\n".join(line.split("--")[0] for line in script.splitlines())
    return [statement.strip() for statement in code.split(";") if statement.strip()]
