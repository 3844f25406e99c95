"""Nothing lost silently between an office's devices and the backend: codes issued twice and devices
sharing an id are alarms on every device concerned; an appointment only a signed code told of is callable.

Real backend on loopback, real devices (support/sync.py); the office's kiosks are built from copies of
one config, as a technician provisioning a new kiosk would make them.
"""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.domain.codes import AppointmentCode, encode, public_key_text
from appliance.domain.commands import CheckIn, Health, IssueTicket
from support import wait_for
from support.sync import SITE, TOKEN_2, Device, delivered, local_now


def alarm(device: Device, *parts: str) -> str:
    """The device's backend health once it is degraded with a reason naming all of ``parts``."""
    health = wait_for(
        lambda: (h := device.health()) and h.state == Health.DEGRADED and all(p in h.detail for p in parts) and h,
        what=f"an alarm naming {parts} in the backend health",
    )
    return health.detail


def test_a_kiosk_from_a_copied_config_is_an_alarm_on_both_and_no_ticket_is_lost(tmp_path, central):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = Device(tmp_path / "a", central.url).start()
    copy = Device(tmp_path / "b", central.url).start()  # the same id, token and numbers
    try:
        today = first.core.snapshot.day.isoformat()
        assert first.do(IssueTicket("leave")).code == "A001"
        delivered(first)
        assert copy.do(IssueTicket("leave")).code == "A001"
        delivered(copy)
        runs = (f"run {first.sync.instance[:8]}", f"run {copy.sync.instance[:8]}")
        issued_twice = f"ticket A001 of {today} issued twice, by kiosk-1 ("
        for device in (copy, first):  # the copy from its upload's answer, the first at its next heartbeat
            alarm(device, issued_twice, *runs)
            alarm(device, "device id kiosk-1 used by two devices at once: kiosk-1 (run ", *runs)
    finally:
        copy.stop()
        first.stop()
    issued = [e for e in central.events() if e["kind"] == "ticket_issued"]
    assert [e["body"]["code"] for e in issued] == ["A001", "A001"]  # both kept
    assert len({e["key"] for e in issued}) == 2


def test_the_same_numbers_on_two_device_ids_are_an_alarm_on_both(tmp_path, central):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = Device(tmp_path / "a", central.url).start()
    second = Device(tmp_path / "b", central.url, token=TOKEN_2, device={"id": "kiosk-2"}).start()
    try:
        today = first.core.snapshot.day.isoformat()
        first.do(IssueTicket("documents"))
        delivered(first)
        second.do(IssueTicket("documents"))
        delivered(second)
        both = f"ticket C001 of {today} issued twice, by kiosk-1 (127.0.0.1) and kiosk-2 (127.0.0.1)"
        alarm(second, both)
        assert "used by two devices" not in alarm(first, both)
        # A call of C001 reaches both devices: both visitors holding C001 see it.
        assert central.call(counter=4, code="C001").status_code == 201
        for device in (first, second):
            wait_for(lambda d=device: [(c.code, c.counter) for c in d.core.snapshot.recent_calls][:1] == [("C001", 4)])
    finally:
        second.stop()
        first.stop()
    assert [e["body"]["code"] for e in central.events("kiosk-2") if e["kind"] == "ticket_issued"] == ["C001"]


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
