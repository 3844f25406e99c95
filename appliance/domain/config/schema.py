"""What may stand in an appliance config file: every section, key and value type.

Sections named ``prefix:NAME`` (``[concern:leave]``) are templates: any number may exist.
Defaults do not live here but in ``appliance/defaults.conf``, the first config layer.
"""
from datetime import timedelta

from appliance.domain.config.types import (Boolean, Choice, Duration, GpioPin, Integer, List, Optional, Path, PrinterUri, PublicKeyFile,
                    SecretFile, String, TimeOfDay, TimeZone, Url, UrlTemplate)

_NAME = r"[a-z0-9][a-z0-9-]{0,31}"
_NAME_HINT = "use 1 to 32 lower-case letters, digits and dashes, e.g. kiosk-1"

SECTIONS = {
    "device": {
        "id": String(_NAME, _NAME_HINT),
        "site": String(_NAME, _NAME_HINT),
        "roles": List(Choice("kiosk", "monitor")),
        "timezone": TimeZone(),
        "languages": List(Choice("de", "en")),
    },
    "numbering": {
        "series": Integer(1, 26),
        "series_count": Integer(1, 26),
    },
    "concern:": {
        "title_de": String(hint="", max_length=200),
        "title_en": Optional(String(max_length=200)),
        "prefix": String(r"[A-Z]{1,2}", "use one or two capital letters, e.g. A"),
        "first": Integer(0, 9998),
        "last": Integer(1, 9999),
        "button": Optional(GpioPin()),
        "service": Duration(timedelta(minutes=1), timedelta(hours=2)),
    },
    "waits": {
        "counters": Integer(1, 50),
    },
    "scanner": {
        "inputs": List(String(max_length=200), allow_empty=True),
        "layout": Choice("us", "de"),
        "max_gap": Duration(timedelta(milliseconds=5), timedelta(seconds=2)),
        "camera_fps": Integer(1, 30),
        "dedupe": Duration(timedelta(0), timedelta(minutes=5)),
        "decoder": String(r"[a-z_]+(,[a-z_]+)*", "a comma-separated chain, e.g. zxingcpp,opencv_aruco,pyzbar"),
    },
    "printer": {
        "uri": Optional(PrinterUri()),
        "profile": Optional(String(max_length=64)),
        "paper_width": Choice("80", "58"),
        "timeout": Duration(timedelta(milliseconds=200), timedelta(seconds=60)),
        "logo": Optional(Path()),
        "wait_page_url": Optional(UrlTemplate("site", "code", "day")),
        "footer_de": String(max_length=200),
        "footer_en": Optional(String(max_length=200)),
        "day_list_at": Optional(TimeOfDay()),
    },
    "gpio": {
        "ready_led": Optional(GpioPin()),
        "printing_led": Optional(GpioPin()),
        "fault_led": Optional(GpioPin()),
        "buzzer": Optional(GpioPin()),
        "min_gap": Duration(timedelta(0), timedelta(minutes=5)),
        "stuck_after": Duration(timedelta(seconds=2), timedelta(minutes=30)),
    },
    "checkin": {
        "modes": List(Choice("signed", "reference")),
        "public_key_file": Optional(PublicKeyFile()),
        "early": Duration(timedelta(0), timedelta(hours=4)),
        "late": Duration(timedelta(0), timedelta(hours=4)),
        "late_policy": Choice("information", "walk-in"),
    },
    "state": {
        "database": Path(),
    },
    "core": {
        "control_socket": Path(),
        "tick": Duration(timedelta(milliseconds=10), timedelta(seconds=10)),
    },
    "backend": {
        "url": Optional(Url()),
        "token_file": Optional(SecretFile()),
        "ca_bundle": Optional(Path(must_exist=True)),
        "timeout": Duration(timedelta(seconds=1), timedelta(minutes=2)),
        "verify_tls": Boolean(),
        "heartbeat_interval": Duration(timedelta(seconds=5), timedelta(hours=1)),
        "appointments_interval": Duration(timedelta(seconds=5), timedelta(hours=1)),
        "batch_size": Integer(1, 500),
        "outbox_alarm": Integer(10, 10_000_000),
        "clock_tolerance": Duration(timedelta(seconds=1), timedelta(hours=1)),
    },
    "push": {
        "enabled": Boolean(),
        "bind": String(r"[0-9A-Za-z.:-]{1,253}", "an address to listen on, e.g. 0.0.0.0 (all) or 127.0.0.1"),
        "port": Integer(1, 65535),
        "token_file": Optional(SecretFile()),
    },
    "monitor": {
        "rotation": Choice("0", "90", "180", "270"),
        "size": Optional(String(r"\d{3,5}x\d{3,5}", "width x height in pixels, e.g. 1920x1080")),
        "slides": Optional(Path(must_exist=True)),
        "slide_seconds": Duration(timedelta(seconds=2), timedelta(minutes=10)),
        "highlight": Duration(timedelta(seconds=1), timedelta(minutes=5)),
        "recent": Integer(0, 10),
        "stale_after": Duration(timedelta(seconds=10), timedelta(hours=2)),
        "language": Choice("de", "en"),
        "sound": Boolean(),
        "speech": Boolean(),
        "layout": Choice("monitor", "kiosk"),
        "touch": Boolean(),
        "answer_seconds": Duration(timedelta(seconds=2), timedelta(minutes=5)),
    },
    "logging": {
        "level": Choice("debug", "info", "warning", "error"),
    },
}

# Keys that may be left unset in every layer; all others must get a value somewhere.
OPTIONAL_KEYS = {
    ("concern:", "title_en"),
    ("backend", "url"), ("backend", "token_file"), ("backend", "ca_bundle"), ("push", "token_file"),
    ("checkin", "public_key_file"),
    ("monitor", "size"), ("monitor", "slides"),
    ("concern:", "button"),
    ("printer", "uri"), ("printer", "profile"), ("printer", "logo"), ("printer", "wait_page_url"),
    ("printer", "footer_en"), ("printer", "day_list_at"),
    ("gpio", "ready_led"), ("gpio", "printing_led"), ("gpio", "fault_led"), ("gpio", "buzzer"),
}


def schema_for(section: str):
    """The key types of ``section`` and its template name, or (None, None) if unknown."""
    if section in SECTIONS and not section.endswith(":"):
        return SECTIONS[section], section
    prefix, colon, name = section.partition(":")
    if colon and name and f"{prefix}:" in SECTIONS:
        return SECTIONS[f"{prefix}:"], f"{prefix}:"
    return None, None
