"""An office of real daemon processes (two kiosks, one monitor, the reference backend on loopback), judged
by what each device's screen shows: the frames its monitor process writes.

Every device's monitor runs with the same options, so the call band, the recent calls and the waiting
list must be the same pixels on all of them (and the pixels the renderer draws for the view the device
sent); one frame is also read by OCR, and so is each frame's "nicht aktuell" mark.
"""

import re
from dataclasses import replace
from datetime import UTC, datetime

import pygame
import pytest

from appliance.app.demo_office import picture
from appliance.display.monitor_render import render_monitor
from support import wait_for
from support.ocr import read_text
from support.office import HIGHLIGHT_S, Office

FRAME_SIZE = (1280, 720)
CODE = re.compile(r"[A-Z]\d{3}")
STALE = "nicht aktuell"
# What every screen of the office must show alike. Not the waits: each device still estimates them
# itself (the office state carries no waits yet), so they differ between devices.
QUEUE_REGIONS = ("call", "recent", "next")


@pytest.fixture
def office(tmp_path):
    office = Office(tmp_path, frames=True)
    try:
        yield office.start(booked=2)
    finally:  # also after a start that failed half-way: what it started is stopped
        office.stop()


def frame(office: Office, name: str) -> pygame.Surface | None:
    path = office.frames_dir(name) / "current.png"
    try:
        return pygame.image.load(str(path))
    except (FileNotFoundError, pygame.error):  # not drawn yet
        return None


def rendered(office: Office, view):
    """The picture and layout the monitor draws for ``view`` with the office's monitor options."""
    surface = pygame.Surface(FRAME_SIZE)
    return surface, render_monitor(surface, view, office.now(), highlight_s=HIGHLIGHT_S, stale_after_s=1)


def regions(office: Office) -> dict:
    """Where the monitor draws what (the layout of every frame)."""
    return rendered(office, office.screens.views()[office.monitors[0]])[1].regions


def calls_and_queue(surface: pygame.Surface, regions: dict) -> bytes:
    """The pixels of the call band, the recent calls and the waiting list."""
    return b"".join(pygame.image.tobytes(surface.subsurface(regions[name]), "RGB") for name in QUEUE_REGIONS)


def screens_agree(office: Office, check=lambda shown: True) -> dict:
    """Until every device's view passes ``check`` and every device's frame shows that view (the same
    pixels of calls and queue as the monitor's renderer draws for it, and so the same on every screen);
    the frames then."""

    def agreed():
        views = office.screens.views()
        shown = {picture(view) for view in views.values()}
        if len(views) < len(office.names) or len(shown) != 1 or not check(next(iter(shown))):
            return None
        frames = {name: frame(office, name) for name in office.names}
        if None in frames.values():
            return None
        pixels = set()
        for name, surface in frames.items():
            expected, layout = rendered(office, views[name])
            pixels |= {calls_and_queue(surface, layout.regions), calls_and_queue(expected, layout.regions)}
        return frames if len(pixels) == 1 else None

    try:
        return wait_for(agreed, what="every screen showing the same", every=0.1)
    except AssertionError as error:
        raise AssertionError(f"{error}: { ({n: picture(v) for n, v in office.screens.views().items()}) }") from None


def shown_call(office: Office, frames: dict) -> str:
    """The current call's code, read by OCR from the monitor-only device's frame. Tesseract sometimes
    drops one of two slashed zeros; a reading that is no code at all is read again with another margin."""
    surface, rect = frames[office.monitors[0]], regions(office)["call_code"]
    readings = [read_text(surface, rect, pad=pad, charset="ABCDT0123456789") for pad in (20, 30, 10)]
    return next((reading for reading in readings if CODE.fullmatch(reading)), readings[0])


def stale_marks(office: Office, frames: dict) -> dict:
    """What each frame says where the monitor puts its "nicht aktuell" mark (the monitors draw on the
    wall clock; so is the mark placed here), by OCR."""
    views = office.screens.views()
    said = {}
    for name, surface in frames.items():
        stale = replace(views[name], stale_since=datetime(2000, 1, 1, tzinfo=UTC))  # only to find the place
        drawn = render_monitor(pygame.Surface(FRAME_SIZE), stale, office.now(), stale_after_s=1).drawn
        mark = next(d.rect for d in drawn if d.role == "mark")
        said[name] = read_text(surface, mark, pad=4).lower()
    return said


