"""The GPIO panel: ticket buttons in, status LEDs and buzzer out, through gpiozero.

Translates pin edges into accepted presses and faults (the rules are appliance.domain.buttons) and shows
what the core decided; it decides nothing itself.
"""

import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import partial

from gpiozero import LED, Button, Buzzer, Device

from appliance.domain.buttons import ButtonGate, PressVerdict
from appliance.domain.component import ComponentName, WorkerThread, end_thread
from appliance.domain.panel import Beep, PanelState
from appliance.drivers.errors import BadDriverSetting, GpioUnavailable

log = logging.getLogger(__name__)


class Light(Enum):
    OFF = "off"
    ON = "on"
    BLINK = "blink"


@dataclass(frozen=True)
class BeepPattern:
    on_s: float
    off_s: float
    count: int


LED_ROLES = ("ready", "printing", "fault")
# Buttons that issue no ticket: a visitor without sight asks to hear the screen again, louder, or in
# their language (EN 301 549 5.1.3.4, 5.1.3.12, 5.1.3.14).
CONTROLS = ("repeat", "volume", "language")

# What each LED does in each state; a role without a fitted LED is skipped.
LIGHTS: dict[PanelState, dict[str, Light]] = {
    PanelState.READY: {"ready": Light.ON, "printing": Light.OFF, "fault": Light.OFF},
    PanelState.PRINTING: {"ready": Light.OFF, "printing": Light.BLINK, "fault": Light.OFF},
    PanelState.OUT_OF_ORDER: {"ready": Light.OFF, "printing": Light.OFF, "fault": Light.ON},
}
BLINK_ON_S = BLINK_OFF_S = 0.25

BEEPS: dict[Beep, BeepPattern] = {
    Beep.ACCEPTED: BeepPattern(on_s=0.1, off_s=0.1, count=1),
    Beep.REFUSED: BeepPattern(on_s=0.1, off_s=0.1, count=3),
}

# Causes a technician meets on a Pi, and what to do about them.
_HINTS = (
    (
        "Unable to load any default pin factory",
        "no GPIO library works here: on a Raspberry Pi install lgpio into the appliance's Python "
        "(a venv sees Debian's python3-lgpio only with --system-site-packages), check that "
        "/dev/gpiochip0 exists and the service user is in group 'gpio'; "
        "off the Pi, set GPIOZERO_PIN_FACTORY=mock",
    ),
    (".lgd-nfy", "lgpio needs a writable working directory: set LG_WD to one (e.g. the runtime directory)"),
    (
        "GPIO busy",
        "another program or a kernel driver (1-Wire, SPI, a device-tree overlay) holds the pin; 'gpioinfo' shows which",
    ),
    ("can not open gpiochip", "/dev/gpiochip* is missing or not accessible to the service user (group 'gpio')"),
)


@dataclass(frozen=True, eq=False)
class _Input:
    """One button: what its callback hears, its pin, how messages name it, and the gate that judges it."""

    key: str
    pin: int
    label: str
    gate: ButtonGate
    callback: Callable[[str], None]


