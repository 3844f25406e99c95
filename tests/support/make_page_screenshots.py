"""Takes the README's screenshots of the backend's counter page and wait page, at desktop and phone size
(and the wait page of an Arabic phone), in Debian's headless chromium, from a made-up office on a temporary
reference backend.

Run: .venv/bin/python tests/support/make_page_screenshots.py; it writes backend/screenshots/.
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared setup

from selenium.webdriver.common.keys import Keys  # noqa: E402

from support import wait_for  # noqa: E402
from support.backend_pages import COUNTERS, SITE, PagesOffice  # noqa: E402
from support.browser import DESKTOP, PHONE, chromium  # noqa: E402

HERE = Path(__file__).resolve().parents[2] / "backend" / "screenshots"
TITLES = {  # as the office's devices tell them in their heartbeats
    "leave": {"de": "Urlaub beantragen", "en": "Apply for leave", "ar": "طلب إجازة"},
    "documents": {"de": "Unterlagen abgeben", "en": "Hand in documents", "ar": "تسليم المستندات"},
    "first-application": {"de": "Erstantrag stellen", "en": "First application", "ar": "الطلب الأول"},
}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as directory, PagesOffice(Path(directory)) as office:
        office.issue(*(f"A{n:03d}" for n in range(1, 8)))
        office.issue("D001", "D002", "D003", concern="documents")
        office.issue("E001", concern="first-application")
        office.heartbeat(TITLES)
        office.act(office.sign_in(1), 1, action="next")  # A001 at counter 1
        for name, size, phone in (("desktop", DESKTOP, False), ("phone", PHONE, True)):
            with chromium(size, phone=phone) as browser:
                browser.get(f"{office.url}/counter")
                browser.switch_to.active_element.send_keys(COUNTERS[2].token, Keys.ENTER)
                wait_for(lambda: "Schalter 3" in browser.title, what="the counter page")
                if name == "desktop":
                    browser.switch_to.active_element.send_keys(Keys.ENTER)  # counter 3 calls A002
                    wait_for(lambda: "A002 aufgerufen" in browser.page_source, what="the call")
                save(browser, f"counter-{name}")
                browser.get(f"{office.url}/w/{SITE}/A005")
                save(browser, f"wait-{name}")
                if name == "phone":
                    browser.get(f"{office.url}/w/{SITE}/A002")
                    save(browser, "wait-phone-called")
                    browser.get(f"{office.url}/w/{SITE}")
                    save(browser, "office-phone")
        with chromium(PHONE, phone=True, languages="ar-SY,ar") as browser:
            browser.get(f"{office.url}/w/{SITE}/A005")
            save(browser, "wait-phone-ar")


def save(browser, name: str) -> None:
    path = HERE / f"{name}.png"
    browser.save_screenshot(str(path))
    print(f"{path.name}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
