"""The GPIO panel on gpiozero's mock pins: real gpiozero devices, pins driven by the test.

Pins are driven with drive_low()/drive_high() and read back through pin.state and pin.states;
the button rules run on a fake monotonic clock, so a 30 s stuck button takes no real 30 s.
"""

import importlib.util
import os
import threading

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPin

from appliance.domain.buttons import ButtonGate
from appliance.domain.errors import ApplianceError
from appliance.domain.panel import Beep, PanelState
from appliance.drivers.errors import BadDriverSetting, GpioUnavailable
from appliance.drivers.gpio import BEEPS, GpioPanel
from support import wait_for

LEAVE, DOCUMENTS = 17, 27
READY_LED, PRINTING_LED, FAULT_LED, BUZZER = 5, 6, 13, 19


class FakeMonotonic:
    """A monotonic clock that moves when told to, and counts how often it was read."""

    def __init__(self, start: float = 1000.0):
        self._now = start
        self.reads = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.reads += 1
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class Recorder:
    """Collects callback arguments from any thread."""

    def __init__(self):
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, argument: str) -> None:
        with self._lock:
            self.calls.append(argument)


def wait_for_checks(clock: FakeMonotonic, passes: int = 3) -> None:
    """Lets the panel's stuck check run a few times (each pass reads the clock)."""
    start = clock.reads
    wait_for(lambda: clock.reads >= start + passes, what=f"{passes} passes of the stuck check", every=0.002)


@pytest.fixture
def factory():
    factory = MockFactory()
    yield factory
    # Mock pins and reservations live at class level in gpiozero: clear them for the next test.
    factory.reset()


@pytest.fixture
def clock():
    return FakeMonotonic()


@pytest.fixture
def presses():
    return Recorder()


@pytest.fixture
def faults():
    return Recorder()


@pytest.fixture
def make_panel(factory, clock, presses, faults):
    panels = []

    def make(**overrides):
        kwargs = dict(
            buttons={"leave": LEAVE, "documents": DOCUMENTS},
            on_press=presses,
            on_fault=faults,
            leds={"ready": READY_LED, "printing": PRINTING_LED, "fault": FAULT_LED},
            buzzer=BUZZER,
            gate=ButtonGate(stuck_after_s=30.0),
            clock=clock,
            pin_factory=factory,
            check_every_s=0.005,
        )
        kwargs.update(overrides)
        panel = GpioPanel(**kwargs)
        panels.append(panel)
        panel.start()
        return panel

    yield make
    for panel in panels:
        panel.stop()


@pytest.fixture
def panel(make_panel):
    return make_panel()


def press(pin, clock, held_s: float = 0.2, then_s: float = 0.0) -> None:
    pin.drive_low()
    clock.advance(held_s)
    pin.drive_high()
    clock.advance(then_s)


def test_a_press_on_the_pin_reaches_on_press_once(panel, factory, clock, presses):
    press(factory.pin(LEAVE), clock)
    wait_for(lambda: presses.calls)
    wait_for_checks(clock)
    assert presses.calls == ["leave"]


def test_a_held_pin_gives_one_ticket(panel, factory, clock, presses):
    pin = factory.pin(LEAVE)
    pin.drive_low()
    for _ in range(10):  # ten seconds down, the stuck check running meanwhile
        clock.advance(1.0)
        wait_for_checks(clock, passes=1)
    pin.drive_high()
    assert presses.calls == ["leave"]


def test_a_hammered_button_gives_one_press_per_press_and_release(panel, factory, clock, presses):
    pin = factory.pin(LEAVE)
    for _ in range(5):  # the kiosk's one rate limit turns these into one ticket (test_dispenser)
        press(pin, clock, held_s=0.03, then_s=0.07)
    assert presses.calls == ["leave"] * 5


def test_two_buttons_pressed_together_give_two_presses(panel, factory, clock, presses):
    press(factory.pin(LEAVE), clock, then_s=0.3)
    press(factory.pin(DOCUMENTS), clock)
    assert presses.calls == ["leave", "documents"]


def test_a_stuck_button_is_reported_gives_no_tickets_and_recovers(panel, factory, clock, presses, faults):
    pin = factory.pin(LEAVE)
    pin.drive_low()
    assert presses.calls == ["leave"]  # the visitor's press, before anyone knows it is stuck
    clock.advance(30.0)
    wait_for(lambda: faults.calls)
    assert faults.calls == ["button for 'leave' (GPIO17) held for 30 s: stuck or wired wrong"]

    for _ in range(5):  # the jammed contact chatters: still no tickets, no second fault
        pin.drive_high()
        pin.drive_low()
        clock.advance(5.0)
    press(factory.pin(DOCUMENTS), clock)  # the other buttons keep working
    wait_for_checks(clock)
    assert presses.calls == ["leave", "documents"]
    assert len(faults.calls) == 1

    pin.drive_high()
    clock.advance(1.0)
    wait_for(lambda: len(faults.calls) == 2)
    assert faults.calls[1] == "button for 'leave' (GPIO17) released: back in service"
    press(pin, clock)
    assert presses.calls == ["leave", "documents", "leave"]