class GpioPanel:
    """The kiosk's buttons (one per concern, and the control buttons), its ready/printing/fault LEDs and
    its buzzer.

    ``buttons`` maps a concern to a BCM pin wired to ground through the button (internal
    pull-up, pressed = low). ``on_press(concern)`` is called for accepted presses only and
    ``on_fault(message)`` when a button gets stuck or is back in service; both run on gpiozero's
    or the panel's threads and must return quickly (hand the work to the core). ``controls`` maps
    each of CONTROLS fitted to its pin; ``on_control(name)`` hears their presses, which have no gap
    between them (a visitor steps through the languages), one per press-and-release. The pins are
    opened by ``start()`` and released by ``stop()``.
    """

    name = ComponentName.BUTTONS

    def __init__(
        self,
        buttons: dict[str, int],
        *,
        on_press: Callable[[str], None],
        on_fault: Callable[[str], None],
        leds: dict[str, int] | None = None,
        buzzer: int | None = None,
        controls: dict[str, int] | None = None,
        on_control: Callable[[str], None] | None = None,
        gate: ButtonGate | None = None,
        clock: Callable[[], float] = time.monotonic,
        pin_factory=None,
        check_every_s: float = 1.0,
    ):
        leds, controls = dict(leds or {}), dict(controls or {})
        _check_pins(buttons, leds, buzzer, controls)
        if check_every_s <= 0:
            raise BadDriverSetting(f"check_every_s must be more than 0, not {check_every_s}")
        if controls and on_control is None:
            raise BadDriverSetting("control buttons need on_control")
        self._on_fault = on_fault
        self._gate = gate or ButtonGate()
        control_gate = ButtonGate(self._gate.stuck_after_s, self._gate.bounce_s)
        self._clock = clock
        self._inputs = [
            _Input(concern, pin, f"button for {concern!r}", self._gate, on_press) for concern, pin in buttons.items()
        ] + [_Input(name, pin, f"{name} button", control_gate, on_control) for name, pin in controls.items()]
        self._led_pins = leds
        self._buzzer_pin = buzzer
        self._check_every_s = check_every_s
        # Edges of all buttons and the stuck check go through one lock, so that the clock is
        # read in the order the edges are handled and the check never races a callback.
        self._lock = threading.Lock()
        self._output_lock = threading.Lock()
        self._reported_stuck: set[_Input] = set()
        self._state: PanelState | None = None
        self._closed = True
        self._devices: list[Device] = []
        self._buttons: dict[_Input, Button] = {}
        self._leds: dict[str, LED] = {}
        self._buzzer: Buzzer | None = None
        self._factory = pin_factory
        self._stop = threading.Event()
        self._checker: WorkerThread | None = None

    def start(self) -> None:
        """Opens every pin (GpioUnavailable names the one that failed) and starts counting presses."""
        self._buttons, self._leds, self._buzzer = {}, {}, None
        self._reported_stuck, self._state = set(), None
        try:
            for button in self._inputs:
                # bounce_time stays None: the gate debounces, the same way on every pin library.
                # when_held is not used, but every Button has a hold thread that notices close()
                # only after hold_time while gpiozero thinks the button is down: keep it short.
                self._buttons[button] = self._open(
                    Button, button.pin, f"the {button.label}", pull_up=True, bounce_time=None, hold_time=0.1
                )
            for role, pin in self._led_pins.items():
                self._leds[role] = self._open(LED, pin, f"the {role} LED")
            if self._buzzer_pin is not None:
                self._buzzer = self._open(Buzzer, self._buzzer_pin, "the buzzer")
        except BaseException:
            self._close_devices()
            raise
        self._closed = False
        # Only with every pin open do presses start to count: a failed start issues no ticket.
        for button, device in self._buttons.items():
            if device.is_pressed:
                log.warning("%s (GPIO%d) is down at start: it counts once released", button.label, button.pin)
                button.gate.already_held(button.key, self._clock())
            device.when_pressed = partial(self._pressed, button)
            device.when_released = partial(self._released, button)

        # gpiozero's hold_time runs on the wall clock in gpiozero's own thread; the gate's clock
        # is injected, so the panel asks the gate itself, once a second.
        self._stop.clear()
        self._checker = WorkerThread(self._check_loop, "gpio-stuck-check")
        self._checker.start()

    def failure(self) -> str | None:
        """Why the stuck check ended (a bug): without it a stuck button would go unnoticed."""
        return self._checker.failure if self._checker is not None else None

    # -- buttons in

    def _pressed(self, button: _Input) -> None:
        with self._lock:
            if self._closed:
                return
            verdict = button.gate.pressed(button.key, self._clock())
        log.debug("button %r: %s", button.key, verdict.value)
        if verdict is PressVerdict.ACCEPTED:
            self._call(button.callback, button.key)

    def _released(self, button: _Input) -> None:
        with self._lock:
            if not self._closed:
                button.gate.released(button.key, self._clock())

    def _check_loop(self) -> None:
        while not self._stop.wait(self._check_every_s):
            self._check_stuck()

    def _check_stuck(self) -> None:
        with self._lock:
            if self._closed:
                return
            now = self._clock()
            for button, device in self._buttons.items():
                # A release edge the pin library lost would leave the button "held" for good:
                # the level says otherwise. Only releases are taken from the level; a press seen
                # here may still be on its way as an edge, and must issue its ticket there.
                if button.gate.is_held(button.key) and not device.is_pressed:
                    button.gate.released(button.key, now)
            stuck = {button for button in self._buttons if button.key in button.gate.stuck(now)}
            newly_stuck = [b for b in self._buttons if b in stuck - self._reported_stuck]
            recovered = [b for b in self._buttons if b in self._reported_stuck - stuck]
            self._reported_stuck = stuck
        for button in newly_stuck:
            self._call(
                self._on_fault,
                f"{button.label} (GPIO{button.pin}) held for {button.gate.stuck_after_s:g} s: stuck or wired wrong",
            )
        for button in recovered:
            self._call(self._on_fault, f"{button.label} (GPIO{button.pin}) released: back in service")

    @staticmethod
    def _call(callback, argument: str) -> None:
        # An exception escaping into gpiozero's callback thread would be printed and lost.
        try:
            callback(argument)
        except Exception:
            log.exception("GPIO panel callback %r failed", callback)

    # -- LEDs and buzzer out

    @property
    def stuck(self) -> tuple[str, ...]:
        """Concerns and controls whose button is out of service right now (held too long)."""
        return tuple(sorted(button.key for button in self._reported_stuck))

    def show(self, state: PanelState) -> None:
        """Sets the LEDs for ``state``; showing the current state again changes nothing."""
        with self._output_lock:
            if self._closed or state is self._state:
                return
            for role, light in LIGHTS[state].items():
                led = self._leds.get(role)
                if led is None:
                    continue
                if light is Light.ON:
                    led.on()
                elif light is Light.OFF:
                    led.off()
                else:
                    led.blink(on_time=BLINK_ON_S, off_time=BLINK_OFF_S)
            self._state = state

    def beep(self, kind: Beep) -> None:
        """Sounds ``kind`` in the background; nothing when no buzzer is fitted."""
        pattern = BEEPS[kind]
        with self._output_lock:
            if self._buzzer is not None and not self._closed:
                self._buzzer.beep(on_time=pattern.on_s, off_time=pattern.off_s, n=pattern.count)

    # -- lifecycle

    def stop(self) -> None:
        """Turns the LEDs and buzzer off and releases every pin; stopping twice is harmless."""
        with self._lock, self._output_lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._checker is not None and self._checker is not threading.current_thread():
            end_thread(self._checker, 5)
        self._close_devices()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _open(self, device_class, pin: int, what: str, **kwargs):
        if self._factory is None:
            self._factory = _default_pin_factory(pin, what)
        try:
            device = device_class(pin, pin_factory=self._factory, **kwargs)
        except Exception as e:  # gpiozero's errors, lgpio.error, OSError: all mean the same here
            raise GpioUnavailable(_unavailable_message(pin, what, e)) from e
        self._devices.append(device)
        return device

    def _close_devices(self) -> None:
        # Buttons first, so no callback arrives while the outputs go dark. Outputs are switched
        # off before their line is freed: what a freed line does is up to the kernel driver.
        for device in sorted(self._devices, key=lambda d: not isinstance(d, Button)):
            try:
                if not isinstance(device, Button):
                    device.off()
                device.close()
            except Exception:
                log.exception("closing %r failed", device)
        self._devices.clear()


