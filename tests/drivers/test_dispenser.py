"""Walk-in tickets end to end: the core, the dispenser, and a printer emulator on a real TCP port."""

import logging
import threading
import time
from concurrent.futures import Future
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from PIL import Image
from pyzbar.pyzbar import decode as decode_qr

from appliance.app.config import load_config
from appliance.app.supervisor import Supervisor
from appliance.domain.backoff import Backoff
from appliance.domain.clock import FakeClock
from appliance.domain.commands import Health, IssueTicket, ReportHealth, TakeOutbox
from appliance.domain.core import Core
from appliance.domain.errors import DiskFull, NoNumberHere
from appliance.domain.numbering import OfficeNumber
from appliance.domain.panel import Beep, PanelState
from appliance.domain.state import StateStore
from appliance.domain.wording import NO_NUMBER_HERE, OUT_OF_ORDER, TRY_AGAIN, ticket_message
from appliance.drivers.dispenser import TicketDispenser, wait_page_url
from appliance.printer.connection import open_printer
from appliance.printer.emulator import PrinterEmulator
from appliance.printer.render import render
from support import ANSWER_S, wait_for
from support.ocr import read_page, similarity

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Recorder:
    """Collects what the kiosk screen and the LEDs would show."""

    def __init__(self):
        self.answers, self.states, self.beeps = [], [], []
        self.answered = threading.Event()

    def on_answer(self, answer):
        self.answers.append(answer)
        self.answered.set()

    def show(self, state):
        self.states.append(state)

    def beep(self, kind):
        self.beeps.append(kind)

    def wait_answer(self, timeout=ANSWER_S):
        assert self.answered.wait(timeout), "no answer on the kiosk screen"
        self.answered.clear()
        return self.answers[-1]


class PaperRunsOutBeforeTheCut(PrinterEmulator):
    """The roll ends while the first ticket is being printed: its cut never comes."""

    ran_out = False

    def _consume(self, client, pending, parsed):
        if not self.ran_out and b"Wartenummer" in pending:  # the ticket's heading arrived
            self.ran_out, self.mode = True, "paper_out"
        return super()._consume(client, pending, parsed)


class PaperRunsOutAfterTheCut(PrinterEmulator):
    """The first ticket comes out whole, cut, and then the roll is empty."""

    def _finish(self, job):
        super()._finish(job)
        if len(self.jobs) == 1:
            self.mode = "paper_out"


@pytest.fixture
def kiosk(tmp_path, device_config_file):
    def build(
        emulator_class=PrinterEmulator,
        mode="ready",
        appointments=(),
        core_seen=None,
        supervisor=None,
        draw=None,
        min_gap="0s",
        monotonic=time.monotonic,
        printer_timeout_s=ANSWER_S,
    ):
        """``core_seen(core)``: what the dispenser sees of the core; ``supervisor(core)``: one that
        starts the dispenser (else it is started directly); ``draw``: the office's numbers;
        ``printer_timeout_s``: how long a printer's answer is waited for ([printer] timeout)."""
        emulator = emulator_class(out_dir=tmp_path / "tickets", mode=mode)
        emulator.start()
        device_config_file.write_text(
            device_config_file.read_text()
            + f"""
[printer]
uri = {emulator.uri}
timeout = {printer_timeout_s}s
wait_page_url = https://jobcenter.example/wartezeit?site={{site}}&ticket={{code}}&lang={{lang}}

[gpio]
min_gap = {min_gap}
"""
        )
        config = load_config(device_config_file)
        store = StateStore(config.state.database)
        if appointments:  # before the core starts: from then on only its thread writes
            store.replace_appointments(appointments[0].day, list(appointments))
        core = Core(config, store, FakeClock(MORNING))
        core.start()
        recorder = Recorder()
        printer = config.printer
        dispenser = TicketDispenser(
            core_seen(core) if core_seen else core,
            config,
            lambda: open_printer(printer.uri, None, printer_timeout_s),
            signals=recorder,
            on_answer=recorder.on_answer,
            draw=draw,
            recheck_s=0.1,
            monotonic=monotonic,
        )
        if supervisor is None:
            dispenser.start()
        else:
            supervisor(core).add(dispenser)
        built.append((emulator, core, store, dispenser))
        return emulator, core, dispenser, recorder

    built = []
    yield build
    for emulator, core, store, dispenser in built:
        dispenser.stop()
        core.stop()
        store.close()
        emulator.stop()


