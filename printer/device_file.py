"""Printers behind a device file (the usblp driver's /dev/usb/lp0) or a plain file: non-blocking I/O
with poll() deadlines."""

from __future__ import annotations

import errno
import os
import select
import stat
import time

from escpos.printer import File

from appliance.printer.connection import PrinterConnection
from appliance.printer.errors import PrinterError, PrinterGone


class FileConnection(PrinterConnection):
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
