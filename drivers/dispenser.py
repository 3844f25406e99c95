"""Walk-in tickets: a press becomes a printed ticket, or no number at all and a clear signal.

The printer is asked for its real-time status before every ticket; a number is issued only when it
can print; a ticket that fails before its cut is voided, so no number is ever handed out twice or
silently lost, and one that is out stands (the printer is out of order for the next visitor).
Printer I/O runs on this worker's own thread, never on the core's.
"""

import logging
import queue
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from appliance.domain.commands import Health, IssueTicket, RecordEvent, ReportHealth, TakeDayList, VoidTicket
from appliance.domain.component import ComponentName, WorkerThread, end_thread
from appliance.domain.errors import ApplianceError, ClockNotTrusted, NoNumberHere, NumbersExhausted
from appliance.domain.panel import Beep, PanelState
from appliance.domain.press_limit import Ask, PressLimit
from appliance.domain.screen import KioskAnswer
from appliance.domain.wording import (
    CLOCK_UNKNOWN,
    DEFAULT_LANGUAGE,
    NO_NUMBER_HERE,
    NO_NUMBERS_LEFT,
    OUT_OF_ORDER,
    TRY_AGAIN,
    VisitorMessage,
    in_languages,
    text,
    ticket_languages,
    ticket_message,
    ticket_queue,
)
from appliance.printer.errors import PrinterError
from appliance.printer.layout import TicketContent, day_list_bytes, ticket_bytes
from appliance.printer.status import PrinterState, printer_status
from appliance.printer.stream import split_at_cut

log = logging.getLogger(__name__)
RECHECK_S = 5.0  # how often an idle or out-of-order printer is asked how it is
# What a visitor is told when no number can be given, by why.
_REFUSED = {NumbersExhausted: NO_NUMBERS_LEFT, ClockNotTrusted: CLOCK_UNKNOWN, NoNumberHere: NO_NUMBER_HERE}


@dataclass(frozen=True)
class TicketRequest:
    """A visitor asked for a ticket of ``concern`` (by a button, a touch, ...)."""

    concern: str
    source: str
    language: str | None = None  # the language the visitor chose on the kiosk screen, if any


@dataclass(frozen=True)
class DayListRequest:
    """The staff's morning list is due (``scheduled``) or was asked for."""

    scheduled: bool