def printer_health(core):
    return next((c for c in core.snapshot.components if c.name == "printer"), None)


def test_a_press_prints_a_ticket_whose_qr_code_leads_to_its_wait_page(kiosk, tmp_path):
    emulator, core, dispenser, recorder = kiosk()
    dispenser.request("leave")
    answer = recorder.wait_answer()
    assert answer.code == "A001" and answer.message.title.render() == "Ihre Wartenummer: A001"
    job = emulator.wait_for_jobs(1)[0]
    assert b"A001" in job
    png = tmp_path / "tickets" / "A001.png"
    assert png.exists()
    codes = [c.data.decode() for c in decode_qr(Image.open(png))]
    assert codes == ["https://jobcenter.example/wartezeit?site=test-office&ticket=A001&lang=de"]
    assert [e.code for e in core.snapshot.waiting] == ["A001"]
    assert recorder.beeps == [Beep.ACCEPTED] and PanelState.PRINTING in recorder.states


def test_a_press_prints_the_number_the_office_drew_and_confirms_it_under_the_draws_key(kiosk):
    key = "d" * 32
    drawn = []
    emulator, core, dispenser, recorder = kiosk(draw=lambda concern: drawn.append(concern) or OfficeNumber(key, 42))
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A042" and drawn == ["leave"]
    assert b"A042" in emulator.wait_for_jobs(1)[0]
    (event,) = [e for e in core.submit(TakeOutbox(10)).result(ANSWER_S) if e.kind == "ticket_issued"]
    assert (event.key, event.body["code"]) == (key, "A042")


def test_a_kiosk_the_office_refuses_prints_nothing_and_sends_the_visitor_to_the_desk(kiosk):
    def refused(concern):
        raise NoNumberHere("two devices run as kiosk-1")

    emulator, core, dispenser, recorder = kiosk(draw=refused)
    dispenser.request("leave")
    answer = recorder.wait_answer()
    assert answer.code is None and answer.message == NO_NUMBER_HERE
    assert answer.message.body.render("de") == (
        "Dieses Gerät kann gerade keine Nummer vergeben. Bitte wenden Sie sich an die Information."
    )
    assert recorder.beeps == [Beep.REFUSED] and emulator.jobs == [] and core.snapshot.waiting == ()
    assert recorder.states[-2:] == [PanelState.PRINTING, PanelState.READY]  # the next visitor may press


def test_each_visitor_is_told_their_number_how_many_are_ahead_and_the_wait(kiosk, caplog):
    emulator, core, dispenser, recorder = kiosk()
    with caplog.at_level(logging.INFO, logger="appliance.domain.core"):
        dispenser.request("leave", "touch")
        first = recorder.wait_answer()
        dispenser.request("leave", "button")
        second = recorder.wait_answer()

    assert (first.code, first.ahead, second.code, second.ahead) == ("A001", 0, "A002", 1)
    assert first.message.body.render("de") == "Bitte nehmen Sie Ihren Zettel. Sie sind als Nächstes dran."
    assert second.message.body.render("de").endswith("Vor Ihnen: 1 Person. Wartezeit ca. 0–1 Min.")
    assert second.wait == (0, 1) and second.message == ticket_message("A002", 1, (0, 1))
    printed = emulator.wait_for_jobs(2)[1]
    assert b"Vor Ihnen: 1 Person" in printed and b"Wartezeit ca. 0" in printed  # and on paper
    assert recorder.states[-2:] == [PanelState.PRINTING, PanelState.READY]
    assert "issued A001 (leave, from touch)" in caplog.text and "issued A002 (leave, from button)" in caplog.text


