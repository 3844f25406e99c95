"""An office as the waiting room sees it: two kiosks (office numbers, a fallback block each) and a monitor-only
device following the reference backend on loopback, compared by what each device's monitor shows.

Each screen is read as the monitor process reads it: the daemon's view (appliance.app.view) parsed
by appliance.display.view; old calls are told from new ones by the monitor's own Announcer.
"""

import threading
import time

import pytest

from appliance.app.view import monitor_view
from appliance.display.announcer import Announcer
from appliance.display.view import parse_view
from appliance.domain.commands import CheckIn, TakeDayList
from entrance_backend.http import DeviceAccess
from support import ANSWER_S, CLOCK, wait_for
from support.sync import KIOSK_1, KIOSK_2, SITE, TOKEN, TOKEN_2, Central, Device, delivered, json_mangled, local_now

MONITOR_TOKEN = "token-monitor-1-012345678"
OFFICE = (
    KIOSK_1,
    KIOSK_2,
    DeviceAccess("monitor-1", SITE, MONITOR_TOKEN),
)


def start_device(tmp_path, central: Central, name: str) -> Device:
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    if name == "monitor-1":
        sections = {"token": MONITOR_TOKEN, "device": {"id": name, "roles": "monitor"}}
    else:
        sections = {"token": TOKEN if name == "kiosk-1" else TOKEN_2, "device": {"id": name}}
    device = Device(directory, central.url, **sections).start()
    if name != "monitor-1":
        device.leased()  # its fallback block, for the outage
    return device


@pytest.fixture
def office(tmp_path, backend_database):
    central = Central(tmp_path, devices=OFFICE, database=backend_database).start()
    devices = {access.device: start_device(tmp_path, central, access.device) for access in OFFICE}
    yield central, devices
    for device in devices.values():
        device.stop()
    central.stop()


def screen(device: Device):
    """What this device's monitor shows now."""
    return parse_view(monitor_view(device.config, device.core.snapshot, stale_since=device.sync.stale_since))


def picture(device: Device) -> tuple:
    """The part of the screen every device of the office must agree on."""
    view = screen(device)
    return (
        tuple((call.code, call.counter) for call in view.recent_calls),
        tuple(entry.code for entry in view.appointments),
        tuple(entry.code for entry in view.waiting),
    )


def agreed(devices: dict, check=lambda shown: True, timeout: float = ANSWER_S) -> tuple:
    """Waits until every screen shows the same picture and ``check(picture)`` holds; returns it."""
    pictures = {}

    def same() -> bool:
        pictures.update({name: picture(device) for name, device in devices.items()})
        return len(set(pictures.values())) == 1 and check(next(iter(pictures.values())))

    try:
        wait_for(same, timeout, "every screen showing the same")
    except AssertionError as error:
        raise AssertionError(f"{error}; they show {pictures}") from None
    return next(iter(pictures.values()))


def test_every_screen_of_the_office_shows_the_same_calls_and_waiting_list(office):
    central, devices = office
    kiosk_1, kiosk_2, monitor = devices["kiosk-1"], devices["kiosk-2"], devices["monitor-1"]
    central.book(2, local_now().date(), slot=local_now().strftime("%H:%M"))
    wait_for(lambda: len(kiosk_2.do(TakeDayList())) == 2, what="the day list on kiosk-2")
    issued = []

    def draw(kiosk, concern="leave"):
        return lambda: issued.append(kiosk.issue(concern).code)

    # Each change on every screen before the next (how soon: the benchmark's office_screens_agree_p99_ms).
    for action in (draw(kiosk_1), draw(kiosk_2), draw(kiosk_1, "documents"), draw(kiosk_2)):
        action()
        agreed(devices, lambda shown: shown[2] == tuple(issued))
    kiosk_2.do(CheckIn("REF001X"))
    agreed(devices, lambda shown: shown[1:] == (("T001",), tuple(issued)))
    # The monitor-only device holds no ticket and no check-in of its own, and lists them all.
    assert picture(monitor) == ((), ("T001",), tuple(issued))
    assert [entry.code for entry in screen(monitor).waiting if entry.concern == "leave"] == [
        issued[0],
        issued[1],
        issued[3],
    ]
    # The next ticket counts everyone the office lets in before it, whichever kiosk drew them.
    assert kiosk_1.issue("leave").people_ahead == 1 + len(issued)
    issued.append(screen(kiosk_1).waiting[-1].code)
    agreed(devices, lambda shown: shown[2] == tuple(issued))

    for counter, expected in ((3, "T001"), (1, issued[0]), (2, issued[1])):
        central.call(counter=counter, next=True)
        agreed(devices, lambda shown, call=(expected, counter): shown[0][:1] == (call,))
    shown = agreed(devices)
    assert shown == (((issued[1], 2), (issued[0], 1), ("T001", 3)), (), tuple(issued[2:]))


