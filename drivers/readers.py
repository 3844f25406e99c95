"""Which reader a scanner source names, as technicians write it in config and for scan-test.

``serial:/dev/ttyACM0?baudrate=9600`` is a scanner in USB-serial mode, ``camera:0`` or
``camera:/dev/video0`` a camera (``camera:FILE`` a recorded video), anything else an evdev
keyboard-wedge scanner: a ``/dev/input/...`` path, ``vendor:product`` in hex, or part of its name.
"""
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm")


@dataclass(frozen=True)
class Source:
    kind: str  # evdev, serial, camera, image
    target: str | int
    baudrate: int = 9600


def parse_source(text: str) -> Source:
    text = text.strip()
    if not text:
        raise ValueError("a scanner source must not be empty")
    if text.startswith("serial:"):
        parts = urlsplit(text[len("serial:"):])
        if not parts.path.startswith("/dev/"):
            raise ValueError(f"{text!r}: write serial:/dev/ttyACM0 (optionally ?baudrate=9600)")
        try:
            baudrate = int(parse_qs(parts.query).get("baudrate", ["9600"])[0])
        except ValueError:
            raise ValueError(f"{text!r}: baudrate must be a whole number") from None
        return Source("serial", parts.path, baudrate)
    if text.startswith("camera:"):
        target = text[len("camera:"):]
        if not target:
            raise ValueError(f"{text!r}: write camera:0, camera:/dev/video0 or camera:FILE")
        return Source("camera", int(target) if target.isdigit() else target)
    if text.isdigit():
        return Source("camera", int(text))
    lower = text.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return Source("image", text)
    if lower.endswith(VIDEO_SUFFIXES) or text.startswith("/dev/video"):
        return Source("camera", text)
    return Source("evdev", text)


def open_reader(source: Source, on_code, on_health, scanner_config=None, *, live: bool = True):
    """A reader for ``source``, not yet started; ``scanner_config`` is the [scanner] section (None: defaults)."""
    settings = {}
    if scanner_config is not None:
        settings = {"layout": scanner_config.layout, "max_gap_s": scanner_config.max_gap.total_seconds(),
                    "fps": scanner_config.camera_fps, "dedupe_s": scanner_config.dedupe.total_seconds(),
                    "decoder": scanner_config.decoder}
    if source.kind == "evdev":
        from appliance.drivers.scanner import EvdevScanner
        reader = EvdevScanner(source.target, on_code, on_health, layout=settings.get("layout", "us"),
                              **({"max_gap_s": settings["max_gap_s"]} if "max_gap_s" in settings else {}))
    elif source.kind == "serial":
        from appliance.drivers.serial_scanner import SerialScanner
        reader = SerialScanner(source.target, on_code, on_health, baudrate=source.baudrate)
    elif source.kind == "camera":
        from appliance.drivers.camera import CameraReader
        from appliance.drivers.qr_decoders import CAMERA_FALLBACK_EVERY, make_decoder
        decoder = make_decoder(settings.get("decoder", "zxingcpp,opencv_aruco,pyzbar"),
                               fallback_every=CAMERA_FALLBACK_EVERY, skip_unavailable=True)
        # A recorded video is read as fast as it decodes; a live camera is capped to save CPU.
        fps = settings.get("fps", 8) if live else None
        reader = CameraReader(source.target, on_code, on_health, decoder=decoder, fps=fps,
                              dedupe_s=settings.get("dedupe_s", 5.0))
    else:
        raise ValueError(f"{source.kind} sources are read once, not started")
    return reader
