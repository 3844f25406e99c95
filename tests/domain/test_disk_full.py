"""A full disk makes the device degraded, not dead: no new number, every stored one kept, and it
recovers by itself when space returns. On a real, small filesystem (tmpfs), as a full SD card is."""

import subprocess
from datetime import UTC, datetime

import pytest

from appliance.app.config import load_config
from appliance.domain.clock import FakeClock
from appliance.domain.commands import Health, IssueTicket
from appliance.domain.component import ComponentName
from appliance.domain.core import Core
from appliance.domain.errors import DiskFull
from appliance.domain.state import StateStore
from support import ANSWER_S
from support.config import write_device_config

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB filesystem of its own: mounting needs root, which CI has."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk) -> None:
    """Takes every free byte, as a runaway log file would."""
    with open(disk / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


@pytest.fixture
def core(small_disk):
    config = load_config(write_device_config(small_disk))
    store = StateStore(config.state.database)
    core = Core(config, store, FakeClock(MORNING))
    core.start()
    yield core
    core.stop()
    store.close()


def core_health(core):
    return next(health for health in core.snapshot.components if health.name == ComponentName.CORE)


def test_a_full_disk_refuses_new_numbers_keeps_the_issued_ones_and_recovers_when_space_returns(core, small_disk):
    issued = [core.submit(IssueTicket("leave")).result(ANSWER_S).code for _ in range(3)]
    fill(small_disk)

    with pytest.raises(DiskFull, match="is full"):
        for _ in range(200):  # the database's free pages fill first
            core.submit(IssueTicket("leave")).result(ANSWER_S)
    assert core.running  # degraded, not dead
    assert core_health(core).state is Health.DEGRADED and "is full" in core_health(core).detail
    assert [entry.code for entry in core.snapshot.waiting][:3] == issued

    (small_disk / "filler").unlink()
    after = core.submit(IssueTicket("leave")).result(ANSWER_S)

    assert core_health(core).state is Health.OK
    codes = [entry.code for entry in core.snapshot.waiting]
    assert len(codes) == len(set(codes)) and after.code == codes[-1]  # no number twice, none lost