def test_a_restarted_device_shows_the_office_again_and_announces_no_old_call(tmp_path, office):
    central, devices = office
    for kiosk in (devices["kiosk-1"], devices["kiosk-2"], devices["kiosk-1"]):
        kiosk.issue("leave")
    agreed(devices, lambda shown: len(shown[2]) == 3)
    announcer = Announcer(_Silent(), chime=False, pause_s=0)
    follower = _Follower(announcer, lambda: devices["monitor-1"])
    try:
        for counter in (1, 2):
            central.call(counter=counter, next=True)
        shown = agreed(devices, lambda shown: len(shown[0]) == 2)
        wait_for(lambda: len(announcer.announced) == 2, what="both calls announced")

        devices["monitor-1"].stop()  # the daemon restarts; the monitor process stays and listens on
        devices["monitor-1"] = start_device(tmp_path, central, "monitor-1")
        assert agreed(devices) == shown
        time.sleep(0.5)  # the calls feed's replay of the latest calls has been handed over by now
        assert agreed(devices) == shown
    finally:
        follower.stop()
        announcer.close()
    assert [(a.code, a.counter) for a in announcer.announced] == [(code, str(n)) for code, n in reversed(shown[0])]


def test_a_recall_is_the_current_call_again_and_announced_once_more_and_not_come_leaves_the_list(office):
    central, devices = office
    kiosk_1, monitor = devices["kiosk-1"], devices["monitor-1"]
    first, second, third = (kiosk_1.issue("leave").code for _ in range(3))
    agreed(devices, lambda shown: len(shown[2]) == 3)
    announcer = Announcer(_Silent(), chime=False, pause_s=0)
    follower = _Follower(announcer, lambda: monitor)
    try:
        central.call(counter=1, code=first)
        central.call(counter=2, code=second)
        agreed(devices, lambda shown: shown[0] == ((second, 2), (first, 1)))
        wait_for(lambda: len(announcer.announced) == 2, what="both calls announced")

        assert central.call(counter=1, code=first).status_code == 201  # the visitor did not hear it: a recall
        agreed(devices, lambda shown: shown[0][0] == (first, 1))
        wait_for(lambda: len(announcer.announced) == 3, what="the recall announced")

        assert central.call(code=third, not_come=True).status_code == 200
        shown = agreed(devices, lambda shown: shown[2] == ())
        time.sleep(0.5)  # time for a second announcement of the recall, if one were coming
    finally:
        follower.stop()
        announcer.close()
    assert [(a.code, a.counter) for a in announcer.announced] == [(first, "1"), (second, "2"), (first, "1")]
    assert shown[0][0] == (first, 1) and third not in {code for code, _ in shown[0]}
    assert central.call(counter=1, code=third).status_code == 409


def test_in_an_outage_each_device_keeps_the_last_state_plus_its_own_tickets_and_they_converge(office):
    central, devices = office
    kiosk_1, kiosk_2, monitor = devices["kiosk-1"], devices["kiosk-2"], devices["monitor-1"]
    for kiosk in (kiosk_1, kiosk_2):
        kiosk.issue("leave")
    agreed(devices, lambda shown: len(shown[2]) == 2)
    central.call(counter=1, next=True)
    last = agreed(devices, lambda shown: len(shown[0]) == 1 and len(shown[2]) == 1)

    central.stop()
    for device in devices.values():
        wait_for(lambda device=device: screen(device).stale_since is not None, what="nicht aktuell")
    during = {name: kiosk.issue("leave").code for name, kiosk in (("kiosk-1", kiosk_1), ("kiosk-2", kiosk_2))}
    assert picture(kiosk_1) == (last[0], (), last[2] + (during["kiosk-1"],))
    assert picture(kiosk_2) == (last[0], (), last[2] + (during["kiosk-2"],))
    assert picture(monitor) == last
    documents = kiosk_2.issue("documents")
    assert documents.people_ahead == 2  # the office's waiting one and its own

    central.start()
    shown = agreed(devices, lambda shown: len(shown[2]) == 4)
    assert shown[0] == last[0]
    assert set(shown[2]) == set(last[2]) | set(during.values()) | {documents.code}
    wait_for(lambda: all(screen(device).stale_since is None for device in devices.values()), what="up to date")


class _Silent:
    def play(self, name: str, wav: bytes) -> None:
        pass


class _Follower:
    """The monitor process's part: offers each view's recent calls to the announcer, as they come."""

    def __init__(self, announcer: Announcer, device):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, args=(announcer, device), daemon=True)
        self._thread.start()

    def _follow(self, announcer, device) -> None:
        while not self._stop.wait(0.01):
            try:
                announcer.offer(screen(device()).recent_calls, CLOCK.now())
            except Exception:  # the device is being restarted: its store is closed for a moment
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(ANSWER_S)


def _another_site(state: dict) -> None:
    state["site"] = "nord"


def _positions_swapped(state: dict) -> None:
    state["waiting"][0]["position"], state["waiting"][1]["position"] = 2, 1


