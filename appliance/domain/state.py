"""Durable state in one SQLite file: issued tickets, calls, and the outbox of events for the backend.

Every change is one transaction with synchronous=FULL in WAL mode, and the event describing it is
written in the same transaction, so after a power loss at any instant a ticket and its event are
either both there or both absent, and a number once issued is never issued again that day, even when
the file loses tickets (its high-water marks are kept beside it: appliance.domain.high_water).
"""

import fcntl
import json
import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from appliance.domain.errors import DiskFull, NumbersExhausted, StateError
from appliance.domain.high_water import HighWaterMarks
from appliance.domain.numbering import FallbackLease, display_code, next_number

log = logging.getLogger(__name__)
APPLICATION_ID = 0x45415050  # "EAPP": tells our files from other SQLite files
SQLITE_MAGIC = b"SQLite format 3\x00"

# Schema versions in order; a database at version N gets every script after N, each atomically.
MIGRATIONS: list[str] = [
    # 1: tickets and the event outbox
    """
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,                 -- local calendar day, ISO
        concern TEXT NOT NULL,
        number INTEGER NOT NULL,
        code TEXT NOT NULL,                -- as shown and printed: 'A042'
        issued_at TEXT NOT NULL,           -- UTC, ISO
        state TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'called', 'void')),
        called_at TEXT,
        counter INTEGER,
        UNIQUE (day, concern, number)
    );
    CREATE INDEX tickets_waiting ON tickets (day, state, issued_at);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order
        key TEXT NOT NULL UNIQUE,               -- idempotency key for the backend
        kind TEXT NOT NULL,
        body TEXT NOT NULL,                     -- JSON; never personal data
        created_at TEXT NOT NULL,
        delivered_at TEXT
    );
    CREATE INDEX events_pending ON events (delivered_at, seq);
    """,
    # 2: booked appointments (from the backend's day list or from signed codes) and their check-in
    """
    CREATE TABLE appointments (
        id TEXT PRIMARY KEY,               -- the central system's id; no personal data anywhere
        site TEXT NOT NULL,
        day TEXT NOT NULL,                 -- local calendar day, ISO
        slot TEXT NOT NULL,                -- local HH:MM
        concern TEXT NOT NULL,
        display_code TEXT NOT NULL,        -- what the monitor shows: 'T042'
        reference TEXT,                    -- plain booking reference, for backends that do not sign
        status TEXT NOT NULL DEFAULT 'booked'
            CHECK (status IN ('booked', 'cancelled', 'checked_in', 'called')),
        checked_in_at TEXT,
        called_at TEXT,
        counter INTEGER
    );
    CREATE INDEX appointments_day ON appointments (day, status);
    CREATE INDEX appointments_reference ON appointments (day, reference);
    """,
    # 3: the fallback block the backend leased this device, kept so it holds offline and across restarts
    """
    CREATE TABLE fallback_lease (
        only INTEGER PRIMARY KEY CHECK (only = 1),  -- one lease per device
        site TEXT NOT NULL,
        slot INTEGER NOT NULL,
        blocks INTEGER NOT NULL,
        size INTEGER NOT NULL,
        leased_at TEXT NOT NULL                      -- UTC, ISO
    );
    """,
    # 4: the office's call-up state as the backend last told it, so a restart offline still shows it
    """
    CREATE TABLE office_state (
        day TEXT PRIMARY KEY,              -- local calendar day, ISO
        version INTEGER NOT NULL,
        body TEXT NOT NULL                 -- JSON: codes, concerns, counters and times only
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Ticket:
    """A walk-in waiting ticket."""

    id: int
    day: date
    concern: str
    number: int
    code: str
    issued_at: datetime
    state: str
    called_at: datetime | None = None
    counter: int | None = None
    # Set by the core when it issues the ticket: what the ticket prints.
    people_ahead: int | None = None
    wait_minutes: tuple[int, int] | None = None


@dataclass(frozen=True)
class Appointment:
    """A booked appointment as the device knows it."""

    id: str
    site: str
    day: date
    slot: time
    concern: str
    display_code: str
    reference: str | None = None
    status: str = "booked"
    checked_in_at: datetime | None = None
    called_at: datetime | None = None
    counter: int | None = None


@dataclass(frozen=True)
class EventRecord:
    seq: int
    key: str
    kind: str
    body: dict
    created_at: datetime


class StateStore:
    """The appliance's SQLite database. Owned by the core thread: nothing else writes to it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.marks = HighWaterMarks(self.path.with_name(self.path.name + ".numbers"))
        _inspect_existing(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_exclusively(self.path.with_name(self.path.name + ".lock"))
        self.marks.open()
        # isolation_level=None: transactions are begun and ended explicitly below.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self._warn_of_lost_numbers()

    def close(self) -> None:
        self._db.close()
        self.marks.close()
        self._lock.close()  # releases the lock

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version={number}")
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                self._db.execute("ROLLBACK")
                raise StateError(
                    f"{self.path}: migrating to schema {number} failed ({error}); the database is unchanged"
                ) from error

    # --- writes: each is one transaction, ticket and event together -------------------------

    def issue_ticket(
        self,
        *,
        day: date,
        concern: str,
        prefix: str,
        low: int,
        high: int,
        last: int,
        issued_at: datetime,
        key: str | None = None,
    ) -> Ticket:
        """Issue the next number of ``concern`` in ``low..high`` for ``day``; durable on return. ``key``: its
        ticket_issued event's (an office number's draw key, so the backend knows it as drawn)."""
        with self._transaction():
            number = next_number(self.highest_number(day, concern, low, high), low, high)
            if number is None:
                raise NumbersExhausted(f"all numbers {low}-{high} of concern {concern!r} were issued on {day}")
            code = display_code(prefix, number, last)
            cursor = self._db.execute(
                "INSERT INTO tickets (day, concern, number, code, issued_at) VALUES (?, ?, ?, ?, ?)",
                (day.isoformat(), concern, number, code, issued_at.isoformat()),
            )
            self._record(
                "ticket_issued",
                {"day": day.isoformat(), "concern": concern, "number": number, "code": code},
                issued_at,
                key,
            )
        # Recorded twice before it is printed: a crash in between leaves the database's record, which
        # lost ticket was never handed out.
        self.marks.note(day, concern, number, issued_at)
        return Ticket(cursor.lastrowid, day, concern, number, code, issued_at, "waiting")

    def call_next(
        self, *, day: date, counter: int, called_at: datetime, concerns: tuple[str, ...] | None = None
    ) -> Ticket | Appointment | None:
        """Give ``counter`` the next visitor of ``day`` (of ``concerns``, if given): checked-in
        appointments first, by slot, then the longest-waiting walk-in ticket."""
        with self._transaction():
            query = "SELECT id FROM appointments WHERE day=? AND status='checked_in'"
            args: list = [day.isoformat()]
            if concerns:
                query += f" AND concern IN ({','.join('?' * len(concerns))})"
                args += list(concerns)
            row = self._db.execute(query + " ORDER BY slot, checked_in_at LIMIT 1", args).fetchone()
            if row is not None:
                self._db.execute(
                    "UPDATE appointments SET status='called', called_at=?, counter=? WHERE id=?",
                    (called_at.isoformat(), counter, row[0]),
                )
                appointment = self.appointment(row[0])
                self._record(
                    "appointment_called",
                    {
                        "appointment_id": appointment.id,
                        "day": day.isoformat(),
                        "code": appointment.display_code,
                        "counter": counter,
                    },
                    called_at,
                )
                return appointment
            query = "SELECT id FROM tickets WHERE day=? AND state='waiting'"
            args: list = [day.isoformat()]
            if concerns:
                query += f" AND concern IN ({','.join('?' * len(concerns))})"
                args += list(concerns)
            row = self._db.execute(query + " ORDER BY issued_at, id LIMIT 1", args).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE tickets SET state='called', called_at=?, counter=? WHERE id=?",
                (called_at.isoformat(), counter, row[0]),
            )
            ticket = self._ticket(row[0])
            self._record(
                "ticket_called",
                {"day": ticket.day.isoformat(), "code": ticket.code, "concern": ticket.concern, "counter": counter},
                called_at,
            )
        return ticket

    def void_ticket(self, *, day: date, code: str, reason: str, at: datetime) -> Ticket | None:
        """Take a waiting ticket out of the queue for good; its number is never issued again."""
        with self._transaction():
            row = self._db.execute(
                "SELECT id FROM tickets WHERE day=? AND code=? AND state='waiting'", (day.isoformat(), code)
            ).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE tickets SET state='void' WHERE id=?", (row[0],))
            ticket = self._ticket(row[0])
            self._record(
                "ticket_void", {"day": day.isoformat(), "code": code, "concern": ticket.concern, "reason": reason}, at
            )
        return ticket

    def appointment(self, appointment_id: str) -> Appointment | None:
        row = self._db.execute(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE id=?", (appointment_id,)
        ).fetchone()
        return _appointment_from_row(row) if row else None

    def appointment_by_reference(self, day: date, reference: str) -> Appointment | None:
        row = self._db.execute(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE day=? AND reference=?", (day.isoformat(), reference)
        ).fetchone()
        return _appointment_from_row(row) if row else None

    def check_in(self, appointment: Appointment, at: datetime) -> Appointment:
        """Record the check-in (and the appointment itself, when only its signed code told of it)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO appointments (id, site, day, slot, concern, display_code, reference) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    appointment.id,
                    appointment.site,
                    appointment.day.isoformat(),
                    appointment.slot.strftime("%H:%M"),
                    appointment.concern,
                    appointment.display_code,
                    appointment.reference,
                ),
            )
            self._db.execute(
                "UPDATE appointments SET status='checked_in', checked_in_at=? WHERE id=?",
                (at.isoformat(), appointment.id),
            )
            # What the signed code says, so a backend that never held the appointment can make it callable.
            self._record(
                "check_in",
                {
                    "appointment_id": appointment.id,
                    "site": appointment.site,
                    "day": appointment.day.isoformat(),
                    "slot": appointment.slot.strftime("%H:%M"),
                    "code": appointment.display_code,
                    "concern": appointment.concern,
                },
                at,
            )
        return self.appointment(appointment.id)

    def appointments(self, day: date) -> list[Appointment]:
        rows = self._db.execute(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE day=? ORDER BY slot, display_code",
            (day.isoformat(),),
        )
        return [_appointment_from_row(row) for row in rows]

    def has_event(self, kind: str, day: date) -> bool:
        """Whether an event of ``kind`` about ``day`` was recorded (e.g. the day list was printed)."""
        return (
            self._db.execute(
                "SELECT 1 FROM events WHERE kind=? AND json_extract(body, '$.day')=? LIMIT 1", (kind, day.isoformat())
            ).fetchone()
            is not None
        )

    def checked_in(self, day: date) -> list[Appointment]:
        rows = self._db.execute(
            f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE day=? AND "
            "status='checked_in' ORDER BY slot, checked_in_at",
            (day.isoformat(),),
        )
        return [_appointment_from_row(row) for row in rows]

    def replace_appointments(self, day: date, appointments: list[Appointment]) -> None:
        """Apply a day list from the backend, whole or not at all; the device's own check-ins and
        calls win over the list's status, because they happened here and are on their way up."""
        with self._transaction():
            local = {
                row[0]: row[1]
                for row in self._db.execute(
                    "SELECT id, status FROM appointments WHERE day=? AND status IN ('checked_in', 'called')",
                    (day.isoformat(),),
                )
            }
            self._db.execute(
                "DELETE FROM appointments WHERE day=? AND status NOT IN ('checked_in', 'called')", (day.isoformat(),)
            )
            for a in appointments:
                if a.day != day:
                    raise ValueError(f"appointment {a.id} is for {a.day}, not {day}")
                if a.id in local:
                    continue  # checked in here (even if cancelled since): the visitor is served all the same
                self._db.execute(
                    "INSERT INTO appointments (id, site, day, slot, concern, display_code, reference, status) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a.id,
                        a.site,
                        day.isoformat(),
                        a.slot.strftime("%H:%M"),
                        a.concern,
                        a.display_code,
                        a.reference,
                        a.status,
                    ),
                )  # checked in at another kiosk of the office: in our queue too

    def record_event(self, kind: str, body: dict, created_at: datetime) -> None:
        with self._transaction():
            self._record(kind, body, created_at)

    # --- reads ---------------------------------------------------------------------------------

    def waiting(self, day: date) -> list[Ticket]:
        rows = self._db.execute(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE day=? AND state='waiting' ORDER BY issued_at, id",
            (day.isoformat(),),
        )
        return [_ticket_from_row(row) for row in rows]

    def recent_calls(self, day: date, limit: int = 10) -> list[Ticket | Appointment]:
        """Tickets and appointments called on ``day``, newest first."""
        tickets = [
            _ticket_from_row(row)
            for row in self._db.execute(
                f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE day=? AND state='called' "
                "ORDER BY called_at DESC, id DESC LIMIT ?",
                (day.isoformat(), limit),
            )
        ]
        appointments = [
            _appointment_from_row(row)
            for row in self._db.execute(
                f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE day=? AND status='called' "
                "ORDER BY called_at DESC LIMIT ?",
                (day.isoformat(), limit),
            )
        ]
        return sorted(tickets + appointments, key=lambda c: c.called_at, reverse=True)[:limit]

    def issued_counts(self, day: date) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT concern, COUNT(*) FROM tickets WHERE day=? GROUP BY concern", (day.isoformat(),)
        )
        return dict(rows.fetchall())

    def tickets(self, day: date) -> list[Ticket]:
        rows = self._db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE day=? ORDER BY id", (day.isoformat(),))
        return [_ticket_from_row(row) for row in rows]

    def pending_events(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM events WHERE delivered_at IS NULL").fetchone()[0]

    def recent_events(self, limit: int = 10) -> list[EventRecord]:
        rows = self._db.execute(
            "SELECT seq, key, kind, body, created_at FROM events ORDER BY seq DESC LIMIT ?", (limit,)
        )
        return [
            EventRecord(seq, key, kind, json.loads(body), datetime.fromisoformat(created))
            for seq, key, kind, body, created in rows
        ]

    def latest_instant(self) -> datetime | None:
        """The latest time this device's own clock gave a ticket or a check-in (by the database and the
        numbers' record; a call's time is the backend's clock): a clock behind it was set back."""
        row = self._db.execute(
            "SELECT (SELECT MAX(issued_at) FROM tickets), (SELECT MAX(checked_in_at) FROM appointments)"
        ).fetchone()
        instants = [datetime.fromisoformat(text) for text in row if text] + [self.marks.latest] * bool(
            self.marks.latest
        )
        return max(instants, default=None)

    def undelivered_events(self, limit: int) -> list[EventRecord]:
        """The oldest events the backend has not confirmed, in the order they happened."""
        rows = self._db.execute(
            "SELECT seq, key, kind, body, created_at FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            EventRecord(seq, key, kind, json.loads(body), datetime.fromisoformat(created))
            for seq, key, kind, body, created in rows
        ]

    def mark_delivered(self, keys, at: datetime) -> int:
        with self._transaction():
            return sum(
                self._db.execute(
                    "UPDATE events SET delivered_at=? WHERE key=? AND delivered_at IS NULL", (at.isoformat(), key)
                ).rowcount
                for key in keys
            )

    def call_code(self, *, day: date, code: str, counter: int, called_at: datetime) -> Ticket | Appointment | None:
        """A staff call for a given code (from the backend): the waiting ticket or checked-in appointment."""
        with self._transaction():
            row = self._db.execute(
                "SELECT id FROM tickets WHERE day=? AND code=? AND state='waiting'", (day.isoformat(), code)
            ).fetchone()
            if row is not None:
                self._db.execute(
                    "UPDATE tickets SET state='called', called_at=?, counter=? WHERE id=?",
                    (called_at.isoformat(), counter, row[0]),
                )
                return self._ticket(row[0])
            row = self._db.execute(
                "SELECT id FROM appointments WHERE day=? AND display_code=? AND status IN ('booked', 'checked_in')",
                (day.isoformat(), code),
            ).fetchone()
            if row is not None:
                self._db.execute(
                    "UPDATE appointments SET status='called', called_at=?, counter=? WHERE id=?",
                    (called_at.isoformat(), counter, row[0]),
                )
                return self.appointment(row[0])
        return None

    def highest_number(self, day: date, concern: str, low: int, high: int) -> int | None:
        """The highest number of ``concern`` in ``low..high`` issued on ``day`` (voided ones count too), by
        the database or, where it lost tickets, by the high-water marks."""
        stored = self._db.execute(
            "SELECT MAX(number) FROM tickets WHERE day=? AND concern=? AND number BETWEEN ? AND ?",
            (day.isoformat(), concern, low, high),
        ).fetchone()[0]
        marked = self.marks.highest(day, concern, low, high)
        return max((n for n in (stored, marked) if n is not None), default=None)

    def _warn_of_lost_numbers(self) -> None:
        """Says which numbers the database lost (its -wal deleted or cut, emptied, an older copy)."""
        day = self.marks.day
        for concern, marked in sorted(self.marks.numbers().items()):
            stored = self._db.execute(
                "SELECT MAX(number) FROM tickets WHERE day=? AND concern=?", (day.isoformat(), concern)
            ).fetchone()[0]
            if stored is None or stored < marked:
                log.warning(
                    "%s lost tickets: %s of %s went up to number %d (%s), the database knows %s; numbering "
                    "goes on above %d",
                    self.path,
                    concern,
                    day,
                    marked,
                    self.marks.path.name,
                    stored if stored is not None else "none",
                    marked,
                )

    def fallback_lease(self, site: str) -> FallbackLease | None:
        """The fallback block the backend leased this device at ``site``, if any."""
        row = self._db.execute("SELECT slot, blocks, size FROM fallback_lease WHERE site=?", (site,)).fetchone()
        return FallbackLease(*row) if row else None

    def keep_fallback_lease(self, site: str, lease: FallbackLease, at: datetime) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO fallback_lease VALUES (1, ?, ?, ?, ?, ?)",
                (site, lease.slot, lease.blocks, lease.size, at.isoformat()),
            )

    def keep_office_state(self, day: date, version: int, body: dict) -> None:
        """The office's state of ``day``, in place of any earlier one (of any day). Without an fsync of its
        own: it is a copy of the backend's, kept for a restart offline, and follows every change of the
        office; the next ticket's commit makes it durable too (WAL), and losing it loses nothing."""
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._transaction():
                self._db.execute("DELETE FROM office_state")
                self._db.execute(
                    "INSERT INTO office_state VALUES (?, ?, ?)",
                    (day.isoformat(), version, json.dumps(body, sort_keys=True)),
                )
        finally:
            self._db.execute("PRAGMA synchronous=FULL")

    def office_state(self, day: date) -> dict | None:
        row = self._db.execute("SELECT body FROM office_state WHERE day=?", (day.isoformat(),)).fetchone()
        return json.loads(row[0]) if row else None

    def codes_changed_after(self, key: str | None, day: date) -> frozenset[str]:
        """Codes of ``day`` that this device's events after ``key`` issued, checked in, called or voided
        (all of the day's, for no key or one this database never wrote): what a backend that applied
        the events up to ``key`` has not heard of."""
        row = self._db.execute("SELECT seq FROM events WHERE key=?", (key,)).fetchone() if key else None
        rows = self._db.execute(
            "SELECT json_extract(body, '$.code') FROM events WHERE seq>? AND kind IN "
            "('ticket_issued', 'check_in', 'ticket_void', 'ticket_called', 'appointment_called') "
            "AND json_extract(body, '$.day')=?",
            (row[0] if row else 0, day.isoformat()),
        ).fetchall()
        return frozenset(code for (code,) in rows if code)

    def integrity_check(self) -> str:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    # --- internals -----------------------------------------------------------------------------

    def _record(self, kind: str, body: dict, created_at: datetime, key: str | None = None) -> None:
        self._db.execute(
            "INSERT INTO events (key, kind, body, created_at) VALUES (?, ?, ?, ?)",
            (key or uuid.uuid4().hex, kind, json.dumps(body, sort_keys=True), created_at.isoformat()),
        )

    def _ticket(self, ticket_id: int) -> Ticket:
        row = self._db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE id=?", (ticket_id,)).fetchone()
        return _ticket_from_row(row)

    def _transaction(self):
        return _Transaction(self._db, self.path)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception; a full disk is raised as DiskFull."""

    def __init__(self, db, path: Path):
        self._db, self._path = db, path

    def __enter__(self):
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback):
        if kind is None:
            try:
                self._db.execute("COMMIT")
                return False
            except sqlite3.OperationalError as error:
                value = error
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        if _disk_full(value):
            raise DiskFull(f"the disk holding {self._path} is full: free some space") from value
        if value is not None and kind is None:
            raise value
        return False


def _disk_full(error: BaseException | None) -> bool:
    full = getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(error, sqlite3.OperationalError) and full


_TICKET_COLUMNS = "id, day, concern, number, code, issued_at, state, called_at, counter"
_APPOINTMENT_COLUMNS = (
    "id, site, day, slot, concern, display_code, reference, status, checked_in_at, called_at, counter"
)


def _appointment_from_row(row) -> Appointment:
    id_, site, day, slot, concern, code, reference, status, checked_in_at, called_at, counter = row
    return Appointment(
        id_,
        site,
        date.fromisoformat(day),
        time.fromisoformat(slot),
        concern,
        code,
        reference,
        status,
        datetime.fromisoformat(checked_in_at) if checked_in_at else None,
        datetime.fromisoformat(called_at) if called_at else None,
        counter,
    )


def _ticket_from_row(row) -> Ticket:
    id_, day, concern, number, code, issued_at, state, called_at, counter = row
    return Ticket(
        id_,
        date.fromisoformat(day),
        concern,
        number,
        code,
        datetime.fromisoformat(issued_at),
        state,
        datetime.fromisoformat(called_at) if called_at else None,
        counter,
    )


def _statements(script: str):
    """Split a migration into statements: comments off first (they may hold ';'), then at ';'."""
    code = "\n".join(line.split("--")[0] for line in script.splitlines())
    for statement in code.split(";"):
        if statement.strip():
            yield statement.strip()


def _lock_exclusively(lock_path: Path):
    """One process owns the state: a second daemon on the same file would keep its own queue."""
    lock = open(lock_path, "a+", encoding="ascii")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "unknown"
        lock.close()
        raise StateError(
            f"{lock_path.with_suffix('')} is in use by another running entrance-appliance (pid {owner}); stop it first"
        ) from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def _inspect_existing(path: Path) -> None:
    """Refuse a file that is not ours, is damaged, or is newer than this version, without writing to it."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as file:
        if file.read(16) != SQLITE_MAGIC:
            raise StateError(
                f"{path} is not an SQLite database (damaged or a different file); "
                "the daemon will not overwrite it: move it aside to start with empty state"
            )
    # A read-only open of a WAL-mode file creates -wal and -shm beside it; with no -wal there is
    # nothing but the file itself to read, so open it immutable and leave its directory as it was.
    immutable = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{immutable}", uri=True)
        try:
            app_id, version = (
                db.execute("PRAGMA application_id").fetchone()[0],
                db.execute("PRAGMA user_version").fetchone()[0],
            )
            has_tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
            check = db.execute("PRAGMA quick_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        raise StateError(
            f"{path} is damaged and cannot be read ({error}); it is left untouched for "
            "inspection: move it aside to start with empty state"
        ) from error
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and has_tables):
        raise StateError(f"{path} is an SQLite database of another program; it is left untouched")
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{path} was written by a newer version of entrance-appliance (schema {version}; this "
            f"version knows up to {SCHEMA_VERSION}): install the newer version; the file is left "
            "untouched"
        )
    if [row[0] for row in check] != ["ok"]:
        raise StateError(
            f"{path} is damaged ({'; '.join(row[0] for row in check[:3])}); it is left untouched "
            "for inspection: move it aside to start with empty state"
        )
