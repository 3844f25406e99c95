"""The state database as a specification: numbering, series, outbox, reopening, refusals, migrations.

Every test works on real SQLite files in tmp_path, through StateStore as the core uses it.
"""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from appliance.domain.errors import NumbersExhausted, StateError
from appliance.domain.numbering import fallback_block, office_range
from appliance.domain.state import APPLICATION_ID, SCHEMA_VERSION, Appointment, StateStore, Ticket
from support import ANSWER_S, REPO_ROOT

MONDAY = date(2026, 3, 9)
TUESDAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)

# The outbox's contract with the backend: these fields and no others (never personal data).
DOCUMENTED_EVENT_FIELDS = {
    "ticket_issued": {"day", "concern", "number", "code"},
    "ticket_called": {"day", "code", "concern", "counter"},
}
EVENT_COLUMNS = ["seq", "key", "kind", "body", "created_at", "delivered_at"]


def issue(store, day=MONDAY, concern="leave", prefix="A", low=1, high=999, last=999, at=NOON):
    return store.issue_ticket(day=day, concern=concern, prefix=prefix, low=low, high=high, last=last, issued_at=at)


def raw(path: Path) -> sqlite3.Connection:
    """A second, independent connection, as an inspector would open it."""
    return sqlite3.connect(path, isolation_level=None)


def scalar(path: Path, sql: str, *args):
    db = raw(path)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path):
    store = StateStore(db_path)
    yield store
    store.close()


# --- numbering per day and concern -------------------------------------------------------------


def test_numbers_start_at_the_concerns_first_number_and_go_up_by_one(store):
    assert [issue(store).number for _ in range(4)] == [1, 2, 3, 4]
    assert [issue(store, concern="advice", prefix="B", low=100, high=199, last=199).number for _ in range(3)] == [
        100,
        101,
        102,
    ]


def test_numbering_starts_again_on_the_next_local_day(store):
    assert [issue(store, day=MONDAY).number for _ in range(3)] == [1, 2, 3]
    assert [issue(store, day=TUESDAY).number for _ in range(2)] == [1, 2]
    # Monday's tickets are still there: the reset comes from the day, not from deleting anything.
    assert [t.code for t in store.tickets(MONDAY)] == ["A001", "A002", "A003"]
    assert [t.code for t in store.tickets(TUESDAY)] == ["A001", "A002"]


def test_two_concerns_are_counted_separately(store):
    codes = [
        issue(store).code,
        issue(store, concern="advice", prefix="B").code,
        issue(store).code,
        issue(store, concern="advice", prefix="B").code,
        issue(store, concern="advice", prefix="B").code,
    ]
    assert codes == ["A001", "B001", "A002", "B002", "B003"]
    assert store.issued_counts(MONDAY) == {"leave": 2, "advice": 3}


# --- several kiosks in one office ----------------------------------------------------------------


def test_the_office_range_and_two_devices_fallback_blocks_never_share_a_number(tmp_path):
    first, last, size = 1, 99, 10
    ranges = [office_range(first, last, 2, size)] + [fallback_block(first, last, slot, size) for slot in (1, 2)]
    stores = [StateStore(tmp_path / f"{name}.db") for name in ("office", "kiosk-1", "kiosk-2")]
    try:
        issued: list[set[int]] = [set(), set(), set()]
        # All draw alternately until each has used up its own range.
        for _ in range(last):
            for index, (low, high) in enumerate(ranges):
                try:
                    issued[index].add(issue(stores[index], low=low, high=high, last=last).number)
                except NumbersExhausted:
                    pass
        assert issued[0].isdisjoint(issued[1]) and issued[1].isdisjoint(issued[2]) and issued[0].isdisjoint(issued[2])
        assert issued[0] | issued[1] | issued[2] == set(range(first, last + 1))
        assert (issued[1], issued[2]) == (set(range(90, 100)), set(range(80, 90)))  # block 1 is the highest
    finally:
        for store in stores:
            store.close()


def test_an_exhausted_block_is_refused_with_a_clear_message_and_consumes_nothing(store, db_path):
    low, high = fallback_block(1, 9, 2, 3)  # block 2 of 3: numbers 4-6
    assert [issue(store, low=low, high=high, last=9).code for _ in range(3)] == ["A4", "A5", "A6"]
    tickets, events = (scalar(db_path, "SELECT COUNT(*) FROM tickets"), scalar(db_path, "SELECT COUNT(*) FROM events"))

    with pytest.raises(NumbersExhausted) as refused:
        issue(store, low=low, high=high, last=9)

    message = str(refused.value)
    assert "4-6" in message and "'leave'" in message and MONDAY.isoformat() in message
    assert scalar(db_path, "SELECT COUNT(*) FROM tickets") == tickets
    assert scalar(db_path, "SELECT COUNT(*) FROM events") == events
    # The store is still usable, and the next day the block is whole again.
    assert issue(store, day=TUESDAY, low=low, high=high, last=9).code == "A4"


