"""A button-only kiosk's language and repeat buttons, from the pin through the daemon's view to the
kiosk screen and its voice: the screen, the speech and the ticket follow the visitor's language."""

import os
from datetime import UTC, datetime

os.environ["SDL_VIDEODRIVER"] = "dummy"

import pytest  # noqa: E402
from gpiozero import Device  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from appliance.app.config import load_config  # noqa: E402
from appliance.app.daemon import Appliance  # noqa: E402
from appliance.display.kiosk import KioskScreen  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from appliance.domain.clock import FakeClock  # noqa: E402
from support import wait_for  # noqa: E402
from support.config import write_device_config  # noqa: E402

LANGUAGE_PIN, REPEAT_PIN = 20, 21
MORNING = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


class Voice:
    def __init__(self):
        self.said = []

    def say(self, screen, language, *, touch=False):
        self.said.append((language, screen))

    def say_text(self, words, language, *, by_visitor=True):
        self.said.append((language, words))


@pytest.fixture
def appliance(tmp_path):
    Device.pin_factory = MockFactory()
    config = write_device_config(
        tmp_path,
        device={"languages": "de, en, uk"},
        gpio={"language_button": LANGUAGE_PIN, "repeat_button": REPEAT_PIN},
    )
    running = Appliance(load_config(config), clock=FakeClock(MORNING))
    running.start()
    yield running
    running.stop()
    Device.pin_factory.reset()
    Device.pin_factory = None


def press(pin: int) -> None:
    Device.pin_factory.pin(pin).drive_low()
    Device.pin_factory.pin(pin).drive_high()


def test_the_language_and_repeat_buttons_reach_the_screen_and_its_voice_through_the_daemons_view(appliance):
    def view():
        return parse_view(appliance.view(appliance.core.snapshot))

    voice = Voice()
    screen = KioskScreen(voice=voice)
    screen.set_connected(True)
    wait_for(
        lambda: any(c["name"] == "buttons" and c["state"] == "ok" for c in appliance.supervisor.status()),
        what="the GPIO panel running",
    )
    screen.offer(view(), MORNING)

    press(LANGUAGE_PIN)
    wait_for(lambda: view().kiosk.language == "en", what="English chosen in the daemon's view")
    screen.offer(view(), MORNING)
    press(REPEAT_PIN)
    wait_for(lambda: view().kiosk.presses("repeat") == 1, what="the repeat press in the view")
    screen.offer(view(), MORNING)

    assert screen.language == "en" and appliance.kiosk.language == "en"
    assert voice.said[0][0] == "en" and voice.said[0][1].startswith("English. ")
    assert voice.said[1] == ("en", None)  # the welcome screen, once more, in English
