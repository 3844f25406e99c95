"""How bytes reach the printer: ``open_printer`` and what every connection shares; one module per
URI kind (network.py, usb_device.py, serial_port.py, device_file.py), like python-escpos' backends.

python-escpos opens the device (its public ``device``: a socket, a pyusb device, a pyserial port or
a file); the reads and writes are done on that handle, each with a deadline python-escpos does not
offer. Used from the daemon's printer thread only; a stuck printer costs that thread a timeout,
never the core.
"""

from __future__ import annotations

import time

from appliance.printer.errors import PrinterError, PrinterGone, PrinterTimeout
from appliance.printer.profiles import load_profile
from appliance.printer.uri import (
    PrinterURI,
    SerialPrinterURI,
    TcpPrinterURI,
    UsbPrinterURI,
    parse_printer_uri,
)

DEFAULT_TIMEOUT_S = 5.0


def open_printer(
    uri: str | PrinterURI, profile: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> PrinterConnection:
    """Open the printer a URI names; every later write and query is bounded by ``timeout_s``."""
    parsed = parse_printer_uri(uri) if isinstance(uri, str) else uri
    if not timeout_s > 0:
        # python-escpos' USB backend reads 0 as "wait forever": exactly what must never happen here.
        raise PrinterError(f"printer timeout must be more than 0 seconds, not {timeout_s}")
    load_profile(profile, 80)  # an unknown profile name fails here, with suggestions
    # Imported on demand: USB and serial support are optional extras of python-escpos.
    if isinstance(parsed, UsbPrinterURI):
        from appliance.printer.usb_device import UsbConnection as kind
    elif isinstance(parsed, SerialPrinterURI):
        from appliance.printer.serial_port import SerialConnection as kind
    elif isinstance(parsed, TcpPrinterURI):
        from appliance.printer.network import TcpConnection as kind
    else:
        from appliance.printer.device_file import FileConnection as kind
    connection = kind(parsed, profile, timeout_s)
    connection._open()
    return connection


class PrinterConnection:
    """An open line to one printer, wrapping its python-escpos backend (``.printer``).

    Owned by one thread at a time. After a failed write the connection closes itself: half a
    command may have gone out, so the next ticket must start on a fresh connection.
    """

    def __init__(self, uri: PrinterURI, profile: str | None, timeout_s: float) -> None:
        self.uri = uri
        self.profile = profile
        self.timeout_s = timeout_s
        self.printer = None
        self._closed = False
        self._failed = False

    def write(self, data: bytes) -> None:
        """Send bytes; ``PrinterTimeout`` when the printer takes them not within the timeout."""
        self._check_open()
        if data:
            self._guarded(self._write, bytes(data), time.monotonic() + self.timeout_s)

    def query(self, command: bytes, timeout_s: float | None = None, *, expect: int = 1) -> bytes | None:
        """Send a command and read up to ``expect`` bytes of answer; ``None`` when nothing came in time.

        Silence is an answer of its own (printer off, one-way cable, wrong port) and is never read as
        "all is well". Stale bytes from an earlier, late answer are discarded before asking.
        """
        self._check_open()
        if not self._can_answer():
            return None
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        self._guarded(self._discard_input)
        self._guarded(self._write, bytes(command), deadline)
        reply = self._guarded(self._read, expect, deadline)
        return reply or None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._close()
            except Exception:  # closing a vanished device may fail in many ways; it is closed either way
                pass

    def __enter__(self) -> PrinterConnection:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri}{' closed' if self._closed else ''}>"

    def _check_open(self) -> None:
        if self._closed:
            raise PrinterGone(
                f"printer {self.uri}: the connection is closed (after an error or by close()); open it again"
            )

    def _guarded(self, operation, *args):
        try:
            return operation(*args)
        except PrinterError:
            self._failed = True
            self.close()
            raise

    def _remaining(self, deadline: float) -> float:
        return deadline - time.monotonic()

    def _timeout(self, what: str) -> PrinterTimeout:
        return PrinterTimeout(
            f"printer {self.uri} {what} within {self.timeout_s:g} s: "
            "paper jam, cover open, or the printer hangs; check it and switch it off and on"
        )

    def _can_answer(self) -> bool:
        return True

    # Each backend fills these in.
    def _open(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes, deadline: float) -> None:
        raise NotImplementedError

    def _read(self, expect: int, deadline: float) -> bytes:
        raise NotImplementedError

    def _discard_input(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        if self.printer is not None:
            self.printer.close()
