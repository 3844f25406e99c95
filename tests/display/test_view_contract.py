"""The monitor on what the daemon really sends: a running Appliance's own view, parsed and drawn.

No hand-made sample here: tickets, a checked-in appointment, calls, a void, a printer fault and the
kiosk's answers all come from the real core and dispenser, and every kind of entry must reach the screen.
"""

import json
import os
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

os.environ["SDL_VIDEODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.app.config import load_config  # noqa: E402
from appliance.app.daemon import Appliance  # noqa: E402
from appliance.display.kiosk import KioskScreen  # noqa: E402
from appliance.display.monitor_render import render_monitor  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from appliance.domain.clock import FakeClock  # noqa: E402
from appliance.domain.codes import AppointmentCode, Ed25519PrivateKey, encode, public_key_text  # noqa: E402
from appliance.domain.commands import CallNext, StaffCall, VoidTicket  # noqa: E402
from appliance.printer.emulator import PrinterEmulator  # noqa: E402
from support import ANSWER_S, wait_for  # noqa: E402
from support.config import write_device_config  # noqa: E402
from support.ocr import read_text  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 25)
MORNING = datetime(2026, 11, 25, 9, 10, tzinfo=BERLIN)
SITE_KEY = Ed25519PrivateKey.generate()
CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"


@pytest.fixture
def appliance(tmp_path, device_config_file):
    emulator = PrinterEmulator(out_dir=tmp_path / "tickets")
    emulator.start()
    key_file = tmp_path / "site-key.pub"
    key_file.write_text(public_key_text(SITE_KEY) + "\n")
    device_config_file.write_text(
        device_config_file.read_text()
        + f"""
[printer]
uri = {emulator.uri}
timeout = 60s

[gpio]
# Visitors one after another at once, as the test presses: no minimum gap between two tickets.
min_gap = 0s

[checkin]
modes = signed
public_key_file = {key_file}
"""
    )
    running = Appliance(load_config(device_config_file), clock=FakeClock(MORNING))
    running.start()
    running.emulator = emulator
    yield running
    running.stop()
    emulator.stop()


def daemon_view(appliance):
    """The view exactly as the monitor process receives it: the daemon's own, through JSON."""
    view = parse_view(json.loads(json.dumps(appliance.view(appliance.core.snapshot))))
    assert view.problems == ()
    return view


def press(appliance, concern: str):
    """A visitor presses ``concern``'s button; returns the kiosk's answer."""
    before = len(appliance.answers)
    appliance.kiosk.press(concern)
    wait_for(lambda: len(appliance.answers) > before, what=f"the answer to a press for {concern}")
    return appliance.answers[before]


def draw_monitor(view, size=(1920, 1080)):
    surface = pygame.Surface(size)
    return surface, render_monitor(surface, view, view.taken_at, slides=None)


def drawn(frame, role: str):
    return next(d for d in frame.drawn if d.role == role)


def test_every_kind_of_entry_the_daemon_sends_reaches_the_monitor_and_the_kiosk_screen(appliance):
    appliance.answers = []
    appliance.kiosk.listeners.append(appliance.answers.append)
    tickets = [press(appliance, concern) for concern in ["leave", "leave", "documents", "leave", "documents", "leave"]]
    assert [answer.code for answer in tickets] == ["A001", "A002", "C001", "A003", "C002", "A004"]
    appointment = encode(AppointmentCode(4821, "test-office", DAY, time(9, 30), "leave", "T021"), SITE_KEY)
    assert appliance.kiosk.scan(appointment).result(timeout=ANSWER_S).verdict.accepted
    core = appliance.core
    core.submit(StaffCall(4, "A001")).result(timeout=ANSWER_S)
    core.submit(CallNext(2, concerns=("documents",))).result(timeout=ANSWER_S)  # C001
    core.submit(VoidTicket("A003", "the ticket jammed")).result(timeout=ANSWER_S)
    assert press(appliance, "leave").code == "A005"  # the kiosk's latest answer

    view = daemon_view(appliance)
    surface, frame = draw_monitor(view)

    # The current call and the earlier one, read back from the picture.
    assert read_text(surface, frame.regions["call_code"], charset=CODE_CHARS) == "C001"
    assert read_text(surface, frame.regions["call_counter"], charset=CODE_CHARS) == "2"
    assert frame.texts("recent") == ["A001"] and frame.texts("recent_counter") == ["4"]
    # The checked-in appointment, above the walk-ins, in the panel of what comes next.
    assert frame.texts("next_appointment") == ["T021"]
    assert frame.regions["next"].contains(drawn(frame, "next_appointment").rect)
    assert frame.texts("subtitle")[0].startswith("Mit Termin")
    # The walk-ins in call order, without the voided number or the called ones.
    assert frame.texts("next") == ["A002", "C002", "A004", "A005"]
    # Each configured concern with its titles, and how many wait for it.
    assert frame.texts("concern") == ["Urlaub beantragen", "Unterlagen abgeben"]
    assert frame.texts("concern_second") == ["Apply for leave", "Hand in documents"]
    assert len(frame.texts("wait")) == 2

    # The kiosk's screen on the same view: the ticket just drawn, with its place in the queue.
    kiosk = KioskScreen()
    kiosk.set_connected(True)
    kiosk.offer(view, view.taken_at)
    kiosk_frame = kiosk.render(pygame.Surface((800, 480)), view.taken_at)
    assert kiosk_frame.texts("ticket_code") == ["A005"]
    # One appointment and three walk-ins are ahead of A005.
    assert kiosk_frame.texts("facts")[0].startswith("Vor Ihnen: 4 Personen")

    # The printer runs out of paper: the next press is refused and the kiosk says so.
    appliance.emulator.mode = "paper_out"
    assert press(appliance, "leave").message.title.render() == "Außer Betrieb"
    wait_for(lambda: daemon_view(appliance).kiosk.out_of_order, what="the kiosk out of order in the view")
    view = daemon_view(appliance)
    kiosk.offer(view, view.taken_at)
    kiosk_frame = kiosk.render(pygame.Surface((800, 480)), view.taken_at)
    assert kiosk_frame.texts("message_title") == ["Außer Betrieb", "Out of order"]


@pytest.mark.parametrize(
    ("moment", "shown_open"),
    [
        (MORNING, True),  # Wednesday 09:10
        (datetime(2026, 11, 25, 13, 5, tzinfo=BERLIN), False),  # after closing
        (datetime(2026, 11, 28, 9, 10, tzinfo=BERLIN), False),  # a Saturday
    ],
    ids=["open", "after closing", "saturday"],
)
def test_opening_hours_and_the_ticker_from_the_config_reach_the_monitor(tmp_path, moment, shown_open):
    path = write_device_config(
        tmp_path,
        monitor={"open_from": "07:30", "open_until": "12:30", "ticker": "Termine online buchen: jobcenter.example"},
    )
    appliance = Appliance(load_config(path), clock=FakeClock(moment))
    try:
        view = parse_view(json.loads(json.dumps(appliance.view(appliance.core.snapshot))))
    finally:
        appliance.store.close()
    assert view.problems == () and (view.open, view.ticker) == (shown_open, "Termine online buchen: jobcenter.example")
    surface, frame = draw_monitor(view)
    assert ("ticker" in frame.regions) and (("closed" in frame.regions) != shown_open)
