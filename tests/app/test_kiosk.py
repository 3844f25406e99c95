"""The kiosk's answer to a press or a scan: every visitor gets one, on screen and from the buzzer."""

from concurrent.futures import Future
from datetime import UTC, datetime

import pytest

from appliance.app.kiosk import Kiosk
from appliance.domain.clock import FakeClock
from appliance.domain.errors import ClockNotTrusted
from appliance.domain.panel import Beep, PanelState
from appliance.domain.wording import CLOCK_UNKNOWN, OUT_OF_ORDER, TRY_AGAIN


class Dispenser:
    def __init__(self, failure=None):
        self.requests, self._failure = [], failure

    def request(self, concern, source, language=None):
        self.requests.append((concern, source) + ((language,) if language else ()))

    def failure(self):
        return self._failure


class Panel:
    def __init__(self):
        self.states, self.beeps = [], []

    def show(self, state: PanelState) -> None:
        self.states.append(state)

    def beep(self, kind: Beep) -> None:
        self.beeps.append(kind)


@pytest.fixture
def kiosk():
    kiosk = Kiosk(core=None, clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)))
    kiosk.panel = Panel()
    return kiosk


def test_a_press_goes_to_a_running_dispenser(kiosk):
    kiosk.dispenser = Dispenser()
    kiosk.press("leave", "touch")
    assert kiosk.dispenser.requests == [("leave", "touch")] and kiosk.answer is None


def test_a_press_carries_the_language_the_visitor_chose(kiosk):
    kiosk.dispenser = Dispenser()
    kiosk.press("leave", "touch", language="uk")
    assert kiosk.dispenser.requests == [("leave", "touch", "uk")]


@pytest.mark.parametrize(
    "dispenser",
    [None, Dispenser(failure="RuntimeError: a bug")],
    ids=["no printer", "dispenser waiting for its restart"],
)
def test_a_press_without_a_running_dispenser_is_refused_at_once_on_screen_leds_and_buzzer(kiosk, dispenser):
    heard = []
    kiosk.listeners.append(heard.append)
    kiosk.dispenser = dispenser
    kiosk.press("leave")
    assert kiosk.answer.message is OUT_OF_ORDER and heard == [kiosk.answer]
    assert kiosk.panel.states == [PanelState.OUT_OF_ORDER] and kiosk.panel.beeps == [Beep.REFUSED]
    assert dispenser is None or dispenser.requests == []


class FailingCore:
    """A core whose verdict on every scan is the given error (as a bug or a refusal would end it)."""

    def __init__(self, error: Exception):
        self.error = error

    def submit(self, command) -> Future:
        future: Future = Future()
        future.set_exception(self.error)
        return future


@pytest.mark.parametrize(
    ("error", "message"),
    [(ClockNotTrusted("not yet"), CLOCK_UNKNOWN), (RuntimeError("a bug in the core"), TRY_AGAIN)],
    ids=["clock not trusted", "a bug"],
)
def test_a_scan_without_a_verdict_still_answers_the_visitor(error, message):
    kiosk = Kiosk(core=FailingCore(error), clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)))
    kiosk.panel = Panel()
    kiosk.scan("EA1-SOMETHING", "scanner test")
    assert kiosk.answer.message is message and kiosk.panel.beeps == [Beep.REFUSED]


class Monotonic:
    def __init__(self):
        self.now = 500.0

    def __call__(self):
        return self.now


@pytest.fixture
def button_kiosk():
    """A button-only kiosk offering German, English and Ukrainian, on a clock the test moves."""
    clock = Monotonic()
    kiosk = Kiosk(
        core=None,
        clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)),
        languages=("de", "en", "uk"),
        language_idle_s=60,
        monotonic=clock,
    )
    kiosk.dispenser, kiosk.monotonic = Dispenser(), clock
    return kiosk


def test_the_language_button_steps_through_the_offered_languages_and_the_ticket_follows(button_kiosk):
    chosen = []
    for _ in range(4):
        button_kiosk.control("language")
        chosen.append(button_kiosk.language)
        button_kiosk.press("leave")

    assert chosen == ["en", "uk", None, "en"]  # None: German, the screen's own
    assert button_kiosk.dispenser.requests == [
        ("leave", "button", "en"),
        ("leave", "button", "uk"),
        ("leave", "button"),
        ("leave", "button", "en"),
    ]


def test_the_chosen_language_stays_while_the_visitor_acts_and_gives_way_to_german_when_they_have_gone(
    button_kiosk,
):
    button_kiosk.control("language")
    button_kiosk.monotonic.now += 50
    button_kiosk.press("leave")  # still there: the choice lasts another minute from here
    button_kiosk.monotonic.now += 50
    assert button_kiosk.language == "en"

    button_kiosk.monotonic.now += 11
    button_kiosk.press("documents")

    assert button_kiosk.language is None and button_kiosk.dispenser.requests[-1] == ("documents", "button")


def test_each_control_press_is_counted_and_heard_by_the_view(button_kiosk):
    heard = []
    button_kiosk.control_listeners.append(heard.append)

    for name in ("repeat", "volume", "repeat", "language"):
        button_kiosk.control(name)

    assert heard == ["repeat", "volume", "repeat", "language"]
    assert button_kiosk.controls == {"repeat": 2, "volume": 1, "language": 1, "ticket": 0}


def test_a_ticket_buttons_press_is_heard_by_the_view_at_once_and_the_screens_own_touch_is_not(button_kiosk):
    """The screen stops speaking when a ticket button is pressed, not when the ticket's answer comes;
    a touch the screen sent it has already acted on."""
    heard = []
    button_kiosk.control_listeners.append(heard.append)

    button_kiosk.press("leave")
    button_kiosk.press("leave", "touch")

    assert heard == ["ticket"] and button_kiosk.controls["ticket"] == 1
    assert [request[:2] for request in button_kiosk.dispenser.requests] == [("leave", "button"), ("leave", "touch")]
