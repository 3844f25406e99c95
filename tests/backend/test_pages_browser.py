"""The counter page and the wait page in a real browser (Debian's chromium, headless): staff sign in and call
with the keyboard alone, another counter's call appears on their page, and a visitor's phone-sized wait
page follows their number until it is called."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support import wait_for
from support.backend_pages import COUNTERS, SITE, PagesOffice
from support.browser import PHONE, chromium

pytestmark = pytest.mark.slow


def text(driver) -> str:
    """What the page reads now; by script, so a page that reloads itself meanwhile leaves no stale element."""
    return driver.execute_script("return document.body ? document.body.innerText : ''")


def test_staff_call_with_the_keyboard_and_the_visitors_phone_shows_it(tmp_path):
    with (
        PagesOffice(tmp_path, wait_page_refresh_s=1) as office,
        chromium() as staff,
        chromium(PHONE, phone=True) as phone,
    ):
        office.issue("A001", "A002", "A003")
        phone.get(f"{office.url}/w/{SITE}/A003")
        assert "Vor Ihnen warten 2 Personen." in text(phone)
        assert phone.execute_script("return window.innerWidth") == PHONE[0]
        assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]  # no sideways scroll

        staff.get(f"{office.url}/counter")
        staff.switch_to.active_element.send_keys(COUNTERS[2].token, Keys.ENTER)  # the key field has the focus
        wait_for(lambda: "Schalter 3" in staff.title, timeout=10, what="the counter page")
        staff.switch_to.active_element.send_keys(Keys.ENTER)  # "call next" has the focus
        wait_for(lambda: "A001 aufgerufen" in text(staff), timeout=10, what="A001 called with Enter")
        assert staff.find_element(By.ID, "current").text == "A001"

        wait_for(lambda: "Vor Ihnen wartet 1 Person." in text(phone), timeout=10, what="the phone: 1 ahead")
        staff.find_element(By.TAG_NAME, "body").send_keys(Keys.F2)  # F2: call next, wherever the focus is
        wait_for(lambda: "A002 aufgerufen" in text(staff), timeout=10, what="A002 called with F2")
        wait_for(lambda: "Sie sind als Nächstes dran." in text(phone), timeout=10, what="the phone: next in line")

        other = office.sign_in(1)
        office.act(other, 1, action="next")  # counter 1 calls A003: counter 3's page shows it without a reload
        wait_for(lambda: "Niemand wartet." in text(staff), timeout=5, what="counter 3's page to follow counter 1")
        wait_for(
            lambda: "Sie werden aufgerufen: Schalter 1" in text(phone), timeout=10, what="the phone to show the call"
        )
        assert "You are being called: counter 1" in text(phone)


def test_a_script_in_the_wait_pages_address_is_shown_as_text_never_run(tmp_path):
    with PagesOffice(tmp_path) as office, chromium(PHONE, phone=True) as phone:
        phone.get(f"{office.url}/w/{SITE}/A001?day=%3Cscript%3Edocument.title%3D%27owned%27%3C%2Fscript%3E")
        assert phone.title != "owned" and "Diese Nummer gilt heute nicht." in text(phone)
        phone.get(f"{office.url}/w/{SITE}/%3Cimg%20src%3Dx%20onerror%3D%22document.title%3D1%22%3E")
        assert phone.title != "1" and "keine gültige Wartenummer" in text(phone)