def test_every_screen_shows_the_same_calls_and_waiting_list_through_tickets_check_ins_calls_and_recalls(office):
    first = office.press("kiosk-1", "leave")["code"]
    screens_agree(office, lambda shown: shown[2] == (first,))
    second = office.press("kiosk-2", "documents")["code"]
    third = office.press("kiosk-2", "leave")["code"]
    screens_agree(office, lambda shown: shown[2] == (first, second, third))
    assert office.scan("kiosk-1", "T001")["kind"] == "ok"
    screens_agree(office, lambda shown: shown[1] == ("T001",))

    call = office.backend.call_next(3)
    frames = screens_agree(office, lambda shown: shown[0][:1] == ((call["code"], 3, call["id"]),))
    assert call["code"] == "T001"  # checked-in appointments first
    assert shown_call(office, frames) == "T001"

    office.backend.call_next(1)
    screens_agree(office, lambda shown: shown[0][0][:2] == (first, 1) and shown[2] == (second, third))
    recall = office.backend.recall("T001", 3)
    frames = screens_agree(office, lambda shown: shown[0][0] == ("T001", 3, recall["id"]))
    assert shown_call(office, frames) == "T001"
    office.backend.not_come("T001")
    screens_agree(office, lambda shown: "T001" not in {call[0] for call in shown[0]})
    office.backend.transfer(first, "documents")
    frames = screens_agree(office, lambda shown: first in shown[2])
    assert all(STALE not in text for text in stale_marks(office, frames).values())


def test_an_appointment_booked_while_the_office_runs_is_checked_in_and_listed_on_every_screen(office):
    office.book(1)  # T003, booked after the devices started
    answer = wait_for(
        lambda: (answer := office.scan("kiosk-2", "T003"))["kind"] == "ok" and answer,
        what="the new booking accepted at kiosk-2",
        every=1.0,
    )
    assert answer["code"] == "T003"
    screens_agree(office, lambda shown: shown[1] == ("T003",))
    call = office.backend.call_next(5)
    frames = screens_agree(office, lambda shown: shown[0][:1] == (("T003", 5, call["id"]),) and shown[1] == ())
    assert shown_call(office, frames) == "T003"


def test_a_restarted_device_shows_the_office_again(office):
    issued = [office.press("kiosk-2", "leave")["code"] for _ in range(2)]
    # Printed is not yet at the backend: its events are on their way (a while on a loaded machine).
    screens_agree(office, lambda shown: shown[2] == tuple(issued))
    call = office.backend.call_next(2)
    screens_agree(office, lambda shown: shown[0][:1] == ((issued[0], 2, call["id"]),))

    office.stop_device("kiosk-2")
    office.start_device("kiosk-2")  # its state, its config; its monitor process reconnects by itself

    frames = screens_agree(
        office, lambda shown: shown[0][:1] == ((issued[0], 2, call["id"]),) and shown[2] == (issued[1],)
    )
    assert shown_call(office, frames) == issued[0]


def test_a_backend_outage_marks_every_screen_not_current_then_they_converge(office):
    before = office.press("kiosk-1", "leave")["code"]
    screens_agree(office, lambda shown: shown[2] == (before,))

    office.backend.stop()
    offline = office.press("kiosk-2", "documents")["code"]  # the kiosk carries on
    assert offline
    frames = wait_for(
        lambda: (
            (frames := {name: frame(office, name) for name in office.names})
            and all(STALE in text for text in stale_marks(office, frames).values())
            and frames
        ),
        what="every screen saying 'nicht aktuell'",
        every=0.5,
    )
    assert frames

    office.backend.start(clock_start=office.now())
    call = office.backend.call_next(4)
    frames = screens_agree(office, lambda shown: shown[0][:1] == ((before, 4, call["id"]),) and shown[2] == (offline,))
    assert all(STALE not in text for text in stale_marks(office, frames).values())
    assert shown_call(office, frames) == before
