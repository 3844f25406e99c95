"""Scanner sources: the text technicians write in ``[scanner] inputs`` and for scan-test, parsed
once into a typed ``Source``, and the started reader each one names.

``serial:/dev/ttyACM0?baudrate=9600`` is a scanner in USB-serial mode, ``camera:0`` or
``camera:/dev/video0`` a camera (``camera:FILE`` a recorded video), an image file is read once by
scan-test, anything else is an evdev keyboard-wedge scanner: a ``/dev/input/...`` path,
``vendor:product`` in hex, or part of its name. No hardware library is imported until a reader opens.
"""

from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qs, urlsplit

from appliance.drivers.errors import BadScannerSource

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm")
DEFAULT_BAUDRATE = 9600


class SourceKind(Enum):
    EVDEV = "evdev"
    SERIAL = "serial"
    CAMERA = "camera"
    IMAGE = "image"


@dataclass(frozen=True)
class Source:
    """One parsed scanner source; ``str()`` gives it back as text that parses to the same source."""

    kind: SourceKind
    target: str | int
    """The evdev selector, the serial port, the camera's index, path or URL, or the image file."""
    baudrate: int = DEFAULT_BAUDRATE
    """Serial sources only."""

    def __str__(self) -> str:
        if self.kind is SourceKind.SERIAL:
            query = f"?baudrate={self.baudrate}" if self.baudrate != DEFAULT_BAUDRATE else ""
            return f"serial:{self.target}{query}"
        if self.kind is SourceKind.CAMERA:
            return f"camera:{self.target}"
        return str(self.target)


def parse_source(text: str) -> Source:
    """The source ``text`` names; ``BadScannerSource`` (a ValueError) says what would be right."""
    text = text.strip()
    if not text:
        raise BadScannerSource("a scanner source must not be empty")
    if text.startswith("serial:"):
        return _parse_serial(text)
    if text.startswith("camera:"):
        target = text[len("camera:") :]
        if not target:
            raise BadScannerSource(f"{text!r}: write camera:0, camera:/dev/video0 or camera:FILE")
        return Source(SourceKind.CAMERA, int(target) if target.isdigit() else target)
    if text.isdigit():
        return Source(SourceKind.CAMERA, int(text))
    lower = text.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return Source(SourceKind.IMAGE, text)
    if lower.endswith(VIDEO_SUFFIXES) or text.startswith("/dev/video"):
        return Source(SourceKind.CAMERA, text)
    return Source(SourceKind.EVDEV, text)


def _parse_serial(text: str) -> Source:
    parts = urlsplit(text[len("serial:") :])
    if not parts.path.startswith("/dev/"):
        raise BadScannerSource(f"{text!r}: write serial:/dev/ttyACM0 (optionally ?baudrate=9600)")
    options = parse_qs(parts.query, keep_blank_values=True)
    # A misspelt option would otherwise be ignored, and the port read at the wrong speed.
    unknown = sorted(set(options) - {"baudrate"})
    if unknown:
        raise BadScannerSource(f"{text!r}: unknown option {', '.join(unknown)}; the only one is baudrate")
    baudrate = options.get("baudrate", [str(DEFAULT_BAUDRATE)])[-1]
    if not baudrate.isdigit() or int(baudrate) == 0:
        raise BadScannerSource(f"{text!r}: baudrate must be a positive whole number, e.g. 9600")
    return Source(SourceKind.SERIAL, parts.path, int(baudrate))


def open_reader(source: Source, on_code, on_health, scanner_config=None, *, live: bool = True):
    """A reader for ``source``, not yet started (its supervisor starts it); ``scanner_config`` is the
    [scanner] section (None: the readers' defaults). ``live=False`` reads a recorded video as fast as it decodes.

    Every reader is named ``scanner SOURCE``, the source as the config writes it: its health, its log
    lines and the source of its codes carry that one name, the one the daemon reports it under."""
    label = f"scanner {source}"
    if source.kind is SourceKind.EVDEV:
        from appliance.drivers.evdev_scanner import EvdevScanner

        options = (
            {}
            if scanner_config is None
            else {"layout": scanner_config.layout, "max_gap_s": scanner_config.max_gap.total_seconds()}
        )
        reader = EvdevScanner(source.target, on_code, on_health, label=label, **options)
    elif source.kind is SourceKind.SERIAL:
        from appliance.drivers.serial_scanner import SerialScanner

        reader = SerialScanner(source.target, on_code, on_health, baudrate=source.baudrate, label=label)
    elif source.kind is SourceKind.CAMERA:
        from appliance.drivers.camera import DEFAULT_DEDUPE_S, DEFAULT_FPS, CameraReader, camera_size, fixed_value
        from appliance.drivers.qr_decoders import DEFAULT_DECODER, make_decoder

        decoder = make_decoder(scanner_config.decoder if scanner_config else DEFAULT_DECODER, skip_unavailable=True)
        # A live camera is capped to save CPU.
        fps = (scanner_config.camera_fps if scanner_config else DEFAULT_FPS) if live else None
        dedupe_s = scanner_config.dedupe.total_seconds() if scanner_config else DEFAULT_DEDUPE_S
        settings = (
            {
                "size": camera_size(scanner_config.camera_size),
                "exposure": fixed_value(scanner_config.camera_exposure),
                "focus": fixed_value(scanner_config.camera_focus),
            }
            if scanner_config
            else {}
        )
        reader = CameraReader(
            source.target, on_code, on_health, decoder=decoder, fps=fps, dedupe_s=dedupe_s, label=label, **settings
        )
    else:
        raise BadScannerSource(f"{source}: an image is read once by scan-test, not started as a reader")
    return reader
