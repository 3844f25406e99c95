"""The device's clock against the reference backend's on loopback: a device clock off by seconds is
reported, one that jumps is trusted again only when the backend or time sync confirms it.

The device runs on the backend's clock set off by a chosen offset (its monotonic clock stays the real one,
the witness of how much time passed), so what is measured is what a Pi with a wrong clock would see.
"""

import os
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from appliance.domain.clock import FakeClock, SystemClock
from appliance.domain.commands import Health, IssueTicket, RecordEvent
from appliance.domain.errors import ClockNotTrusted
from appliance.protocol.contract import parse_timestamp
from support import ANSWER_S, CLOCK, wait_for
from support.sync import Central, Device, delivered


class OffClock(SystemClock):
    """The backend's clock (the tests' running clock), off by ``off_by``; ``jump`` sets it as ``date -s``
    would (no time passes)."""

    def __init__(self, off_by: timedelta = timedelta(0)):
        self.off_by = off_by

    def now(self):
        return CLOCK.now() + self.off_by

    def jump(self, delta: timedelta) -> None:
        self.off_by += delta


def clock(device) -> tuple[Health, str]:
    health = device.health("clock")
    return (health.state, health.detail) if health else (Health.OK, "")


def refused(device, command) -> Exception | None:
    return device.core.submit(command).exception(ANSWER_S)


def test_a_kiosk_48_s_slow_reports_its_clock_degraded_with_the_offset_and_what_to_do(tmp_path, central):
    device_clock = OffClock(-timedelta(seconds=48))
    device = Device(tmp_path, central.url, clock=device_clock).start()
    try:
        state, detail = wait_for(lambda: clock(device)[0] == Health.DEGRADED and clock(device), what="the warning")
        assert re.fullmatch(
            r"the clock is -48 s off the backend's \(more than the 5 s of \[backend\] clock_warning\): "
            r"enable systemd-timesyncd / NTP",
            detail,
        )
        assert device.issue("leave").code == "A001"  # time sync said it is right: a warning only
        wait_for(lambda: central.store.heartbeat("kiosk-1"), what="a heartbeat")
        wait_for(lambda: central.health().get("clock", (None,))[0] == "degraded", what="the backend told")

        device_clock.off_by = timedelta(0)  # NTP enabled
        wait_for(lambda: clock(device) == (Health.OK, ""), what="the clock ok again")
    finally:
        device.stop()


def test_a_clock_a_few_seconds_off_is_not_reported(tmp_path, central):
    device = Device(tmp_path, central.url, clock=OffClock(timedelta(seconds=1))).start()
    try:
        wait_for(lambda: central.gate.count("POST", "/heartbeat", 200) >= 3, what="three heartbeats")
        assert clock(device) == (Health.OK, "")
    finally:
        device.stop()


def test_a_clock_set_back_a_day_is_trusted_again_only_when_the_backend_agrees(tmp_path, central):
    device_clock = OffClock()
    device = Device(tmp_path, central.url, clock=device_clock).start()
    try:
        assert [device.issue("leave").code for _ in range(3)] == ["A001", "A002", "A003"]
        today = device.core.snapshot.day

        device_clock.jump(-timedelta(days=1))
        state, detail = wait_for(
            lambda: "off the backend's" in clock(device)[1] and clock(device), what="the jump and the offset"
        )
        assert "the wall clock jumped back 1 d" in detail and f"numbering stays on {today}" in detail
        assert re.search(r"the clock is -86\d\d\d s off the backend's \(more than the 60 s allowed", detail)
        assert isinstance(refused(device, IssueTicket("leave")), ClockNotTrusted)
        wait_for(lambda: central.store.heartbeat("kiosk-1")["clock_ok"] is False, what="the heartbeat says so")

        device_clock.jump(timedelta(days=1))  # the clock is set right again
        wait_for(lambda: clock(device) == (Health.OK, ""), what="the backend's confirmation")
        ticket = device.issue("leave")
        assert (ticket.day, ticket.code) == (today, "A004")  # never A001 again
    finally:
        device.stop()


def test_after_a_jump_only_a_new_time_synchronisation_confirms_the_clock(tmp_path):
    synchronized = tmp_path / "no-timesync"  # the harness's stand-in for systemd's file
    synchronized.touch()
    device_clock = OffClock()
    device = Device(tmp_path, Central(tmp_path).url, clock=device_clock).holds_block(1).start()  # no backend answers
    try:
        device.issue("leave")
        device_clock.jump(timedelta(days=2))
        wait_for(lambda: "jumped forward 2 d" in clock(device)[1], what="the jump reported")
        time.sleep(0.3)  # the watcher looks at the file every 0.05 s: the old synchronisation is not taken
        assert isinstance(refused(device, IssueTicket("leave")), ClockNotTrusted)

        later = synchronized.stat().st_mtime + 60
        os.utime(synchronized, (later, later))  # systemd-timesyncd synchronised again
        wait_for(lambda: clock(device) == (Health.OK, ""), what="time sync's confirmation")
        assert device.issue("leave").code == "A975"  # the confirmed new day, from the start of its fallback block
    finally:
        device.stop()


def test_events_a_clock_dated_1970_reach_the_backend_with_its_time_and_stay_dated_on_the_device(tmp_path, central):
    booted = FakeClock(datetime(1970, 1, 1, 0, 0, 12, tzinfo=UTC))  # a Pi without a real-time clock
    device = Device(tmp_path, central.url, clock=booted, trusted=False)
    for n in range(30):  # more than one refusal names (20): delivered in rounds
        device.core.apply(RecordEvent("boot_note", {"n": n}))
    device.start()
    try:
        wait_for(lambda: len(central.store.events("kiosk-1")) >= 31, what="the boot's events delivered")
        held = central.store.events("kiosk-1")
        assert [e["body"]["n"] for e in held if e["kind"] == "boot_note"] == list(range(30))
        assert ("component_health", "clock") in [(e["kind"], e["body"].get("component")) for e in held]
        delivered(device)  # not held up: the outbox goes on
        held = central.store.events("kiosk-1")
        assert all(parse_timestamp(e["created_at"]).year > 2000 for e in held)  # the backend's Date
        assert central.gate.count("POST", "/events", 422) >= 2  # 20 named in the first refusal, then the rest
        with sqlite3.connect(device.config.state.database) as db:
            assert db.execute("SELECT MIN(created_at) FROM events").fetchone()[0].startswith("1970-01-01")
    finally:
        device.stop()
