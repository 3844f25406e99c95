"""The reference backend's data in one database (database.py: SQLite or PostgreSQL): appointments, devices'
events, tickets, calls, waits.

An event batch is one transaction and (device, key) is unique, so each event's effect happens once
however often a device sends it. Thread-safe: one connection, one lock, short transactions; on
PostgreSQL several processes share the database, each writing transaction alone.
Every change of a site's call-up state moves its office version on and is told to ``on_change``.
"""

import json
import secrets
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.protocol.contract import ProtocolError, parse_timestamp, timestamp
from entrance_backend.database import connect
from entrance_backend.forecast import OfficeForecast, OfficeForecasts, slot_time

SCHEMA_VERSION = 7
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
CREATE TABLE tickets (                 -- rowid: the order of arrival; drawn (schema 4): the calling order
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
# Each step brings a database of the version before to its number; a new database takes SCHEMA, then every step.
MIGRATIONS = {
    2: """
ALTER TABLE tickets ADD COLUMN instance TEXT;   -- the issuing device's run (its heartbeat's instance)
ALTER TABLE tickets ADD COLUMN address TEXT;    -- the network address it uploaded from
CREATE TABLE code_conflicts (                   -- a ticket code issued again: the second issue's event is kept
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    code TEXT NOT NULL,
    first_device TEXT NOT NULL,
    first_instance TEXT,
    first_address TEXT,
    second_device TEXT NOT NULL,
    second_instance TEXT,
    second_address TEXT,
    event_key TEXT NOT NULL,
    detected_at TEXT NOT NULL
);
CREATE INDEX code_conflicts_day ON code_conflicts (site, day);
CREATE TABLE instances (                        -- the runs that sent heartbeats as one device id
    device TEXT NOT NULL,
    instance TEXT NOT NULL,
    address TEXT,
    first_beat INTEGER NOT NULL,                -- the device id's heartbeat count at its first heartbeat
    last_beat INTEGER NOT NULL,
    PRIMARY KEY (device, instance)
);
""",
    3: """
ALTER TABLE tickets ADD COLUMN not_come_at TEXT;       -- a counter marked the visitor not come: never called again
ALTER TABLE appointments ADD COLUMN not_come_at TEXT;
""",
    4: """
CREATE TABLE drawn_numbers (                    -- office numbers the kiosks drew: the office's order of drawing
    drawn INTEGER PRIMARY KEY,                  -- from meta draw_seq, shared with tickets.drawn
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    concern TEXT NOT NULL,
    number INTEGER NOT NULL,
    device TEXT NOT NULL,
    key TEXT NOT NULL,                          -- the key of the ticket_issued event that confirms it
    drawn_at TEXT NOT NULL,
    UNIQUE (site, day, concern, number),
    UNIQUE (device, key)
);
CREATE TABLE fallback_blocks (                  -- each device's own block of numbers for when the backend is away
    site TEXT NOT NULL,
    slot INTEGER NOT NULL,
    device TEXT NOT NULL,
    blocks INTEGER NOT NULL,
    size INTEGER NOT NULL,
    leased_at TEXT NOT NULL,
    PRIMARY KEY (site, slot),
    UNIQUE (site, device)
);
ALTER TABLE tickets ADD COLUMN drawn INTEGER;   -- the office's order of drawing: the calling order of walk-ins
UPDATE tickets SET drawn = rowid;
INSERT INTO meta VALUES ('draw_seq', (SELECT COALESCE(MAX(rowid), 0) FROM tickets));
""",
    5: """
CREATE TABLE counter_sessions (                 -- counter page sign-ins, known to every backend process
    id_digest TEXT PRIMARY KEY,                 -- SHA-256 of the cookie's session id: the table signs nobody in
    site TEXT NOT NULL,
    number INTEGER NOT NULL,
    token_digest TEXT NOT NULL,                 -- the counter's key it began with: a new key ends it
    started DOUBLE PRECISION NOT NULL,          -- seconds since the epoch
    message TEXT                                -- what the last action did (JSON), shown once
);
CREATE TABLE counter_desks (                    -- what each counter's staff chose
    site TEXT NOT NULL,
    number INTEGER NOT NULL,
    concerns TEXT NOT NULL,                     -- a JSON list; empty: all
    paused INTEGER NOT NULL,
    PRIMARY KEY (site, number)
);
""",
    6: """
CREATE TABLE office_observations (              -- what the office's wait forecast learns (forecast.py)
    n INTEGER PRIMARY KEY AUTOINCREMENT,        -- the order the backend learned it in: one writer at a time
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,                         -- forecast.Observation's kinds
    code TEXT NOT NULL,
    concern TEXT,
    counter INTEGER,
    slot TEXT,                                  -- an appointment's, as a timestamp
    at TEXT NOT NULL                            -- the backend's time when it learned it
);
CREATE INDEX office_observations_day ON office_observations (site, day, n);
""",
    7: """
CREATE INDEX office_observations_age ON office_observations (day);  -- ended days are forgotten by it
CREATE TABLE appointment_code_conflicts (       -- a signed code's check-in whose display code the day held already
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    day TEXT NOT NULL,
    code TEXT NOT NULL,
    device TEXT NOT NULL,                       -- where the visitor checked in
    instance TEXT,
    address TEXT,
    event_key TEXT NOT NULL,
    detected_at TEXT NOT NULL
);
CREATE INDEX appointment_code_conflicts_day ON appointment_code_conflicts (site, day);
""",
}
# Runs of one device id whose heartbeats interleave within this many heartbeats are two devices; a restart
# starts a new run after the old one ended, so it never looks like two.
SHARED_ID_WINDOW = 10
MAX_ALARMS = 20  # in one answer; the document allows no more
# Observations of ended days forgotten at each heartbeat, at most: a heartbeat's cost stays bounded, and a
# backlog (a backend upgraded after months) is gone after a few minutes of heartbeats.
FORGET_AT_ONCE = 1000
BERLIN = ZoneInfo("Europe/Berlin")  # the sites' time zone unless the backend is told another
_APPOINTMENT_COLUMNS = "id, site, day, slot, concern, display_code, reference, status, updated_at"
_WAITING_APPOINTMENTS = (
    "FROM appointments WHERE site=? AND day=? AND status='checked_in' AND called_at IS NULL AND not_come_at IS NULL"
)
# The order call_next takes checked-in appointments in; an appointment booked as checked in has no check-in
# time, which SQLite sorts first and PostgreSQL last unless told.
_APPOINTMENTS_IN_ORDER = "ORDER BY slot, checked_in_at NULLS FIRST, id"
_WAITING_TICKETS = "FROM tickets WHERE site=? AND day=? AND state='waiting' AND not_come_at IS NULL"
_CALLS_JOINED = (
    "FROM calls c LEFT JOIN tickets t ON c.kind='ticket' AND t.site=c.site AND t.day=c.day AND t.code=c.code "
    "LEFT JOIN appointments a ON c.kind='appointment' AND a.site=c.site AND a.day=c.day AND a.display_code=c.code "
    "WHERE c.site=? AND c.day=? AND t.not_come_at IS NULL AND a.not_come_at IS NULL"
)
_CALLS_WITH_CONCERN = (
    f"SELECT c.n, c.code, c.counter, c.kind, c.called_at, COALESCE(t.concern, a.concern) {_CALLS_JOINED}"
)


@dataclass(frozen=True)
class Sender:
    """Which run of a device sent a request, and from where: tells apart two devices using one id."""

    device: str
    instance: str | None = None
    address: str | None = None

    def sighting(self) -> dict:
        """As the protocol's DeviceSighting."""
        return {k: v for k, v in (("device", self.device), ("instance", self.instance), ("address", self.address)) if v}


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


class UnknownConcern(BackendRefusal, LookupError):
    """A concern the site never had a ticket or appointment of."""


class NumberingConflict(BackendRefusal):
    """A number or fallback block that cannot be given; ``code`` says why (the protocol's error code)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


class BackendStore:
    RECENT_CALLS = 10  # calls in the office state: the current one and the monitors' "recently called"
    WAITING_LISTED = 50  # the head of the waiting list in the office state: more than any screen shows

    def __init__(
        self,
        database: Path | str,
        on_change: Callable[[str], None] = lambda site: None,
        zone: tzinfo = BERLIN,
    ):
        self.database = database  # a SQLite file or a postgresql:// URL
        self.zone = zone  # the sites' time zone: appointments' slots are local times
        self.on_change = on_change  # called with the site after each committed change of its office state
        self._changed_sites: set[str] = set()
        # The latest office state per site (of the day last asked): every device's poll wakes at each change,
        # one computes it, the others share it. One per site, so a region's hundreds of sites never evict each other.
        self._office_states: dict[str, dict] = {}
        self._forecasts = OfficeForecasts()
        self._lock = threading.Lock()
        self._db = connect(database, self._changed_elsewhere)
        with self._transaction():
            version = self._db.schema_version()
            if version > SCHEMA_VERSION:
                raise BackendRefusal(f"{database} was written by a newer reference backend (schema {version})")
            if version == 0:
                for statement in _statements(self._db.schema(SCHEMA)):
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO meta VALUES ('epoch', ?), ('appointment_seq', '0')", (secrets.token_hex(4),)
                )
                version = 1
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(self._db.schema(MIGRATIONS[step])):
                    self._db.execute(statement)
            self._db.set_schema_version(SCHEMA_VERSION)
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
                self._office_changed(appointment["site"], appointment["day"])
                self._observe_appointment(appointment, now)
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
            appointment = self._appointment("id=?", (appointment_id,))
            self._office_changed(appointment["site"], appointment["day"])
            self._observe_appointment(appointment, now, changed=True)
            return appointment

    def appointment_day(self, site: str, day: str) -> tuple[int, list[dict]]:
        """The day's appointments in slot order, and the position to continue from."""
        with self._reading():
            rows = self._db.execute(
                f"SELECT {_APPOINTMENT_COLUMNS} FROM appointments WHERE site=? AND day=? ORDER BY slot, display_code",
                (site, day),
            ).fetchall()
            return self._day_position(site, day), [_appointment_from_row(row) for row in rows]

    def appointment_changes(self, site: str, day: str, since: int) -> tuple[int, list[tuple[str, dict]]]:
        """The day's appointments changed after position ``since``, each as (change, appointment)."""
        with self._reading():
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
        with self._reading():
            return self._day_position(site, day)

    # --- devices -------------------------------------------------------------------------------

    def record_heartbeat(
        self, sender: Sender, site: str, heartbeat: dict, received_at: datetime, alarms_from: str
    ) -> list[dict]:
        """Keeps the device's latest heartbeat; answers the alarms standing for it (as the protocol's
        Alarm): another device using its id, and its codes issued twice on days from ``alarms_from``.
        Forgets some of the forecast's observations of days before ``alarms_from``: no forecast replays them
        (the office's forecasts are today's), so the journal keeps two days, not every day since the start."""
        device = sender.device
        with self._transaction():
            self._db.execute(
                "INSERT INTO heartbeats VALUES (?, ?, ?, ?) ON CONFLICT (device) DO UPDATE "
                "SET site=excluded.site, received_at=excluded.received_at, body=excluded.body",
                (device, site, timestamp(received_at), json.dumps(heartbeat, sort_keys=True)),
            )
            for component in heartbeat["components"]:
                self._health(
                    device, component["name"], component["state"], component.get("detail", ""), timestamp(received_at)
                )
            if sender.instance:
                self._note_instance(sender)
            self._forget_observations(before=alarms_from)
            return (self._shared_id_alarms(device) + self._code_alarms(site, device, alarms_from))[:MAX_ALARMS]

    def apply_events(
        self, sender: Sender, site: str, events: list[dict], received_at: datetime
    ) -> tuple[list[str], list[str], list[dict]]:
        """Apply a batch in order, all or nothing; answers (accepted keys, duplicate keys, alarms raised)."""
        device = sender.device
        accepted, duplicates, conflicts, alarms = [], [], [], []
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
                alarms += self._apply(sender, site, event, created_at, received_at)
                accepted.append(event["key"])
            if conflicts:
                raise KeyConflict(conflicts)  # rolls the whole batch back
        return accepted, duplicates, alarms[:MAX_ALARMS]

    def events(self, device: str) -> list[dict]:
        """Every event held for ``device``, in the order it was applied."""
        with self._reading():
            rows = self._db.execute(
                "SELECT key, kind, body, created_at FROM events WHERE device=? ORDER BY id", (device,)
            ).fetchall()
        return [
            {"key": key, "kind": kind, "body": json.loads(body), "created_at": created}
            for key, kind, body, created in rows
        ]

    def heartbeat(self, device: str) -> dict | None:
        with self._reading():
            row = self._db.execute("SELECT body FROM heartbeats WHERE device=?", (device,)).fetchone()
        return json.loads(row[0]) if row else None

    def concern_titles(self, site: str) -> dict[str, dict[str, str]]:
        """Each concern's titles per language as the site's devices last told them in their heartbeats
        (the newest heartbeat's, where two devices differ)."""
        with self._reading():
            rows = self._db.execute(
                "SELECT body FROM heartbeats WHERE site=? ORDER BY received_at, device", (site,)
            ).fetchall()
        titles: dict[str, dict[str, str]] = {}
        for (body,) in rows:
            for concern in json.loads(body).get("concerns", ()):
                titles[concern["name"]] = concern["titles"]
        return titles

    # --- calls ---------------------------------------------------------------------------------

    def calls_after(self, site: str, after: int | None, limit: int) -> tuple[int, list[dict]]:
        """Calls after position ``after`` (None: the latest ``limit``), oldest first, and the new position."""
        with self._reading():
            position = self._calls_position(site)
            if after is None:
                rows = self._db.execute(
                    "SELECT * FROM (SELECT n, counter, code, kind, called_at FROM calls "
                    "WHERE site=? ORDER BY n DESC LIMIT ?) AS latest ORDER BY n",
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
            self._refuse_not_come(site, day, code)
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
                f"called_at IS NULL AND not_come_at IS NULL{only} {_APPOINTMENTS_IN_ORDER} LIMIT 1",
                (site, day, *(concerns or ())),
            ).fetchone()
            if row is not None:
                self._db.execute("UPDATE appointments SET called_at=? WHERE id=?", (timestamp(now), row[0]))
                return self._record_call(site, day, counter, row[1], "appointment", now)
            # The office's order of drawing (a fallback number's: when it arrived), never a device's clock.
            row = self._db.execute(
                "SELECT code FROM tickets WHERE site=? AND day=? AND state='waiting' AND not_come_at IS NULL"
                f"{only} ORDER BY drawn LIMIT 1",
                (site, day, *(concerns or ())),
            ).fetchone()
            if row is None:
                raise NobodyWaiting(
                    f"nobody is waiting at {site} on {day}" + (f" for {', '.join(concerns)}" if concerns else "")
                )
            self._call_ticket(site, day, row[0], counter, now)
            return self._record_call(site, day, counter, row[0], "ticket", now)

    def mark_not_come(self, site: str, day: str, code: str, now: datetime) -> dict:
        """A called or waiting visitor did not come: they leave the office's lists and are never called again."""
        with self._transaction():
            kind, concern = self._visitor(site, day, code)
            table, column = ("tickets", "code") if kind == "ticket" else ("appointments", "display_code")
            self._db.execute(
                f"UPDATE {table} SET not_come_at=? WHERE site=? AND day=? AND {column}=?",
                (timestamp(now), site, day, code),
            )
            self._office_changed(site, day)
            self._observe(site, day, "left", code, now)
            return {"code": code, "kind": kind, "concern": concern, "state": "not_come"}

    def transfer(
        self, site: str, day: str, code: str, now: datetime, concern: str | None = None, counter: int | None = None
    ) -> dict:
        """Hands a called or waiting visitor, keeping their code, to ``concern`` (back into the waiting list in
        their old place: a ticket by arrival, an appointment by slot) and/or calls them to ``counter`` at once.
        Answers the new call (with a counter) or the visitor's new state."""
        with self._transaction():
            kind, held_concern = self._visitor(site, day, code)
            if (
                concern is not None
                and self._db.execute(
                    "SELECT 1 FROM tickets WHERE site=? AND concern=? UNION ALL "
                    "SELECT 1 FROM appointments WHERE site=? AND concern=? LIMIT 1",
                    (site, concern, site, concern),
                ).fetchone()
                is None
            ):
                raise UnknownConcern(f"no concern {concern!r} at {site}: {code} stays where it is")
            concern = concern or held_concern
            if kind == "ticket":
                self._db.execute(
                    "UPDATE tickets SET concern=?, state='waiting', called_at=NULL, counter=NULL "
                    "WHERE site=? AND day=? AND code=?",
                    (concern, site, day, code),
                )
            else:  # a changed appointment: the devices' day lists carry its new concern too
                self._db.execute(
                    "UPDATE appointments SET concern=?, called_at=NULL, seq=?, updated_at=? "
                    "WHERE site=? AND day=? AND display_code=?",
                    (concern, self._next_seq(), timestamp(now), site, day, code),
                )
            self._office_changed(site, day)
            self._observe(site, day, "transferred", code, now, concern=concern)
            if counter is None:
                return {"code": code, "kind": kind, "concern": concern, "state": "waiting"}
            if kind == "ticket":
                self._call_ticket(site, day, code, counter, now)
            else:
                self._db.execute(
                    "UPDATE appointments SET called_at=? WHERE site=? AND day=? AND display_code=?",
                    (timestamp(now), site, day, code),
                )
            return self._record_call(site, day, counter, code, kind, now)

    def tickets(self, site: str, day: str) -> list[dict]:
        with self._reading():
            rows = self._db.execute(
                "SELECT code, concern, state, counter FROM tickets WHERE site=? AND day=? ORDER BY drawn",
                (site, day),
            ).fetchall()
        return [dict(zip(("code", "concern", "state", "counter"), row)) for row in rows]

    # --- the office's call-up state -------------------------------------------------------------

    def office_state(self, site: str, day: str) -> dict:
        """What every screen of the office shows (the protocol's OfficeState): the latest calls, newest
        first, the head of the waiting list in calling order (as ``call_next`` would take them), and per
        concern how many wait and the office's wait estimate. Its cost does not grow with the list."""
        with self._reading():
            return self._office_state(site, day)

    def office_poll(self, site: str, day: str, device: str | None, after: int | None) -> tuple[dict, str | None]:
        """One look at the office state for a device's (or staff's) poll, in one moment: the state (the same
        object for every poll of its version) and the key of ``device``'s latest event the state covers.
        Refuses an ``after`` this backend never issued."""
        with self._reading():
            state = self._office_state(site, day)
            if after is not None and after > state["version"]:  # a day's versions never pass the site's count
                self._check_office_version(site, after)
            if device is None:
                return state, None
            row = self._db.execute(
                "SELECT key FROM events WHERE device=? ORDER BY id DESC LIMIT 1", (device,)
            ).fetchone()
        return state, row[0] if row else None

    def _check_office_version(self, site: str, version: int) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (f"office_seq:{site}",)).fetchone()
        if version > (int(row[0]) if row else 0):
            raise CursorGone(
                f"this backend never issued office version {version} for {site} (it was reset, or the version is "
                "another backend's): ask again without 'after'"
            )

    def _office_state(self, site: str, day: str) -> dict:
        version = self._office_version(site, day)
        held = self._office_states.get(site)
        if held is not None and held["version"] == version and held["day"] == day:
            return held
        not_come = [
            code
            for (code,) in self._db.execute(
                "SELECT code FROM tickets WHERE site=? AND day=? AND not_come_at IS NOT NULL UNION ALL "
                "SELECT display_code FROM appointments WHERE site=? AND day=? AND not_come_at IS NOT NULL",
                (site, day, site, day),
            )
        ]
        # A code waiting again (transferred back to a concern) has no current call.
        calls = self._db.execute(
            f"{_CALLS_WITH_CONCERN} AND COALESCE(t.state, '') != 'waiting' "
            "AND (a.id IS NULL OR a.called_at IS NOT NULL) ORDER BY c.n DESC LIMIT ?",
            (site, day, self.RECENT_CALLS),
        ).fetchall()
        appointments = self._db.execute(
            f"SELECT display_code, concern, slot, COALESCE(checked_in_at, updated_at) {_WAITING_APPOINTMENTS} "
            f"{_APPOINTMENTS_IN_ORDER} LIMIT ?",
            (site, day, self.WAITING_LISTED),
        ).fetchall()
        tickets = self._db.execute(
            f"SELECT code, concern, issued_at {_WAITING_TICKETS} ORDER BY drawn LIMIT ?",
            (site, day, self.WAITING_LISTED - len(appointments)),
        ).fetchall()
        counts = self._db.execute(
            f"SELECT concern, COUNT(*) FROM (SELECT concern {_WAITING_APPOINTMENTS} UNION ALL "
            f"SELECT concern {_WAITING_TICKETS}) AS waiting GROUP BY concern ORDER BY concern",
            (site, day, site, day),
        ).fetchall()
        waiting = [
            {"code": code, "concern": concern, "kind": "appointment", "slot": slot, "since": since}
            for code, concern, slot, since in appointments
        ] + [{"code": code, "concern": concern, "kind": "ticket", "since": since} for code, concern, since in tickets]
        for position, entry in enumerate(waiting, 1):
            entry["position"] = position
        per_concern = self._waits_per_concern(site, day, counts)
        state = {
            "site": site,
            "day": day,
            "version": version,
            "recent_calls": [
                {"code": code, "counter": counter, "call": self.cursor(n), "kind": kind, "called_at": called_at}
                | ({"concern": concern} if concern else {})
                for n, code, counter, kind, called_at, concern in calls
            ],
            "waiting": waiting,
            "waiting_total": sum(count for _, count in counts),
            "not_come": not_come,
            "waiting_per_concern": per_concern,
        }
        if last_call := self._calls_position(site):
            state["last_call"] = self.cursor(last_call)
        self._office_states[site] = state
        return state

    # --- the office's wait forecast (forecast.py) ------------------------------------------------

    def _waits_per_concern(self, site: str, day: str, counts: list[tuple[str, int]]) -> list[dict]:
        """The protocol's ConcernLoad for each (concern, number waiting): the office's forecast."""
        forecast = self._forecast(site, day)
        loads = []
        for concern, count in counts:
            wait = forecast.concern_wait(concern)
            loads.append(
                {
                    "concern": concern,
                    "waiting": count,
                    "wait_low": wait.low_min,
                    "wait_high": wait.high_min,
                    "seconds_per_visitor": wait.seconds_per_visitor,
                }
            )
        return loads

    def ticket_wait(self, site: str, day: str, code: str) -> tuple[int, int] | None:
        """(low, high) minutes until waiting ticket ``code`` is called, as of the office's latest change."""
        with self._reading():
            estimate = self._forecast(site, day).ticket_wait(code)
        return (estimate.low_min, estimate.high_min) if estimate else None

    def _forecast(self, site: str, day: str) -> OfficeForecast:
        return self._forecasts.current(
            site,
            day,
            lambda fed: self._db.execute(
                "SELECT n, kind, code, concern, counter, slot, at FROM office_observations "
                "WHERE site=? AND day=? AND n>? ORDER BY n",
                (site, day, fed),
            ).fetchall(),
        )

    def _observe(self, site: str, day: str, kind: str, code: str, now: datetime, **facts) -> None:
        """Journals a change of the office's queue for its forecast, in the change's transaction."""
        self._db.execute(
            "INSERT INTO office_observations (site, day, kind, code, concern, counter, slot, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (site, day, kind, code, facts.get("concern"), facts.get("counter"), facts.get("slot"), timestamp(now)),
        )

    def _forget_observations(self, before: str) -> None:
        self._db.execute(
            "DELETE FROM office_observations WHERE n IN (SELECT n FROM office_observations WHERE day < ? LIMIT ?)",
            (before, FORGET_AT_ONCE),
        )

    def _observe_appointment(self, appointment: dict, now: datetime, changed: bool = False) -> None:
        """A booked, changed or cancelled appointment; one booked as checked in has come."""
        kind = {"booked": "booked", "cancelled": "cancelled", "checked_in": "transferred" if changed else "checked_in"}
        status = appointment.get("status", "booked")
        site, day = appointment["site"], appointment["day"]
        slot = slot_time(day, appointment["slot"], self.zone)
        facts = {"concern": appointment["concern"], "slot": slot}
        self._observe(site, day, kind[status], appointment["display_code"], now, **facts)

    # --- office numbers and fallback blocks ------------------------------------------------------

    def draw_number(self, sender: Sender, site: str, request: dict, today: str, now: datetime) -> dict:
        """The office's next number of the request's concern, as the protocol's DrawnNumber; the same
        number again for a key drawn before."""
        key, day, concern = request["key"], request["day"], request["concern"]
        with self._transaction():
            held = self._db.execute(
                "SELECT day, concern, number, drawn FROM drawn_numbers WHERE device=? AND key=?", (sender.device, key)
            ).fetchone()
            if held is not None:
                if held[:2] != (day, concern):
                    raise KeyConflict([key])
                return _drawn(key, *held)
            self._refuse_shared_id(sender.device)
            if day != today:
                raise NumberingConflict(
                    "other_day", f"the kiosk numbers for {day}, but today at {site} is {today}: check its clock"
                )
            first, last = int(request["first"]), int(request["last"])  # JSON allows 5.0 for an integer
            highest = self._db.execute(
                "SELECT MAX(number) FROM drawn_numbers WHERE site=? AND day=? AND concern=? AND number BETWEEN ? AND ?",
                (site, day, concern, first, last),
            ).fetchone()[0]
            # A device's own highest number counts too: this backend may have lost its count (a reset, an
            # older backup), and a number the kiosks issued before must never be drawn again.
            number = max(first if highest is None else highest + 1, int(request.get("above", -1)) + 1)
            if number > last:
                raise NumberingConflict(
                    "numbers_exhausted", f"all office numbers {first}-{last} of {concern} at {site} were drawn on {day}"
                )
            drawn = self._next_draw()
            self._db.execute(
                "INSERT INTO drawn_numbers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (drawn, site, day, concern, number, sender.device, key, timestamp(now)),
            )
            return _drawn(key, day, concern, number, drawn)

    def lease_block(self, sender: Sender, site: str, request: dict, now: datetime) -> dict:
        """This device's fallback block (the protocol's BlockLease): the one it holds, the one it asks to
        keep when free, or the first free one."""
        blocks, size, device = int(request["blocks"]), int(request["size"]), sender.device  # JSON allows 5.0
        with self._transaction():
            self._refuse_shared_id(device)
            leases = self._db.execute(
                "SELECT slot, device, blocks, size FROM fallback_blocks WHERE site=? ORDER BY slot", (site,)
            ).fetchall()
            for slot, other, other_blocks, other_size in leases:
                if other != device and (other_blocks, other_size) != (blocks, size):
                    raise NumberingConflict(
                        "blocks_differ",
                        f"{device} asks for {blocks} blocks of {size} numbers, but {other} holds block {slot} of "
                        f"{other_blocks} blocks of {other_size}: their blocks would overlap; give all devices of "
                        f"{site} the same [numbering] settings (one site file)",
                    )
            taken = {slot: other for slot, other, _, _ in leases if other != device}
            own = next((slot for slot, other, _, _ in leases if other == device), None)
            asked = int(request["slot"]) if "slot" in request else None
            wanted = [asked, own, *range(1, blocks + 1)]
            slot = next((s for s in wanted if s is not None and s <= blocks and s not in taken), None)
            if slot is None:
                holders = ", ".join(f"{other} (block {s})" for s, other in sorted(taken.items()))
                raise NumberingConflict(
                    "no_free_block",
                    f"all {blocks} fallback blocks of {site} are held: {holders}; raise [numbering] fallback_blocks "
                    "on every device of the site",
                )
            self._db.execute("DELETE FROM fallback_blocks WHERE site=? AND device=?", (site, device))
            self._db.execute(
                "INSERT INTO fallback_blocks VALUES (?, ?, ?, ?, ?, ?)",
                (site, slot, device, blocks, size, timestamp(now)),
            )
        return {"device": device, "slot": slot, "blocks": blocks, "size": size}

    def _refuse_shared_id(self, device: str) -> None:
        """Two running devices with one id would draw as one and share a fallback block: neither gets a number."""
        for alarm in self._shared_id_alarms(device):
            runs = " and ".join(
                f"instance {d.get('instance', '?')}" + (f" at {d['address']}" if "address" in d else "")
                for d in alarm["devices"]
            )
            raise NumberingConflict(
                "shared_device_id",
                f"two devices run as {device} ({runs}): no numbers for either until each has its own id and token",
            )

    def _drawing_order(self, device: str, key: str) -> int:
        """A confirmed office number keeps its place of drawing; a fallback number is drawn when it arrives."""
        row = self._db.execute("SELECT drawn FROM drawn_numbers WHERE device=? AND key=?", (device, key)).fetchone()
        return row[0] if row else self._next_draw()

    def _next_draw(self) -> int:
        return int(
            self._db.execute(
                "UPDATE meta SET value=CAST(value AS INTEGER) + 1 WHERE key='draw_seq' RETURNING value"
            ).fetchone()[0]
        )

    def waiting_position(self, site: str, day: str, code: str) -> int | None:
        """Where ``code`` stands in the office's waiting list (1: called next), listed or not; None when
        it is not waiting."""
        with self._reading():
            rows = (
                self._db.execute(
                    f"SELECT display_code {_WAITING_APPOINTMENTS} {_APPOINTMENTS_IN_ORDER}", (site, day)
                ).fetchall()
                + self._db.execute(f"SELECT code {_WAITING_TICKETS} ORDER BY drawn", (site, day)).fetchall()
            )
        return next((index for index, (held,) in enumerate(rows, 1) if held == code), None)

    # --- wait estimates ------------------------------------------------------------------------

    def waits(self, site: str, day: str, now: datetime) -> list[dict]:
        """The published wait per concern (the protocol's Waits): the office state's estimate, as of ``now``."""
        return [
            {
                "concern": item["concern"],
                "minutes": min(1440, round((item["wait_low"] + item["wait_high"]) / 2)),
                "waiting": min(9999, item["waiting"]),
                "estimated_at": timestamp(now),
            }
            for item in self.office_state(site, day)["waiting_per_concern"]
        ]

    # --- the pages: one visitor's state, a counter's current visitor; what /metrics reads -------------

    def visitor_state(self, site: str, day: str, code: str) -> dict | None:
        """What the wait page tells the holder of ``code``: kind, concern, state (waiting, called, not_come,
        void, booked: an appointment not checked in) and, once called, the counter; None: no such code."""
        with self._reading():
            row = self._db.execute(
                "SELECT 'ticket', concern, CASE WHEN not_come_at IS NOT NULL THEN 'not_come' ELSE state END "
                "FROM tickets WHERE site=? AND day=? AND code=? UNION ALL "
                "SELECT 'appointment', concern, CASE WHEN not_come_at IS NOT NULL THEN 'not_come' "
                "WHEN status='cancelled' THEN 'void' WHEN status='booked' THEN 'booked' "
                "WHEN called_at IS NOT NULL THEN 'called' ELSE 'waiting' END "
                "FROM appointments WHERE site=? AND day=? AND display_code=?",
                (site, day, code, site, day, code),
            ).fetchone()
            if row is None:
                return None
            call = self._db.execute(
                "SELECT counter FROM calls WHERE site=? AND day=? AND code=? ORDER BY n DESC LIMIT 1", (site, day, code)
            ).fetchone()
        kind, concern, state = row
        return {"code": code, "kind": kind, "concern": concern, "state": state} | (
            {"counter": call[0]} if state == "called" and call else {}
        )

    def counter_current(self, site: str, day: str, counter: int) -> dict | None:
        """The visitor ``counter`` called last, while that call stands (not recalled to another counter,
        handed on or marked not come): their visitor_state and called_at."""
        with self._reading():
            row = self._db.execute(
                "SELECT code, called_at FROM calls WHERE site=? AND day=? AND counter=? ORDER BY n DESC LIMIT 1",
                (site, day, counter),
            ).fetchone()
        if row is None:
            return None
        state = self.visitor_state(site, day, row[0])
        if state is None or state["state"] != "called" or state.get("counter") != counter:
            return None
        return state | {"called_at": row[1]}

    def has_called(self, site: str, day: str, counter: int, code: str) -> bool:
        with self._reading():
            return (
                self._db.execute(
                    "SELECT 1 FROM calls WHERE site=? AND day=? AND counter=? AND code=? LIMIT 1",
                    (site, day, counter, code),
                ).fetchone()
                is not None
            )

    def concerns(self, site: str) -> list[str]:
        """Every concern the site has had a ticket, appointment or published wait of."""
        with self._reading():
            rows = self._db.execute(
                "SELECT concern FROM tickets WHERE site=? UNION SELECT concern FROM appointments WHERE site=? "
                "UNION SELECT concern FROM waits WHERE site=? ORDER BY 1",
                (site, site, site),
            ).fetchall()
        return [concern for (concern,) in rows]

    def events_applied(self) -> int:
        """How many events devices have sent, each counted once (the events' order of application)."""
        with self._reading():
            return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def health(self) -> list[tuple[str, str, str, str]]:
        """(device, component, state, detail): each device's latest word on each of its components."""
        with self._reading():
            return self._db.execute(
                "SELECT device, component, state, detail FROM health ORDER BY device, component"
            ).fetchall()

    def devices_last_seen(self) -> list[tuple[str, str, str]]:
        """(device, site, time of its latest heartbeat) for every device that ever sent one."""
        with self._reading():
            return self._db.execute("SELECT device, site, received_at FROM heartbeats ORDER BY device").fetchall()

    # --- the counter page's sign-ins and desks (counter_sessions.py) --------------------------------

    def start_counter_session(
        self, id_digest: str, counter: tuple[str, int], token_digest: str, now: float, lasts_s: float, concerns: list
    ) -> None:
        """A new sign-in at ``counter`` (site, number), ended ones forgotten; the desk serves ``concerns``
        until its staff choose."""
        with self._transaction():
            self._db.execute("DELETE FROM counter_sessions WHERE started <= ?", (now - lasts_s,))
            self._db.execute(
                "INSERT INTO counter_sessions VALUES (?, ?, ?, ?, ?, NULL)", (id_digest, *counter, token_digest, now)
            )
            self._db.execute(
                "INSERT INTO counter_desks VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING", (*counter, json.dumps(concerns))
            )

    def counter_session(self, id_digest: str) -> tuple[str, int, str, float] | None:
        """(site, number, token digest, started) of a sign-in."""
        with self._reading():
            return self._db.execute(
                "SELECT site, number, token_digest, started FROM counter_sessions WHERE id_digest=?", (id_digest,)
            ).fetchone()

    def end_counter_session(self, id_digest: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM counter_sessions WHERE id_digest=?", (id_digest,))

    def set_counter_message(self, id_digest: str, message: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE counter_sessions SET message=? WHERE id_digest=?", (message, id_digest))

    def take_counter_message(self, id_digest: str) -> str | None:
        with self._transaction():
            row = self._db.execute("SELECT message FROM counter_sessions WHERE id_digest=?", (id_digest,)).fetchone()
            if row and row[0]:
                self._db.execute("UPDATE counter_sessions SET message=NULL WHERE id_digest=?", (id_digest,))
        return row[0] if row else None

    def counter_desk(self, counter: tuple[str, int]) -> tuple[list[str], bool] | None:
        """(concerns, paused) the staff of ``counter`` (site, number) chose."""
        with self._reading():
            row = self._db.execute("SELECT concerns, paused FROM counter_desks WHERE site=? AND number=?", counter)
            row = row.fetchone()
        return (json.loads(row[0]), bool(row[1])) if row else None

    def set_counter_desk(self, counter: tuple[str, int], concerns: list[str], paused: bool) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO counter_desks VALUES (?, ?, ?, ?) ON CONFLICT (site, number) DO UPDATE "
                "SET concerns=excluded.concerns, paused=excluded.paused",
                (*counter, json.dumps(concerns), int(paused)),
            )

    # --- internals -----------------------------------------------------------------------------

    def _apply(self, sender: Sender, site: str, event: dict, created_at: str, now: datetime) -> list[dict]:
        """An event's effect, and the alarms it raises; unknown kinds and events about unknown things are
        kept without effect."""
        device, kind, body = sender.device, event["kind"], event["body"]
        if kind == "ticket_issued":
            return self._ticket_issued(sender, site, event["key"], body, created_at, now)
        if kind == "ticket_void":
            # Only the issuer's: a code issued twice must not void the other device's waiting visitor.
            changed = self._db.execute(
                "UPDATE tickets SET state='void' WHERE site=? AND day=? AND code=? AND device=?",
                (site, body["day"], body["code"], device),
            ).rowcount
            self._office_changed(site, body["day"], changed)
            if changed:
                self._observe(site, body["day"], "left", body["code"], now)
        elif kind == "ticket_called":
            changed = self._db.execute(
                "UPDATE tickets SET state='called', called_at=?, counter=? WHERE site=? AND day=? "
                "AND code=? AND state='waiting'",
                (created_at, body["counter"], site, body["day"], body["code"]),
            ).rowcount
            self._office_changed(site, body["day"], changed)
            if changed:
                self._observe(site, body["day"], "called", body["code"], now, counter=body["counter"])
        elif kind == "check_in":
            if self._db.execute("SELECT 1 FROM appointments WHERE id=?", (body["appointment"],)).fetchone() is None:
                return self._add_checked_in(sender, site, event["key"], body, created_at, now)
            else:  # a cancelled appointment stays cancelled: the counter cannot call it
                for row in self._db.execute(
                    f"UPDATE appointments SET status='checked_in', checked_in_at=?, seq=?, updated_at=? "
                    f"WHERE id=? AND site=? AND status='booked' RETURNING {_APPOINTMENT_COLUMNS}",
                    (created_at, self._next_seq(), timestamp(now), body["appointment"], site),
                ).fetchall():
                    appointment = _appointment_from_row(row)
                    self._office_changed(site, appointment["day"])
                    self._observe_appointment(appointment, now)
        elif kind == "appointment_called":
            for day, code in self._db.execute(
                "UPDATE appointments SET called_at=? WHERE id=? AND site=? AND called_at IS NULL "
                "RETURNING day, display_code",
                (created_at, body["appointment"], site),
            ).fetchall():
                self._office_changed(site, day)
                self._observe(site, day, "called", code, now, counter=body["counter"])
        elif kind == "component_health":
            self._health(device, body["component"], body["state"], body.get("detail", ""), created_at)
        elif kind in ("printer_health", "scanner_health"):
            self._health(device, kind.removesuffix("_health"), body["state"], body.get("detail", ""), created_at)
        return []

    def _ticket_issued(self, sender: Sender, site: str, key: str, body: dict, created_at: str, now) -> list[dict]:
        """Holds the ticket; a code the site already holds for the day is an alarm: the first ticket stays
        the one called, the second issue's event is kept and the conflict recorded."""
        day, code = body["day"], body["code"]
        held = self._db.execute(
            "SELECT device, instance, address, concern, number, issued_at FROM tickets "
            "WHERE site=? AND day=? AND code=?",
            (site, day, code),
        ).fetchone()
        if held is None:
            self._db.execute(
                "INSERT INTO tickets (site, day, code, concern, number, issued_at, state, device, instance, address, "
                "drawn) VALUES (?, ?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?)",
                (
                    site,
                    day,
                    code,
                    body["concern"],
                    body["number"],
                    created_at,
                    *_columns(sender),
                    self._drawing_order(sender.device, key),
                ),
            )
            self._office_changed(site, day)
            self._observe(site, day, "drawn", code, now, concern=body["concern"])
            return []
        first = Sender(*held[:3])
        if (first.device, *held[3:]) == (sender.device, body["concern"], body["number"], created_at):
            return []  # the same issue sent again under another key: nothing new happened
        self._db.execute(
            "INSERT INTO code_conflicts (site, day, code, first_device, first_instance, first_address, second_device, "
            "second_instance, second_address, event_key, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (site, day, code, *_columns(first), *_columns(sender), key, timestamp(now)),
        )
        return [_code_alarm(day, code, first, sender)]

    def _add_checked_in(
        self, sender: Sender, site: str, key: str, body: dict, created_at: str, now: datetime
    ) -> list[dict]:
        """An appointment the backend never held, from what its signed code says, so a counter can call it.
        Without those facts or of another site: no effect. With a display code the day holds for another
        appointment (the booking system gave one code twice): not added, the one held unchanged, and an
        alarm that names the code, so the visitor who waits for it is served by hand."""
        facts = [body.get(name) for name in ("site", "slot", "concern", "display_code")]
        if None in facts or facts[0] != site:
            return []
        day, code = body["day"], body["display_code"]
        seq = self._next_seq()
        added = self._db.execute(
            f"INSERT INTO appointments ({_APPOINTMENT_COLUMNS}, created_seq, seq, checked_in_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'checked_in', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                body["appointment"],
                site,
                day,
                body["slot"],
                body["concern"],
                code,
                secrets.token_hex(6).upper(),  # signed codes need no reference; a random one matches no scan
                timestamp(now),
                seq,
                seq,
                created_at,
            ),
        ).rowcount
        if added:
            self._office_changed(site, day)
            self._observe_appointment(self._appointment("id=?", (body["appointment"],)), now)
            return []
        self._db.execute(
            "INSERT INTO appointment_code_conflicts (site, day, code, device, instance, address, event_key, "
            "detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (site, day, code, *_columns(sender), key, timestamp(now)),
        )
        return [_appointment_code_alarm(day, code, sender)]

    def _note_instance(self, sender: Sender) -> None:
        beat = self._db.execute(
            "SELECT COALESCE(MAX(last_beat), 0) + 1 FROM instances WHERE device=?", (sender.device,)
        ).fetchone()[0]
        self._db.execute(
            "INSERT INTO instances VALUES (?, ?, ?, ?, ?) ON CONFLICT (device, instance) DO UPDATE "
            "SET address=excluded.address, last_beat=excluded.last_beat",
            (sender.device, sender.instance, sender.address, beat, beat),
        )
        self._db.execute(
            "DELETE FROM instances WHERE device=? AND last_beat <= ?", (sender.device, beat - SHARED_ID_WINDOW)
        )

    def _shared_id_alarms(self, device: str) -> list[dict]:
        """One alarm for each two runs of ``device`` whose heartbeats interleave: two devices, one id."""
        runs = self._db.execute(
            "SELECT instance, address, first_beat, last_beat FROM instances WHERE device=? ORDER BY first_beat",
            (device,),
        ).fetchall()
        return [
            {
                "kind": "shared_device_id",
                "devices": [Sender(device, *first[:2]).sighting(), Sender(device, *later[:2]).sighting()],
            }
            for index, first in enumerate(runs)
            for later in runs[index + 1 :]
            if later[2] <= first[3]
        ][:MAX_ALARMS]

    def _code_alarms(self, site: str, device: str, from_day: str) -> list[dict]:
        rows = self._db.execute(
            "SELECT day, code, first_device, first_instance, first_address, second_device, second_instance, "
            "second_address FROM code_conflicts WHERE site=? AND day>=? AND ? IN (first_device, second_device) "
            "ORDER BY id DESC LIMIT ?",
            (site, from_day, device, MAX_ALARMS),
        ).fetchall()
        alarms = [_code_alarm(day, code, Sender(*row[:3]), Sender(*row[3:])) for day, code, *row in rows]
        rows = self._db.execute(
            "SELECT day, code, device, instance, address FROM appointment_code_conflicts "
            "WHERE site=? AND day>=? AND device=? ORDER BY id DESC LIMIT ?",
            (site, from_day, device, MAX_ALARMS),
        ).fetchall()
        return alarms + [_appointment_code_alarm(day, code, Sender(*row)) for day, code, *row in rows]

    def _health(self, device, component, state, detail, reported_at) -> None:
        self._db.execute(
            "INSERT INTO health VALUES (?, ?, ?, ?, ?) ON CONFLICT (device, component) DO UPDATE "
            "SET state=excluded.state, detail=excluded.detail, reported_at=excluded.reported_at",
            (device, component, state, detail, reported_at),
        )

    def _visitor(self, site: str, day: str, code: str) -> tuple[str, str]:
        """(kind, concern) of the day's ticket or appointment ``code`` that a counter can still deal with."""
        self._refuse_not_come(site, day, code)
        row = self._db.execute(
            "SELECT 'appointment', concern, status = 'cancelled' FROM appointments "
            "WHERE site=? AND day=? AND display_code=? UNION ALL "
            "SELECT 'ticket', concern, state = 'void' FROM tickets WHERE site=? AND day=? AND code=?",
            (site, day, code, site, day, code),
        ).fetchone()
        if row is None:
            raise UnknownCode(f"no ticket or appointment {code} at {site} on {day}")
        kind, concern, gone = row
        if gone:
            raise NotCallable(f"{kind} {code} of {day} is {'cancelled' if kind == 'appointment' else 'void'}")
        return kind, concern

    def _refuse_not_come(self, site: str, day: str, code: str) -> None:
        row = self._db.execute(
            "SELECT not_come_at FROM tickets WHERE site=? AND day=? AND code=? AND not_come_at IS NOT NULL "
            "UNION ALL SELECT not_come_at FROM appointments WHERE site=? AND day=? AND display_code=? "
            "AND not_come_at IS NOT NULL",
            (site, day, code, site, day, code),
        ).fetchone()
        if row is not None:
            raise NotCallable(
                f"{code} was marked not come at {row[0]}: it cannot be called again (a visitor who comes after all "
                "draws a new number)"
            )

    def _call_ticket(self, site, day, code, counter, now) -> None:
        self._db.execute(
            "UPDATE tickets SET state='called', called_at=?, counter=? WHERE site=? AND day=? AND code=?",
            (timestamp(now), counter, site, day, code),
        )

    def _record_call(self, site, day, counter, code, kind, now) -> dict:
        called_at = timestamp(now)
        n = self._db.execute(
            "INSERT INTO calls (site, day, counter, code, kind, called_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING n",
            (site, day, counter, code, kind, called_at),
        ).fetchone()[0]
        self._office_changed(site, day)
        self._observe(site, day, "called", code, now, counter=counter)
        return self._call(n, counter, code, kind, called_at)

    def _call(self, n, counter, code, kind, called_at) -> dict:
        return {
            "id": self.cursor(n),  # the epoch in it: a reset backend's calls are never taken for earlier ones
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

    def _office_changed(self, site: str, day: str, changed: int = 1) -> None:
        """The call-up state of ``site`` on ``day`` changed: its version moves on. One counter per site
        across its days, so a new day's versions never repeat an earlier day's."""
        if not changed:
            return
        version = self._db.execute(
            "INSERT INTO meta VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value=CAST(meta.value AS INTEGER) + 1 "
            "RETURNING value",
            (f"office_seq:{site}",),
        ).fetchone()[0]
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (f"office:{site}:{day}", version),
        )
        self._changed_sites.add(site)

    def _office_version(self, site: str, day: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (f"office:{site}:{day}",)).fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._changed_sites = set()
            with self._db.write():
                yield
                for site in sorted(self._changed_sites):
                    self._db.changed(site)
            changed, self._changed_sites = self._changed_sites, set()
        for site in sorted(changed):
            self.on_change(site)

    @contextmanager
    def _reading(self):
        with self._lock, self._db.read():
            yield

    def _changed_elsewhere(self, site: str) -> None:
        """Another process committed a change of ``site``'s state (told on PostgreSQL's listening thread)."""
        self.on_change(site)