def test_a_ticket_the_core_cannot_store_says_out_of_order_and_the_next_press_prints(kiosk, caplog):
    emulator, core, dispenser, recorder = kiosk(
        core_seen=lambda core: FailsOnce(core, lambda c: isinstance(c, IssueTicket), DiskFull("the disk is full"))
    )
    with caplog.at_level(logging.ERROR, logger="appliance.drivers.dispenser"):
        dispenser.request("leave")
        answer = recorder.wait_answer()

    assert answer.code is None and answer.message == OUT_OF_ORDER and emulator.jobs == []
    assert recorder.states[-2:] == [PanelState.PRINTING, PanelState.READY]
    assert "no ticket for leave: the disk is full" in caplog.messages  # the technician's clue
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A001"


@pytest.mark.slow  # tesseract reads the print back, seconds of CPU: make test runs it, make test-fast leaves it out
def test_a_ticket_is_printed_in_german_and_the_language_the_visitor_chose(kiosk, tmp_path):
    emulator, core, dispenser, recorder = kiosk()

    dispenser.request("leave", "touch", language="uk")

    assert recorder.wait_answer().code == "A001"
    printed = render(emulator.wait_for_jobs(1)[0])
    assert "Ihre Wartenummer" in printed.text and "Your number" not in printed.text
    lines = read_page(printed.image, "uk")
    assert max(similarity("Ваш номер", line) for line in lines) >= 0.85, lines
    qr = [c.data.decode() for c in decode_qr(Image.open(tmp_path / "tickets" / "A001.png"))]
    assert qr == ["https://jobcenter.example/wartezeit?site=test-office&ticket=A001&lang=uk"]  # its page opens in it


def test_without_a_choice_a_ticket_is_printed_in_german_and_the_devices_next_language(kiosk):
    emulator, core, dispenser, recorder = kiosk()

    dispenser.request("leave")

    recorder.wait_answer()
    printed = render(emulator.wait_for_jobs(1)[0])
    assert "Ihre Wartenummer" in printed.text and "Your number" in printed.text
    assert "Please watch the monitor for your number." in printed.text  # the catalog's footer


@pytest.mark.parametrize(
    "mode, reason", [("paper_out", "paper out"), ("cover_open", "cover open"), ("silent", "no answer"), ("hung", "")]
)
def test_a_printer_that_cannot_print_consumes_no_number_and_says_out_of_order(kiosk, mode, reason):
    # A printer that never answers is waited for the whole timeout, twice: a short one keeps this quick.
    silent = mode in ("silent", "hung")
    emulator, core, dispenser, recorder = kiosk(mode=mode, printer_timeout_s=0.25 if silent else ANSWER_S)
    dispenser.request("leave")
    answer = recorder.wait_answer()
    assert answer.code is None and answer.message.title.render() == "Außer Betrieb"
    assert "Information" in answer.message.body.render()
    assert core.snapshot.issued_today == ()
    health = printer_health(core)
    assert health.state is Health.FAILED and reason in health.detail
    assert recorder.states[-1] is PanelState.OUT_OF_ORDER and recorder.beeps == [Beep.REFUSED]
    assert "component_health" in [e.kind for e in core.snapshot.last_events]


def test_recovery_is_detected_by_itself_and_the_next_press_prints(kiosk):
    emulator, core, dispenser, recorder = kiosk(mode="paper_out")
    wait_for(lambda: printer_health(core) and printer_health(core).state is Health.FAILED)
    emulator.mode = "ready"
    wait_for(lambda: printer_health(core).state is Health.OK)
    # The health goes to the core before the dispenser's thread lights the panel: a loaded machine may run the
    # test between the two.
    wait_for(lambda: recorder.states[-1] is PanelState.READY, what="the panel ready again")
    assert dispenser.out_of_order is None
    dispenser.request("documents")
    assert recorder.wait_answer().code == "C001"


