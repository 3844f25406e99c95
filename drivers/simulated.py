"""Simulated hardware for the demo: ticket buttons, a QR scanner, and counters that call.

They hand the appliance what the real GPIO panel, scanners and the backend's staff calls hand it,
through the same callbacks, so the demo runs the product's own paths.
"""
from concurrent.futures import Future

from appliance.domain.commands import CallNext


class SimulatedButtons:
    """One button per concern, pressed by the demo's simulated visitors (like drivers.gpio.GpioPanel)."""

    def __init__(self, on_press):
        self._on_press = on_press

    def press(self, concern: str) -> None:
        self._on_press(concern, "simulated button")


class SimulatedScanner:
    """A QR scanner that reads whatever the demo's visitors hold up."""

    def __init__(self, on_code):
        self._on_code = on_code

    def scan(self, payload: str) -> Future:
        return self._on_code(payload, "simulated scanner")


class SimulatedCounter:
    """A staffed counter: calls the next visitor when it becomes free."""

    def __init__(self, core, number: int):
        self._core = core
        self.number = number

    def call_next(self) -> Future:
        return self._core.submit(CallNext(self.number))
