"""Printer URIs as written in config files and on the command line, parsed into frozen values.

``usb:VID:PID``, ``serial:/dev/ttyUSB0?baudrate=19200``, ``tcp://HOST:PORT`` and ``file:/dev/usb/lp0``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from appliance.printer.errors import PrinterConfigError

EXAMPLES = "usb:04b8:0e15, serial:/dev/ttyUSB0?baudrate=19200, tcp://192.168.1.50:9100 or file:/dev/usb/lp0"
KINDS = ("usb", "serial", "tcp", "file")
DEFAULT_TCP_PORT = 9100
# The rates ESC/POS printers offer on their DIP switches or in their setup utilities.
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
PARITIES = {
    "n": "N",
    "none": "N",
    "e": "E",
    "even": "E",
    "o": "O",
    "odd": "O",
    "m": "M",
    "mark": "M",
    "s": "S",
    "space": "S",
}
_HEX_ID = re.compile(r"(?:0x)?([0-9a-f]{1,4})", re.IGNORECASE)
_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class UsbPrinterURI:
    """A printer on USB, found by vendor and product ID (as ``lsusb`` shows them)."""

    vendor_id: int
    product_id: int
    in_ep: int = 0x82
    out_ep: int = 0x01
    interface: int = 0

    def __str__(self) -> str:
        text = f"usb:{self.vendor_id:04x}:{self.product_id:04x}"
        options = []
        if self.in_ep != 0x82:
            options.append(f"in_ep=0x{self.in_ep:02x}")
        if self.out_ep != 0x01:
            options.append(f"out_ep=0x{self.out_ep:02x}")
        if self.interface != 0:
            options.append(f"interface={self.interface}")
        return text + ("?" + "&".join(options) if options else "")


@dataclass(frozen=True)
class SerialPrinterURI:
    """A printer on a serial port (RS-232 or a USB-serial adapter)."""

    device: str
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1

    def __str__(self) -> str:
        options = [f"baudrate={self.baudrate}"]
        if self.bytesize != 8:
            options.append(f"bytesize={self.bytesize}")
        if self.parity != "N":
            options.append(f"parity={self.parity}")
        if self.stopbits != 1:
            options.append(f"stopbits={self.stopbits:g}")
        return f"serial:{self.device}?" + "&".join(options)


@dataclass(frozen=True)
class TcpPrinterURI:
    """A printer on the network speaking raw ESC/POS on a TCP port (9100 by convention)."""

    host: str
    port: int = DEFAULT_TCP_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


@dataclass(frozen=True)
class FilePrinterURI:
    """A printer behind a device file such as the kernel's ``/dev/usb/lp0`` (or a plain file)."""

    path: str

    def __str__(self) -> str:
        return f"file:{self.path}"


PrinterURI = UsbPrinterURI | SerialPrinterURI | TcpPrinterURI | FilePrinterURI


def parse_printer_uri(text: str) -> PrinterURI:
    """Parse a printer URI; a ``PrinterConfigError`` (a ``ValueError``) says what is wrong and what is right."""
    original = text
    text = (text or "").strip()
    if not text:
        raise PrinterConfigError(f"printer URI is empty: write one of {EXAMPLES}")
    kind, colon, rest = text.partition(":")
    if not colon:
        hint = f" Did you mean 'file:{text}'?" if text.startswith("/") else ""
        raise _error(original, f"no kind given.{hint} Write one of {EXAMPLES}")
    kind = kind.lower()
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise _error(original, f"unknown kind '{kind}'.{hint} Write one of {EXAMPLES}")
    location, _, query = rest.partition("?")
    options = _options(original, query)
    parse = {"usb": _usb, "serial": _serial, "tcp": _tcp, "file": _file}[kind]
    return parse(original, location, options)


def _error(uri: str, problem: str) -> PrinterConfigError:
    return PrinterConfigError(f"printer URI '{uri}': {problem}")