def test_display_codes_are_zero_padded_to_the_width_of_the_concerns_last_number(store):
    assert issue(store, last=999).code == "A001"
    assert issue(store, concern="advice", prefix="B", high=9999, last=9999).code == "B0001"
    assert issue(store, concern="jobs", prefix="C", low=42, high=99, last=99).code == "C42"


# --- the outbox --------------------------------------------------------------------------------


def test_every_issued_ticket_and_every_call_writes_exactly_one_outbox_event(store, db_path):
    for n in range(1, 6):
        issue(store, concern=("leave", "advice")[n % 2], prefix=("A", "B")[n % 2])
        assert scalar(db_path, "SELECT COUNT(*) FROM events WHERE kind='ticket_issued'") == n
    for n in range(1, 4):
        assert store.call_next(day=MONDAY, counter=n, called_at=NOON + timedelta(minutes=n)) is not None
        assert scalar(db_path, "SELECT COUNT(*) FROM events WHERE kind='ticket_called'") == n
    # Calling with nobody waiting changes nothing and writes nothing.
    assert store.call_next(day=TUESDAY, counter=1, called_at=NOON) is None
    assert scalar(db_path, "SELECT COUNT(*) FROM events") == 5 + 3


def test_a_ticket_and_its_event_are_written_in_one_transaction(store, db_path):
    issue(store)
    # Make every outbox write fail, from outside: the ticket written before it must not stay.
    inspector = raw(db_path)
    inspector.execute(
        "CREATE TRIGGER outbox_full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'outbox full'); END"
    )
    inspector.close()

    with pytest.raises(sqlite3.DatabaseError, match="outbox full"):
        issue(store)
    with pytest.raises(sqlite3.DatabaseError, match="outbox full"):
        store.call_next(day=MONDAY, counter=3, called_at=NOON)

    assert [(t.code, t.state) for t in store.tickets(MONDAY)] == [("A001", "waiting")]
    assert scalar(db_path, "SELECT COUNT(*) FROM events") == 1


def test_outbox_events_have_unique_keys_and_only_the_documented_fields(store, db_path):
    for _ in range(3):
        issue(store)
        issue(store, concern="advice", prefix="B")
    store.call_next(day=MONDAY, counter=7, called_at=NOON)
    store.call_next(day=MONDAY, counter=8, called_at=NOON, concerns=("advice",))

    db = raw(db_path)
    try:
        assert [row[1] for row in db.execute("PRAGMA table_info(events)")] == EVENT_COLUMNS
        rows = db.execute("SELECT key, kind, body FROM events ORDER BY seq").fetchall()
    finally:
        db.close()
    keys = [key for key, _, _ in rows]
    assert len(set(keys)) == len(keys) == 8
    assert all(len(key) >= 32 for key in keys)
    for _, kind, body in rows:
        assert set(json.loads(body)) == DOCUMENTED_EVENT_FIELDS[kind], (kind, body)
    assert json.loads(rows[-1][2]) == {"day": "2026-03-09", "code": "B001", "concern": "advice", "counter": 8}


# --- durability across restarts ----------------------------------------------------------------


def test_reopening_the_file_keeps_every_ticket_and_numbering_continues(db_path):
    store = StateStore(db_path)
    for _ in range(3):
        issue(store)
    store.call_next(day=MONDAY, counter=2, called_at=NOON)
    store.close()

    store = StateStore(db_path)
    try:
        assert [(t.code, t.state) for t in store.tickets(MONDAY)] == [
            ("A001", "called"),
            ("A002", "waiting"),
            ("A003", "waiting"),
        ]
        assert store.pending_events() == 4
        assert issue(store).code == "A004"
    finally:
        store.close()


# --- files the daemon must refuse, and leave exactly as they were ------------------------------


