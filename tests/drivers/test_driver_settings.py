"""The drivers' config sections: [printer], [gpio] and [scanner] give parsed values, and their
checks (printer profile and logo, pins used once, buttons need a printer) name file and line.
"""

import pytest

from appliance.app.config import load_config
from appliance.drivers.readers import parse_source
from appliance.drivers.settings import ScannerSource
from appliance.printer.uri import SerialPrinterURI, UsbPrinterURI
from support.config_files import KIOSK, MONITOR, effective_line, line_of, only_problem, problems_of, write

PRINTER = "[printer]\nuri = usb:04b8:0e15\n"


def test_printer_uri_comes_parsed_and_is_listed_as_written(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[printer]\nuri = serial:/dev/ttyUSB0?baudrate=19200\n")

    config = load_config(path)

    assert config.printer.uri == SerialPrinterURI("/dev/ttyUSB0", baudrate=19200)
    assert effective_line(config, "printer", "uri") == (
        f"uri = serial:/dev/ttyUSB0?baudrate=19200    # {path}:{line_of(path, 'uri =')}"
    )


def test_a_wrong_printer_uri_names_its_line_and_the_right_forms(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[printer]\nuri = lpt:1\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "uri ="), "printer", "uri")
    assert problem.message.startswith("printer URI 'lpt:1': unknown kind 'lpt'.")
    assert "usb:04b8:0e15" in problem.message


def test_paper_width_comes_as_a_number_of_millimetres(tmp_path):
    config = load_config(write(tmp_path / "appliance.conf", KIOSK + PRINTER + "paper_width = 58\n"))

    assert config.printer.paper_width == 58 and config.printer.uri == UsbPrinterURI(0x04B8, 0x0E15)


def test_an_unknown_printer_profile_is_refused_with_a_suggestion(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + PRINTER + "profile = TM-T88X\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "profile ="), "printer", "profile")
    assert problem.message.startswith("unknown printer profile 'TM-T88X'. Did you mean 'TM-T88V'")


def test_a_logo_that_is_no_image_is_refused_at_its_line(tmp_path):
    (tmp_path / "logo.png").write_text("not a picture")
    path = write(tmp_path / "appliance.conf", KIOSK + PRINTER + "logo = logo.png\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "logo ="), "printer", "logo")
    assert problem.message.startswith(f"logo {tmp_path.resolve() / 'logo.png'} is not an image PIL can read")


def test_a_ticket_button_needs_a_printer(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "button = GPIO17\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "button ="), "concern:leave", "button")
    assert problem.message == "a ticket button needs a printer: set [printer] uri"


def test_a_monitor_may_name_button_pins_without_a_printer(tmp_path):
    text = MONITOR + "[concern:leave]\ntitle_de = Urlaub\nprefix = U\nbutton = 17\n"

    assert load_config(write(tmp_path / "appliance.conf", text)).concern("leave").button == 17


def test_each_gpio_pin_is_used_once_across_buttons_and_leds(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        KIOSK + "button = 17\n" + PRINTER + "[gpio]\nready_led = 5\nfault_led = GPIO17\nbuzzer = 5\n",
    )

    problems = sorted((p.line, p.section, p.key, p.message) for p in problems_of(path))

    assert problems == [
        (line_of(path, "fault_led ="), "gpio", "fault_led", "GPIO17 is already used by [concern:leave] button"),
        (line_of(path, "buzzer ="), "gpio", "buzzer", "GPIO5 is already used by [gpio] ready_led"),
    ]


def test_scanner_inputs_come_parsed_by_the_readers_own_parser(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        KIOSK + "[scanner]\ninputs = /dev/input/event3,\n    serial:/dev/ttyACM0?baudrate=115200\n    camera:0\n",
    )

    config = load_config(path)

    assert config.scanner.inputs == (
        parse_source("/dev/input/event3"),
        parse_source("serial:/dev/ttyACM0?baudrate=115200"),
        parse_source("camera:0"),
    )
    assert effective_line(config, "scanner", "inputs").startswith(
        "inputs = /dev/input/event3, serial:/dev/ttyACM0?baudrate=115200, camera:0    #"
    )


def test_a_scanner_input_the_reader_cannot_open_names_its_line(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[scanner]\ninputs = serial:ttyACM0\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "inputs ="), "scanner", "inputs")
    assert problem.message == "'serial:ttyACM0': write serial:/dev/ttyACM0 (optionally ?baudrate=9600)"


@pytest.mark.parametrize(
    "text",
    [
        "/dev/input/by-id/usb-Newland-event-kbd",
        "0c2e:0b61",
        "serial:/dev/ttyACM0?baudrate=9600",
        "camera:0",
        "camera:/dev/video0",
        "codes.png",
    ],
)
def test_a_parsed_source_is_written_back_so_that_it_parses_the_same(text):
    source = ScannerSource().parse(text, None)

    assert parse_source(str(source)) == source


def test_the_control_buttons_share_no_pin_with_a_ticket_button_or_a_lamp(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        KIOSK + "button = 17\n" + PRINTER + "[gpio]\nready_led = 5\nrepeat_button = GPIO17\nlanguage_button = 5\n",
    )

    problems = sorted((p.line, p.section, p.key, p.message) for p in problems_of(path))

    assert problems == [
        (line_of(path, "repeat_button ="), "gpio", "repeat_button", "GPIO17 is already used by [concern:leave] button"),
        (line_of(path, "language_button ="), "gpio", "language_button", "GPIO5 is already used by [gpio] ready_led"),
    ]
