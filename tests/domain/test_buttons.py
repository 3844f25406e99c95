"""The button rules on a plain float clock: one ticket per press, bounce, stuck (the gap between tickets
is the kiosk's rule for every way to ask: test_press_limit)."""

import threading

import pytest

from appliance.domain.buttons import ButtonGate, PressVerdict
from support import ANSWER_S

ACCEPTED, STILL_HELD, STUCK = (
    PressVerdict.ACCEPTED,
    PressVerdict.STILL_HELD,
    PressVerdict.STUCK,
)


def tickets(verdicts) -> int:
    return sum(v is ACCEPTED for v in verdicts)


def test_a_press_issues_a_ticket():
    assert ButtonGate().pressed("leave", 100.0) is ACCEPTED


def test_a_held_button_gives_one_ticket():
    gate = ButtonGate()
    verdicts = [gate.pressed("leave", 100.0)]
    # A second press edge while the button is down (a missed release, or chatter) issues nothing.
    verdicts += [gate.pressed("leave", 100.0 + t) for t in (0.5, 1.0, 5.0, 10.0)]
    assert tickets(verdicts) == 1
    assert verdicts[1:] == [STILL_HELD] * 4


def test_each_press_and_release_is_a_press_of_its_own():
    gate = ButtonGate()
    verdicts = []
    for i in range(20):  # 20 presses in 2 s, each 30 ms down and 70 ms up: the kiosk's limit keeps them at one
        verdicts.append(gate.pressed("leave", 100 + i / 10))
        gate.released("leave", 100 + i / 10 + 0.03)
    assert verdicts == [ACCEPTED] * 20


def test_two_buttons_pressed_together_are_two_presses():
    gate = ButtonGate()
    assert gate.pressed("leave", 100.0) is ACCEPTED
    assert gate.pressed("documents", 100.5) is ACCEPTED


def test_contact_bounce_on_press_and_release_gives_one_ticket():
    gate = ButtonGate()  # only the bounce rule can keep this at one
    verdicts = [gate.pressed("leave", 100.000)]
    for t in (100.002, 100.004, 100.007):  # the closing contact chatters
        gate.released("leave", t)
        verdicts.append(gate.pressed("leave", t + 0.001))
    gate.released("leave", 101.000)
    for t in (101.003, 101.006):  # the opening contact chatters
        verdicts.append(gate.pressed("leave", t))
        gate.released("leave", t + 0.001)
    assert tickets(verdicts) == 1
    assert set(verdicts[1:]) == {STILL_HELD}
    assert not gate.is_held("leave")


def test_a_short_tap_is_a_whole_press():
    gate = ButtonGate()
    assert gate.pressed("leave", 100.00) is ACCEPTED
    gate.released("leave", 100.03)  # released after 30 ms: shorter than a bounce, still a release
    assert not gate.is_held("leave")
    assert gate.pressed("leave", 100.50) is ACCEPTED


def test_a_release_without_a_press_is_ignored():
    gate = ButtonGate()
    gate.released("leave", 100.0)
    assert gate.pressed("leave", 100.01) is ACCEPTED


def test_a_button_held_too_long_is_stuck_and_gives_no_tickets():
    gate = ButtonGate(stuck_after_s=30.0)
    assert gate.pressed("leave", 100.0) is ACCEPTED
    assert gate.stuck(129.9) == ()
    assert gate.stuck(130.0) == ("leave",)
    assert gate.pressed("leave", 131.0) is STUCK  # chatter of the stuck contact
    assert gate.pressed("documents", 131.0) is ACCEPTED  # the other buttons still work


def test_a_stuck_button_is_back_in_service_once_released():
    gate = ButtonGate(stuck_after_s=30.0)
    gate.pressed("leave", 100.0)
    assert gate.stuck(140.0) == ("leave",)
    gate.released("leave", 140.0)
    assert gate.stuck(140.01) == ("leave",)  # the release may still be bouncing
    assert gate.stuck(140.1) == ()
    assert gate.pressed("leave", 141.0) is ACCEPTED


def test_a_stuck_contact_bouncing_as_it_lets_go_stays_one_fault():
    gate = ButtonGate(stuck_after_s=30.0)
    gate.pressed("leave", 100.0)
    assert gate.stuck(140.0) == ("leave",)
    gate.released("leave", 140.000)
    assert gate.pressed("leave", 140.002) is STUCK  # bounce: the same stuck hold
    gate.released("leave", 140.004)
    assert gate.stuck(140.003) == ("leave",)
    assert gate.stuck(140.2) == ()


def test_chatter_does_not_restart_the_stuck_clock():
    gate = ButtonGate(stuck_after_s=30.0)
    gate.pressed("leave", 100.0)
    t = 100.0
    while t < 131.0:  # a loose contact: closed, with a 1 ms blip open every second
        t += 1.0
        gate.released("leave", t)
        gate.pressed("leave", t + 0.001)
    assert gate.stuck(131.5) == ("leave",)


def test_a_button_down_at_start_gives_no_ticket_and_is_found_stuck():
    gate = ButtonGate(stuck_after_s=30.0)
    gate.already_held("leave", 100.0)
    assert gate.pressed("leave", 100.5) is STILL_HELD
    assert gate.stuck(130.0) == ("leave",)
    gate.released("leave", 131.0)
    assert gate.pressed("leave", 132.0) is ACCEPTED


def test_the_gate_is_safe_across_threads():
    gate = ButtonGate()
    verdicts = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def hold():
        start.wait()
        for i in range(200):  # eight threads report the same held button: one press
            v = gate.pressed("leave", 100.0 + i * 0.001)
            with lock:
                verdicts.append(v)

    threads = [threading.Thread(target=hold) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(ANSWER_S)
    assert len(verdicts) == 1600
    assert tickets(verdicts) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bounce_s": -0.1},
        {"stuck_after_s": 0.01},
    ],
)
def test_nonsensical_timings_are_refused(kwargs):
    with pytest.raises(ValueError):
        ButtonGate(**kwargs)
