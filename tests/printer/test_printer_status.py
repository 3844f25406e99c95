"""Printer status: each DLE EOT byte read on its own, and the verdict over real TCP from the emulator."""

import re
import socket
import threading
import time

import pytest

from appliance.printer.connection import PrinterConnection, open_printer
from appliance.printer.emulator import PrinterEmulator
from appliance.printer.errors import PrinterError, PrinterGone
from appliance.printer.status import (
    ERROR_CAUSE,
    OFFLINE_CAUSE,
    PAPER_SENSOR,
    PRINTER,
    ErrorCause,
    OfflineCause,
    OnlineStatus,
    PaperSensor,
    PrinterState,
    PrinterStatus,
    parse_error_cause,
    parse_offline_cause,
    parse_online_status,
    parse_paper_sensor,
    printer_status,
    query_command,
)
from support import ANSWER_S

PARSERS = [parse_online_status, parse_offline_cause, parse_error_cause, parse_paper_sensor]


def test_status_queries_are_dle_eot_n():
    assert [query_command(n) for n in (1, 2, 3, 4)] == [
        b"\x10\x04\x01",
        b"\x10\x04\x02",
        b"\x10\x04\x03",
        b"\x10\x04\x04",
    ]


def test_printer_status_byte_says_online_or_offline():
    assert parse_online_status(0x12) == OnlineStatus(
        offline=False, drawer_pin3_high=False, waiting_for_recovery=False, feed_button_pressed=False
    )
    assert parse_online_status(0x1A).offline
    assert parse_online_status(0x16).drawer_pin3_high
    assert parse_online_status(0x32).waiting_for_recovery
    assert parse_online_status(0x52).feed_button_pressed


def test_offline_cause_byte_names_cover_feed_paper_end_and_error():
    assert parse_offline_cause(0x12) == OfflineCause(False, False, False, False)
    assert parse_offline_cause(0x16) == OfflineCause(
        cover_open=True, feeding_by_button=False, stopped_by_paper_end=False, error=False
    )
    assert parse_offline_cause(0x1A).feeding_by_button
    assert parse_offline_cause(0x32).stopped_by_paper_end
    assert parse_offline_cause(0x52).error


def test_error_cause_byte_names_cutter_unrecoverable_and_auto_recoverable_errors():
    assert parse_error_cause(0x12) == ErrorCause(False, False, False, False)
    assert parse_error_cause(0x1A) == ErrorCause(
        mechanical=False, autocutter=True, unrecoverable=False, auto_recoverable=False
    )
    assert parse_error_cause(0x32).unrecoverable
    assert parse_error_cause(0x52).auto_recoverable
    assert parse_error_cause(0x16).mechanical


def test_paper_sensor_byte_says_near_end_and_paper_out():
    assert parse_paper_sensor(0x12) == PaperSensor(near_end=False, paper_out=False)
    assert parse_paper_sensor(0x1E) == PaperSensor(near_end=True, paper_out=False)
    assert parse_paper_sensor(0x72) == PaperSensor(near_end=False, paper_out=True)
    assert parse_paper_sensor(0x7E) == PaperSensor(near_end=True, paper_out=True)
    # Either bit of a sensor counts: a half-set pair warns rather than passes.
    assert parse_paper_sensor(0x16).near_end
    assert parse_paper_sensor(0x32).paper_out


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("byte", [0x00, 0xFF, 0x10, 0x02, 0x13, 0x92, 0x41])
def test_a_byte_with_wrong_fixed_bits_is_not_a_status(parse, byte):
    with pytest.raises(ValueError, match="fixed bits are wrong"):
        parse(byte)


@pytest.mark.parametrize("parse", PARSERS)
def test_every_possible_byte_is_either_a_status_or_refused(parse):
    accepted = 0
    for byte in range(256):
        try:
            parse(byte)
            accepted += 1
        except ValueError:
            pass
    assert accepted == 16  # four fixed bits leave 16 of 256 values


def test_only_ready_and_paper_near_end_can_print():
    printable = {state for state in PrinterState if PrinterStatus(state).can_print}
    assert printable == {PrinterState.READY, PrinterState.PAPER_NEAR_END}


@pytest.fixture
def emulator():
    with PrinterEmulator(seed=7) as emulator:
        yield emulator


@pytest.mark.parametrize(
    "mode, state",
    [
        ("ready", PrinterState.READY),
        ("near_end", PrinterState.PAPER_NEAR_END),
        ("paper_out", PrinterState.PAPER_OUT),
        ("cover_open", PrinterState.COVER_OPEN),
        ("offline", PrinterState.OFFLINE),
        ("error", PrinterState.ERROR),
        ("silent", PrinterState.NO_ANSWER),
        ("hung", PrinterState.NO_ANSWER),
    ],
)
def test_each_emulator_mode_reads_as_its_state_over_tcp(emulator, mode, state):
    emulator.mode = mode
    # Silence is waited for the whole timeout, so it is short; an answer that comes is waited for long, so a
    # loaded machine never turns it into silence.
    with open_printer(emulator.uri, timeout_s=ANSWER_S) as connection:
        status = printer_status(connection, timeout_s=0.3 if state is PrinterState.NO_ANSWER else ANSWER_S)
    assert status.state is state
    assert status.detail


