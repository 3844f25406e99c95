"""The config sections of the drivers: the ticket printer, the GPIO panel and the code readers,
with the checks that need the printer library or the readers' own source parser.
"""

from datetime import timedelta

from appliance.domain.config import Checked, Key, Section
from appliance.domain.config.types import (
    Choice,
    Duration,
    GpioPin,
    Integer,
    List,
    Path,
    String,
    TimeOfDay,
    UrlTemplate,
    ValueType,
)
from appliance.drivers.readers import parse_source
from appliance.printer.uri import parse_printer_uri


class PrinterUri(ValueType):
    """usb:VID:PID, serial:/dev/ttyUSB0?baudrate=19200, tcp://HOST:PORT or file:/dev/usb/lp0, parsed."""

    def parse(self, raw, base_dir):
        return parse_printer_uri(raw)  # its PrinterConfigError is a ValueError that says what is right


class ScannerSource(ValueType):
    """A reader as ``appliance.drivers.readers.parse_source`` reads it: evdev, serial:, camera:, ..."""

    def parse(self, raw, base_dir):
        return parse_source(String(max_length=200).parse(raw, base_dir))

    def show(self, value):
        return str(value)  # written as a technician writes it, and parses back the same


def _profile_and_logo_can_be_printed(config: Checked) -> None:
    """The profile must be one python-escpos knows, and a logo must be an image it can print."""
    profile, paper_width, logo = (config.value("printer", key) for key in ("profile", "paper_width", "logo"))
    if profile is None and logo is None:
        return  # python-escpos takes most of a second to import: only where there is something to check
    from appliance.printer.errors import PrinterConfigError
    from appliance.printer.layout import logo_problem
    from appliance.printer.profiles import load_profile

    if profile is not None and paper_width is not None:
        try:
            load_profile(profile, paper_width)
        except PrinterConfigError as error:
            config.problem("printer", "profile", str(error))
    if logo is not None:
        problem = logo_problem(logo)
        if problem:
            config.problem("printer", "logo", problem)


def _buttons(config: Checked) -> list[tuple[str, int]]:
    buttons = [(header, config.value(header, "button")) for header in config.instances("concern")]
    return [(header, pin) for header, pin in buttons if pin is not None]


def _ticket_buttons_need_a_printer(config: Checked) -> None:
    buttons = _buttons(config)
    if buttons and config.value("printer", "uri") is None and "kiosk" in (config.value("device", "roles") or ()):
        config.problem(buttons[0][0], "button", "a ticket button needs a printer: set [printer] uri")


PRINTER = Section(
    "printer",
    {
        "uri": Key(PrinterUri(), "where the ticket printer is; without it the kiosk prints nothing", optional=True),
        "profile": Key(String(max_length=64), "the python-escpos capability profile, e.g. TM-T20II", optional=True),
        "paper_width": Key(Choice(80, 58), "the ticket roll's width in mm", default="80"),
        "timeout": Key(
            Duration(timedelta(milliseconds=200), timedelta(seconds=60)),
            "how long a write or status query may take before the printer counts as gone",
            default="5s",
        ),
        "logo": Key(Path(), "an image printed at the top of each ticket", optional=True),
        "wait_page_url": Key(
            UrlTemplate("site", "code", "day", "lang"),
            "the ticket's QR code: the visitor's wait page ({lang}: the language chosen at the kiosk, else de); "
            "default with a [backend] url: its /w/{site}/{code}",
            optional=True,
        ),
        "footer": Key(
            String(max_length=200),
            "the ticket's last line per language (footer_de, footer_en, footer_uk, ...); a language without "
            "one prints the catalog's: 'Bitte achten Sie auf den Aufruf am Monitor.'",
            optional=True,
            per_language=True,
        ),
        "day_list_at": Key(
            TimeOfDay(), "when the day's appointment list is printed for the staff", default="07:00", optional=True
        ),
    },
    checks=(_profile_and_logo_can_be_printed, _ticket_buttons_need_a_printer),
)


