"""The demo's hardware, plugged in where the real hardware is: buttons on gpiozero's mock pins under
the real GPIO panel, and a FIFO of evdev key events under the real evdev scanner reader.
"""

import errno
import os
import select
import stat
import struct
import time
from pathlib import Path

from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from appliance.domain.buttons import ButtonGate
from appliance.domain.errors import ApplianceError
from appliance.drivers.keymap import type_events

HOLD_S = 0.002  # how long a simulated visitor keeps the button down
# The panel's gate (the daemon builds it with its default bounce) takes a press this soon after the
# same button's release for its contact bouncing: a simulated visitor waits that long, plus a margin.
SAME_BUTTON_PAUSE_S = ButtonGate().bounce_s + 0.01
_RECORD = struct.Struct("llHHi")  # the kernel's struct input_event: timeval, type, code, value


def use_mock_pins() -> None:
    """gpiozero's mock pins for every device opened from now on in this process (the demo only)."""
    Device.pin_factory = MockFactory()


class MockButtons:
    """The kiosk's ticket buttons as visitors press them: a mock pin driven low, then high again."""

    def __init__(self, pins: dict[str, int]):
        self._pins = {concern: Device.pin_factory.pin(pin) for concern, pin in pins.items()}
        self._released_at: dict[str, float] = {}

    def press(self, concern: str) -> None:
        pause = self._released_at.get(concern, 0.0) + SAME_BUTTON_PAUSE_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        pin = self._pins[concern]
        pin.drive_low()
        time.sleep(HOLD_S)
        pin.drive_high()
        self._released_at[concern] = time.monotonic()


class ScannerFifo:
    """The kiosk's QR scanner: codes typed as key events into a FIFO, which the config names as the
    scanner's device, so the real evdev reader reads and decodes them."""

    def __init__(self, path: Path, layout: str):
        self.path, self._layout = path, layout
        if not path.exists():
            os.mkfifo(path, 0o600)
        elif not stat.S_ISFIFO(path.stat().st_mode):
            raise ApplianceError(f"{path} is in the way of the demo's scanner FIFO: remove it")
        self._fd = -1

    def connect(self, timeout_s: float = 10.0) -> None:
        """Waits for the reader to open the FIFO, then keeps its write end open (a closed write end
        is an unplugged scanner to the reader)."""
        deadline = time.monotonic() + timeout_s
        while self._fd < 0:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO or time.monotonic() > deadline:  # ENXIO: no reader yet
                    raise ApplianceError(f"the scanner reader did not open {self.path}: {error}") from error
                time.sleep(0.02)
        os.set_blocking(self._fd, True)

    def hold_up(self, code: str) -> None:
        """A visitor holds ``code`` to the scanner: it types it, then Enter."""
        events = type_events(code, layout=self._layout, start=time.time())
        data = b"".join(_RECORD.pack(e.sec, e.usec, e.type, e.code, e.value) for e in events)
        # Whole records, at most PIPE_BUF bytes a write: such writes are atomic, and the reader
        # drops a partial record as the kernel never hands one out.
        chunk = select.PIPE_BUF // _RECORD.size * _RECORD.size
        for start in range(0, len(data), chunk):
            os.write(self._fd, data[start : start + chunk])

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