class ShortedToGround(MockPin):
    """A pin wired straight to ground: the pull-up cannot raise it."""

    def _set_pull(self, value):
        super()._set_pull(value)
        self.drive_low()


def test_a_button_down_at_start_gives_no_ticket_and_is_reported(make_panel, factory, clock, presses, faults):
    factory.pin(LEAVE, pin_class=ShortedToGround)  # wired wrong before the appliance started
    make_panel()
    clock.advance(30.0)
    wait_for(lambda: faults.calls)
    assert presses.calls == []
    assert faults.calls == ["button for 'leave' (GPIO17) held for 30 s: stuck or wired wrong"]


def test_a_lost_release_edge_does_not_put_the_button_out_of_order(factory, clock, faults, make_panel):
    gate = ButtonGate()
    make_panel(gate=gate)
    pin = factory.pin(LEAVE)
    pin.drive_low()
    pin.edges = "falling"  # the pin library drops the release edge
    pin.drive_high()
    pin.edges = "both"
    wait_for(lambda: not gate.is_held("leave"))  # the check read the level instead
    clock.advance(40.0)
    wait_for_checks(clock)
    assert faults.calls == []


def test_leds_show_each_state(panel, factory):
    ready, printing, fault = (factory.pin(p) for p in (READY_LED, PRINTING_LED, FAULT_LED))

    panel.show(PanelState.READY)
    assert (ready.state, printing.state, fault.state) == (True, False, False)

    panel.show(PanelState.OUT_OF_ORDER)
    assert (ready.state, printing.state, fault.state) == (False, False, True)

    panel.show(PanelState.READY)
    assert (ready.state, printing.state, fault.state) == (True, False, False)


def test_printing_blinks_the_printing_led(panel, factory):
    ready, printing, fault = (factory.pin(p) for p in (READY_LED, PRINTING_LED, FAULT_LED))
    panel.show(PanelState.READY)
    printing.clear_states()

    panel.show(PanelState.PRINTING)
    wait_for(lambda: len(printing.states) >= 5)  # the initial state and four toggles
    levels = [s.state for s in printing.states]
    assert levels[:5] == [False, True, False, True, False]
    assert (ready.state, fault.state) == (False, False)

    panel.show(PanelState.READY)  # stops the blinking, printing LED off
    assert (ready.state, printing.state) == (True, False)


@pytest.mark.parametrize("kind, beeps", [(Beep.ACCEPTED, 1), (Beep.REFUSED, 3)])
def test_the_buzzer_plays_its_pattern(panel, factory, kind, beeps):
    pin = factory.pin(BUZZER)
    pin.clear_states()
    panel.beep(kind)
    expected = [False] + [True, False] * beeps
    wait_for(lambda: len(pin.states) >= len(expected))
    assert [s.state for s in pin.states] == expected
    on_times = [s.timestamp for s in pin.states[2::2]]  # time spent on before each switch-off
    # At least as long as the pattern says (a loaded machine only lengthens a beep); that it ends, the wait shows.
    assert all(BEEPS[kind].on_s * 0.9 <= t for t in on_times), on_times


def test_stop_releases_the_pins(make_panel, factory, clock):
    first, second = Recorder(), Recorder()
    old = make_panel(on_press=first)
    old.show(PanelState.READY)
    old.stop()
    old.stop()  # twice is harmless
    assert factory.pin(READY_LED).state is False

    make_panel(on_press=second)  # the same pins again: no "pin already in use"
    press(factory.pin(LEAVE), clock)
    assert (first.calls, second.calls) == ([], ["leave"])


def test_a_failing_callback_does_not_break_the_panel(make_panel, factory, clock, caplog):
    calls = []

    def fails(concern):
        calls.append(concern)
        raise RuntimeError("core went away")

    make_panel(on_press=fails)
    press(factory.pin(LEAVE), clock, then_s=3.0)
    press(factory.pin(LEAVE), clock)
    assert calls == ["leave", "leave"]
    assert "core went away" in caplog.text


