"""Printer connections: every write and query ends within its timeout, on TCP, serial ptys, pipes and files."""

import os
import select
import socket
import threading
import time

import pytest

from appliance.printer.connection import open_printer
from appliance.printer.emulator import PrinterEmulator
from appliance.printer.errors import PrinterConfigError, PrinterError, PrinterGone, PrinterTimeout
from support import ANSWER_S, wait_for

STATUS_QUERY = b"\x10\x04\x01"


@pytest.fixture
def emulator():
    with PrinterEmulator() as emulator:
        yield emulator


def elapsed(action):
    started = time.monotonic()
    action()
    return time.monotonic() - started


def write_until_it_fails(connection, chunk: bytes, attempts: int) -> list[float]:
    """Write until the connection raises; returns how long each write took, the failing one last."""
    durations = []
    for _ in range(attempts):
        started = time.monotonic()
        try:
            connection.write(chunk)
        finally:
            durations.append(time.monotonic() - started)
    return durations


def test_a_tcp_printer_takes_a_job_and_answers_a_query(emulator):
    with open_printer(emulator.uri, profile="TM-T88V", timeout_s=ANSWER_S) as connection:
        assert connection.query(STATUS_QUERY) == b"\x12"
        connection.write(b"\x1b@Hallo\n\x1dV\x00")
        assert repr(connection) == f"<TcpConnection {emulator.uri}>"
    assert emulator.wait_for_jobs(1) == [b"\x1b@Hallo\n\x1dV\x00"]
    assert connection.closed


def test_silence_is_none_within_the_timeout_never_an_empty_ok(emulator):
    emulator.mode = "silent"
    with open_printer(emulator.uri, timeout_s=ANSWER_S) as connection:
        replies = []
        took = elapsed(lambda: replies.append(connection.query(STATUS_QUERY, 0.4)))
        assert replies == [None]
        assert 0.35 <= took < ANSWER_S  # its own 0.4 s, not the connection's ANSWER_S (a slow machine only adds)
        assert not connection.closed  # silence is an answer, not a broken line


def test_a_hung_printer_makes_write_raise_printer_timeout_within_bounds(emulator):
    emulator.mode = "hung"
    connection = open_printer(emulator.uri, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(PrinterTimeout, match="took no data within 0.5 s"):
        write_until_it_fails(connection, b"\x00" * (1 << 20), 256)  # loopback buffers hold a few MB
    assert time.monotonic() - started < ANSWER_S  # it ends: a write blocking for ever would wait out the patience
    # Half a job may have gone out: the connection is closed, the next ticket opens a fresh one.
    assert connection.closed
    with pytest.raises(PrinterGone, match="connection is closed"):
        connection.write(b"x")


def test_a_stale_answer_is_discarded_before_asking():
    server = socket.create_server(("127.0.0.1", 0))
    answered_late = threading.Event()

    def printer():
        client, _ = server.accept()
        client.sendall(b"\x7e")  # a late answer to an earlier question
        answered_late.set()
        while client.recv(3):
            client.sendall(b"\x12")
        client.close()

    thread = threading.Thread(target=printer)
    thread.start()
    with open_printer(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout_s=ANSWER_S) as connection:
        assert answered_late.wait(ANSWER_S)
        # Arrived at the appliance's end before the question is asked:
        wait_for(lambda: select.select([connection.printer.device], [], [], 0)[0], what="the late answer arriving")
        assert connection.query(STATUS_QUERY) == b"\x12"
    thread.join()
    server.close()


def test_a_refused_connection_is_printer_gone_with_a_hint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PrinterGone, match="refused the connection: is the port right"):
        open_printer(f"tcp://127.0.0.1:{port}", timeout_s=1)


def test_a_printer_that_never_accepts_makes_open_time_out():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    backlog = []
    for _ in range(4):  # fill the listen queue: further handshakes go unanswered
        pending = socket.socket()
        pending.setblocking(False)
        pending.connect_ex(("127.0.0.1", port))
        backlog.append(pending)
    try:
        # The first handshake done fills the listen queue of one: from then on every new one goes unanswered.
        wait_for(lambda: select.select([], [backlog[0]], [], 0)[1], what="the first pending connection established")
        started = time.monotonic()
        with pytest.raises(PrinterTimeout, match="did not accept a connection within 0.4 s"):
            open_printer(f"tcp://127.0.0.1:{port}", timeout_s=0.4)
        assert time.monotonic() - started < ANSWER_S  # it ends: an open blocking for ever would wait out the patience
    finally:
        for pending in backlog:
            pending.close()
        server.close()