def test_paper_running_out_before_the_cut_voids_the_number_for_good(kiosk):
    emulator, core, dispenser, recorder = kiosk(emulator_class=PaperRunsOutBeforeTheCut)
    dispenser.request("leave")
    answer = recorder.wait_answer()
    assert answer.message.title.render() == "Außer Betrieb" and recorder.beeps == [Beep.REFUSED]
    assert core.snapshot.waiting == ()  # a voided number is never called
    assert dict(core.snapshot.issued_today) == {"leave": 1}  # ...and never issued again
    (void,) = [e for e in core.submit(TakeOutbox(10)).result(ANSWER_S) if e.kind == "ticket_void"]
    assert (void.body["code"], void.body["reason"]) == ("A001", "printer: before the cut: paper out")
    assert printer_health(core).detail == "before the cut: paper out"
    emulator.mode = "ready"
    wait_for(lambda: printer_health(core).state is Health.OK)
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A002"


def test_a_fault_after_the_cut_leaves_the_printed_ticket_valid_and_the_printer_out_of_order(kiosk):
    emulator, core, dispenser, recorder = kiosk(emulator_class=PaperRunsOutAfterTheCut)
    dispenser.request("leave")

    answer = recorder.wait_answer()
    assert answer.code == "A001"  # the visitor holds A001: it is called like any other
    assert [entry.code for entry in core.snapshot.waiting] == ["A001"]
    assert "ticket_void" not in [e.kind for e in core.snapshot.last_events]
    assert printer_health(core).state is Health.FAILED
    assert printer_health(core).detail == "after the cut: paper out"
    assert recorder.states[-1] is PanelState.OUT_OF_ORDER
    dispenser.request("leave")  # the next visitor is told, and no number is used up
    assert recorder.wait_answer().message.title.render() == "Außer Betrieb"
    assert dict(core.snapshot.issued_today) == {"leave": 1}


def test_one_concerns_presses_closer_than_the_gap_give_one_ticket_and_are_told_so(kiosk):
    now = [100.0]
    emulator, core, dispenser, recorder = kiosk(min_gap="3s", monotonic=lambda: now[0])

    told = [dispenser.request("leave", source) for source in ("button", "touch", "control", "button")]
    now[0] += 3.0
    told.append(dispenser.request("leave", "touch"))

    assert told[0] == told[4] == "pressed"
    assert all(t.startswith("too soon: one ticket of 'leave' every 3 s") for t in told[1:4])
    assert len(emulator.wait_for_jobs(2)) == 2
    time.sleep(0.3)
    assert len(emulator.jobs) == 2 and dict(core.snapshot.issued_today) == {"leave": 2}


def test_a_full_queue_is_told_busy_on_the_kiosk_and_to_the_asker(kiosk):
    # The first visitor's number is slow to come (the office answers late), and stays so until the test
    # lets it come: the dispenser serves nothing meanwhile, however slow or fast the machine.
    serving, office_answers = threading.Event(), threading.Event()

    def slow_office(concern):
        serving.set()
        office_answers.wait(ANSWER_S)

    emulator, core, dispenser, recorder = kiosk(draw=slow_office)
    try:
        assert dispenser.request("leave") == "pressed"
        assert serving.wait(ANSWER_S), "the dispenser never took the first press"
        told = [dispenser.request("leave") for _ in range(10)]
    finally:
        office_answers.set()

    assert told.count("pressed") == 4  # the queue holds 4
    assert told[-1].startswith("busy: 4 tickets are waiting for the printer")
    assert any(a.message.title.render() == TRY_AGAIN.title.render() for a in recorder.answers)


def test_paper_near_end_still_prints_and_warns_the_technician(kiosk):
    emulator, core, dispenser, recorder = kiosk(mode="near_end")
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A001"
    health = printer_health(core)
    assert (health.state, health.detail) == (Health.DEGRADED, "paper near end: put in a new roll soon")