def test_a_cutter_error_tells_the_technician_what_to_do(emulator):
    emulator.mode = "error"
    with open_printer(emulator.uri) as connection:
        assert "cutter" in printer_status(connection, ANSWER_S).detail


def test_a_silent_printer_is_no_answer_within_the_timeout_never_ready(emulator):
    emulator.mode = "silent"
    with open_printer(emulator.uri) as connection:
        started = time.monotonic()
        status = printer_status(connection, timeout_s=0.5)
        elapsed = time.monotonic() - started
    assert status.state is PrinterState.NO_ANSWER and not status.can_print
    assert 0.45 <= elapsed < ANSWER_S  # waits its timeout (a slow machine only adds), and not for ever
    assert status.detail == (
        "no answer to DLE EOT 1 within 0.5 s: is the printer switched on, the cable two-way and the URI right?"
    )


def test_garbage_answers_never_crash_and_never_pass_as_printable(emulator):
    emulator.mode = "garbage"
    states = set()
    with open_printer(emulator.uri) as connection:
        for _ in range(40):  # garbage is always an answer: a long timeout is never waited out
            status = printer_status(connection, timeout_s=ANSWER_S)
            assert isinstance(status, PrinterStatus)
            states.add(status.state)
    assert PrinterState.ERROR in states
    assert not any(PrinterStatus(state).can_print for state in states)


def test_recovery_is_seen_on_the_next_check(emulator):
    with open_printer(emulator.uri) as connection:
        emulator.mode = "paper_out"
        assert printer_status(connection, ANSWER_S).state is PrinterState.PAPER_OUT
        emulator.mode = "ready"
        assert printer_status(connection, ANSWER_S).state is PrinterState.READY


def test_a_printer_that_drops_the_connection_is_no_answer_and_the_connection_closes():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept_and_hang_up():
        client, _ = server.accept()
        client.recv(16)
        client.close()

    thread = threading.Thread(target=accept_and_hang_up)
    thread.start()
    try:
        connection = open_printer(f"tcp://127.0.0.1:{port}", timeout_s=ANSWER_S)
        status = printer_status(connection, timeout_s=ANSWER_S)  # the hang-up comes: never waited out
    finally:
        thread.join()
        server.close()
    assert status.state is PrinterState.NO_ANSWER
    assert "closed the connection" in status.detail
    assert connection.closed


def test_a_printer_that_answers_only_the_first_query_is_not_ready():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    asked = threading.Event()

    def answer_once():
        client, _ = server.accept()
        client.recv(3)
        client.sendall(b"\x12")
        asked.wait(ANSWER_S)  # silent, not gone, until the status is read
        client.close()

    thread = threading.Thread(target=answer_once)
    thread.start()
    try:
        with open_printer(f"tcp://127.0.0.1:{port}") as connection:
            status = printer_status(connection, timeout_s=1)
    finally:
        asked.set()
        thread.join()
        server.close()
    assert status.state is PrinterState.NO_ANSWER
    assert status.detail == "no answer to DLE EOT 4 within 1 s after answering the first status query"


def test_a_printer_without_a_back_channel_is_never_assumed_ready(tmp_path):
    (tmp_path / "lp0").touch()  # a file that exists, also where tmp_path is under /dev (make mutants: /dev/shm)
    with open_printer(f"file:{tmp_path / 'lp0'}") as connection:
        started = time.monotonic()
        status = printer_status(connection, timeout_s=60)
    assert status.state is PrinterState.NO_ANSWER and not status.can_print
    assert time.monotonic() - started < 30  # a file cannot answer: it does not wait out the minute


class ScriptedPrinter(PrinterConnection):
    """A connection whose printer answers each DLE EOT n with ``answers[n]`` until query ``stuck_at``, from
    which on it takes no more bytes (the base class's own timeout, as every backend raises it), is gone, or
    fails otherwise (``failure``: timeout, gone, error)."""

    def __init__(self, answers: dict[int, int], stuck_at: int = 99, failure: str = "timeout"):
        super().__init__(None, None, 0.2)
        self.answers, self.stuck_at, self.failure = answers, stuck_at, failure

    def _discard_input(self) -> None:
        pass

    def _write(self, data: bytes, deadline: float) -> None:
        self.asked = data[-1]
        if self.asked >= self.stuck_at:
            if self.failure == "error":
                raise PrinterError("the driver refused the write")
            raise self._timeout("took no status query") if self.failure == "timeout" else PrinterGone("unplugged")

    def _read(self, expect: int, deadline: float) -> bytes:
        return bytes([self.answers[self.asked]])


