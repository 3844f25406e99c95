"""No lost high-water mark: whatever happens to state.db and its -wal, a number once issued is never issued
again; a record of the numbers that cannot be trusted is refused, every file left as it was.

Every test damages real files of a real state directory as a crash, a careless technician or a
restored backup would: the daemon process is stood in for by a StateStore left open (as kill -9 leaves it).
"""

import logging
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from appliance.domain.errors import StateError
from appliance.domain.state import Appointment, StateStore
from support import REPO_ROOT
from support.config import write_device_config

DAY = date(2026, 3, 9)
NOON = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)


def issue(store, concern="leave", prefix="A"):
    return store.issue_ticket(day=DAY, concern=concern, prefix=prefix, low=1, high=999, last=999, issued_at=NOON)


def killed_after(directory: Path, tickets: int) -> Path:
    """A state directory as kill -9 leaves it after ``tickets`` tickets, their commits still in state.db-wal."""
    store = StateStore(directory / "state.db")
    for _ in range(tickets):
        issue(store)
    copy = directory.parent / f"{directory.name}-killed"
    shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("*.lock"))
    store.close()
    return copy / "state.db"


def files_of(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture
def state_dir(tmp_path):
    directory = tmp_path / "state"
    directory.mkdir()
    return directory


def test_the_last_tickets_are_in_the_wal_until_a_checkpoint(state_dir):
    database = killed_after(state_dir, 5)
    assert Path(f"{database}-wal").stat().st_size > 0  # what the damage below takes away


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda db: Path(f"{db}-wal").unlink(), id="wal-deleted"),
        pytest.param(lambda db: Path(f"{db}-wal").unlink() or Path(f"{db}-shm").unlink(), id="wal-and-shm-deleted"),
        pytest.param(lambda db: _cut(Path(f"{db}-wal"), 0.4), id="wal-cut"),
        pytest.param(lambda db: db.write_bytes(b"") or Path(f"{db}-wal").unlink(), id="database-emptied"),
        pytest.param(
            lambda db: [p.unlink() for p in db.parent.glob("state.db*") if p.suffix != ".numbers"],
            id="database-deleted",
        ),
    ],
)
def test_a_database_that_lost_its_last_tickets_goes_on_above_the_numbers_issued(state_dir, damage, caplog):
    database = killed_after(state_dir, 5)
    damage(database)

    with caplog.at_level(logging.WARNING):
        store = StateStore(database)
    try:
        assert issue(store).code == "A006"
    finally:
        store.close()
    assert "lost tickets: leave of 2026-03-09 went up to number 5" in caplog.text


def test_an_older_copy_of_the_database_put_back_goes_on_above_the_numbers_issued_since(state_dir, tmp_path):
    store = StateStore(state_dir / "state.db")
    issue(store)
    issue(store)
    store.close()  # closing checkpoints: state.db alone holds A001 and A002
    backup = tmp_path / "backup.db"
    shutil.copy(state_dir / "state.db", backup)
    store = StateStore(state_dir / "state.db")
    assert [issue(store).code for _ in range(3)] == ["A003", "A004", "A005"]
    store.close()

    shutil.copy(backup, state_dir / "state.db")
    store = StateStore(state_dir / "state.db")
    try:
        assert issue(store).code == "A006"
        assert issue(store, "advice", "B").code == "B001"  # a concern without a loss starts as it would
    finally:
        store.close()


def test_the_latest_instant_recorded_is_the_latest_ticket_or_check_in_even_when_the_database_lost_it(state_dir):
    database = killed_after(state_dir, 1)
    store = StateStore(database)
    try:
        checked_in = NOON.replace(hour=12)
        store.check_in(Appointment("apt-1", "test-office", DAY, time(14, 0), "leave", "T001"), checked_in)
        assert store.latest_instant() == checked_in
    finally:
        store.close()
    for path in database.parent.glob("state.db*"):  # the database is lost; the ticket's time is on record
        if path.suffix != ".numbers":
            path.unlink()
    store = StateStore(database)
    try:
        assert store.latest_instant() == NOON
    finally:
        store.close()


def test_the_record_of_numbers_keeps_only_the_newest_day(state_dir):
    store = StateStore(state_dir / "state.db")
    issue(store)
    store.issue_ticket(
        day=date(2026, 3, 10), concern="leave", prefix="A", low=1, high=999, last=999, issued_at=NOON.replace(day=10)
    )
    store.close()
    store = StateStore(state_dir / "state.db")
    try:
        assert store.marks.day == date(2026, 3, 10)
        assert (state_dir / "state.db.numbers").read_text().count("\n") == 1
    finally:
        store.close()


def test_a_record_damaged_in_its_last_line_by_a_power_loss_is_read_up_to_it(state_dir):
    database = killed_after(state_dir, 3)
    marks = Path(f"{database}.numbers")
    marks.write_bytes(marks.read_bytes() + b'{"day": "2026-03-09", "conc')
    store = StateStore(database)
    try:
        assert issue(store).code == "A004"
    finally:
        store.close()


def test_a_record_damaged_within_is_refused_and_every_file_left_as_found(state_dir):
    database = killed_after(state_dir, 3)
    marks = Path(f"{database}.numbers")
    lines = marks.read_bytes().split(b"\n")
    marks.write_bytes(b"\n".join([lines[0], b"\x00\x17garbage", *lines[1:]]))
    before = files_of(database.parent)

    with pytest.raises(StateError, match=r"state.db.numbers line 2 is damaged .* no number is issued"):
        StateStore(database)

    assert files_of(database.parent) == before


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_the_daemon_refuses_a_damaged_record_with_exit_3_and_every_file_left_as_found(state_dir, tmp_path):
    database = killed_after(state_dir, 3)
    marks = Path(f"{database}.numbers")
    marks.write_bytes(b"not a record\n" + marks.read_bytes())
    config = write_device_config(tmp_path, state={"database": str(database)})
    before = files_of(database.parent)

    result = subprocess.run(
        [sys.executable, "-m", "appliance", "run", "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 3, result.stderr
    assert "state.db.numbers line 1 is damaged" in result.stderr and "left untouched" in result.stderr
    assert files_of(database.parent) == before


def _cut(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
