"""What the kiosk's LEDs and buzzer say: the panel states and beeps the dispenser and the kiosk ask for.

The GPIO panel (drivers/gpio.py) shows them; the domain names them so that no one passes strings.
"""

from enum import Enum


class PanelState(Enum):
    READY = "ready"
    PRINTING = "printing"
    OUT_OF_ORDER = "out of order"


class Beep(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