def _called_and_waiting(state: dict) -> None:
    state["recent_calls"].append(dict(state["recent_calls"][0], code=state["waiting"][0]["code"]))


def _cut_short(state: dict) -> None:
    del state["waiting"][-1]


def _version_back(state: dict) -> None:
    state["version"] = max(0, state["version"] - 5)


def _counts_off(state: dict) -> None:
    state["waiting_total"] += 1


def _not_come_and_waiting(state: dict) -> None:
    state["not_come"] = [state["waiting"][-1]["code"]]


@pytest.mark.parametrize(
    "mangle",
    [
        _another_site,
        _positions_swapped,
        _called_and_waiting,
        _cut_short,
        _version_back,
        _counts_off,
        _not_come_and_waiting,
    ],
)
def test_an_office_state_of_another_site_or_contradicting_itself_is_refused_and_the_last_one_kept(
    central, device, mangle
):
    first, second = (device.issue("leave").code for _ in range(2))
    wait_for(lambda: device.core.snapshot.outbox_pending == 0 and device.sync.stale_since is None, what="in sync")
    central.call(counter=1, code=first)
    wait_for(lambda: picture(device) == (((first, 1),), (), (second,)), what="the call on the screen")
    central.gate.fault("GET", "/office$", json_mangled(mangle), times=None)
    third, fourth = (device.issue("leave").code for _ in range(2))  # the office moves on, refused
    wait_for(lambda: "state refused, the last one stays" in device.health().detail, what="the refusal in the status")
    assert screen(device).stale_since is not None
    assert picture(device) == (((first, 1),), (), (second, third, fourth))
    central.gate.clear()
    central.call(counter=2, code=second)
    wait_for(lambda: picture(device) == (((second, 2), (first, 1)), (), (third, fourth)), what="the office again")
    wait_for(lambda: device.sync.stale_since is None, what="up to date again")


def test_a_visitor_transferred_back_to_waiting_waits_again_on_every_screen_keeping_their_number(office):
    central, devices = office
    first, second = (devices["kiosk-1"].issue("leave").code for _ in range(2))
    agreed(devices, lambda shown: len(shown[2]) == 2)
    documents = devices["kiosk-2"].issue("documents").code
    agreed(devices, lambda shown: len(shown[2]) == 3)
    central.call(counter=1, code=first)
    agreed(devices, lambda shown: shown[0] == ((first, 1),))
    assert central.call(code=first, transfer={"concern": "documents"}).status_code == 200
    assert agreed(devices, lambda shown: first in shown[2]) == ((), (), (first, second, documents))  # old place
    assert {name: screen(device).waiting_count("documents") for name, device in devices.items()} == dict.fromkeys(
        devices, 2
    )
    assert central.call(code=second, transfer={"counter": 4}).status_code == 201
    assert agreed(devices, lambda shown: shown[0] == ((second, 4),)) == (((second, 4),), (), (first, documents))


def test_a_device_restarted_while_the_backend_is_away_shows_the_office_s_last_state_not_up_to_date(tmp_path, central):
    device = Device(tmp_path, central.url).start()
    first, second = (device.issue("leave").code for _ in range(2))
    delivered(device)
    central.call(counter=1, code=first)
    wait_for(lambda: picture(device) == (((first, 1),), (), (second,)), what="the office on the screen")
    central.stop()
    device.stop()
    device = Device(tmp_path, central.url).start()
    try:
        assert picture(device) == (((first, 1),), (), (second,))  # at once, from the device's own state
        third = device.issue("leave")
        assert third.people_ahead == 1
        wait_for(lambda: screen(device).stale_since is not None, what="nicht aktuell")
        assert picture(device) == (((first, 1),), (), (second, third.code))
    finally:
        device.stop()


def test_a_device_of_a_reset_backend_takes_its_new_state_though_the_version_is_lower(tmp_path, central):
    device = Device(tmp_path, central.url).start()
    try:
        for _ in range(5):  # the office's version moves well beyond what the reset backend will answer
            device.issue("leave")
        first = device.core.snapshot.waiting[0].code
        delivered(device)
        version = central.store.office_state(SITE, local_now().date().isoformat())["version"]
        wait_for(lambda: central.gate.arrived("GET", "/office$", f"after={version}&"), what="the device in sync")
        central.stop()
        central.reset()
        central.start()
        assert central.call(counter=1, code=first).status_code == 404  # the new backend holds none of them
        later = device.issue("leave").code
        wait_for(lambda: central.gate.count("GET", "/office$", 410) >= 1, what="the unknown version refused")
        wait_for(lambda: central.call(counter=2, code=later).status_code == 201, what="the new ticket at the backend")
        wait_for(lambda: picture(device)[0][:1] == ((later, 2),), what="the reset backend's call on the screen")
        # The reset backend's office is what every screen shows: it lost the earlier tickets, so they are not
        # offered as callable (their visitors draw again); the device's outbox does not send them twice.
        assert picture(device) == (((later, 2),), (), ()) and device.sync.stale_since is None
    finally:
        device.stop()