def _options(uri: str, query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in filter(None, query.split("&")):
        key, equals, value = item.partition("=")
        key = key.strip().lower()
        if not equals or not value.strip():
            raise _error(uri, f"option '{key}' has no value; write {key}=VALUE")
        if key in options:
            raise _error(uri, f"option '{key}' is given twice")
        options[key] = value.strip()
    return options


def _reject_unknown(uri: str, kind: str, options: dict[str, str], known: tuple[str, ...]) -> None:
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            allowed = ", ".join(known) if known else "none"
            raise _error(uri, f"unknown option '{key}' for {kind} printers.{hint} Known options: {allowed}")


def _usb(uri: str, location: str, options: dict[str, str]) -> UsbPrinterURI:
    _reject_unknown(uri, "usb", options, ("in_ep", "out_ep", "interface"))
    parts = location.split(":")
    if len(parts) != 2:
        raise _error(
            uri,
            "expected usb:VID:PID with the vendor and product ID in hexadecimal as "
            "lsusb shows them ('ID 04b8:0e15'), e.g. usb:04b8:0e15",
        )
    vendor, product = (_usb_id(uri, name, part) for name, part in zip(("vendor", "product"), parts))
    in_ep = _integer(uri, "in_ep", options.get("in_ep", "0x82"), 1, 0xFF)
    out_ep = _integer(uri, "out_ep", options.get("out_ep", "0x01"), 1, 0xFF)
    # The direction lives in bit 7 of an endpoint address; swapping them is a common slip.
    if not in_ep & 0x80:
        raise _error(
            uri,
            f"in_ep=0x{in_ep:02x} is an OUT endpoint; IN endpoints have bit 7 set, e.g. "
            "in_ep=0x81 or 0x82 (lsusb -v shows 'bEndpointAddress ... IN')",
        )
    if out_ep & 0x80:
        raise _error(
            uri,
            f"out_ep=0x{out_ep:02x} is an IN endpoint; OUT endpoints have bit 7 clear, e.g. "
            "out_ep=0x01 or 0x02 (lsusb -v shows 'bEndpointAddress ... OUT')",
        )
    interface = _integer(uri, "interface", options.get("interface", "0"), 0, 255)
    return UsbPrinterURI(vendor, product, in_ep, out_ep, interface)


def _usb_id(uri: str, name: str, text: str) -> int:
    match = _HEX_ID.fullmatch(text.strip())
    if not match:
        raise _error(
            uri,
            f"{name} ID '{text}' is not a hexadecimal number of up to 4 digits "
            "(lsusb shows 'ID 04b8:0e15': vendor 04b8, product 0e15)",
        )
    value = int(match.group(1), 16)
    if value == 0:
        # python-escpos would search without this ID and take any USB device.
        raise _error(uri, f"{name} ID 0000 is not a device's ID; copy it from lsusb, e.g. usb:04b8:0e15")
    return value


def _integer(uri: str, name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise _error(uri, f"{name}={text} is not a number (write it in decimal or as 0x.. in hexadecimal)") from None
    if not low <= value <= high:
        raise _error(uri, f"{name}={text} is out of range: it must be from {low} to {high}")
    return value


def _serial(uri: str, location: str, options: dict[str, str]) -> SerialPrinterURI:
    _reject_unknown(uri, "serial", options, ("baudrate", "bytesize", "parity", "stopbits"))
    device = _absolute_path(location)
    if not device.startswith("/") or device == "/":
        raise _error(uri, "expected serial:DEVICE with the device's full path, e.g. serial:/dev/ttyUSB0?baudrate=19200")
    baudrate = _integer(uri, "baudrate", options.get("baudrate", "9600"), 1, 4_000_000)
    if baudrate not in BAUDRATES:
        raise _error(
            uri,
            f"baudrate={baudrate} is not a printer's rate; use the one set on the printer, "
            f"one of {', '.join(map(str, BAUDRATES))}",
        )
    bytesize = _integer(uri, "bytesize", options.get("bytesize", "8"), 5, 8)
    parity_text = options.get("parity", "N")
    parity = PARITIES.get(parity_text.lower())
    if parity is None:
        raise _error(uri, f"parity={parity_text} is not a parity; use N (none), E (even), O (odd), M or S")
    stopbits_text = options.get("stopbits", "1")
    if stopbits_text not in ("1", "1.5", "2"):
        raise _error(uri, f"stopbits={stopbits_text} is not possible; use 1, 1.5 or 2")
    return SerialPrinterURI(
        device, baudrate, bytesize, parity, float(stopbits_text) if stopbits_text == "1.5" else int(stopbits_text)
    )


def _tcp(uri: str, location: str, options: dict[str, str]) -> TcpPrinterURI:
    _reject_unknown(uri, "tcp", options, ())
    if not location.startswith("//"):
        raise _error(uri, "expected tcp://HOST:PORT, e.g. tcp://192.168.1.50:9100 (port 9100 when left out)")
    netloc = location[2:]
    if "/" in netloc:
        raise _error(uri, "a printer's address has no path; write tcp://HOST:PORT, e.g. tcp://192.168.1.50:9100")
    if netloc.startswith("["):
        host, bracket, after = netloc[1:].partition("]")
        if not bracket or not host or (after and not after.startswith(":")):
            raise _error(uri, "an IPv6 address goes in brackets: tcp://[fd00::50]:9100")
        port_text = after[1:] if after else ""
    else:
        if netloc.count(":") > 1:
            raise _error(uri, "an IPv6 address goes in brackets: tcp://[fd00::50]:9100")
        host, _, port_text = netloc.partition(":")
        if not host:
            raise _error(uri, "the host is missing; write tcp://HOST:PORT, e.g. tcp://192.168.1.50:9100")
        if not _HOSTNAME.fullmatch(host):
            raise _error(uri, f"'{host}' is not a host name or IPv4 address")
    port = DEFAULT_TCP_PORT
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise _error(
                uri, f"port '{port_text}' is not a port number from 1 to 65535 (raw ESC/POS printers listen on 9100)"
            )
        port = int(port_text)
    return TcpPrinterURI(host, port)


def _file(uri: str, location: str, options: dict[str, str]) -> FilePrinterURI:
    _reject_unknown(uri, "file", options, ())
    path = _absolute_path(location)
    if not path.startswith("/") or path == "/":
        raise _error(uri, "expected file:PATH with the device's full path, e.g. file:/dev/usb/lp0")
    return FilePrinterURI(path)


def _absolute_path(location: str) -> str:
    # Accept the URL spelling 'file:///dev/usb/lp0' as well as 'file:/dev/usb/lp0'.
    return location[2:] if location.startswith("///") else location
