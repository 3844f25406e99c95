"""How bytes reach the printer: one python-escpos backend per URI kind, every I/O bounded by a timeout.

python-escpos opens the device (its public ``device``: a socket, a pyusb device, a pyserial port or
a file); the reads and writes are done here on that handle, each with a deadline python-escpos does
not offer. Used from the daemon's printer thread only; a stuck printer costs that thread a timeout,
never the core.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
import time

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import File, Network, Serial, Usb

# Like python-escpos, USB and serial support are optional: without them the other printers still work.
try:
    import usb.core
except ImportError:  # pragma: no cover - installed with python-escpos[usb]
    usb = None
try:
    import serial
except ImportError:  # pragma: no cover - installed with python-escpos[serial]
    serial = None

from appliance.printer.errors import PrinterError, PrinterGone, PrinterTimeout
from appliance.printer.profiles import load_profile
from appliance.printer.uri import (
    FilePrinterURI,
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
    kind = {
        UsbPrinterURI: _UsbConnection,
        SerialPrinterURI: _SerialConnection,
        TcpPrinterURI: _TcpConnection,
        FilePrinterURI: _FileConnection,
    }[type(parsed)]
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


class _TcpConnection(PrinterConnection):
    """Network printers on raw TCP (port 9100): socket timeouts bound connect, send and receive."""

    def _open(self) -> None:
        self.printer = Network(self.uri.host, self.uri.port, timeout=self.timeout_s, profile=self.profile)
        try:
            self.printer.open()
        except DeviceNotFoundError as error:
            cause = error.__context__
            if isinstance(cause, TimeoutError):
                raise PrinterTimeout(
                    f"printer {self.uri} did not accept a connection within {self.timeout_s:g} s: "
                    "is it switched on and is the address right?"
                ) from None
            if isinstance(cause, ConnectionRefusedError):
                raise PrinterGone(
                    f"printer {self.uri} refused the connection: is the port right (raw ESC/POS "
                    "is 9100), or is another program connected to it?"
                ) from None
            raise PrinterGone(f"printer {self.uri} cannot be reached: {cause or error}") from None
        # Status queries are a few bytes each; waiting for Nagle's algorithm would only add latency.
        self.printer.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _write(self, data: bytes, deadline: float) -> None:
        sock = self.printer.device
        sock.settimeout(max(0.001, self._remaining(deadline)))
        try:
            # sendall's timeout bounds the whole call (Python >= 3.5), not each chunk.
            sock.sendall(data)
        except TimeoutError:
            raise self._timeout("took no data") from None
        except OSError as error:
            raise PrinterGone(f"printer {self.uri} dropped the connection: {error}") from None

    def _read(self, expect: int, deadline: float) -> bytes:
        sock = self.printer.device
        reply = b""
        while len(reply) < expect:
            # With the time used up, one last look without waiting: the answer may be there already.
            sock.settimeout(max(0.0, self._remaining(deadline)))
            try:
                chunk = sock.recv(expect - len(reply))
            except (TimeoutError, BlockingIOError):
                break
            except OSError as error:
                raise PrinterGone(f"printer {self.uri} dropped the connection: {error}") from None
            if not chunk:
                raise PrinterGone(f"printer {self.uri} closed the connection")
            reply += chunk
        return reply

    def _discard_input(self) -> None:
        sock = self.printer.device
        sock.setblocking(False)
        chunk = b"-"
        try:
            while chunk:
                chunk = sock.recv(4096)
        except BlockingIOError:
            pass
        except OSError as error:
            raise PrinterGone(f"printer {self.uri} dropped the connection: {error}") from None
        finally:
            sock.settimeout(self.timeout_s)
        if not chunk:
            raise PrinterGone(f"printer {self.uri} closed the connection")


class _UsbConnection(PrinterConnection):
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


class _SerialConnection(PrinterConnection):
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


class _FileConnection(PrinterConnection):
    """Device files (usblp's /dev/usb/lp0) opened non-blocking, waited on with poll() until the deadline.

    A blocking write to usblp waits as long as the printer is out of paper. A writer thread with a
    deadline would give up waiting but stay stuck in the kernel holding the file; Python cannot
    cancel it, and every further ticket would leave another one. O_NONBLOCK lets this thread stop
    at the deadline and close the file cleanly.
    """

    def _open(self) -> None:
        path = self.uri.path
        try:
            mode = os.stat(path).st_mode
            flags = os.O_RDWR if stat.S_ISCHR(mode) else os.O_WRONLY | os.O_APPEND
        except FileNotFoundError:
            if path.startswith("/dev/"):
                raise PrinterGone(
                    f"printer {self.uri}: {path} does not exist: is the printer plugged in and "
                    "switched on? (/dev/usb/lp0 appears when the usblp driver takes the printer)"
                ) from None
            # Outside /dev a plain file collects the bytes, e.g. to look at a ticket without a printer.
            mode, flags = stat.S_IFREG, os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self._readable = stat.S_ISCHR(mode)
        common = os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
        try:
            try:
                fd = os.open(path, flags | common, 0o644)
            except PermissionError:
                if not self._readable:
                    raise
                # Write-only access is enough to print; status queries then get no answer.
                fd = os.open(path, os.O_WRONLY | common)
                self._readable = False
        except PermissionError:
            raise PrinterError(
                f"no permission to write {path}: put the service user in group lp (or the file's group)"
            ) from None
        except OSError as error:
            if error.errno == errno.ENXIO:
                raise PrinterGone(
                    f"printer {self.uri}: nothing is behind {path} (device gone, or a pipe without a reader)"
                ) from None
            raise PrinterGone(f"printer {self.uri} cannot be opened: {error}") from None
        self._fd = fd
        self.printer = File(devfile=path, profile=self.profile)
        self.printer.device = os.fdopen(fd, "r+b" if self._readable else "ab", buffering=0)

    def _write(self, data: bytes, deadline: float) -> None:
        # Not python-escpos' _raw(): on a non-blocking file it would drop what the device did not take.
        view = memoryview(data)
        poller = select.poll()
        poller.register(self._fd, select.POLLOUT)
        while view:
            try:
                written = os.write(self._fd, view)
                view = view[written:]
                continue
            except BlockingIOError:
                pass
            except OSError as error:
                raise PrinterGone(f"printer {self.uri} failed: {error} (unplugged?)") from None
            remaining = self._remaining(deadline)
            if remaining <= 0:
                raise self._timeout(f"took no data ({len(view)} of {len(data)} bytes not taken)")
            events = poller.poll(remaining * 1000)
            if any(event & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, event in events):
                raise PrinterGone(f"printer {self.uri} went away while printing")

    def _can_answer(self) -> bool:
        # A plain file or a device opened write-only never answers: no use asking or waiting.
        return self._readable

    def _read(self, expect: int, deadline: float) -> bytes:
        reply = b""
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while len(reply) < expect:
            remaining = self._remaining(deadline)
            if remaining <= 0:
                break
            if not poller.poll(min(remaining, 0.05) * 1000):
                continue
            try:
                chunk = os.read(self._fd, expect - len(reply))
            except BlockingIOError:
                continue
            except OSError as error:
                if self._one_way(error):
                    break
                raise PrinterGone(f"printer {self.uri} failed: {error} (unplugged?)") from None
            if not chunk:
                time.sleep(0.02)  # usblp reports end of data when the printer has nothing to say yet
            reply += chunk
        return reply

    def _discard_input(self) -> None:
        if not self._readable:
            return
        for _ in range(64):
            try:
                if not os.read(self._fd, 4096):
                    return
            except BlockingIOError:
                return
            except OSError as error:
                if self._one_way(error):
                    return
                raise PrinterGone(f"printer {self.uri} failed: {error} (unplugged?)") from None

    def _one_way(self, error: OSError) -> bool:
        # usblp refuses reads from a printer without a back channel (EINVAL): the printer is
        # still there and prints, it just never answers; later queries return None at once.
        if error.errno == errno.EINVAL:
            self._readable = False
            return True
        return False
