"""One rate limit for every way to ask for a ticket: a flood of presses on the real control socket of a
running Appliance gives a bounded number of tickets, and every asker is told plainly what became of it."""

import threading
import time

import pytest

from appliance.app.config import load_config
from appliance.app.daemon import Appliance
from appliance.printer.emulator import PrinterEmulator
from appliance.protocol.control import request
from support import ANSWER_S, wait_for
from support.config import write_device_config

PRESSES = 70
# Longer than any flood takes, however loaded the machine: every press after the first of a concern is refused.
MIN_GAP = "5min"


@pytest.fixture
def running(tmp_path):
    with PrinterEmulator() as printer:
        config_file = write_device_config(
            tmp_path,
            device={"roles": "kiosk"},
            printer={"uri": printer.uri, "timeout": "60s"},
            gpio={"min_gap": MIN_GAP},
        )
        config = load_config(config_file)
        appliance = Appliance(config, clock_trusted=True)
        appliance.start()
        try:
            health = lambda: {c.name: c.state.value for c in appliance.core.snapshot.components}  # noqa: E731
            wait_for(lambda: health().get("printer") == "ok", what="the printer ready")
            yield config.core.control_socket, printer, appliance
        finally:
            appliance.stop()


def flood(socket_path, concerns) -> list[str]:
    """PRESSES presses, spread over the concerns, sent by 10 clients at once as fast as they are answered."""
    answers, lock = [], threading.Lock()
    start = threading.Barrier(10)

    def client(index: int) -> None:
        start.wait()
        for n in range(index, PRESSES, 10):
            answer = request(socket_path, "press", timeout=ANSWER_S, concern=concerns[n % len(concerns)])
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(ANSWER_S)
    print(f"{PRESSES} presses answered in {time.monotonic() - began:.3f} s")
    return answers


def test_seventy_presses_of_one_concern_at_once_give_one_ticket_and_69_plain_refusals(running):
    socket_path, printer, appliance = running

    answers = flood(socket_path, ["leave"])

    assert len(answers) == PRESSES
    assert answers.count("pressed") == 1
    assert all(a.startswith("too soon: one ticket of 'leave' every 300 s") for a in answers if a != "pressed")
    assert len(printer.wait_for_jobs(1, timeout_s=ANSWER_S)) == 1
    time.sleep(0.5)  # nothing else comes out
    assert len(printer.jobs) == 1
    assert dict(appliance.core.snapshot.issued_today) == {"leave": 1}


def test_a_flood_over_two_concerns_gives_one_ticket_of_each(running):
    socket_path, printer, appliance = running

    answers = flood(socket_path, ["leave", "documents"])

    assert answers.count("pressed") == 2
    assert len(printer.wait_for_jobs(2, timeout_s=ANSWER_S)) == 2
    time.sleep(0.5)
    assert dict(appliance.core.snapshot.issued_today) == {"leave": 1, "documents": 1}  # A001 and C001
