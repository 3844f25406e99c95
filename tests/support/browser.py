"""Debian's chromium, headless, driven by selenium through Debian's chromium-driver: no browser download.

`make test` installs both (Makefile DEBIAN_PACKAGES); a page test that silently skipped would hide a
broken page, so a missing browser fails with what to install.
"""

import shutil
import tempfile
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

DESKTOP = (1280, 860)
PHONE = (390, 844)  # a common phone's CSS pixels
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root in a container, chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


@contextmanager
def chromium(size: tuple[int, int] = DESKTOP, phone: bool = False, languages: str = "de-DE,de"):
    """A fresh headless chromium (its own profile) showing ``size`` CSS pixels; ``phone``: as a phone
    shows them (touch, a mobile viewport; headless windows are never narrower than 500 pixels). Its pages
    ask for ``languages`` (Accept-Language), as a phone set to them does."""
    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver_path:
        raise AssertionError("the page tests need Debian's chromium and chromium-driver: apt-get install both")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in (
            *FLAGS,
            f"--lang={languages.split(',')[0]}",
            f"--user-data-dir={profile}",
            f"--window-size={max(size[0], 500)},{size[1]}",
        ):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"intl.accept_languages": languages})
        if phone:
            metrics = {"width": size[0], "height": size[1], "pixelRatio": 2.0, "touch": True, "mobile": True}
            options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            yield driver
        finally:
            driver.quit()
