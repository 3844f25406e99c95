"""The counter page and the wait page in a real browser (Debian's chromium, headless): staff sign in and call
with the keyboard alone, another counter's call appears on their page, a visitor's phone-sized wait page
follows their number until it is called, and the waiting room's monitor shows the call."""

import re
import time
from contextlib import contextmanager
from datetime import timedelta

import pygame
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from appliance.app.view import monitor_view
from appliance.display.monitor_render import render_monitor
from appliance.display.view import parse_view
from support import wait_for
from support.backend_pages import COUNTERS, MONITOR_TOKEN, NOW, SITE, PagesOffice
from support.browser import PHONE, chromium
from support.ocr import read_text
from support.sync import Device

pytestmark = pytest.mark.slow
FRAME_SIZE = (1280, 720)
CODE = re.compile(r"[A-Z]\d{3}")


class RunningClock:
    """The office's moment, running on in real time: the backend's clock and the monitor's agree."""

    def __init__(self):
        self._started = time.monotonic()

    def now(self):
        return NOW + timedelta(seconds=time.monotonic() - self._started)

    def monotonic(self) -> float:
        return time.monotonic()


@contextmanager
def waiting_room_monitor(tmp_path, office: PagesOffice, clock: RunningClock):
    """A monitor-only device following the office's backend, as the daemon puts it together."""
    directory = tmp_path / "monitor-1"
    directory.mkdir()
    config = {"token": MONITOR_TOKEN, "device": {"id": "monitor-1", "roles": "monitor"}}
    device = Device(directory, office.url, clock=clock, **config).start()
    try:
        yield device
    finally:
        device.stop()


def called_on_monitor(device: Device, clock: RunningClock) -> str:
    """The current call's code as a viewer reads it (OCR) from the frame the monitor draws now. Tesseract
    sometimes drops one of two slashed zeros: a reading that is no code is read again with another margin."""
    view = parse_view(monitor_view(device.config, device.core.snapshot, stale_since=device.sync.stale_since))
    surface = pygame.Surface(FRAME_SIZE)
    layout = render_monitor(surface, view, clock.now(), stale_after_s=60)
    if "call_code" not in layout.regions:
        return ""  # no call yet
    readings = (
        read_text(surface, layout.regions["call_code"], pad=pad, charset="ABCDT0123456789") for pad in (20, 30, 10)
    )
    return next((reading for reading in readings if CODE.fullmatch(reading)), "")


def text(driver) -> str:
    """What the page reads now; by script, so a page that reloads itself meanwhile leaves no stale element."""
    return driver.execute_script("return document.body ? document.body.innerText : ''")


def test_staff_call_with_the_keyboard_and_the_visitors_phone_and_the_monitor_show_it(tmp_path):
    clock = RunningClock()
    with (
        PagesOffice(tmp_path, wait_page_refresh_s=1, clock=clock.now) as office,
        waiting_room_monitor(tmp_path, office, clock) as monitor,
        chromium() as staff,
        chromium(PHONE, phone=True, languages="en-GB,en") as phone,  # an English phone: English, German beside
    ):
        office.issue("A001", "A002", "A003")
        phone.get(f"{office.url}/w/{SITE}/A003")
        assert "2 people are ahead of you." in text(phone) and "Vor Ihnen warten 2 Personen." in text(phone)
        assert phone.execute_script("return window.innerWidth") == PHONE[0]
        assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]  # no sideways scroll

        staff.get(f"{office.url}/counter")
        staff.switch_to.active_element.send_keys(COUNTERS[2].token, Keys.ENTER)  # the key field has the focus
        wait_for(lambda: "Schalter 3" in staff.title, what="the counter page")
        staff.switch_to.active_element.send_keys(Keys.ENTER)  # "call next" has the focus
        wait_for(lambda: "A001 aufgerufen" in text(staff), what="A001 called with Enter")
        assert staff.find_element(By.ID, "current").text == "A001"
        wait_for(lambda: called_on_monitor(monitor, clock) == "A001", what="the monitor showing A001")

        wait_for(lambda: "Vor Ihnen wartet 1 Person." in text(phone), what="the phone: 1 ahead")
        staff.find_element(By.TAG_NAME, "body").send_keys(Keys.F2)  # F2: call next, wherever the focus is
        wait_for(lambda: "A002 aufgerufen" in text(staff), what="A002 called with F2")
        wait_for(lambda: "Sie sind als Nächstes dran." in text(phone), what="the phone: next in line")

        other = office.sign_in(1)
        office.act(other, 1, action="next")  # counter 1 calls A003: counter 3's page shows it without a reload
        wait_for(lambda: "Niemand wartet." in text(staff), what="counter 3's page to follow counter 1")
        wait_for(lambda: "Sie werden aufgerufen: Schalter 1" in text(phone), what="the phone to show the call")
        assert "You are being called: counter 1" in text(phone)


def test_a_script_in_the_wait_pages_address_is_shown_as_text_never_run(tmp_path):
    with PagesOffice(tmp_path) as office, chromium(PHONE, phone=True) as phone:
        phone.get(f"{office.url}/w/{SITE}/A001?day=%3Cscript%3Edocument.title%3D%27owned%27%3C%2Fscript%3E")
        assert phone.title != "owned" and "Diese Nummer gilt heute nicht." in text(phone)
        phone.get(f"{office.url}/w/{SITE}/%3Cimg%20src%3Dx%20onerror%3D%22document.title%3D1%22%3E")
        assert phone.title != "1" and "keine gültige Wartenummer" in text(phone)