def _default_pin_factory(pin: int, what: str):
    """gpiozero's default factory: GPIOZERO_PIN_FACTORY if set, else lgpio and its fallbacks."""
    # gpiozero warns once per pin library that fails to load; collected, they are the reason a
    # technician needs, in one message instead of a page of warnings. (catch_warnings is
    # process-wide: fine here, the panel is opened once, at start-up.)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            Device.ensure_pin_factory()
        except Exception as e:
            tried = "; ".join(str(w.message) for w in caught)
            raise GpioUnavailable(_unavailable_message(pin, what, e, tried)) from e
    for w in caught:
        log.warning("GPIO: %s", w.message)
    return Device.pin_factory


def _unavailable_message(pin: int, what: str, error: Exception, tried: str = "") -> str:
    cause = f"{type(error).__name__}: {error}" + (f" ({tried})" if tried else "")
    text = f"cannot open GPIO{pin} for {what}: {cause}"
    for needle, hint in _HINTS:
        if needle in cause:
            text += f"; {hint}"
    return text


def _check_pins(buttons: dict[str, int], leds: dict[str, int], buzzer: int | None, controls: dict[str, int]) -> None:
    unknown = sorted(set(leds) - set(LED_ROLES))
    if unknown:
        raise BadDriverSetting(f"unknown LED role(s) {', '.join(unknown)}; known: {', '.join(LED_ROLES)}")
    unknown = sorted(set(controls) - set(CONTROLS))
    if unknown:
        raise BadDriverSetting(f"unknown control button(s) {', '.join(unknown)}; known: {', '.join(CONTROLS)}")
    users: dict[int, list[str]] = {}
    for concern, pin in buttons.items():
        users.setdefault(pin, []).append(f"button {concern!r}")
    for name, pin in controls.items():
        users.setdefault(pin, []).append(f"{name} button")
    for role, pin in leds.items():
        users.setdefault(pin, []).append(f"{role} LED")
    if buzzer is not None:
        users.setdefault(buzzer, []).append("buzzer")
    shared = [f"GPIO{pin} ({' and '.join(names)})" for pin, names in users.items() if len(names) > 1]
    if shared:
        raise BadDriverSetting(f"one pin per device: {', '.join(shared)}")
