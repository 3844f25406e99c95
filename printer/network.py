"""Network printers on raw TCP (port 9100, python-escpos' Network): socket timeouts bound every I/O."""

from __future__ import annotations

import socket

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Network

from appliance.printer.connection import PrinterConnection
from appliance.printer.errors import PrinterGone, PrinterTimeout


class TcpConnection(PrinterConnection):
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
