"""Serial printers through pyserial (python-escpos' Serial): write and read timeouts bound every I/O."""

from __future__ import annotations

import errno
import time

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Serial

# Like python-escpos, serial support is optional: without it the other printers still work.
try:
    import serial
except ImportError:  # pragma: no cover - installed with python-escpos[serial]
    serial = None

from appliance.printer.connection import PrinterConnection
from appliance.printer.errors import PrinterError, PrinterGone


class SerialConnection(PrinterConnection):
    """Serial printers through pyserial: write_timeout bounds writes, the read timeout bounds answers."""

    def _open(self) -> None:
        if serial is None:
            raise PrinterError("serial printers need pyserial: install python-escpos[serial]")
        uri = self.uri
        self.printer = Serial(
            uri.device,
            baudrate=uri.baudrate,
            bytesize=uri.bytesize,
            timeout=self.timeout_s,
            parity=uri.parity,
            stopbits=uri.stopbits,
            profile=self.profile,
        )
        try:
            self.printer.open()
        except DeviceNotFoundError as error:
            cause = error.__context__
            if getattr(cause, "errno", None) in (errno.EACCES, errno.EPERM):
                raise PrinterError(
                    f"no permission to open {uri.device}: put the service user in group dialout"
                ) from None
            raise PrinterGone(f"serial printer {uri} cannot be opened: {cause or error}") from None
        # python-escpos sets no write timeout: with flow control held off a write would wait forever.
        self.printer.device.write_timeout = self.timeout_s

    def _write(self, data: bytes, deadline: float) -> None:
        device = self.printer.device
        device.write_timeout = max(0.001, self._remaining(deadline))
        try:
            device.write(data)
        except serial.SerialTimeoutException:
            raise self._timeout("took no data") from None
        except (serial.SerialException, OSError) as error:
            raise PrinterGone(f"serial printer {self.uri} failed: {error} (unplugged?)") from None

    def _read(self, expect: int, deadline: float) -> bytes:
        device = self.printer.device
        device.timeout = max(0.0, self._remaining(deadline))
        try:
            return device.read(expect)
        except (serial.SerialException, OSError) as error:
            raise PrinterGone(f"serial printer {self.uri} failed: {error} (unplugged?)") from None

    def _discard_input(self) -> None:
        try:
            self.printer.device.reset_input_buffer()
        except (serial.SerialException, OSError) as error:
            raise PrinterGone(f"serial printer {self.uri} failed: {error} (unplugged?)") from None

    def _close(self) -> None:
        # python-escpos' close() drains the output with tcdrain, which waits as long as flow control
        # holds the line. Give the last ticket the timeout to drain, then drop what is left.
        device = self.printer._device if self.printer is not None else None
        if device and device.is_open:
            # After a failure the printer takes nothing: waiting for it to drain would be wasted time.
            deadline = time.monotonic() + (0 if self._failed else self.timeout_s)
            try:
                while device.out_waiting and time.monotonic() < deadline:
                    time.sleep(0.02)
                device.reset_output_buffer()
            finally:
                device.close()
        if self.printer is not None:
            self.printer._device = False
