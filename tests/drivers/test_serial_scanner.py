"""Serial-mode scanners: lines from a pseudo-terminal pair standing in for /dev/ttyACM0."""

import logging

import pytest

from appliance.domain.journal import short_hash
from appliance.drivers.serial_scanner import LineAssembler, SerialScanner
from support import ANSWER_S, wait_for
from support.readers import Pty, Recorder, started


@pytest.fixture
def link(tmp_path):
    return tmp_path / "usb-Scanner-if00"


def start(link, recorder, **options) -> SerialScanner:
    scanner = started(
        SerialScanner(str(link), recorder.on_code, recorder.on_health, retry_initial_s=0.02, retry_max_s=0.1, **options)
    )
    recorder.wait_health("ok")
    return scanner


def test_cr_lf_and_crlf_each_end_one_code(link):
    pty, recorder = Pty(link), Recorder()
    scanner = start(link, recorder)
    try:
        pty.write(b"ONE\rTWO\nTHREE\r\n")
        assert [recorder.next_code() for _ in range(3)] == [
            ("ONE", f"serial {link}"),
            ("TWO", f"serial {link}"),
            ("THREE", f"serial {link}"),
        ]
        assert recorder.no_code()
    finally:
        scanner.stop()
        pty.unplug()


def test_a_code_split_over_packets_is_joined(link):
    pty, recorder = Pty(link), Recorder()
    # The scanner's clock stands still: this test is about joining packets, not about the gap (the next
    # test is), so however long the machine takes between the two, they come within it.
    stamps = []
    scanner = start(link, recorder, monotonic=lambda: stamps.append(None) or 1000.0)
    try:
        pty.write(b"SPLIT-")
        wait_for(lambda: stamps, what="the scanner reading the first packet")  # two packets, read apart
        pty.write(b"CODE\r")
        assert recorder.next_code()[0] == "SPLIT-CODE"
    finally:
        scanner.stop()
        pty.unplug()


def test_half_a_line_then_a_pause_is_dropped(link):
    pty, recorder = Pty(link), Recorder()
    # The scanner's clock says each arrival came a second after the one before: a pause twenty times the
    # gap, however long the machine really takes between the two writes.
    stamps = []
    scanner = start(link, recorder, max_gap_s=0.05, monotonic=lambda: stamps.append(None) or float(len(stamps)))
    try:
        pty.write(b"HALF-OF-A")
        # The half is read and stamped before the rest is sent: a thread that a loaded machine holds back
        # would otherwise read both at once, with no pause between them.
        wait_for(lambda: stamps, what="the scanner reading the half")
        pty.write(b"WHOLE\r\n")
        assert recorder.next_code()[0] == "WHOLE"
        assert recorder.no_code()
    finally:
        scanner.stop()
        pty.unplug()


def test_unplug_reports_failed_and_replug_reads_again(link):
    pty, recorder = Pty(link), Recorder()
    scanner = start(link, recorder)
    try:
        pty.write(b"BEFORE\r")
        assert recorder.next_code()[0] == "BEFORE"
        pty.unplug()
        assert "lost" in recorder.wait_health("failed")
        pty = Pty(link)  # the by-id link now names the new port
        recorder.wait_health("ok")
        pty.write(b"AFTER\r")
        assert recorder.next_code()[0] == "AFTER"
    finally:
        scanner.stop()
        pty.unplug()


def test_a_missing_port_is_reported_and_retried(tmp_path):
    recorder = Recorder()
    scanner = started(
        SerialScanner(str(tmp_path / "nothing"), recorder.on_code, recorder.on_health, retry_initial_s=0.02)
    )
    try:
        assert "cannot open" in recorder.wait_health("failed")
    finally:
        scanner.stop()


def test_arbitrary_bytes_control_characters_and_10_kb_lines_never_stop_the_reader(link, caplog):
    caplog.set_level(logging.DEBUG)
    pty, recorder = Pty(link), Recorder()
    scanner = start(link, recorder)
    try:
        pty.write(bytes(range(256)) * 4 + b"\r")
        pty.write(b"\x00\x1b[2J\x07bell\r")
        pty.write(b"Z" * 10_240 + b"\r")
        pty.write(b"\xff\xfeSECRET\xc3\r")
        pty.write(b"last\r")
        seen = []
        while (code := recorder.next_code()[0]) != "last":
            seen.append(code)
        assert all(len(c) <= 512 for c in seen)
        assert "\x00\x1b[2J\x07bell" in seen  # control characters pass: the core refuses them
        assert "\ufffd\ufffdSECRET\ufffd" in seen  # bytes that are not UTF-8 become U+FFFD
        assert not any(c.startswith("ZZZ") for c in seen)  # the 10 KB line is dropped
        assert scanner.health[0] == "ok"
    finally:
        scanner.stop()
        pty.unplug()
    assert "SECRET" not in caplog.text and "bell" not in caplog.text
    assert short_hash("last") in caplog.text


def test_stop_returns_promptly_while_the_reader_waits_for_bytes(link):
    pty, recorder = Pty(link), Recorder()
    scanner = start(link, recorder)
    # False if the reader were left waiting for bytes that never come.
    assert scanner.stop(timeout=ANSWER_S)
    pty.unplug()


def test_line_assembler_rules_on_given_times():
    lines = LineAssembler(max_gap_s=0.1, max_length=8)
    assert lines.feed(b"ab", 0.0) == []
    assert lines.feed(b"c\r\n\r\n", 0.05) == ["abc"]
    assert lines.feed(b"stale", 0.1) == []
    assert lines.feed(b"new\n", 1.0) == ["new"]
    assert lines.feed(b"123456789\nok\n", 1.01) == ["ok"]
    assert (lines.dropped_partial, lines.dropped_too_long) == (1, 1)