class TicketDispenser:
    """The printer component: presses queue here and are served, one at a time, on its thread.

    Should the thread die of a bug, the supervisor starts it again; presses queued meanwhile stay
    queued and are served then, and the visitor whose press was being served is told no.
    """

    name = ComponentName.PRINTER

    def __init__(
        self,
        core,
        config,
        connect,
        *,
        signals=None,
        on_answer=None,
        draw=None,
        recheck_s: float = RECHECK_S,
        monotonic=time.monotonic,
    ):
        """``connect()`` opens the printer (printer.connection.open_printer with the config's URI);
        ``signals`` shows a PanelState and sounds a Beep (the GPIO panel); ``on_answer(KioskAnswer)``
        feeds the kiosk screen; ``draw(concern)`` asks the office for the ticket's number (an OfficeNumber,
        or None to number it here; without it the device numbers alone). The wait printed is the core's
        estimate at the moment of issue; ``monotonic()`` times the gap between a concern's tickets."""
        self._core = core
        self._draw = draw or (lambda concern: None)
        self._config = config
        self._connect = connect
        self._signals = signals
        self._on_answer = on_answer or (lambda answer: None)
        self._requests: queue.Queue = queue.Queue()
        self._limit = PressLimit(config.gpio.min_gap.total_seconds())
        self._asking = threading.Lock()  # presses come from GPIO, control and touch threads at once
        self._monotonic = monotonic
        self._recheck_s = recheck_s
        self._connection = None
        self._out_of_order: str | None = "starting"
        self._day_list_done = None  # the day whose morning list is printed
        self._thread: WorkerThread | None = None
        self._stopping = threading.Event()

    # --- any thread ------------------------------------------------------------------------------

    def request(self, concern: str, source: str = "button", language: str | None = None) -> str:
        """A visitor pressed (having chosen ``language``, if any); returns at once (GPIO callbacks must
        not wait for the printer) what the asker is told plainly: one rate limit for every way to ask."""
        with self._asking:
            verdict = self._limit.ask(concern, self._monotonic(), self._requests.qsize())
            if verdict is Ask.TAKEN:
                self._requests.put(TicketRequest(concern, source, language))
        if verdict is not Ask.TAKEN:
            log.info("a press for %s from %s: %s", concern, source, verdict.value)
        if verdict is Ask.BUSY:
            self._answer(TRY_AGAIN)
            self._beep(Beep.REFUSED)
        return self._limit.describe(verdict, concern)

    def print_day_list(self, scheduled: bool = False) -> None:
        """The staff's list of today's appointments; ``scheduled``: the morning run, once a day."""
        self._requests.put(DayListRequest(scheduled))

    @property
    def out_of_order(self) -> str | None:
        return self._out_of_order

    def start(self) -> None:
        """Starts serving; after stop() (or the thread's death) it serves the same queue again."""
        self._core.submit(ReportHealth(self.name, Health.STARTING))
        self._out_of_order = "starting"
        self._stopping.clear()
        self._thread = WorkerThread(self._run, "dispenser")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._requests.put(None)
            end_thread(self._thread, 5)
        self._close()

    def failure(self) -> str | None:
        return self._thread.failure if self._thread is not None else None

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
            if isinstance(request, DayListRequest):
                self._print_day_list(scheduled=request.scheduled)
                continue
            try:
                self._serve(request)
            except Exception:
                # A bug ends this thread (the supervisor restarts it); the visitor in front of the
                # kiosk must not wait for an answer that will never come.
                self._answer(OUT_OF_ORDER)
                self._beep(Beep.REFUSED)
                raise

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
            self._connection.write(
                day_list_bytes(rows, day, self._config.device.site, printer.profile, printer.paper_width)
            )
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
            return self._config.concern(concern).title.get(DEFAULT_LANGUAGE)
        except KeyError:
            return concern

    def _serve(self, request: TicketRequest) -> None:
        concern = request.concern
        if not self._check_printer():
            self._answer(OUT_OF_ORDER)
            self._beep(Beep.REFUSED)
            return
        self._show(PanelState.PRINTING)
        try:
            office = self._draw(concern)  # the office's number; None: the core numbers it itself
            ticket = self._core.submit(IssueTicket(concern, request.source, office)).result(timeout=10)
        except (NumbersExhausted, ClockNotTrusted, NoNumberHere) as error:
            self._answer(_REFUSED[type(error)])
            self._show(PanelState.READY)
            self._beep(Beep.REFUSED)
            return
        except (ApplianceError, FutureTimeout) as error:
            log.error("no ticket for %s: %s", concern, error)
            self._answer(OUT_OF_ORDER)
            self._show(PanelState.READY)
            return
        ahead, wait = ticket.people_ahead or 0, ticket.wait_minutes
        printed, cut = split_at_cut(self._ticket_bytes(ticket, ahead, wait, request.language))
        try:
            self._connection.write(printed)
            self._still_printing("before the cut")
        except PrinterError as error:
            # The visitor may hold nothing, or half a ticket: the number must never be called.
            self._core.submit(VoidTicket(ticket.code, f"printer: {error}")).result(timeout=10)
            self._fault(str(error))
            self._answer(OUT_OF_ORDER)
            self._beep(Beep.REFUSED)
            return
        try:
            self._connection.write(cut)
            self._still_printing("after the cut")
        except PrinterError as error:
            # The whole ticket is out and in the visitor's hand: it is called like any other; the
            # printer is out of order for the next visitor only.
            self._fault(str(error))
        self._answer(ticket_message(ticket.code, ahead, wait), ticket.code, ahead=ahead, wait=wait)
        self._show(PanelState.READY if self._out_of_order is None else PanelState.OUT_OF_ORDER)
        self._beep(Beep.ACCEPTED)

    def _still_printing(self, when: str) -> None:
        """Raises PrinterError unless the printer says it still prints (paper near end does)."""
        status = printer_status(self._connection, self._config.printer.timeout.total_seconds())
        if not status.can_print and status.state is not PrinterState.PAPER_NEAR_END:
            raise PrinterError(f"{when}: {status.state.value}")

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
            self._core.submit(ReportHealth(self.name, Health.DEGRADED, "paper near end: put in a new roll soon"))
        else:
            self._core.submit(ReportHealth(self.name, Health.OK))
        if self._out_of_order is not None:
            log.info("printer ready again%s", f" (was: {self._out_of_order})" if self._out_of_order else "")
            self._out_of_order = None
            self._show(PanelState.READY)
        return True

    def _fault(self, detail: str) -> None:
        if self._out_of_order != detail:
            log.warning("printer out of order: %s", detail)
        self._out_of_order = detail
        self._core.submit(ReportHealth(self.name, Health.FAILED, detail)).result(timeout=10)
        self._show(PanelState.OUT_OF_ORDER)

    def _ticket_bytes(self, ticket, ahead: int, wait, chosen: str | None) -> bytes:
        printer = self._config.printer
        concern = self._config.concern(ticket.concern)
        languages = ticket_languages(chosen, self._config.device.languages)
        url = wait_page_url(printer.wait_page_url, self._config.backend.url, self._config.device.site, ticket, chosen)
        content = TicketContent(
            code=ticket.code,
            issued_local=ticket.issued_at.astimezone(self._config.device.timezone),
            heading=in_languages("ticket.number", languages),
            concern=tuple(dict.fromkeys(concern.info.title(language) for language in languages)),
            queue=tuple(in_languages(line, languages) for line in ticket_queue(ahead, wait)),
            url=url,
            url_label=in_languages("ticket.online", languages) if url else (),
            footer=tuple(
                dict.fromkeys(printer.footer.get(language) or text("ticket.footer", language) for language in languages)
            ),
            logo=printer.logo,
        )
        return ticket_bytes(content, profile=printer.profile, paper_width_mm=printer.paper_width)

    def _answer(self, message: VisitorMessage, code: str | None = None, *, ahead=None, wait=None) -> None:
        self._on_answer(KioskAnswer(message, code, self._core.snapshot.taken_at, ahead=ahead, wait=wait))

    def _show(self, state: PanelState) -> None:
        self._signal(lambda signals: signals.show(state), state)

    def _beep(self, kind: Beep) -> None:
        self._signal(lambda signals: signals.beep(kind), kind)

    def _signal(self, send, what) -> None:
        if self._signals is not None:
            try:
                send(self._signals)
            except Exception:  # a broken LED or buzzer must not stop tickets
                log.exception("signal %s failed", what)

    def _close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except PrinterError:
                pass
            self._connection = None


def wait_page_url(
    template: str | None, backend_url: str | None, site: str, ticket, language: str | None = None
) -> str | None:
    """The ticket's QR code: ``[printer] wait_page_url``, else the backend's wait page for the number
    (the reference backend serves /w/{site}/{code}; the day lets it tell yesterday's number), else none.
    The page opens in the ``language`` the visitor chose at the kiosk; without a choice, in their phone's."""
    if not template and backend_url:
        template = backend_url.rstrip("/") + "/w/{site}/{code}?day={day}" + ("&lang={lang}" if language else "")
    if not template:
        return None
    return template.format(site=site, code=ticket.code, day=ticket.day.isoformat(), lang=language or DEFAULT_LANGUAGE)