def test_the_morning_list_prints_each_appointment_without_names_once_a_day(kiosk):
    from datetime import time as time_of_day

    from appliance.domain.state import Appointment

    day = MORNING.date()
    emulator, core, dispenser, recorder = kiosk(
        appointments=[
            Appointment("1", "test-office", day, time_of_day(9, 30), "leave", "T021"),
            Appointment("2", "test-office", day, time_of_day(8, 15), "documents", "T007"),
            Appointment("3", "test-office", day, time_of_day(10, 0), "leave", "T030", status="cancelled"),
        ]
    )
    # 09:00 in Berlin is past the default 07:00: the morning run prints by itself
    job = emulator.wait_for_jobs(1)[0]
    assert job.index(b"08:15") < job.index(b"09:30") and b"T007" in job and b"T021" in job
    assert b"T030" not in job  # cancelled
    dispenser.print_day_list(scheduled=True)  # the scheduled run happens once a day
    dispenser.request("leave")  # served after that run was asked for: its ticket shows the run is done
    assert recorder.wait_answer().code == "A001"
    assert len(emulator.wait_for_jobs(2)) == 2 and b"A001" in emulator.jobs[1]


def test_a_printer_that_cannot_be_reached_is_out_of_order_and_says_why(kiosk):
    emulator, core, dispenser, recorder = kiosk()
    wait_for(lambda: printer_health(core) and printer_health(core).state is Health.OK)

    emulator.stop()  # unplugged: nothing listens on its port any more

    wait_for(lambda: "cannot reach the printer" in (printer_health(core).detail or ""))
    assert printer_health(core).state is Health.FAILED
    dispenser.request("leave")
    assert recorder.wait_answer().message.title.render() == "Außer Betrieb"
    assert core.snapshot.issued_today == ()


@pytest.mark.parametrize(
    "error", [DiskFull("no space left for the state"), TimeoutError("the core did not answer within 10 s")]
)
def test_a_number_the_core_cannot_give_is_answered_out_of_order_and_the_next_press_prints(kiosk, error):
    emulator, core, dispenser, recorder = kiosk(
        core_seen=lambda core: FailsOnce(core, lambda c: isinstance(c, IssueTicket), error)
    )
    dispenser.request("leave")
    assert recorder.wait_answer().message.title.render() == "Außer Betrieb"
    assert emulator.jobs == [] and recorder.states[-1] is PanelState.READY  # the printer is fine

    dispenser.request("leave")
    assert recorder.wait_answer().code == "A001"


def test_a_broken_led_or_buzzer_never_stops_a_ticket(kiosk):
    emulator, core, dispenser, recorder = kiosk()

    def broken(_):
        raise OSError("the LED's pin is gone")

    recorder.show = recorder.beep = broken

    dispenser.request("leave")
    assert recorder.wait_answer().code == "A001"
    assert b"A001" in emulator.wait_for_jobs(1)[0]


def test_a_day_list_asked_for_while_the_printer_is_out_waits_and_prints_when_it_is_back(kiosk, caplog):
    from datetime import time as time_of_day

    from appliance.domain.state import Appointment

    day = MORNING.date()
    emulator, core, dispenser, recorder = kiosk(
        mode="paper_out",
        appointments=[Appointment("1", "test-office", day, time_of_day(9, 30), "pension", "T021")],
    )
    dispenser.print_day_list()
    wait_for(lambda: "the day list waits for the printer" in caplog.text)
    assert emulator.jobs == []

    emulator.mode = "ready"  # paper in: the morning run, due since 07:00, prints by itself
    (job,) = emulator.wait_for_jobs(1)
    assert b"T021" in job and b"pension" in job  # a concern this device does not know keeps its name
    dispenser.print_day_list()  # the staff may ask again: printed again
    assert len(emulator.wait_for_jobs(2)) == 2


# --- a bug in the dispenser's thread: reported, restarted, no press lost ----------------------------


class SteppedSupervision:
    """A real Supervisor on a clock the test moves, with backoff at its upper bound."""

    def __init__(self):
        self.now = 0.0
        self.supervisor = None

    def __call__(self, core) -> Supervisor:
        self.supervisor = Supervisor(
            core, monotonic=lambda: self.now, backoff=lambda: Backoff(1.0, 60.0, rng=UpperBound())
        )
        return self.supervisor

    def later(self, seconds: float) -> None:
        self.now += seconds
        self.supervisor.check()


