"""Walk-in tickets: a press becomes a printed ticket, or no number at all and a clear signal.

The printer is asked for its real-time status before every ticket; a number is issued only when it
can print, and a ticket that then fails to print is voided, so no number is ever handed out twice
or silently lost. Printer I/O runs on this worker's own thread, never on the core's.
"""
import logging
import queue
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from appliance.printer.errors import PrinterError
from appliance.printer.layout import TicketContent, day_list_bytes, ticket_bytes
from appliance.printer.status import PrinterState, printer_status

from appliance.domain.commands import Health, IssueTicket, RecordEvent, ReportHealth, TakeDayList, VoidTicket
from appliance.domain.errors import ApplianceError, ClockNotTrusted, NumbersExhausted
from appliance.domain.screen import KioskAnswer
from appliance.domain.wording import (CLOCK_UNKNOWN, NO_NUMBERS_LEFT, OUT_OF_ORDER, VisitorMessage, in_languages,
                                      ticket_languages, ticket_message, ticket_queue)

log = logging.getLogger(__name__)
RECHECK_S = 5.0  # how often an idle or out-of-order printer is asked how it is


class TicketDispenser:
    def __init__(self, core, config, connect, *, signals=None, on_answer=None, recheck_s: float = RECHECK_S):
        """``connect()`` opens the printer (printer.connection.open_printer with the config's URI);
        ``signals`` shows READY / PRINTING / OUT_OF_ORDER and beeps; ``on_answer(KioskAnswer)``
        feeds the kiosk screen. The wait printed is the core's estimate at the moment of issue."""
        self._core = core
        self._config = config
        self._connect = connect
        self._signals = signals
        self._on_answer = on_answer or (lambda answer: None)
        self._requests: queue.Queue = queue.Queue()
        self._recheck_s = recheck_s
        self._connection = None
        self._out_of_order: str | None = "starting"
        self._day_list_done = None  # the day whose morning list is printed
        self._thread = threading.Thread(target=self._run, name="dispenser", daemon=True)
        self._stopping = threading.Event()

    # --- any thread ------------------------------------------------------------------------------

    def request(self, concern: str, source: str = "button") -> None:
        """A visitor pressed; returns at once (GPIO callbacks must not wait for the printer)."""
        self._requests.put((concern, source))

    def print_day_list(self, scheduled: bool = False) -> None:
        """The staff's list of today's appointments; ``scheduled``: the morning run, once a day."""
        self._requests.put(("<day list>", "scheduled" if scheduled else "on demand"))

    @property
    def out_of_order(self) -> str | None:
        return self._out_of_order

    def start(self) -> None:
        self._core.submit(ReportHealth("printer", Health.STARTING))
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._requests.put(None)
        self._thread.join(timeout=5)
        self._close()

    # --- the worker thread -----------------------------------------------------------------------

    def _run(self) -> None:
        self._check_printer()
        while not self._stopping.is_set():
            try:
                request = self._requests.get(timeout=self._recheck_s)
            except queue.Empty:
                self._check_printer()  # detects recovery by itself, and faults while idle
                self._day_list_if_due()
                continue
            if request is None:
                continue
            if request[0] == "<day list>":
                self._print_day_list(scheduled=request[1] == "scheduled")
            else:
                self._serve(*request)

    def _day_list_if_due(self) -> None:
        at = self._config.printer.day_list_at
        now = self._core.snapshot.taken_at.astimezone(self._config.device.timezone)
        if at is not None and now.time() >= at and self._out_of_order is None and self._day_list_done != now.date():
            self._print_day_list(scheduled=True)

    def _print_day_list(self, scheduled: bool) -> bool:
        appointments = self._core.submit(TakeDayList(scheduled)).result(timeout=10)
        if appointments is None:
            self._day_list_done = self._core.snapshot.day  # already printed today, before a restart
            return False
        if scheduled and not appointments:
            return False  # nothing booked (yet): the list may still arrive from the backend
        if not self._check_printer():
            log.warning("the day list waits for the printer")
            return False
        day = self._core.snapshot.day
        rows = [(a.slot.strftime("%H:%M"), a.display_code, self._title(a.concern)) for a in appointments]
        printer = self._config.printer
        try:
            self._connection.write(day_list_bytes(rows, day, self._config.device.site, printer.profile,
                                                  printer.paper_width))
        except PrinterError as error:
            self._fault(str(error))
            return False
        self._core.submit(RecordEvent("day_list_printed", {"day": day.isoformat(), "appointments": len(rows)}))
        if scheduled:
            self._day_list_done = day
        log.info("printed the day list: %d appointments", len(rows))
        return True

    def _title(self, concern: str) -> str:
        try:
            return self._config.concern(concern).title_de
        except KeyError:
            return concern

    def _serve(self, concern: str, source: str) -> None:
        if not self._check_printer():
            self._answer(OUT_OF_ORDER)
            self._signal("beep", "refused")
            return
        self._signal("show", "PRINTING")
        try:
            ticket = self._core.submit(IssueTicket(concern, source)).result(timeout=10)
        except NumbersExhausted:
            self._answer(NO_NUMBERS_LEFT)
            self._signal("show", "READY")
            self._signal("beep", "refused")
            return
        except ClockNotTrusted:
            self._answer(CLOCK_UNKNOWN)
            self._signal("show", "READY")
            self._signal("beep", "refused")
            return
        except (ApplianceError, FutureTimeout) as error:
            log.error("no ticket for %s: %s", concern, error)
            self._answer(OUT_OF_ORDER)
            self._signal("show", "READY")
            return
        ahead, wait = ticket.people_ahead or 0, ticket.wait_minutes
        try:
            self._connection.write(self._ticket_bytes(ticket, ahead, wait))
            after = printer_status(self._connection, self._config.printer.timeout.total_seconds())
            if not after.can_print and after.state is not PrinterState.PAPER_NEAR_END:
                raise PrinterError(f"after printing: {after.state.value}")
        except PrinterError as error:
            # The visitor may hold nothing, or half a ticket: the number must never be called.
            self._core.submit(VoidTicket(ticket.code, f"printer: {error}")).result(timeout=10)
            self._fault(str(error))
            self._answer(OUT_OF_ORDER)
            self._signal("beep", "refused")
            return
        self._answer(ticket_message(ticket.code, ahead, wait), ticket.code)
        self._signal("show", "READY")
        self._signal("beep", "accepted")

    def _check_printer(self) -> bool:
        """Ask the printer; report any change. True when a ticket can be printed now."""
        timeout = self._config.printer.timeout.total_seconds()
        try:
            if self._connection is None:
                self._connection = self._connect()
            status = printer_status(self._connection, timeout)
        except PrinterError as error:
            self._close()
            self._fault(f"cannot reach the printer: {error}")
            return False
        if not status.can_print:
            self._close()  # reconnect next time: a printer that went silent may need a new link
            self._fault(status.state.value + (f" ({status.detail})" if status.detail else ""))
            return False
        if status.state is PrinterState.PAPER_NEAR_END:
            self._core.submit(ReportHealth("printer", Health.DEGRADED, "paper near end: put in a new roll soon"))
        else:
            self._core.submit(ReportHealth("printer", Health.OK))
        if self._out_of_order is not None:
            log.info("printer ready again%s", f" (was: {self._out_of_order})" if self._out_of_order else "")
            self._out_of_order = None
            self._signal("show", "READY")
        return True

    def _fault(self, detail: str) -> None:
        if self._out_of_order != detail:
            log.warning("printer out of order: %s", detail)
        self._out_of_order = detail
        self._core.submit(ReportHealth("printer", Health.FAILED, detail)).result(timeout=10)
        self._signal("show", "OUT_OF_ORDER")

    def _ticket_bytes(self, ticket, ahead: int, wait) -> bytes:
        printer = self._config.printer
        concern = self._config.concern(ticket.concern)
        languages = ticket_languages(self._config.device.languages)
        url = None
        if printer.wait_page_url:
            url = printer.wait_page_url.format(site=self._config.device.site, code=ticket.code,
                                               day=ticket.day.isoformat())
        content = TicketContent(
            code=ticket.code, issued_local=ticket.issued_at.astimezone(self._config.device.timezone),
            heading=in_languages("ticket.number", languages),
            concern=tuple(dict.fromkeys(concern.title(language) for language in languages)),
            queue=tuple(in_languages(line, languages) for line in ticket_queue(ahead, wait)),
            url=url, url_label=in_languages("ticket.online", languages) if url else (),
            footer=tuple(t for t in (printer.footer_de, printer.footer_en if "en" in languages else None) if t),
            logo=printer.logo)
        return ticket_bytes(content, profile=printer.profile, paper_width_mm=printer.paper_width)

    def _answer(self, message: VisitorMessage, code: str | None = None) -> None:
        self._on_answer(KioskAnswer(message, code, self._core.snapshot.taken_at))

    def _signal(self, what: str, argument: str) -> None:
        if self._signals is not None:
            try:
                getattr(self._signals, what)(argument)
            except Exception:  # a broken LED must not stop tickets
                log.exception("signal %s(%s) failed", what, argument)

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except PrinterError:
                pass
            self._connection = None
