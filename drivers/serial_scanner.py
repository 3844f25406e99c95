"""QR scanners in USB-serial (CDC-ACM) mode: each code is a line of bytes on /dev/ttyACM*.

Same callbacks as the evdev scanner; the port is locked exclusively and reopened after an unplug.
"""

import logging
import threading
import time
from collections.abc import Callable

import serial

from appliance.domain.backoff import Backoff
from appliance.drivers.code_reader import FAILED, OK, CodeReader, OnCode, OnHealth
from appliance.drivers.errors import BadDriverSetting

log = logging.getLogger("appliance.drivers.serial_scanner")

DEFAULT_MAX_GAP_S = 0.2
"""Longest pause inside one line: a code arrives in one or a few USB packets, milliseconds apart."""
DEFAULT_MAX_LENGTH = 512
"""Longest line kept, in bytes."""
_TERMINATORS = b"\r\n"


class LineAssembler:
    """Bytes in, finished lines out: a pure function of the data and the times it arrived.

    CR, LF or CR LF end a line; empty lines are nothing; a pause longer than ``max_gap_s``
    drops the partial line; a line longer than ``max_length`` bytes is dropped whole; bytes
    that are not UTF-8 become U+FFFD, so the core sees an unreadable code, never an exception.
    """

    def __init__(self, *, max_gap_s: float = DEFAULT_MAX_GAP_S, max_length: int = DEFAULT_MAX_LENGTH):
        if max_gap_s <= 0 or max_length < 1:
            raise BadDriverSetting("max_gap_s must be positive and max_length at least 1")
        self.max_gap_s = max_gap_s
        self.max_length = max_length
        self.dropped_partial = 0
        self.dropped_too_long = 0
        self._buffer = bytearray()
        self._overflow = False
        self._last: float | None = None

    def feed(self, data: bytes, now: float) -> list[str]:
        if self._last is not None and (now - self._last > self.max_gap_s or now < self._last):
            if self._buffer:
                self.dropped_partial += 1
            self._buffer.clear()
            self._overflow = False
        self._last = now
        lines = []
        for byte in data:
            if byte in _TERMINATORS:
                if self._buffer and not self._overflow:
                    lines.append(self._buffer.decode("utf-8", errors="replace"))
                self._buffer.clear()
                self._overflow = False
            elif not self._overflow:
                self._buffer.append(byte)
                if len(self._buffer) > self.max_length:
                    self.dropped_too_long += 1
                    self._buffer.clear()
                    self._overflow = True
        return lines


class SerialScanner(CodeReader):
    """A scanner on a serial port, read on its own thread; reopened with backoff when lost.

    ``port`` is a device path (best: /dev/serial/by-id/…, stable across replugs) or any URL
    pyserial understands. The port is locked exclusively. Baud rate matters only for real
    RS-232 adapters; CDC-ACM ignores it. ``monotonic()`` stamps each arrival of bytes (the pauses
    between them end half a line).
    """

    def __init__(
        self,
        port: str,
        on_code: OnCode,
        on_health: OnHealth,
        *,
        baudrate: int = 9600,
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        max_length: int = DEFAULT_MAX_LENGTH,
        label: str | None = None,
        retry_initial_s: float = 0.25,
        retry_max_s: float = 5.0,
        open_port: Callable[..., serial.SerialBase] = serial.serial_for_url,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        LineAssembler(max_gap_s=max_gap_s, max_length=max_length)  # fail early on bad options
        super().__init__(label or f"serial {port}", on_code, on_health, log)
        self.port = port
        self._baudrate = baudrate
        self._assembler_options = dict(max_gap_s=max_gap_s, max_length=max_length)
        self._retry = (retry_initial_s, retry_max_s)
        self._open_port = open_port
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._serial: serial.SerialBase | None = None

    def _wake(self) -> None:
        with self._lock:
            if self._serial is not None:
                try:
                    self._serial.cancel_read()
                except Exception:  # a port that broke meanwhile; the thread ends anyway
                    pass

    def _run(self) -> None:
        backoff = Backoff(*self._retry)
        while not self._stop.is_set():
            try:
                port = self._open_port(self.port, baudrate=self._baudrate, timeout=None, exclusive=True)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._report(FAILED, f"cannot open {self.port}: {exc}")
                if self._stop.wait(backoff.next_delay()):
                    break
                continue
            backoff.reset()
            with self._lock:
                self._serial = port
            self._report(OK, f"{self.port} open")
            try:
                self._read(port)
            except (serial.SerialException, OSError) as exc:
                self._report(FAILED, f"{self.port} lost: {exc}")
            except Exception:
                self._log.exception("%s: reader error; reopening", self.label)
                self._report(FAILED, "reader error (see log); reopening")
                self._stop.wait(backoff.next_delay())
            finally:
                with self._lock:
                    self._serial = None
                try:
                    port.close()
                except Exception:
                    pass

    def _read(self, port: serial.SerialBase) -> None:
        assembler = LineAssembler(**self._assembler_options)
        while not self._stop.is_set():
            data = port.read(1)  # blocks until a byte arrives or stop() cancels the read
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
            if not data:
                continue
            for line in assembler.feed(data, self._monotonic()):
                self._deliver(line)