class UpperBound:
    def uniform(self, low, high):
        return high


class FailsOnce:
    """The core as the dispenser sees it, where the first command that ``matches`` fails with ``error``."""

    def __init__(self, core, matches, error):
        self._core, self._matches, self._error = core, matches, error
        self.failed = False

    def submit(self, command):
        if not self.failed and self._matches(command):
            self.failed = True
            future = Future()
            future.set_exception(self._error)
            return future
        return self._core.submit(command)

    def __getattr__(self, name):
        return getattr(self._core, name)


def test_a_health_report_that_fails_once_no_longer_ends_the_dispenser_and_loses_presses(kiosk):
    # The original failure: the core did not confirm the printer's health report in time, the
    # exception ended the dispenser's thread, and every later press queued forever, unanswered.
    supervision = SteppedSupervision()
    emulator, core, dispenser, recorder = kiosk(
        mode="paper_out",
        supervisor=supervision,
        core_seen=lambda core: FailsOnce(
            core,
            lambda c: isinstance(c, ReportHealth) and c.state is Health.FAILED,
            TimeoutError("the core did not confirm within 10 s"),
        ),
    )
    wait_for(lambda: dispenser.failure() is not None)
    dispenser.request("leave")  # a visitor presses while the dispenser is down

    supervision.later(0.0)
    wait_for(lambda: printer_health(core).state is Health.FAILED)
    health = printer_health(core)
    assert "TimeoutError: the core did not confirm within 10 s" in health.detail
    assert "restarting in 1 s" in health.detail
    assert recorder.answers == []  # still queued, not lost

    emulator.mode = "ready"
    supervision.later(1.0)
    assert recorder.wait_answer().code == "A001"
    assert dispenser.failure() is None
    assert supervision.supervisor.status()[0]["restarts"] == 1
    wait_for(lambda: printer_health(core).state is Health.OK)


def test_a_bug_while_serving_a_press_answers_that_visitor_and_the_next_press_prints(kiosk):
    supervision = SteppedSupervision()
    emulator, core, dispenser, recorder = kiosk(
        supervisor=supervision,
        core_seen=lambda core: FailsOnce(core, lambda c: isinstance(c, IssueTicket), RuntimeError("a bug")),
    )
    dispenser.request("leave")
    assert recorder.wait_answer().message.title.render("de") == "Außer Betrieb"
    assert recorder.beeps == [Beep.REFUSED]
    wait_for(lambda: dispenser.failure() == "RuntimeError: a bug")

    supervision.later(0.0)
    supervision.later(1.0)
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A001"


def test_the_tickets_qr_opens_the_backends_wait_page_unless_another_is_configured():
    ticket = SimpleNamespace(code="A007", day=date(2026, 3, 9))
    assert wait_page_url(None, "https://backend.example/", "mitte", ticket) == (
        "https://backend.example/w/mitte/A007?day=2026-03-09"
    )
    own = "https://jobcenter.example/wartezeit?standort={site}&nummer={code}"
    assert wait_page_url(own, "https://backend.example", "mitte", ticket) == (
        "https://jobcenter.example/wartezeit?standort=mitte&nummer=A007"
    )
    assert wait_page_url(None, None, "mitte", ticket) is None


def test_the_tickets_qr_opens_the_wait_page_in_the_language_the_visitor_chose_at_the_kiosk():
    ticket = SimpleNamespace(code="A007", day=date(2026, 3, 9))
    assert wait_page_url(None, "https://backend.example", "mitte", ticket, "uk") == (
        "https://backend.example/w/mitte/A007?day=2026-03-09&lang=uk"
    )
    own = "https://jobcenter.example/wartezeit?nummer={code}&sprache={lang}"
    assert (
        wait_page_url(own, None, "mitte", ticket, "ar") == "https://jobcenter.example/wartezeit?nummer=A007&sprache=ar"
    )
    assert wait_page_url(own, None, "mitte", ticket) == "https://jobcenter.example/wartezeit?nummer=A007&sprache=de"
