"""Is the printer ready for a ticket? Real-time status (DLE EOT 1-4), where silence means "unknown".

Each status byte has a pure parser; ``printer_status()`` asks a connection and decides.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from appliance.printer.errors import PrinterError, PrinterGone, PrinterTimeout

DLE_EOT = b"\x10\x04"
PRINTER = 1  # online/offline
OFFLINE_CAUSE = 2  # cover, feed button, paper end, error
ERROR_CAUSE = 3  # cutter, unrecoverable, auto-recoverable
PAPER_SENSOR = 4  # roll near end, roll end

# Every status byte has bit 1 and bit 4 set and bits 0 and 7 clear; anything else is not a status.
_FIXED_MASK = 0b1001_0011
_FIXED_VALUE = 0b0001_0010


class PrinterState(enum.Enum):
    READY = "ready"
    PAPER_NEAR_END = "paper near end"
    PAPER_OUT = "paper out"
    COVER_OPEN = "cover open"
    OFFLINE = "offline"
    ERROR = "error"
    NO_ANSWER = "no answer"


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said (``state``) and, for the technician, why (``detail``)."""

    state: PrinterState
    detail: str = ""

    @property
    def can_print(self) -> bool:
        return self.state in (PrinterState.READY, PrinterState.PAPER_NEAR_END)


@dataclass(frozen=True)
class OnlineStatus:
    """DLE EOT 1."""

    offline: bool
    drawer_pin3_high: bool
    waiting_for_recovery: bool
    feed_button_pressed: bool


@dataclass(frozen=True)
class OfflineCause:
    """DLE EOT 2."""

    cover_open: bool
    feeding_by_button: bool
    stopped_by_paper_end: bool
    error: bool


@dataclass(frozen=True)
class ErrorCause:
    """DLE EOT 3. Bit 2 is a mechanical error on some printers and unused (0) on Epson's."""

    mechanical: bool
    autocutter: bool
    unrecoverable: bool
    auto_recoverable: bool


@dataclass(frozen=True)
class PaperSensor:
    """DLE EOT 4. Each sensor reports in two bits; either bit counts, to warn rather than miss."""

    near_end: bool
    paper_out: bool


def query_command(n: int) -> bytes:
    return DLE_EOT + bytes([n])


def _check(byte: int, n: int) -> int:
    if not 0 <= byte <= 255 or byte & _FIXED_MASK != _FIXED_VALUE:
        raise ValueError(
            f"0x{byte:02x} is not an answer to DLE EOT {n}: its fixed bits are wrong "
            "(noise on the line, a wrong baud rate, or not an ESC/POS printer)"
        )
    return byte


def parse_online_status(byte: int) -> OnlineStatus:
    _check(byte, PRINTER)
    return OnlineStatus(
        offline=bool(byte & 0x08),
        drawer_pin3_high=bool(byte & 0x04),
        waiting_for_recovery=bool(byte & 0x20),
        feed_button_pressed=bool(byte & 0x40),
    )


def parse_offline_cause(byte: int) -> OfflineCause:
    _check(byte, OFFLINE_CAUSE)
    return OfflineCause(
        cover_open=bool(byte & 0x04),
        feeding_by_button=bool(byte & 0x08),
        stopped_by_paper_end=bool(byte & 0x20),
        error=bool(byte & 0x40),
    )


def parse_error_cause(byte: int) -> ErrorCause:
    _check(byte, ERROR_CAUSE)
    return ErrorCause(
        mechanical=bool(byte & 0x04),
        autocutter=bool(byte & 0x08),
        unrecoverable=bool(byte & 0x20),
        auto_recoverable=bool(byte & 0x40),
    )


def parse_paper_sensor(byte: int) -> PaperSensor:
    _check(byte, PAPER_SENSOR)
    return PaperSensor(near_end=bool(byte & 0x0C), paper_out=bool(byte & 0x60))


class _NoAnswer(Exception):
    pass


def printer_status(connection, timeout_s: float) -> PrinterStatus:
    """Ask the printer, within ``timeout_s`` in all, whether it can print a ticket now.

    No answer is ``NO_ANSWER`` and an answer that is not a status byte is ``ERROR``: neither can
    print. A connection that fails while asking is closed by it and reported as ``NO_ANSWER``.
    """
    deadline = time.monotonic() + timeout_s

    def ask(n: int) -> int:
        reply = connection.query(query_command(n), max(0.0, deadline - time.monotonic()))
        if not reply:
            raise _NoAnswer(n)
        return reply[0]

    try:
        online = parse_online_status(ask(PRINTER))
        paper = parse_paper_sensor(ask(PAPER_SENSOR))
        if not online.offline:
            return _online_state(paper)
        cause = parse_offline_cause(ask(OFFLINE_CAUSE))
        if cause.cover_open:
            return PrinterStatus(PrinterState.COVER_OPEN, "the printer's cover is open: close it")
        if cause.stopped_by_paper_end or paper.paper_out:
            return PrinterStatus(PrinterState.PAPER_OUT, "the paper roll is empty: put in a new roll")
        if cause.error:
            return _error_state(parse_error_cause(ask(ERROR_CAUSE)))
        if cause.feeding_by_button:
            return PrinterStatus(PrinterState.OFFLINE, "paper is being fed with the FEED button")
        return PrinterStatus(
            PrinterState.OFFLINE,
            "the printer reports offline" + (" and waits to recover" if online.waiting_for_recovery else ""),
        )
    except _NoAnswer as silent:
        n = silent.args[0]
        first = n == PRINTER
        return PrinterStatus(
            PrinterState.NO_ANSWER,
            f"no answer to DLE EOT {n} within {timeout_s:g} s"
            + (
                ": is the printer switched on, the cable two-way and the URI right?"
                if first
                else " after answering the first status query"
            ),
        )
    except ValueError as garbage:
        return PrinterStatus(PrinterState.ERROR, f"unreadable status: {garbage}")
    except PrinterTimeout as error:
        return PrinterStatus(PrinterState.NO_ANSWER, f"the printer took no status query: {error}")
    except PrinterGone as error:
        return PrinterStatus(PrinterState.NO_ANSWER, f"the printer is not reachable: {error}")
    except PrinterError as error:
        return PrinterStatus(PrinterState.ERROR, str(error))


def _online_state(paper: PaperSensor) -> PrinterStatus:
    if paper.paper_out:
        # Some printers stay online with an empty roll until the next job: no ticket can come out.
        return PrinterStatus(PrinterState.PAPER_OUT, "the paper roll is empty: put in a new roll")
    if paper.near_end:
        return PrinterStatus(PrinterState.PAPER_NEAR_END, "the paper roll is nearly used up: have a new one ready")
    return PrinterStatus(PrinterState.READY, "ready")


def _error_state(cause: ErrorCause) -> PrinterStatus:
    if cause.autocutter:
        detail = "the cutter is stuck (paper jam?): clear it, then switch the printer off and on"
    elif cause.unrecoverable:
        detail = "an unrecoverable error: switch the printer off and on; if it stays, call service"
    elif cause.auto_recoverable:
        detail = "the print head is too hot: the printer resumes by itself when it has cooled down"
    elif cause.mechanical:
        detail = "a mechanical error: check the paper path and the cover"
    else:
        detail = "the printer reports an error without a cause"
    return PrinterStatus(PrinterState.ERROR, detail)
