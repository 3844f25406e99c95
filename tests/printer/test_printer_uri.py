"""Printer URIs: every form a technician writes in a config file, and the messages for every slip."""

import pytest

from appliance.printer.errors import PrinterConfigError
from appliance.printer.uri import FilePrinterURI, SerialPrinterURI, TcpPrinterURI, UsbPrinterURI, parse_printer_uri


@pytest.mark.parametrize(
    "text, expected",
    [
        ("usb:04b8:0e15", UsbPrinterURI(0x04B8, 0x0E15)),
        ("usb:0x04b8:0x0e15", UsbPrinterURI(0x04B8, 0x0E15)),
        ("USB:04B8:0E15", UsbPrinterURI(0x04B8, 0x0E15)),
        ("usb:0416:5011?in_ep=0x81&out_ep=0x03&interface=1", UsbPrinterURI(0x0416, 0x5011, 0x81, 0x03, 1)),
        ("usb:0416:5011?in_ep=129", UsbPrinterURI(0x0416, 0x5011, in_ep=0x81)),
        ("serial:/dev/ttyUSB0", SerialPrinterURI("/dev/ttyUSB0", 9600)),
        ("serial:/dev/ttyUSB0?baudrate=19200", SerialPrinterURI("/dev/ttyUSB0", 19200)),
        (
            "serial:/dev/ttyS0?baudrate=115200&bytesize=7&parity=even&stopbits=2",
            SerialPrinterURI("/dev/ttyS0", 115200, 7, "E", 2),
        ),
        ("serial:/dev/ttyAMA0?stopbits=1.5&parity=N", SerialPrinterURI("/dev/ttyAMA0", stopbits=1.5)),
        ("tcp://192.168.1.50", TcpPrinterURI("192.168.1.50", 9100)),
        ("tcp://192.168.1.50:9101", TcpPrinterURI("192.168.1.50", 9101)),
        ("tcp://printer-eingang.local:9100", TcpPrinterURI("printer-eingang.local", 9100)),
        ("tcp://[fd00::50]:9100", TcpPrinterURI("fd00::50", 9100)),
        ("tcp://[::1]", TcpPrinterURI("::1", 9100)),
        ("file:/dev/usb/lp0", FilePrinterURI("/dev/usb/lp0")),
        ("file:///dev/usb/lp0", FilePrinterURI("/dev/usb/lp0")),
        ("  tcp://10.0.0.7:9100  ", TcpPrinterURI("10.0.0.7", 9100)),
    ],
)
def test_every_documented_form_parses(text, expected):
    assert parse_printer_uri(text) == expected


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("usb:0x04B8:0x0E15", "usb:04b8:0e15"),
        ("usb:0416:5011?interface=1&in_ep=0x81", "usb:0416:5011?in_ep=0x81&interface=1"),
        ("serial:/dev/ttyUSB0", "serial:/dev/ttyUSB0?baudrate=9600"),
        ("serial:/dev/ttyS0?parity=odd&baudrate=19200", "serial:/dev/ttyS0?baudrate=19200&parity=O"),
        ("tcp://printer", "tcp://printer:9100"),
        ("tcp://[::1]:9101", "tcp://[::1]:9101"),
        ("file:///dev/usb/lp0", "file:/dev/usb/lp0"),
    ],
)
def test_a_parsed_uri_prints_in_its_canonical_form_which_parses_to_the_same(text, canonical):
    parsed = parse_printer_uri(text)
    assert str(parsed) == canonical
    assert parse_printer_uri(canonical) == parsed


def test_parsed_uris_are_frozen():
    uri = parse_printer_uri("tcp://printer:9100")
    with pytest.raises(AttributeError):
        uri.port = 9101


def test_a_uri_error_is_a_value_error_a_config_loader_can_catch():
    with pytest.raises(ValueError):
        parse_printer_uri("lpt:1")