def test_the_mock_factory_can_be_chosen_by_environment(monkeypatch, presses, faults):
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    saved = Device.pin_factory
    Device.pin_factory = None
    try:
        with GpioPanel({"leave": LEAVE}, on_press=presses, on_fault=faults) as panel:
            assert isinstance(Device.pin_factory, MockFactory)
            Device.pin_factory.pin(LEAVE).drive_low()
            assert presses.calls == ["leave"]
            panel.show(PanelState.READY)
    finally:
        if Device.pin_factory is not None:
            Device.pin_factory.reset()
        Device.pin_factory = saved


@pytest.mark.skipif(
    importlib.util.find_spec("lgpio") is not None or os.path.exists("/dev/gpiochip0"), reason="this machine has GPIO"
)
def test_no_gpio_and_no_mock_is_a_clear_error(monkeypatch, presses, faults):
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    saved = Device.pin_factory
    Device.pin_factory = None
    try:
        with pytest.raises(GpioUnavailable) as error:
            GpioPanel({"leave": LEAVE}, on_press=presses, on_fault=faults).start()
    finally:
        Device.pin_factory = saved
    message = str(error.value)
    assert isinstance(error.value, ApplianceError)
    assert message.startswith("cannot open GPIO17 for the button for 'leave': BadPinFactory")
    assert "lgpio: No module named 'lgpio'" in message  # why each pin library failed
    assert "GPIOZERO_PIN_FACTORY=mock" in message


def test_a_busy_pin_is_a_clear_error_and_frees_the_pins_already_open(make_panel, factory):
    class error(Exception):
        """Stands in for lgpio.error."""

    class BusyFactory(MockFactory):
        def pin(self, name, *args, **kwargs):
            if name == FAULT_LED:
                raise error("'GPIO busy'")
            return super().pin(name, *args, **kwargs)

    with pytest.raises(GpioUnavailable) as raised:
        make_panel(pin_factory=BusyFactory())
    message = str(raised.value)
    assert message.startswith("cannot open GPIO13 for the fault LED: error: 'GPIO busy'")
    assert "gpioinfo" in message
    make_panel()  # the buttons and LEDs opened before the failure were released


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"leds": {"ready": LEAVE}}, "GPIO17 (button 'leave' and ready LED)"),
        ({"buzzer": DOCUMENTS}, "GPIO27 (button 'documents' and buzzer)"),
        ({"leds": {"busy": 5}}, "unknown LED role(s) busy"),
        ({"controls": {"repeat": LEAVE}, "on_control": print}, "GPIO17 (button 'leave' and repeat button)"),
        ({"controls": {"louder": 4}, "on_control": print}, "unknown control button(s) louder"),
    ],
)
def test_a_pin_given_twice_or_an_unknown_led_is_refused(make_panel, kwargs, message):
    with pytest.raises(BadDriverSetting) as error:
        make_panel(**kwargs)
    assert message in str(error.value)


def test_a_panel_started_again_after_stop_counts_presses_again(make_panel, factory, clock, presses):
    panel = make_panel()
    panel.stop()
    panel.start()  # what the supervisor does to restart it
    press(factory.pin(LEAVE), clock)
    assert presses.calls == ["leave"]


def test_a_stuck_check_that_dies_is_told_to_the_supervisor(make_panel, clock):
    class BrokenGate(ButtonGate):
        def stuck(self, now):
            raise RuntimeError("a bug in the gate")

    panel = make_panel(gate=BrokenGate())
    wait_for(lambda: panel.failure() is not None)
    assert panel.failure() == "RuntimeError: a bug in the gate"


REPEAT, LANGUAGE = 20, 21


def test_control_buttons_reach_on_control_one_per_press_and_without_a_gap(make_panel, factory, clock, presses):
    controls = Recorder()
    make_panel(controls={"repeat": REPEAT, "language": LANGUAGE}, on_control=controls)

    for _ in range(3):  # a visitor steps through the languages as fast as they like
        press(factory.pin(LANGUAGE), clock, held_s=0.1, then_s=0.1)
    press(factory.pin(REPEAT), clock, held_s=5.0)  # held down: still one repeat
    wait_for(lambda: len(controls.calls) == 4)
    wait_for_checks(clock)

    assert controls.calls == ["language", "language", "language", "repeat"] and presses.calls == []


def test_a_stuck_control_button_is_reported_by_its_name(make_panel, factory, clock, faults):
    panel = make_panel(controls={"repeat": REPEAT}, on_control=Recorder())
    factory.pin(REPEAT).drive_low()
    clock.advance(31)
    wait_for(lambda: faults.calls)

    assert faults.calls == ["repeat button (GPIO20) held for 30 s: stuck or wired wrong"]
    assert panel.stuck == ("repeat",)
