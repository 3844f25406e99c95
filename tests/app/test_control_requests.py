"""The touchscreen's press on the control socket: the concern, and the visitor's language when offered."""

import pytest

from appliance.app.control_requests import ControlRequests


class Kiosk:
    def __init__(self):
        self.presses = []

    def press(self, concern, source="button", language=None):
        self.presses.append((concern, source, language))
        return "pressed"


@pytest.mark.parametrize(
    "request_, pressed",
    [
        ({"concern": "leave"}, ("leave", "touch", None)),
        ({"concern": "leave", "language": "en"}, ("leave", "touch", "en")),
        # A language the device does not offer: the ticket comes in German rather than not at all.
        ({"concern": "leave", "language": "fa"}, ("leave", "touch", None)),
    ],
)
def test_a_press_passes_on_the_visitors_language_when_the_device_offers_it(device_config, request_, pressed):
    kiosk = Kiosk()

    answer = ControlRequests(device_config, None, kiosk, None).touch_press(request_)

    assert answer == "pressed" and kiosk.presses == [pressed]
