"""The evdev scanner reader: real InputEvents through python-evdev's real read path.

Where /dev/uinput is missing (containers, CI), the device is a FIFO carrying raw
``struct input_event`` records, read by an ``InputDevice`` (``EventStream``) whose descriptor is
the FIFO; evdev's C reader parses them as it parses the kernel's. The uinput test runs the
whole path (find by name and vendor:product, grab, unplug, replug) where the kernel offers it.
"""

import errno
import logging
import os
import random
import select
import struct
import threading
import time

import pytest
from evdev import InputEvent
from evdev import ecodes as e

from appliance.domain.journal import short_hash
from appliance.drivers import evdev_scanner as scanner_module
from appliance.drivers.errors import BadScannerSource
from appliance.drivers.evdev_scanner import DeviceSelector, EvdevScanner
from appliance.drivers.keymap import type_events
from appliance.drivers.readers import open_reader, parse_source
from support import ANSWER_S, wait_for
from support.readers import Recorder, started

_EVENT = struct.Struct("llHHi")  # struct input_event: timeval, type, code, value (native sizes)


def raw(events: list[InputEvent]) -> bytes:
    return b"".join(_EVENT.pack(ev.sec, ev.usec, ev.type, ev.code, ev.value) for ev in events)


def send(device: int, data: bytes) -> None:
    """Write records as the kernel hands them out: whole. Writes of up to PIPE_BUF bytes are
    atomic, so a read never sees part of a record (evdev's reader would drop it)."""
    chunk = (select.PIPE_BUF // _EVENT.size) * _EVENT.size
    for i in range(0, len(data), chunk):
        os.write(device, data[i : i + chunk])


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "usb-Scanner-event-kbd"
    os.mkfifo(path)
    return path


def start_on_fifo(fifo, recorder, **options) -> tuple[EvdevScanner, int]:
    """A scanner reading the FIFO, and the FIFO's write end (the 'device' side)."""
    scanner = started(
        EvdevScanner(
            str(fifo),
            recorder.on_code,
            recorder.on_health,
            grab=False,
            retry_initial_s=0.02,
            retry_max_s=0.1,
            **options,
        )
    )
    recorder.wait_health("ok")
    return scanner, os.open(fifo, os.O_WRONLY)


def now() -> float:
    return time.time()


def test_a_scanned_code_reaches_on_code_with_its_source(fifo):
    recorder = Recorder()
    scanner, device = start_on_fifo(fifo, recorder)
    try:
        send(device, raw(type_events("CHK-2024-0042", start=now())))
        assert recorder.next_code() == ("CHK-2024-0042", f"scanner {fifo}")
        assert scanner.codes_read == 1
    finally:
        os.close(device)
        scanner.stop()


def test_unplug_reports_failed_and_replug_at_the_same_path_reads_again(fifo):
    recorder = Recorder()
    scanner, device = start_on_fifo(fifo, recorder)
    try:
        send(device, raw(type_events("FIRST", start=now())))
        assert recorder.next_code()[0] == "FIRST"
        os.unlink(fifo)  # udev removes the by-id link ...
        os.close(device)  # ... and the device's events end
        assert "closed" in recorder.wait_health("failed")
        assert "not found" in recorder.wait_health("failed")
        os.mkfifo(fifo)  # plugged in again
        recorder.wait_health("ok")
        device = os.open(fifo, os.O_WRONLY)
        send(device, raw(type_events("SECOND", start=now())))
        assert recorder.next_code()[0] == "SECOND"
    finally:
        os.close(device)
        scanner.stop()


@pytest.fixture
def held_by_another_program(monkeypatch):
    """Every event node opens as one that another program holds exclusively."""

    class Held:
        def __init__(self, path):
            self.path = path

        def grab(self):
            raise OSError(errno.EPERM, "Operation not permitted")

        def close(self):
            pass

    monkeypatch.setattr(scanner_module, "open_event_device", Held)


def test_a_device_that_cannot_be_grabbed_is_reported_not_read(tmp_path, held_by_another_program):
    node = tmp_path / "event-kbd"
    node.touch()
    recorder = Recorder()
    scanner = started(EvdevScanner(str(node), recorder.on_code, recorder.on_health, retry_initial_s=0.02))
    try:
        assert "cannot grab" in recorder.wait_health("failed")
    finally:
        scanner.stop()


def test_a_fifo_named_as_a_config_source_is_read_without_a_grab(fifo):
    """The config's way to a FIFO (the demo's scanner): a path source, grab left at its default."""
    recorder = Recorder()
    scanner = started(open_reader(parse_source(str(fifo)), recorder.on_code, recorder.on_health))
    try:
        recorder.wait_health("ok")
        device = os.open(fifo, os.O_WRONLY)
        try:
            send(device, raw(type_events("T042-CODE", start=now())))
            assert recorder.next_code() == ("T042-CODE", f"scanner {fifo}")
        finally:
            os.close(device)
    finally:
        scanner.stop()


def test_a_missing_device_is_reported_and_picked_up_when_it_appears(tmp_path):
    path = tmp_path / "later"
    recorder = Recorder()
    scanner = started(
        EvdevScanner(
            str(path), recorder.on_code, recorder.on_health, grab=False, retry_initial_s=0.02, retry_max_s=0.05
        )
    )
    try:
        assert "not found" in recorder.wait_health("failed")
        os.mkfifo(path)
        recorder.wait_health("ok")
    finally:
        scanner.stop()


def test_two_scanners_at_once_keep_their_codes_apart(tmp_path):
    paths = [tmp_path / "left", tmp_path / "right"]
    recorders = [Recorder(), Recorder()]
    scanners = []
    for path, recorder in zip(paths, recorders):
        os.mkfifo(path)
        scanners.append(start_on_fifo(path, recorder))
    try:
        t = now()
        left = raw(type_events("LEFT-one", start=t))
        right = raw(type_events("RIGHT-two", start=t))
        # Interleave the two streams event by event, as two scanners read at the same moment.
        for i in range(0, max(len(left), len(right)), _EVENT.size):
            send(scanners[0][1], left[i : i + _EVENT.size])
            send(scanners[1][1], right[i : i + _EVENT.size])
        assert recorders[0].next_code() == ("LEFT-one", f"scanner {paths[0]}")
        assert recorders[1].next_code() == ("RIGHT-two", f"scanner {paths[1]}")
    finally:
        for scanner, device in scanners:
            os.close(device)
            scanner.stop()


def test_half_a_code_from_a_slow_scanner_is_not_glued_to_the_next_scan(fifo):
    recorder = Recorder()
    scanner, device = start_on_fifo(fifo, recorder)
    try:
        t = now()
        send(device, raw(type_events("HALF-OF-A-CO", start=t, enter=False)))
        send(device, raw(type_events("WHOLE-CODE", start=t + 2)))
        assert recorder.next_code()[0] == "WHOLE-CODE"
        assert recorder.no_code()
    finally:
        os.close(device)
        scanner.stop()


def test_ten_kilobytes_of_typing_is_dropped_without_blocking_and_the_next_code_is_read(fifo):
    recorder = Recorder()
    scanner, device = start_on_fifo(fifo, recorder)
    writer = None
    try:
        t = now()
        flood = raw(type_events("A1b2" * 2560, start=t, interval_s=0.001))  # 10 KB of text
        # 10 KB of keys is ~1 MB of events, more than a pipe holds: write from a thread.
        writer = threading.Thread(target=send, args=(device, flood + raw(type_events("AFTER", start=t + 60))))
        writer.start()
        assert recorder.next_code()[0] == "AFTER"
        assert recorder.no_code()
    finally:
        if writer:
            writer.join(ANSWER_S)
        os.close(device)
        scanner.stop()


def test_arbitrary_bytes_neither_crash_nor_stop_the_reader(fifo):
    recorder = Recorder()
    scanner, device = start_on_fifo(fifo, recorder)
    try:
        rng = random.Random(3)
        t = now()
        send(device, bytes(rng.randrange(256) for _ in range(_EVENT.size * 2000)))
        send(device, raw(type_events("still-reading", start=t + 3600)))
        # Random key codes: a few may have been decoded as "codes" before it; that is the core's to refuse. The
        # garbage may have toggled Caps Lock, as a keyboard's state would.
        while recorder.next_code()[0] not in ("still-reading", "STILL-READING"):
            pass
        assert scanner.health[0] == "ok"
    finally:
        os.close(device)
        scanner.stop()


def test_a_failing_on_code_neither_stops_the_reader_nor_logs_the_payload(fifo, caplog):
    caplog.set_level(logging.DEBUG)
    received = []

    def on_code(text, source):
        received.append(text)
        if len(received) == 1:
            raise ValueError(f"cannot handle {text}")

    recorder = Recorder()
    scanner = started(EvdevScanner(str(fifo), on_code, recorder.on_health, grab=False))
    recorder.wait_health("ok")
    device = os.open(fifo, os.O_WRONLY)
    try:
        t = now()
        send(device, raw(type_events("SECRET-PAYLOAD-1", start=t) + type_events("SECRET-PAYLOAD-2", start=t + 1)))
        wait_for(lambda: len(received) >= 2, what="both codes handed on")
        assert received == ["SECRET-PAYLOAD-1", "SECRET-PAYLOAD-2"]
    finally:
        os.close(device)
        scanner.stop()
    logged = caplog.text
    assert "SECRET-PAYLOAD" not in logged
    assert short_hash("SECRET-PAYLOAD-1") in logged and short_hash("SECRET-PAYLOAD-2") in logged


def test_stop_returns_promptly_while_the_reader_waits_for_keys(fifo):
    recorder = Recorder()
    scanner, device = start_on_fifo(fifo, recorder)
    # False if the reader were left waiting for keys that never come.
    assert scanner.stop(timeout=ANSWER_S)
    os.close(device)


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("/dev/input/by-id/usb-Newland_FM430-event-kbd", "path", "/dev/input/by-id/usb-Newland_FM430-event-kbd"),
        ("1EAB:8003", "usb_id", "1eab:8003"),
        ("Honeywell Scanner", "name", "Honeywell Scanner"),
    ],
)
def test_selectors_by_path_usb_id_or_name(text, kind, value):
    assert DeviceSelector.parse(text) == DeviceSelector(kind, value)


