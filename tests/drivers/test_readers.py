"""Scanner sources: the one parser of what technicians write, and the reader each source opens."""

import termios

import pytest

from appliance.app.config import load_config
from appliance.drivers.errors import BadScannerSource
from appliance.drivers.evdev_scanner import EvdevScanner
from appliance.drivers.readers import Source, SourceKind, open_reader, parse_source
from appliance.drivers.serial_scanner import SerialScanner
from support import wait_for
from support.readers import Pty, Recorder, started


@pytest.mark.parametrize(
    "text, source",
    [
        (
            "/dev/input/by-id/usb-Newland_FM430-event-kbd",
            Source(SourceKind.EVDEV, "/dev/input/by-id/usb-Newland_FM430-event-kbd"),
        ),
        ("1eab:8003", Source(SourceKind.EVDEV, "1eab:8003")),
        ("Honeywell", Source(SourceKind.EVDEV, "Honeywell")),
        (" serial:/dev/ttyACM0 ", Source(SourceKind.SERIAL, "/dev/ttyACM0", 9600)),
        (
            "serial:/dev/serial/by-id/usb-X-if00?baudrate=115200",
            Source(SourceKind.SERIAL, "/dev/serial/by-id/usb-X-if00", 115200),
        ),
        ("camera:0", Source(SourceKind.CAMERA, 0)),
        ("2", Source(SourceKind.CAMERA, 2)),
        ("camera:/dev/video0", Source(SourceKind.CAMERA, "/dev/video0")),
        ("/dev/video1", Source(SourceKind.CAMERA, "/dev/video1")),
        ("camera:rtsp://cam.local/stream", Source(SourceKind.CAMERA, "rtsp://cam.local/stream")),
        ("entrance.MP4", Source(SourceKind.CAMERA, "entrance.MP4")),
        ("code.png", Source(SourceKind.IMAGE, "code.png")),
    ],
)
def test_each_form_a_technician_writes_is_one_typed_source(text, source):
    assert parse_source(text) == source


@pytest.mark.parametrize(
    "text, shown",
    [
        ("serial:/dev/ttyACM0?baudrate=9600", "serial:/dev/ttyACM0"),
        ("serial:/dev/ttyACM0?baudrate=19200", "serial:/dev/ttyACM0?baudrate=19200"),
        ("0", "camera:0"),
        ("camera:/dev/video0", "camera:/dev/video0"),
        ("clip.avi", "camera:clip.avi"),
        ("/dev/input/event3", "/dev/input/event3"),
        ("code.png", "code.png"),
    ],
)
def test_a_source_shown_as_text_parses_back_to_itself(text, shown):
    source = parse_source(text)
    assert str(source) == shown
    assert parse_source(str(source)) == source


@pytest.mark.parametrize(
    "text, message",
    [
        ("  ", "must not be empty"),
        ("serial:ttyACM0", "serial:/dev/ttyACM0"),
        ("serial:/dev/ttyACM0?baudrate=fast", "positive whole number"),
        ("serial:/dev/ttyACM0?baudrate=0", "positive whole number"),
        ("serial:/dev/ttyACM0?baudrate=", "positive whole number"),
        ("serial:/dev/ttyACM0?baudrate=-9600", "positive whole number"),
        # A misspelt option used to be ignored: the port was then read at 9600 baud.
        ("serial:/dev/ttyACM0?baudrat=19200", "unknown option baudrat"),
        ("camera:", "camera:0"),
    ],
)
def test_sources_no_reader_understands_are_refused_saying_what_would_be_right(text, message):
    with pytest.raises(BadScannerSource, match=message) as raised:
        parse_source(text)
    assert isinstance(raised.value, ValueError)  # what the config loader collects as a problem


@pytest.fixture
def scanner_config(device_config_file):
    """The [scanner] section as the config loader hands it to the daemon."""
    device_config_file.write_text(device_config_file.read_text() + "\n[scanner]\nlayout = de\nmax_gap = 80ms\n")
    return load_config(device_config_file).scanner


def test_a_serial_source_opens_its_port_at_its_baudrate_and_reads_codes(tmp_path, scanner_config):
    pty, recorder = Pty(tmp_path / "usb-Scanner-if00"), Recorder()
    source = parse_source(f"serial:{pty.slave_path}?baudrate=19200")
    reader = started(open_reader(source, recorder.on_code, recorder.on_health, scanner_config))
    try:
        assert isinstance(reader, SerialScanner)
        recorder.wait_health("ok")
        assert termios.tcgetattr(pty.master)[5] == termios.B19200  # the port's output speed
        pty.write(b"CHK-0042\r")
        assert recorder.next_code() == ("CHK-0042", f"scanner {source}")  # the one name the daemon reports
    finally:
        reader.stop()
        pty.unplug()


def test_an_evdev_source_opens_a_reader_that_reports_a_missing_device_by_its_path(tmp_path, scanner_config):
    recorder = Recorder()
    missing = tmp_path / "usb-Unplugged-event-kbd"
    reader = started(open_reader(parse_source(str(missing)), recorder.on_code, recorder.on_health, scanner_config))
    try:
        assert isinstance(reader, EvdevScanner)
        assert str(missing) in recorder.wait_health("failed")
    finally:
        assert reader.stop()


def test_an_image_is_refused_as_a_reader_because_scan_test_reads_it_once():
    with pytest.raises(BadScannerSource, match="scan-test"):
        open_reader(parse_source("code.png"), print, print)


def test_a_camera_is_asked_for_the_configured_size_exposure_and_focus(device_config_file):
    device_config_file.write_text(
        device_config_file.read_text() + "\n[scanner]\ncamera_size = 1280x720\ncamera_exposure = 150\n"
    )
    camera = open_reader(
        parse_source("camera:0"), Recorder().on_code, Recorder().on_health, load_config(device_config_file).scanner
    )
    asked = {}

    def open_capture(source, **options):
        asked.update(options, source=source)
        raise OSError("no camera in the test")

    camera._open_capture = open_capture
    started(camera)
    wait_for(lambda: asked, what="the camera to be opened")
    camera.stop()
    assert asked == {"source": 0, "fps": 8, "size": (1280, 720), "exposure": 150.0, "focus": None}


def test_a_camera_without_settings_asks_for_640x480_and_leaves_exposure_and_focus_automatic():
    camera = open_reader(parse_source("camera:0"), Recorder().on_code, Recorder().on_health, None)
    assert camera._camera_settings == {"size": (640, 480), "exposure": None, "focus": None}
