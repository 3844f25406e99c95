"""USB printers through libusb (python-escpos' Usb): every transfer gets a timeout in milliseconds."""

from __future__ import annotations

import errno

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Usb

# Like python-escpos, USB support is optional: without it the other printers still work.
try:
    import usb.core
except ImportError:  # pragma: no cover - installed with python-escpos[usb]
    usb = None

from appliance.printer.connection import PrinterConnection
from appliance.printer.errors import PrinterError, PrinterGone


class UsbConnection(PrinterConnection):
    """USB printers through libusb: python-escpos' own timeout, which defaults to 0 (forever), is always set."""

    def _open(self) -> None:
        if usb is None:
            raise PrinterError("USB printers need pyusb: install python-escpos[usb]")
        uri = self.uri
        self.printer = Usb(
            uri.vendor_id,
            uri.product_id,
            timeout=self._milliseconds(self.timeout_s),
            in_ep=uri.in_ep,
            out_ep=uri.out_ep,
            profile=self.profile,
        )
        try:
            self.printer.open()
        except usb.core.NoBackendError:
            raise PrinterError("USB printers need libusb: install Debian's libusb-1.0-0") from None
        except DeviceNotFoundError as error:
            raise PrinterGone(
                f"printer {uri} is not on the USB bus: is it plugged in and switched on? "
                f"(lsusb lists it as {uri.vendor_id:04x}:{uri.product_id:04x}) {error}"
            ) from None
        if uri.interface:
            # python-escpos only frees interface 0 from a kernel driver; free the configured one too.
            device = self.printer.device
            try:
                if device.is_kernel_driver_active(uri.interface):
                    device.detach_kernel_driver(uri.interface)
            except (NotImplementedError, usb.core.USBError):
                pass

    @staticmethod
    def _milliseconds(seconds: float) -> int:
        return max(1, int(seconds * 1000))

    def _write(self, data: bytes, deadline: float) -> None:
        try:
            self.printer.device.write(self.uri.out_ep, data, self._milliseconds(self._remaining(deadline)))
        except Exception as error:
            raise self._usb_error(error, "took no data") from None

    def _read(self, expect: int, deadline: float) -> bytes:
        reply = b""
        while len(reply) < expect and self._remaining(deadline) > 0:
            try:
                chunk = self.printer.device.read(self.uri.in_ep, 64, self._milliseconds(self._remaining(deadline)))
            except usb.core.USBTimeoutError:
                break
            except Exception as error:
                raise self._usb_error(error, "did not answer") from None
            reply += bytes(chunk)
        return reply[:expect]

    def _discard_input(self) -> None:
        for _ in range(16):
            try:
                self.printer.device.read(self.uri.in_ep, 64, 1)
            except usb.core.USBTimeoutError:
                return
            except Exception as error:
                raise self._usb_error(error, "did not answer") from None

    def _usb_error(self, error: Exception, what: str) -> PrinterError:
        if isinstance(error, usb.core.USBTimeoutError):
            return self._timeout(what)
        number = getattr(error, "errno", None)
        if number == errno.EBUSY:
            return PrinterGone(
                f"printer {self.uri} is held by the usblp kernel driver: unbind or blacklist usblp "
                "for it (see systemd/60-entrance-appliance-printer.rules) or use file:/dev/usb/lp0"
            )
        if number in (errno.EACCES, errno.EPERM):
            return PrinterError(
                f"no permission for USB printer {self.uri}: install "
                "systemd/60-entrance-appliance-printer.rules and put the service user in group lp"
            )
        return PrinterGone(f"USB printer {self.uri} failed: {error} (unplugged?)")