def test_a_printer_that_vanishes_mid_job_is_printer_gone():
    server = socket.create_server(("127.0.0.1", 0))
    vanished = threading.Event()

    def printer():
        client, _ = server.accept()
        client.recv(100)
        client.close()  # with the job's rest unread: the appliance's next writes are reset
        vanished.set()

    thread = threading.Thread(target=printer)
    thread.start()
    connection = open_printer(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout_s=ANSWER_S)
    connection.write(b"x" * 65536)  # the job's start
    assert vanished.wait(ANSWER_S)
    with pytest.raises(PrinterGone):
        for _ in range(100):
            connection.write(b"x" * 65536)
    assert connection.closed
    thread.join()
    server.close()


@pytest.fixture
def pty_printer():
    """A serial line: the appliance opens the pty's device, the test plays the printer on the other end."""
    printer_end, device_end = os.openpty()
    yield printer_end, os.ttyname(device_end)
    os.close(printer_end)
    os.close(device_end)


def test_a_serial_printer_takes_a_job_and_answers_a_query(pty_printer):
    printer_end, device = pty_printer

    def answer():
        assert os.read(printer_end, 3) == STATUS_QUERY
        os.write(printer_end, b"\x12")

    with open_printer(f"serial:{device}?baudrate=19200", timeout_s=ANSWER_S) as connection:
        connection.write(b"Hallo\n")
        assert os.read(printer_end, 100) == b"Hallo\n"
        thread = threading.Thread(target=answer)
        thread.start()
        assert connection.query(STATUS_QUERY) == b"\x12"
        thread.join()
        took = elapsed(lambda: connection.query(STATUS_QUERY, 0.3))
        assert 0.25 <= took < ANSWER_S  # its own 0.3 s, not the connection's ANSWER_S (a slow machine only adds)


def test_a_serial_printer_that_takes_nothing_times_out(pty_printer):
    _, device = pty_printer
    connection = open_printer(f"serial:{device}", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(PrinterTimeout, match="took no data within 0.3 s"):
        write_until_it_fails(connection, b"x" * 4096, 100)  # a pty holds a few KB
    assert time.monotonic() - started < ANSWER_S  # it ends: a write blocking for ever would wait out the patience
    assert connection.closed


def test_a_missing_serial_port_is_printer_gone():
    with pytest.raises(PrinterGone, match="/dev/ttyUSB97"):
        open_printer("serial:/dev/ttyUSB97")


def test_a_file_collects_the_bytes_and_never_answers(tmp_path):
    target = tmp_path / "ticket.bin"
    with open_printer(f"file:{target}") as connection:
        connection.write(b"one\n")
        connection.write(b"two\n")
        # A file cannot answer: the query does not wait out its minute (the bound only ends a failing test).
        assert elapsed(lambda: connection.query(STATUS_QUERY, 60)) < 30
        assert connection.query(STATUS_QUERY, 60) is None
    assert target.read_bytes() == b"one\ntwo\n"


def test_a_device_file_that_takes_nothing_times_out_instead_of_blocking(tmp_path):
    # A FIFO whose reader never reads behaves like usblp with the printer out of paper.
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        connection = open_printer(f"file:{fifo}", timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(PrinterTimeout, match="not taken"):
            write_until_it_fails(connection, b"x" * 65536, 64)  # a pipe holds 64 KB
        assert time.monotonic() - started < ANSWER_S  # it ends: a write blocking for ever would wait out the patience
        assert connection.closed
    finally:
        os.close(reader)


def test_a_device_file_with_nothing_behind_it_is_printer_gone(tmp_path):
    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    with pytest.raises(PrinterGone, match="nothing is behind"):
        open_printer(f"file:{fifo}")
    with pytest.raises(PrinterGone, match="/dev/usb/lp9 does not exist: is the printer plugged in"):
        open_printer("file:/dev/usb/lp9")


def test_a_usb_printer_that_is_not_there_is_a_printer_error():
    # No printer with this ID on the test machine (and perhaps no libusb): either way a clear error.
    with pytest.raises(PrinterError, match="usb:04b8:0e15|libusb"):
        open_printer("usb:04b8:0e15", timeout_s=1)


def test_settings_that_would_block_forever_or_print_wrongly_are_refused():
    with pytest.raises(PrinterError, match="more than 0 seconds"):
        open_printer("tcp://127.0.0.1:9100", timeout_s=0)
    with pytest.raises(PrinterConfigError, match="unknown printer profile"):
        open_printer("tcp://127.0.0.1:9100", profile="TM-T88")
    with pytest.raises(PrinterConfigError, match="unknown kind"):
        open_printer("lpt:1")