def _each_pin_used_once(config: Checked) -> None:
    pins: dict[int, tuple[str, str]] = {}
    used = [(header, "button", pin) for header, pin in _buttons(config)]
    outputs = ("ready_led", "printing_led", "fault_led", "buzzer")
    used += [("gpio", key, config.value("gpio", key)) for key in outputs + CONTROL_KEYS]
    for header, key, pin in used:
        if pin is None:
            continue
        if pin in pins:
            config.problem(header, key, f"GPIO{pin} is already used by [{pins[pin][0]}] {pins[pin][1]}")
        pins.setdefault(pin, (header, key))


CONTROL_KEYS = ("repeat_button", "volume_button", "language_button")

GPIO = Section(
    "gpio",
    {
        "ready_led": Key(GpioPin(), "lit while the kiosk takes presses", optional=True),
        "printing_led": Key(GpioPin(), "lit while a ticket prints", optional=True),
        "fault_led": Key(GpioPin(), "lit while the printer or a button is out of order", optional=True),
        "buzzer": Key(GpioPin(), "beeps to say a press or scan was taken or refused", optional=True),
        "repeat_button": Key(
            GpioPin(), "a button that speaks the kiosk's screen again (with [monitor] speech)", optional=True
        ),
        "volume_button": Key(
            GpioPin(),
            "a button that makes the kiosk's speech louder, from quiet again after the loudest; "
            "the next visitor hears [monitor] volume",
            optional=True,
        ),
        "language_button": Key(
            GpioPin(),
            "a button that steps through [device] languages: the screen, the speech and the ticket follow "
            "until the visitor has gone ([monitor] language_idle)",
            optional=True,
        ),
        "min_gap": Key(
            Duration(timedelta(0), timedelta(minutes=5)),
            "tickets of one concern asked for closer than this count as one, however asked (button, touch)",
            default="3s",
        ),
        "stuck_after": Key(
            Duration(timedelta(seconds=2), timedelta(minutes=30)),
            "a button held this long is reported stuck",
            default="30s",
        ),
    },
    checks=(_each_pin_used_once,),
)

SCANNER = Section(
    "scanner",
    {
        "inputs": Key(
            List(ScannerSource(), allow_empty=True), "the code readers: evdev scanners, serial:, camera:", default=""
        ),
        "layout": Key(Choice("us", "de"), "the keyboard layout a keyboard-wedge scanner types in", default="us"),
        "max_gap": Key(
            Duration(timedelta(milliseconds=5), timedelta(seconds=2)),
            "a pause between keys this long ends a code",
            default="50ms",
        ),
        "camera_fps": Key(Integer(1, 30), "frames a camera reader decodes per second", default="8"),
        "camera_size": Key(
            String(r"[1-9][0-9]{1,3}x[1-9][0-9]{1,3}", "WIDTHxHEIGHT, e.g. 640x480"),
            "the picture size a camera is asked for; 640x480 reads a code held up at the kiosk",
            default="640x480",
        ),
        "camera_exposure": Key(
            String(r"auto|[0-9]{1,5}", "auto, or a number such as 150"),
            "a camera's exposure: auto, or the driver's fixed value (V4L2: units of 100 µs)",
            default="auto",
        ),
        "camera_focus": Key(
            String(r"auto|[0-9]{1,4}", "auto, or a number such as 300"),
            "a camera's focus: auto, or the driver's fixed value for the distance codes are held at",
            default="auto",
        ),
        "dedupe": Key(
            Duration(timedelta(0), timedelta(minutes=5)),
            "the same code seen again within this is ignored",
            default="5s",
        ),
        "decoder": Key(
            String(r"[a-z_]+(,[a-z_]+)*", "a comma-separated chain, e.g. zxingcpp_dual,pyzbar"),
            "the camera's QR decoders, tried in this order",
            default="zxingcpp_dual,pyzbar,enhanced,opencv_aruco",
        ),
    },
)

SECTIONS = (SCANNER, PRINTER, GPIO)
