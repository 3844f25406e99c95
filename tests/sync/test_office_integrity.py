"""Nothing lost silently between an office's devices and the backend: codes issued twice and devices
sharing an id are alarms on every device concerned, and a shared id gets no number; an appointment only a
signed code told of is callable.

Real backend on loopback, real devices (support/sync.py); the office's kiosks are built from copies of
one config, as a technician provisioning a new kiosk would make them.
"""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.domain.codes import AppointmentCode, encode, public_key_text
from appliance.domain.commands import CheckIn, Health, TakeFallbackLease
from appliance.domain.errors import NoNumberHere
from support import wait_for
from support.sync import SITE, TOKEN_2, Device, delivered, local_now


def alarm(device: Device, *parts: str) -> str:
    """The device's backend health once it is degraded with a reason naming all of ``parts``."""
    health = wait_for(
        lambda: (h := device.health()) and h.state == Health.DEGRADED and all(p in h.detail for p in parts) and h,
        what=f"an alarm naming {parts} in the backend health",
    )
    return health.detail


def test_a_kiosk_from_a_copied_config_gets_no_number_and_the_refusal_names_both(tmp_path, central):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = Device(tmp_path / "a", central.url).start()
    assert first.issue("leave").code == "A001"
    first.leased()
    copy = Device(tmp_path / "b", central.url).start()  # the same id and token
    try:
        runs = (f"run {first.sync.instance[:8]}", f"run {copy.sync.instance[:8]}")
        for device in (copy, first):
            alarm(device, "device id kiosk-1 used by two devices at once: kiosk-1 (run ", *runs)
        instances = (f"instance {first.sync.instance}", f"instance {copy.sync.instance}")
        for device in (copy, first):  # neither may number: they would share one fallback block
            with pytest.raises(NoNumberHere) as refused:
                device.issue("leave")
            assert "two devices run as kiosk-1" in str(refused.value)
            assert all(instance in str(refused.value) for instance in instances)
            wait_for(
                lambda d=device: (
                    (h := d.health("numbering")).state == Health.FAILED and "two devices run as" in h.detail
                ),
                what="the status saying why",
            )
    finally:
        copy.stop()
        first.stop()
    assert [e["body"]["code"] for e in central.events() if e["kind"] == "ticket_issued"] == ["A001"]


def test_the_same_code_from_two_devices_is_an_alarm_on_both(tmp_path, central):
    """Two kiosks numbering from one block (their leases from a backend whose database was lost)."""
    central.stop()
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = Device(tmp_path / "a", central.url).holds_block(1).start()
    second = Device(tmp_path / "b", central.url, token=TOKEN_2, device={"id": "kiosk-2"}).holds_block(1).start()
    try:
        today = first.core.snapshot.day.isoformat()
        assert first.issue("documents").code == second.issue("documents").code == "C975"
        central.start()
        delivered(first)
        delivered(second)
        both = (f"ticket C975 of {today} issued twice, by ", "kiosk-1 (127.0.0.1)", "kiosk-2 (127.0.0.1)")
        alarm(second, *both)
        assert "used by two devices" not in alarm(first, *both)
        # A call of C975 reaches both devices: both visitors holding C975 see it.
        assert central.call(counter=4, code="C975").status_code == 201
        for device in (first, second):
            wait_for(lambda d=device: [(c.code, c.counter) for c in d.core.snapshot.recent_calls][:1] == [("C975", 4)])
        # The backend lets the first to ask keep block 1 and hands the other block 2: no collision from here on.
        wait_for(
            lambda: {device.do(TakeFallbackLease()).slot for device in (first, second)} == {1, 2},
            what="one of them moved to block 2",
        )
    finally:
        second.stop()
        first.stop()
    assert [e["body"]["code"] for e in central.events("kiosk-2") if e["kind"] == "ticket_issued"] == ["C975"]


def test_a_restarted_kiosk_is_not_taken_for_a_second_device(tmp_path, central):
    device = Device(tmp_path, central.url).start()
    wait_for(lambda: central.gate.count("POST", "/heartbeat$", 200) >= 3, what="three heartbeats")
    device.stop()
    device = Device(tmp_path, central.url).start()  # a new run of the same kiosk
    try:
        beats = central.gate.count("POST", "/heartbeat$", 200)
        wait_for(lambda: central.gate.count("POST", "/heartbeat$", 200) >= beats + 3, what="three more heartbeats")
        assert device.health().state == Health.OK, device.health().detail
    finally:
        device.stop()


def test_a_signed_code_the_backend_never_held_is_checked_in_and_called_through_the_backend(tmp_path, central):
    site_key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "site-key.pub"
    key_file.write_text(public_key_text(site_key) + "\n")
    now = local_now()
    signed = encode(AppointmentCode(4711, SITE, now.date(), now.time(), "leave", "T021"), site_key)
    device = Device(tmp_path, central.url, checkin={"modes": "signed", "public_key_file": key_file}).start()
    try:
        assert device.do(CheckIn(signed)).verdict.accepted
        delivered(device)
        call = central.call(counter=2, next=True)
        assert call.status_code == 201, call.text
        assert (call.json()["code"], call.json()["kind"]) == ("T021", "appointment")
        wait_for(
            lambda: [(c.code, c.counter) for c in device.core.snapshot.recent_calls][:1] == [("T021", 2)],
            what="the backend's call of T021 on the device",
        )
    finally:
        device.stop()
    check_in = next(e for e in central.events() if e["kind"] == "check_in")["body"]
    assert check_in == {
        "day": now.date().isoformat(),
        "appointment": "4711",
        "display_code": "T021",
        "site": SITE,
        "slot": now.strftime("%H:%M"),
        "concern": "leave",
    }


def test_a_signed_code_whose_display_code_another_appointment_holds_is_an_alarm_and_that_one_stays(
    tmp_path, central, caplog
):
    site_key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "site-key.pub"
    key_file.write_text(public_key_text(site_key) + "\n")
    now = local_now()
    today = now.date().isoformat()
    (booked,) = central.book(1, now.date(), first=21)  # T021, from the booking system's day list
    signed = encode(AppointmentCode(4711, SITE, now.date(), now.time(), "leave", "T021"), site_key)
    device = Device(tmp_path, central.url, checkin={"modes": "signed", "public_key_file": key_file}).start()
    try:
        assert device.do(CheckIn(signed)).verdict.accepted
        delivered(device)
        said = (f"appointment code T021 of {today} belongs to another appointment too", "kiosk-1 (127.0.0.1)")
        alarm(device, *said)
        beats = central.gate.count("POST", "/heartbeat$", 200)
        wait_for(lambda: central.gate.count("POST", "/heartbeat$", 200) >= beats + 2, what="two more heartbeats")
        assert all(part in alarm(device, *said) for part in said)  # it stands until the day is over
    finally:
        device.stop()
    _, held = central.store.appointment_day(SITE, today)
    assert [(a["id"], a["display_code"], a["status"]) for a in held] == [(booked["id"], "T021", "booked")]
    assert [e["body"]["appointment"] for e in central.events() if e["kind"] == "check_in"] == ["4711"]
    logged = [r.getMessage() for r in caplog.records if r.name == "entrance-backend" and "T021" in r.getMessage()]
    assert logged and logged[0].startswith(f"appointment code T021 of {today} is held by another appointment")