ONLINE, PAPER_IN = {PRINTER: 0x16}, {PAPER_SENSOR: 0x12}


def test_a_connection_failing_otherwise_while_asking_is_an_error_saying_why():
    status = printer_status(ScriptedPrinter(ONLINE | PAPER_IN, PAPER_SENSOR, "error"), timeout_s=0.2)
    assert status == PrinterStatus(PrinterState.ERROR, "the driver refused the write") and not status.can_print


@pytest.mark.parametrize("failure", ["timeout", "gone"])
@pytest.mark.parametrize("stuck_at", [PRINTER, PAPER_SENSOR])
def test_a_status_query_that_times_out_or_fails_is_not_ready(stuck_at, failure):
    connection = ScriptedPrinter(ONLINE | PAPER_IN, stuck_at, failure)
    status = printer_status(connection, timeout_s=0.2)
    assert status.state is PrinterState.NO_ANSWER and not status.can_print
    assert connection.closed  # the next ticket starts on a fresh connection
    said = "the printer took no status query: " if failure == "timeout" else "the printer is not reachable: "
    assert status.detail.startswith(said)


OFFLINE = {PRINTER: 0x1A}


@pytest.mark.parametrize(
    "answers, state, detail",
    [
        (ONLINE | PAPER_IN, PrinterState.READY, "ready"),
        (
            ONLINE | {PAPER_SENSOR: 0x1E},
            PrinterState.PAPER_NEAR_END,
            "the paper roll is nearly used up: have a new one ready",
        ),
        (ONLINE | {PAPER_SENSOR: 0x72}, PrinterState.PAPER_OUT, "the paper roll is empty: put in a new roll"),
        (OFFLINE | PAPER_IN | {OFFLINE_CAUSE: 0x16}, PrinterState.COVER_OPEN, "the printer's cover is open: close it"),
        (
            OFFLINE | PAPER_IN | {OFFLINE_CAUSE: 0x32},
            PrinterState.PAPER_OUT,
            "the paper roll is empty: put in a new roll",
        ),
        (
            OFFLINE | {PAPER_SENSOR: 0x72, OFFLINE_CAUSE: 0x12},
            PrinterState.PAPER_OUT,
            "the paper roll is empty: put in a new roll",
        ),
        (OFFLINE | PAPER_IN | {OFFLINE_CAUSE: 0x1A}, PrinterState.OFFLINE, "paper is being fed with the FEED button"),
        (OFFLINE | PAPER_IN | {OFFLINE_CAUSE: 0x12}, PrinterState.OFFLINE, "the printer reports offline"),
        (
            {PRINTER: 0x3A} | PAPER_IN | {OFFLINE_CAUSE: 0x12},
            PrinterState.OFFLINE,
            "the printer reports offline and waits to recover",
        ),
    ],
)
def test_each_status_is_its_state_with_what_the_technician_does(answers, state, detail):
    assert printer_status(ScriptedPrinter(answers), timeout_s=0.2) == PrinterStatus(state, detail)


@pytest.mark.parametrize(
    "cause, detail",
    [
        (0x1A, "the cutter is stuck (paper jam?): clear it, then switch the printer off and on"),
        (0x32, "an unrecoverable error: switch the printer off and on; if it stays, call service"),
        (0x52, "the print head is too hot: the printer resumes by itself when it has cooled down"),
        (0x16, "a mechanical error: check the paper path and the cover"),
        (0x12, "the printer reports an error without a cause"),
    ],
)
def test_each_error_cause_tells_the_technician_what_to_do(cause, detail):
    answers = OFFLINE | PAPER_IN | {OFFLINE_CAUSE: 0x52, ERROR_CAUSE: cause}
    assert printer_status(ScriptedPrinter(answers), timeout_s=0.2) == PrinterStatus(PrinterState.ERROR, detail)


@pytest.mark.parametrize("parse, n", list(zip(PARSERS, (PRINTER, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR))))
def test_a_refused_byte_names_the_query_it_answered(parse, n):
    said = f"0x00 is not an answer to DLE EOT {n}: its fixed bits are wrong (noise on the line, a wrong baud rate, "
    with pytest.raises(ValueError, match=re.escape(said) + r"or not an ESC/POS printer\)$"):
        parse(0x00)


def test_a_byte_that_is_no_status_is_an_error_naming_it():
    status = printer_status(ScriptedPrinter({PRINTER: 0x00}), timeout_s=0.2)
    assert status.state is PrinterState.ERROR and status.detail.startswith("unreadable status: ")
    assert "DLE EOT 1" in status.detail and "ESC/POS printer" in status.detail