def files_beside(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


def assert_refused_untouched(path: Path, *words: str) -> StateError:
    before = (path.read_bytes(), path.stat().st_mtime_ns, files_beside(path))
    with pytest.raises(StateError) as refused:
        StateStore(path)
    after = (path.read_bytes(), path.stat().st_mtime_ns, files_beside(path))
    assert after[0] == before[0], "the file's bytes changed"
    assert after[1] == before[1], "the file's mtime changed"
    assert after[2] == before[2], f"files appeared beside it: {after[2] - before[2]}"
    message = str(refused.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    return refused.value


def test_a_text_file_named_state_db_is_refused_and_left_untouched(db_path):
    db_path.write_text("[device]\nid = kiosk-1\n")
    assert_refused_untouched(db_path, "not an SQLite database")


def test_a_corrupted_database_is_refused_as_damaged_and_left_untouched(db_path):
    store = StateStore(db_path)
    for n in range(100):  # over 20 pages: enough to damage the middle and keep the header (each is an fsync)
        issue(store, concern=("leave", "advice")[n % 2], prefix=("A", "B")[n % 2])
    store.close()
    page_size = scalar(db_path, "PRAGMA page_size")
    pages = db_path.stat().st_size // page_size
    assert pages >= 6, "too few pages to damage the middle of the file"
    with open(db_path, "r+b") as file:  # overwrite whole pages in the middle, keep the header intact
        file.seek(page_size * (pages // 3))
        file.write(bytes([0xA5]) * page_size * 3)
    assert sqlite_finds_damage(db_path), "the damage must be real for this test to mean anything"

    error = assert_refused_untouched(db_path, "damaged")
    assert "move it aside" in str(error)


def sqlite_finds_damage(path: Path) -> bool:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            return db.execute("PRAGMA quick_check").fetchall() != [("ok",)]
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return True


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_another_programs_sqlite_database_is_refused_and_left_untouched(db_path, journal_mode):
    db = raw(db_path)
    db.execute(f"PRAGMA journal_mode={journal_mode}")
    db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    db.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    assert db.execute("PRAGMA application_id").fetchone()[0] == 0
    db.close()

    assert_refused_untouched(db_path, "another program")


def test_a_database_from_a_newer_version_is_refused_and_left_untouched(db_path):
    store = StateStore(db_path)
    issue(store)
    store.close()
    db = raw(db_path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()

    assert_refused_untouched(db_path, "newer version", f"schema {SCHEMA_VERSION + 1}")


# --- schema and connection settings ------------------------------------------------------------


def test_a_new_file_is_created_at_the_current_schema(db_path):
    store = StateStore(db_path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert scalar(db_path, "PRAGMA application_id") == APPLICATION_ID
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["zero-length file", "database without tables"])
def test_a_database_at_schema_0_is_migrated_to_the_current_schema(db_path, kind):
    if kind == "zero-length file":
        db_path.touch()
    else:
        db = raw(db_path)
        db.execute("CREATE TABLE scratch (x)")
        db.execute("DROP TABLE scratch")
        db.close()
        assert db_path.stat().st_size > 0
    assert scalar(db_path, "PRAGMA user_version") == 0

    store = StateStore(db_path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert issue(store).code == "A001"
    finally:
        store.close()
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION
    assert scalar(db_path, "PRAGMA application_id") == APPLICATION_ID
    assert scalar(db_path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('tickets', 'events')") == 2


def test_the_database_is_in_wal_mode_with_full_synchronous_writes(store, db_path):
    # journal_mode is stored in the file: a second connection sees what the store set.
    assert scalar(db_path, "PRAGMA journal_mode") == "wal"
    # synchronous is per connection, so only the store's own connection can tell.
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: fsync on every commit
    assert os.path.exists(f"{db_path}-wal")


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_a_second_process_cannot_open_state_that_a_running_one_owns(tmp_path):
    path = tmp_path / "state.db"
    owner = StateStore(path)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from appliance.domain.state import StateStore; StateStore(sys.argv[1])",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=ANSWER_S,
    )
    assert child.returncode != 0
    assert "in use by another running entrance-appliance" in child.stderr
    assert f"pid {os.getpid()}" in child.stderr
    owner.close()
    StateStore(path).close()  # free again once the owner has closed it


# --- calls: the next visitor, and a call by code ---------------------------------------------------


def booked(store, n: int, slot: str, concern: str = "leave", checked_in_at=None):
    hour, minute = map(int, slot.split(":"))
    appointment = Appointment(str(n), "mitte", MONDAY, time(hour, minute), concern, f"T{n:03d}")
    store.replace_appointments(MONDAY, [*store.appointments(MONDAY), appointment])
    if checked_in_at is not None:
        store.check_in(appointment, checked_in_at)
    return appointment


def last_event(store):
    event = store.recent_events(1)[0]
    return event.kind, event.body, event.created_at


def test_the_next_visitor_is_the_earliest_slot_checked_in_then_the_longest_waiting_ticket(store):
    issue(store, at=NOON)
    issue(store, concern="documents", prefix="C", at=NOON - timedelta(minutes=5))
    booked(store, 2, "09:45", checked_in_at=NOON)
    booked(store, 1, "09:30", checked_in_at=NOON + timedelta(minutes=1))
    booked(store, 3, "09:00")  # booked, not here: never called by "next"
    later = NOON + timedelta(minutes=10)
    codes = [c.code if isinstance(c, Ticket) else c.display_code for c in iter_calls(store, 3, later)]
    assert codes == ["T001", "T002", "C001", "A001"]
    assert store.call_next(day=MONDAY, counter=3, called_at=later) is None


def iter_calls(store, counter, at):
    while (called := store.call_next(day=MONDAY, counter=counter, called_at=at)) is not None:
        assert called.counter == counter and called.called_at == at
        yield called


def test_a_call_records_what_the_backend_needs_and_nothing_more(store):
    booked(store, 1, "09:30", checked_in_at=NOON)
    issue(store)
    at = NOON + timedelta(minutes=2)
    store.call_next(day=MONDAY, counter=4, called_at=at)
    assert last_event(store) == (
        "appointment_called",
        {"appointment_id": "1", "day": "2026-03-09", "code": "T001", "counter": 4},
        at,
    )
    store.call_next(day=MONDAY, counter=5, called_at=at)
    assert last_event(store) == (
        "ticket_called",
        {"day": "2026-03-09", "code": "A001", "concern": "leave", "counter": 5},
        at,
    )


def test_a_counter_for_some_concerns_gets_only_their_visitors(store):
    issue(store)
    issue(store, concern="documents", prefix="C")
    booked(store, 1, "09:30", checked_in_at=NOON)
    booked(store, 2, "09:00", concern="documents", checked_in_at=NOON)
    assert store.call_next(day=MONDAY, counter=1, called_at=NOON, concerns=("leave",)).display_code == "T001"
    assert store.call_next(day=MONDAY, counter=1, called_at=NOON, concerns=("leave",)).code == "A001"
    assert store.call_next(day=MONDAY, counter=1, called_at=NOON, concerns=("leave",)) is None
    assert store.call_next(day=MONDAY, counter=2, called_at=NOON, concerns=("documents", "x")).display_code == "T002"


def test_a_call_by_code_takes_the_waiting_ticket_or_the_appointment_once(store):
    issue(store)
    booked(store, 7, "09:30", checked_in_at=NOON)
    booked(store, 8, "09:45")  # booked and called at the counter before it was checked in
    at = NOON + timedelta(minutes=3)
    ticket = store.call_code(day=MONDAY, code="A001", counter=2, called_at=at)
    assert (ticket.code, ticket.state, ticket.counter, ticket.called_at) == ("A001", "called", 2, at)
    for code in ("T007", "T008"):
        appointment = store.call_code(day=MONDAY, code=code, counter=6, called_at=at)
        assert (appointment.display_code, appointment.status, appointment.counter) == (code, "called", 6)
    for code in ("A001", "T007", "A002", "T099"):
        assert store.call_code(day=MONDAY, code=code, counter=2, called_at=at) is None
    assert [c.counter for c in store.recent_calls(MONDAY)] == [2, 6, 6]
    assert store.call_code(day=TUESDAY, code="A001", counter=2, called_at=at) is None  # another day's number


def test_a_voided_ticket_is_never_called_and_says_why_in_its_event(store):
    issue(store)
    voided = store.void_ticket(day=MONDAY, code="A001", reason="printer: paper out", at=NOON)
    assert voided.state == "void" and store.waiting(MONDAY) == []
    assert last_event(store) == (
        "ticket_void",
        {"day": "2026-03-09", "code": "A001", "concern": "leave", "reason": "printer: paper out"},
        NOON,
    )
    assert store.void_ticket(day=MONDAY, code="A001", reason="again", at=NOON) is None
    assert store.call_next(day=MONDAY, counter=1, called_at=NOON) is None
    assert store.call_code(day=MONDAY, code="A001", counter=1, called_at=NOON) is None


def test_a_check_in_records_the_codes_facts_and_makes_an_unknown_appointment_callable(store):
    appointment = Appointment("4821", "mitte", MONDAY, time(9, 30), "leave", "T021", "K7Q2M4")
    checked_in = store.check_in(appointment, NOON)  # only its signed code told of it
    assert (checked_in.status, checked_in.checked_in_at, checked_in.reference) == ("checked_in", NOON, "K7Q2M4")
    assert store.appointments(MONDAY) == [checked_in]
    assert last_event(store) == (
        "check_in",
        {
            "appointment_id": "4821",
            "site": "mitte",
            "day": "2026-03-09",
            "slot": "09:30",
            "code": "T021",
            "concern": "leave",
        },
        NOON,
    )
    assert store.call_next(day=MONDAY, counter=1, called_at=NOON).display_code == "T021"


# --- what the store hands back is what it stored ------------------------------------------------


def test_an_issued_ticket_is_handed_back_as_it_is_stored(store):
    first, second = issue(store), issue(store, concern="advice", prefix="B")
    assert store.tickets(MONDAY) == [first, second]
    assert (first.state, first.number, second.number) == ("waiting", 1, 1) and first.id != second.id


def test_the_outbox_hands_events_over_in_the_order_they_were_written(store):
    issue(store)
    issue(store)
    events = store.undelivered_events(10)
    assert [e.body["code"] for e in events] == ["A001", "A002"]
    assert all(isinstance(e.seq, int) for e in events) and events[0].seq < events[1].seq


def test_a_day_list_with_an_appointment_of_another_day_is_refused_saying_which(store):
    other = Appointment("7", "mitte", TUESDAY, time(9, 0), "leave", "T007")
    with pytest.raises(ValueError, match=r"^appointment 7 is for 2026-03-10, not 2026-03-09$"):
        store.replace_appointments(MONDAY, [other])
    assert store.appointments(MONDAY) == []


def test_a_write_that_fails_for_another_reason_than_a_full_disk_is_not_called_a_full_disk(store, db_path):
    other = raw(db_path)
    other.execute("ALTER TABLE events RENAME TO events_elsewhere")  # another program changed the schema
    other.close()
    with pytest.raises(sqlite3.OperationalError, match="no such table: events"):
        issue(store)
    assert store.tickets(MONDAY) == []  # rolled back whole


def test_a_database_lost_whole_goes_on_above_each_concerns_numbers_and_knows_the_latest_instant(db_path):
    store = StateStore(db_path)
    for _ in range(3):
        issue(store)
    issue(store, concern="advice", prefix="B", at=NOON + timedelta(minutes=5))
    store.close()
    for path in db_path.parent.glob("state.db*"):  # the database is gone; its record of numbers stays
        if path.suffix != ".numbers":
            path.unlink()

    store = StateStore(db_path)
    try:
        assert store.latest_instant() == NOON + timedelta(minutes=5)
        assert [issue(store).code, issue(store, concern="advice", prefix="B").code] == ["A004", "B002"]
        assert issue(store, day=TUESDAY).code == "A001"  # another day starts at its first number
    finally:
        store.close()


def test_a_counter_for_two_concerns_gets_the_longest_waiting_ticket_of_either(store):
    issue(store, concern="advice", prefix="B")
    issue(store, concern="documents", prefix="C", at=NOON + timedelta(minutes=1))
    issue(store, at=NOON + timedelta(minutes=2))
    calls = [store.call_next(day=MONDAY, counter=1, called_at=NOON, concerns=("leave", "documents")) for _ in "xyz"]
    assert [c.code if c else None for c in calls] == ["C001", "A001", None]


def test_the_recent_calls_are_the_ten_newest_of_tickets_and_appointments_newest_first(store):
    booked(store, 1, "09:30", checked_in_at=NOON)
    for _ in range(11):
        issue(store)
    for n in range(12):  # the appointment first, then A001 ... A011, a minute apart
        store.call_next(day=MONDAY, counter=1, called_at=NOON + timedelta(minutes=n))
    calls = store.recent_calls(MONDAY)
    assert [c.code for c in calls] == [f"A{n:03d}" for n in range(11, 1, -1)]
    assert [c.code for c in store.recent_calls(MONDAY, limit=2)] == ["A011", "A010"]


def test_the_recent_events_are_the_outboxs_newest_first_as_stored(store):
    for _ in range(11):
        issue(store)
    recent = store.recent_events()
    assert len(recent) == 10 and recent == store.undelivered_events(20)[:0:-1]