def test_selectors_match_usb_ids_exactly_and_names_by_substring():
    assert DeviceSelector.parse("1eab:8003").matches("anything", 0x1EAB, 0x8003)
    assert not DeviceSelector.parse("1eab:8003").matches("anything", 0x1EAB, 0x8004)
    assert DeviceSelector.parse("newland").matches("Newland FM430 Barcode Scanner", 1, 2)
    assert not DeviceSelector.parse("honeywell").matches("Newland FM430 Barcode Scanner", 1, 2)


def test_an_empty_selector_is_refused_with_the_three_forms():
    with pytest.raises(BadScannerSource, match="by-id"):
        DeviceSelector.parse("  ")


# -- where the kernel offers /dev/uinput: the whole path, with a real evdev device -------------


def _uinput_unavailable() -> str | None:
    if not os.path.exists("/dev/uinput"):
        return "/dev/uinput is missing (no uinput module in this kernel or container)"
    if not os.access("/dev/uinput", os.W_OK):
        return "/dev/uinput is not writable for this user"
    return None


@pytest.mark.skipif(_uinput_unavailable() is not None, reason=str(_uinput_unavailable()))
@pytest.mark.parametrize("selector", ["Test QR Scanner", "1d6b:0f42"])
def test_uinput_scanner_is_found_grabbed_read_and_survives_replug(selector):
    from evdev import UInput

    keys = sorted(
        {ev.code for ev in type_events("".join(chr(c) for c in range(0x20, 0x7F)))} | {e.KEY_ENTER, e.KEY_KPENTER}
    )

    def plug():
        device = UInput({e.EV_KEY: keys}, name="Test QR Scanner", vendor=0x1D6B, product=0x0F42)
        time.sleep(0.2)  # udev creates the node
        return device

    def scan(device, text):
        for ev in type_events(text):
            if ev.type == e.EV_KEY:
                device.write(e.EV_KEY, ev.code, ev.value)
                device.syn()

    recorder = Recorder()
    device = plug()
    # The keys are typed here, stamped by the kernel as they come: a loaded machine stalls this process longer than
    # a scanner's 50 ms between two keys, so here only Enter ends a code (test_keymap.py tests the gap).
    scanner = started(
        EvdevScanner(
            selector, recorder.on_code, recorder.on_health, retry_initial_s=0.05, retry_max_s=0.2, max_gap_s=ANSWER_S
        )
    )
    try:
        assert "Test QR Scanner" in recorder.wait_health("ok")
        scan(device, "Uinput-Code_1")
        assert recorder.next_code()[0] == "Uinput-Code_1"
        device.close()  # unplug
        recorder.wait_health("failed")
        device = plug()  # replug: a new event node
        recorder.wait_health("ok")
        scan(device, "after-replug")
        assert recorder.next_code()[0] == "after-replug"
    finally:
        scanner.stop()
        device.close()
