"""Numbers in the office's drawing order: while the backend answers, each concern counts up by one across
the office whichever kiosk prints; when it does not answer in time, each kiosk prints from the fallback
block the backend leased it, and no number is ever issued twice.

Real backend on loopback behind the fault-injecting gate, real devices (support/sync.py); a press is
served as the daemon serves it (Device.issue: draw, then IssueTicket with the office's number).
"""

import threading
import uuid
from contextlib import ExitStack

import pytest
import requests

from appliance.domain.commands import Health, TakeFallbackLease
from appliance.domain.errors import NoNumberHere
from support import ANSWER_S, wait_for
from support.sync import SITE, TOKEN, TOKEN_2, Device, answer, cut_after_apply, delivered, held_back

NUMBERS = "/numbers$"


def kiosk(tmp_path, central, name: str = "kiosk-1", **config) -> Device:
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    token = TOKEN if name == "kiosk-1" else TOKEN_2
    return Device(directory, central.url, token=token, device={"id": name}, **config)


def waiting(central) -> list[str]:
    """The office's waiting walk-ins, in calling order, as every screen shows them."""
    state = central.store.office_state(SITE, central.backend.today(central.settings.clock()))
    return [entry["code"] for entry in state["waiting"]]


def draw(central, key: str, concern: str = "leave", token: str = TOKEN) -> requests.Response:
    day = central.backend.today(central.settings.clock())
    return requests.post(
        f"{central.url}/v1/sites/{SITE}/numbers",
        json={"key": key, "day": day, "concern": concern, "first": 1, "last": 899, "instance": "run-0123456789"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=ANSWER_S,
    )


def test_two_kiosks_drawing_in_turn_get_the_offices_consecutive_numbers(tmp_path, central):
    first, second = kiosk(tmp_path, central).start(), kiosk(tmp_path, central, "kiosk-2").start()
    try:
        codes = [device.issue("leave").code for _ in range(3) for device in (first, second)]
        assert codes == ["A001", "A002", "A003", "A004", "A005", "A006"]
        assert second.issue("documents").code == "C001"  # each concern counts on its own
        delivered(first), delivered(second)
        assert waiting(central) == codes + ["C001"]
    finally:
        second.stop()
        first.stop()


def test_calling_follows_the_order_of_drawing_not_of_the_tickets_arrival(tmp_path, central):
    first, second = kiosk(tmp_path, central).start(), kiosk(tmp_path, central, "kiosk-2").start()
    try:
        central.gate.fault("POST", "kiosk-1/events$", answer(503), times=5)  # kiosk-1's upload comes late
        drawn_first = first.issue("leave").code
        drawn_second = second.issue("leave").code
        delivered(second)
        assert waiting(central) == [drawn_second]  # only a confirmed number waits
        delivered(first)
        assert waiting(central) == [drawn_first, drawn_second]
        assert central.call(counter=1, next=True).json()["code"] == drawn_first
    finally:
        second.stop()
        first.stop()


def test_a_backend_that_lost_its_count_draws_above_the_kiosks_highest_number(tmp_path, central):
    device = kiosk(tmp_path, central).start()
    try:
        issued = [device.issue("leave").code for _ in range(3)]
        delivered(device)
        central.stop()
        central.reset()  # the new database has drawn nothing yet
        central.start()
        assert device.issue("leave").code == "A004"  # never A001 again
        assert issued == ["A001", "A002", "A003"]
    finally:
        device.stop()


def test_the_same_key_draws_the_same_number_again_and_a_new_key_the_next(central):
    key = uuid.uuid4().hex
    once, again = draw(central, key), draw(central, key)
    assert once.status_code == again.status_code == 200
    assert once.json() == again.json() and once.json()["number"] == 1
    assert draw(central, uuid.uuid4().hex).json()["number"] == 2
    conflict = draw(central, key, concern="documents")
    assert (conflict.status_code, conflict.json()["error"]) == (409, "key_conflict")


def test_a_draw_whose_answer_was_lost_is_asked_again_and_gets_the_same_number(tmp_path, central):
    device = kiosk(tmp_path, central).start()
    try:
        assert device.issue("leave").code == "A001"
        central.gate.fault("POST", NUMBERS, cut_after_apply(), times=1)  # drawn, then the answer breaks
        assert device.issue("leave").code == "A002"  # asked again with its key: A002, no gap
        assert central.gate.arrived("POST", NUMBERS) == 3
        assert device.issue("leave").code == "A003"
    finally:
        device.stop()


def test_a_draw_answered_too_late_prints_from_the_fallback_block_and_leaves_a_gap(tmp_path, central):
    device = kiosk(tmp_path, central, numbering={"office_deadline": "300ms"}).start()
    answer_now = threading.Event()
    try:
        device.leased()
        central.gate.fault("POST", NUMBERS, held_back(answer_now), times=1)  # A001 is drawn, its answer held back
        late = device.issue("leave")
        assert late.code == "A975"  # fallback block 1: the top of the range
        numbering = wait_for(lambda: (h := device.health("numbering")).state == Health.DEGRADED and h)
        assert "numbers from fallback block 1: the office did not answer within 300 ms" in numbering.detail
        answer_now.set()
        wait_for(lambda: central.gate.count("POST", NUMBERS, 200) == 1, what="the held answer sent")
        delivered(device)
        assert waiting(central) == ["A975"]  # A001 is a gap, not a visitor nobody will find
        assert draw(central, uuid.uuid4().hex, token=TOKEN_2).json()["number"] == 2  # and never drawn again
    finally:
        answer_now.set()
        device.stop()


def test_with_the_backend_away_two_kiosks_print_from_their_own_blocks_and_never_the_same_number(tmp_path, central):
    first, second = kiosk(tmp_path, central).start(), kiosk(tmp_path, central, "kiosk-2").start()
    try:
        first.leased(), second.leased()
        slots = {device.do(TakeFallbackLease()).slot for device in (first, second)}
        assert slots == {1, 2}
        central.stop()
        codes = [device.issue("leave").code for _ in range(4) for device in (first, second)]
        assert len(set(codes)) == len(codes)
        assert set(codes) <= {f"A{n}" for n in range(950, 1000)}  # blocks 1 and 2 of 25: A950-A999
        central.start()
        delivered(first), delivered(second)
        assert sorted(waiting(central)) == sorted(codes)
        for device in (first, second):
            assert "issued twice" not in device.health().detail
        assert first.issue("leave").code == "A001"  # the office numbers again once it answers
    finally:
        second.stop()
        first.stop()


def test_the_configured_fallback_blocks_decide_the_numbers_printed_without_the_office(tmp_path, central):
    blocks = {"fallback_blocks": 3, "fallback_size": 10}
    first = kiosk(tmp_path, central, numbering=blocks).start()
    second = kiosk(tmp_path, central, "kiosk-2", numbering=blocks).start()
    try:
        first.leased(), second.leased()
        central.stop()
        printed = {
            device.do(TakeFallbackLease()).slot: [device.issue("leave").code for _ in range(2)]
            for device in (first, second)
        }
        assert printed == {1: ["A990", "A991"], 2: ["A980", "A981"]}  # blocks of 10 at the top of A001-A999
    finally:
        second.stop()
        first.stop()


def test_a_kill_between_draw_and_store_leaves_a_gap_and_never_a_duplicate(tmp_path, central):
    device = kiosk(tmp_path, central).start()
    try:
        assert device.issue("leave").code == "A001"
        assert device.sync.numbers.draw("leave").number == 2  # drawn; the power fails before it is stored
    finally:
        device.stop()
    device = kiosk(tmp_path, central).start()  # the kiosk boots again
    try:
        assert device.issue("leave").code == "A003"
        delivered(device)
        assert waiting(central) == ["A001", "A003"]
    finally:
        device.stop()
    issued = [e["body"]["code"] for e in central.events() if e["kind"] == "ticket_issued"]
    assert issued == ["A001", "A003"]


def test_a_kiosk_that_never_reached_the_backend_gives_no_number_and_says_why(tmp_path, central):
    central.stop()
    device = kiosk(tmp_path, central).start()
    try:
        with pytest.raises(NoNumberHere):
            device.issue("leave")
        numbering = wait_for(lambda: (h := device.health("numbering")) and h.state == Health.FAILED and h)
        assert numbering.detail.startswith("no number of its own: no fallback block leased yet; the office did not")
        central.start()
        device.leased()
        assert device.issue("leave").code == "A001"
        wait_for(lambda: device.health_is(Health.OK, "numbering"), what="numbering ok again")
    finally:
        device.stop()


def test_a_kiosk_whose_blocks_would_overlap_anothers_is_refused_naming_both(tmp_path, central):
    with ExitStack() as devices:  # each stops, whatever fails
        first = kiosk(tmp_path, central).start()
        devices.callback(first.stop)
        # Leased before the second starts: whichever asks second is refused, and that is to be kiosk-2
        # (started at once, on a loaded machine kiosk-2 asked first now and then, and kiosk-1 was refused).
        first.leased()
        second = kiosk(tmp_path, central, "kiosk-2", numbering={"fallback_size": 30}).start()
        devices.callback(second.stop)
        numbering = wait_for(lambda: (h := second.health("numbering")) and h.state == Health.FAILED and h)
        assert "409 blocks_differ: kiosk-2 asks for 4 blocks of 30 numbers, but kiosk-1 holds block 1" in (
            numbering.detail
        )
        assert second.do(TakeFallbackLease()) is None
