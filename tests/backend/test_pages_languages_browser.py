"""The public pages as visitors read them on their phones, in a real browser (Debian's chromium, headless):
in the phone's language with German beside it, Arabic right to left, a language chosen with one tap, and each
concern by the title the office's devices gave it."""

import re

import pytest
from selenium.webdriver.common.by import By

from support import wait_for
from support.backend_pages import DAY, MONITOR_TOKEN, SITE, PagesOffice
from support.browser import PHONE, chromium
from support.config import CONCERNS
from support.sync import Device

pytestmark = pytest.mark.slow


def text(driver) -> str:
    """What the page reads now; by script, so a page that reloads itself meanwhile leaves no stale element."""
    return driver.execute_script("return document.body ? document.body.innerText : ''")


def page_language(driver) -> tuple[str, str]:
    return tuple(driver.execute_script("return [document.documentElement.lang, document.documentElement.dir]"))


def test_a_phone_set_to_ukrainian_reads_its_wait_page_in_ukrainian_and_german(tmp_path):
    with PagesOffice(tmp_path) as office, chromium(PHONE, phone=True, languages="uk-UA,uk") as phone:
        office.issue("A001", "A002", "A003")
        phone.get(f"{office.url}/w/{SITE}/A003?day={DAY}")
        reads = text(phone)
        assert page_language(phone) == ("uk", "ltr")
        assert "Перед вами 2 особи." in reads and "Vor Ihnen warten 2 Personen." in reads
        assert "Будь ласка, стежте за викликом на екрані." in reads
        assert "Bitte achten Sie auf den Aufruf am Monitor." in reads  # for a German-only person helping


def test_the_arabic_wait_page_reads_right_to_left_with_german_left_to_right(tmp_path):
    with PagesOffice(tmp_path) as office, chromium(PHONE, phone=True) as phone:
        office.issue("A001", "A002")
        phone.get(f"{office.url}/w/{SITE}/A002?lang=ar")
        assert page_language(phone) == ("ar", "rtl")
        assert "أمامك 1 شخص." in text(phone) and "Vor Ihnen wartet 1 Person." in text(phone)
        # Where the lines stand on the screen: the Arabic one flush right, the German one flush left.
        arabic, german = (
            phone.execute_script(
                "const range = document.createRange(); range.selectNodeContents(arguments[0]);"
                "const line = range.getBoundingClientRect(), box = arguments[0].getBoundingClientRect();"
                "return [line.left - box.left, box.right - line.right];",
                line,
            )
            for line in phone.find_elements(By.CSS_SELECTOR, "#ahead, #ahead + .de")
        )
        assert arabic[1] < 2 < arabic[0], arabic  # [space on the left, space on the right]
        assert german[0] < 2 < german[1], german


def test_a_visitor_taps_their_language_and_the_page_stays_in_it_as_it_updates(tmp_path):
    with (
        PagesOffice(tmp_path, wait_page_refresh_s=1) as office,
        chromium(PHONE, phone=True, languages="de-DE,de") as phone,
    ):
        office.issue("A001", "A002")
        phone.get(f"{office.url}/w/{SITE}/A002?day={DAY}")
        assert page_language(phone) == ("de", "ltr") and "Vor Ihnen wartet 1 Person." in text(phone)
        names = [link.text for link in phone.find_elements(By.CSS_SELECTOR, "nav a")]
        assert names == ["العربية", "English", "فارسی", "Русский", "Türkçe", "Українська"]
        phone.find_element(By.LINK_TEXT, "Türkçe").click()
        wait_for(lambda: "Önünüzde 1 kişi var." in text(phone), what="the page in Turkish")
        office.act(office.sign_in(1), 1, action="next")  # A001 is called: the page reloads with 0 ahead
        wait_for(lambda: "Sıradaki sizsiniz." in text(phone), what="the reloaded page, still Turkish")
        assert "Sie sind als Nächstes dran." in text(phone) and page_language(phone) == ("tr", "ltr")


def test_an_unknown_language_in_the_address_shows_the_page_in_german(tmp_path):
    with PagesOffice(tmp_path) as office, chromium(PHONE, phone=True, languages="en-US,en") as phone:
        office.issue("A001")
        phone.get(f"{office.url}/w/{SITE}/A001?lang=klingon")
        assert page_language(phone) == ("de", "ltr")
        assert "Sie sind als Nächstes dran." in text(phone) and "You are next." not in text(phone)


def test_the_office_page_names_each_concern_by_the_title_its_devices_told(tmp_path):
    concerns = {
        "leave": CONCERNS["leave"] | {"title_uk": "Оформити відпустку"},
        "first-application": {"title_de": "Erstantrag stellen", "prefix": "E"},
    }
    with PagesOffice(tmp_path) as office, chromium(PHONE, phone=True, languages="uk-UA,uk") as phone:
        office.issue("A001", "A002")
        office.issue("E001", concern="first-application")
        (tmp_path / "monitor-1").mkdir()
        monitor = Device(
            tmp_path / "monitor-1",
            office.url,
            token=MONITOR_TOKEN,
            device={"id": "monitor-1", "roles": "monitor"},
            concerns=concerns,
        )
        monitor.start()
        try:
            wait_for(lambda: office.store.concern_titles(SITE), what="the monitor's heartbeat")
        finally:
            monitor.stop()
        phone.get(f"{office.url}/w/{SITE}")
        rows = [
            [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in phone.find_elements(By.CSS_SELECTOR, "tbody tr")
        ]
        assert [row[:2] for row in rows] == [
            ["Erstantrag stellen", "1"],  # no Ukrainian title: the German one
            ["Оформити відпустку\nUrlaub beantragen", "2"],
        ], rows
        # The wait itself is the office forecast's (tests/backend/test_office_forecast.py): here, its words.
        assert all(re.fullmatch(r"бл\. \d+ хв", row[2]) for row in rows), rows
        assert "first-application" not in text(phone) and "leave" not in text(phone)