USB_IDS = "lsusb shows 'ID 04b8:0e15': vendor 04b8, product 0e15"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "",
            "printer URI is empty: write one of usb:04b8:0e15, serial:/dev/ttyUSB0?baudrate=19200, "
            "tcp://192.168.1.50:9100 or file:/dev/usb/lp0",
        ),
        (
            "/dev/usb/lp0",
            "printer URI '/dev/usb/lp0': no kind given. Did you mean 'file:/dev/usb/lp0'? Write one of "
            "usb:04b8:0e15, serial:/dev/ttyUSB0?baudrate=19200, tcp://192.168.1.50:9100 or "
            "file:/dev/usb/lp0",
        ),
        (
            "tpc://10.0.0.7",
            "printer URI 'tpc://10.0.0.7': unknown kind 'tpc'. Did you mean 'tcp'? Write one of "
            "usb:04b8:0e15, serial:/dev/ttyUSB0?baudrate=19200, tcp://192.168.1.50:9100 or "
            "file:/dev/usb/lp0",
        ),
        (
            "usb:04b8",
            "printer URI 'usb:04b8': expected usb:VID:PID with the vendor and product ID in hexadecimal as "
            "lsusb shows them ('ID 04b8:0e15'), e.g. usb:04b8:0e15",
        ),
        (
            "usb:epson:0e15",
            f"printer URI 'usb:epson:0e15': vendor ID 'epson' is not a hexadecimal number of up to "
            f"4 digits ({USB_IDS})",
        ),
        (
            "usb:04b8:0e155",
            f"printer URI 'usb:04b8:0e155': product ID '0e155' is not a hexadecimal number of up to "
            f"4 digits ({USB_IDS})",
        ),
        (
            "usb:0000:0e15",
            "printer URI 'usb:0000:0e15': vendor ID 0000 is not a device's ID; copy it from lsusb, e.g. usb:04b8:0e15",
        ),
        (
            "usb:04b8:0e15?in_ep=0x02",
            "printer URI 'usb:04b8:0e15?in_ep=0x02': in_ep=0x02 is an OUT endpoint; IN "
            "endpoints have bit 7 set, e.g. in_ep=0x81 or 0x82 (lsusb -v shows "
            "'bEndpointAddress ... IN')",
        ),
        (
            "usb:04b8:0e15?out_ep=0x81",
            "printer URI 'usb:04b8:0e15?out_ep=0x81': out_ep=0x81 is an IN endpoint; OUT "
            "endpoints have bit 7 clear, e.g. out_ep=0x01 or 0x02 (lsusb -v shows "
            "'bEndpointAddress ... OUT')",
        ),
        (
            "usb:04b8:0e15?in_ep=x",
            "printer URI 'usb:04b8:0e15?in_ep=x': in_ep=x is not a number (write it in decimal "
            "or as 0x.. in hexadecimal)",
        ),
        (
            "usb:04b8:0e15?interface=300",
            "printer URI 'usb:04b8:0e15?interface=300': interface=300 is out of range: it must be from 0 to 255",
        ),
        (
            "usb:04b8:0e15?inep=0x81",
            "printer URI 'usb:04b8:0e15?inep=0x81': unknown option 'inep' for usb printers. "
            "Did you mean 'in_ep'? Known options: in_ep, out_ep, interface",
        ),
        (
            "usb:04b8:0e15?in_ep=0x81&in_ep=0x82",
            "printer URI 'usb:04b8:0e15?in_ep=0x81&in_ep=0x82': option 'in_ep' is given twice",
        ),
        ("usb:04b8:0e15?in_ep", "printer URI 'usb:04b8:0e15?in_ep': option 'in_ep' has no value; write in_ep=VALUE"),
        (
            "serial:ttyUSB0",
            "printer URI 'serial:ttyUSB0': expected serial:DEVICE with the device's full path, "
            "e.g. serial:/dev/ttyUSB0?baudrate=19200",
        ),
        (
            "serial:/dev/ttyUSB0?baudrate=19201",
            "printer URI 'serial:/dev/ttyUSB0?baudrate=19201': baudrate=19201 is "
            "not a printer's rate; use the one set on the printer, one of 1200, "
            "2400, 4800, 9600, 19200, 38400, 57600, 115200",
        ),
        (
            "serial:/dev/ttyUSB0?baudrate=fast",
            "printer URI 'serial:/dev/ttyUSB0?baudrate=fast': baudrate=fast is not a "
            "number (write it in decimal or as 0x.. in hexadecimal)",
        ),
        (
            "serial:/dev/ttyUSB0?parity=X",
            "printer URI 'serial:/dev/ttyUSB0?parity=X': parity=X is not a parity; use "
            "N (none), E (even), O (odd), M or S",
        ),
        (
            "serial:/dev/ttyUSB0?stopbits=3",
            "printer URI 'serial:/dev/ttyUSB0?stopbits=3': stopbits=3 is not possible; use 1, 1.5 or 2",
        ),
        (
            "serial:/dev/ttyUSB0?bytesize=9",
            "printer URI 'serial:/dev/ttyUSB0?bytesize=9': bytesize=9 is out of range: it must be from 5 to 8",
        ),
        (
            "serial:/dev/ttyUSB0?baud=19200",
            "printer URI 'serial:/dev/ttyUSB0?baud=19200': unknown option 'baud' for "
            "serial printers. Did you mean 'baudrate'? Known options: baudrate, "
            "bytesize, parity, stopbits",
        ),
        (
            "tcp:192.168.1.50:9100",
            "printer URI 'tcp:192.168.1.50:9100': expected tcp://HOST:PORT, e.g. "
            "tcp://192.168.1.50:9100 (port 9100 when left out)",
        ),
        (
            "tcp://192.168.1.50:printer",
            "printer URI 'tcp://192.168.1.50:printer': port 'printer' is not a port "
            "number from 1 to 65535 (raw ESC/POS printers listen on 9100)",
        ),
        (
            "tcp://192.168.1.50:70000",
            "printer URI 'tcp://192.168.1.50:70000': port '70000' is not a port number "
            "from 1 to 65535 (raw ESC/POS printers listen on 9100)",
        ),
        (
            "tcp://:9100",
            "printer URI 'tcp://:9100': the host is missing; write tcp://HOST:PORT, e.g. tcp://192.168.1.50:9100",
        ),
        (
            "tcp://fd00::50:9100",
            "printer URI 'tcp://fd00::50:9100': an IPv6 address goes in brackets: tcp://[fd00::50]:9100",
        ),
        (
            "tcp://printer/ticket",
            "printer URI 'tcp://printer/ticket': a printer's address has no path; write "
            "tcp://HOST:PORT, e.g. tcp://192.168.1.50:9100",
        ),
        (
            "tcp://drucker_eingang:9100",
            "printer URI 'tcp://drucker_eingang:9100': 'drucker_eingang' is not a host name or IPv4 address",
        ),
        (
            "tcp://printer:9100?timeout=5",
            "printer URI 'tcp://printer:9100?timeout=5': unknown option 'timeout' for "
            "tcp printers. Known options: none",
        ),
        ("file:lp0", "printer URI 'file:lp0': expected file:PATH with the device's full path, e.g. file:/dev/usb/lp0"),
    ],
)
def test_each_mistake_gets_a_message_that_says_what_is_right(text, message):
    with pytest.raises(PrinterConfigError) as raised:
        parse_printer_uri(text)
    assert str(raised.value) == message