def _columns(sender: Sender) -> tuple:
    return sender.device, sender.instance, sender.address


def _drawn(key: str, day: str, concern: str, number: int, drawn: int) -> dict:
    return {"key": key, "day": day, "concern": concern, "number": number, "drawn": drawn}


def _code_alarm(day: str, code: str, first: Sender, second: Sender) -> dict:
    return {"kind": "duplicate_code", "day": day, "code": code, "devices": [first.sighting(), second.sighting()]}


def _appointment_code_alarm(day: str, code: str, checked_in_at: Sender) -> dict:
    return {"kind": "duplicate_appointment_code", "day": day, "code": code, "devices": [checked_in_at.sighting()]}


def _appointment_from_row(row) -> dict:
    return dict(zip(("id", "site", "day", "slot", "concern", "display_code", "reference", "status", "updated_at"), row))


def site_day(moment: datetime, zone) -> str:
    """The calendar day at the site for ``moment``, as the protocol writes it (YYYY-MM-DD)."""
    return moment.astimezone(zone).date().isoformat()


def _statements(script: str):
    """The script's statements: comments off first (they may hold ';'), then split at ';'."""
    code = "\n".join(line.split("--")[0] for line in script.splitlines())
    return [statement.strip() for statement in code.split(";") if statement.strip()]
