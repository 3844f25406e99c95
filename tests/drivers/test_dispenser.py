"""Walk-in tickets end to end: the core, the dispenser, and a printer emulator on a real TCP port."""
import threading
import time
from datetime import datetime, timezone

import pytest
from PIL import Image
from pyzbar.pyzbar import decode as decode_qr

from appliance.domain.clock import FakeClock
from appliance.domain.commands import Health
from appliance.app.config import load_config
from appliance.domain.core import Core
from appliance.drivers.dispenser import TicketDispenser
from appliance.domain.state import StateStore
from appliance.printer.connection import open_printer
from appliance.printer.emulator import PrinterEmulator

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


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

    def wait_answer(self, timeout=10):
        assert self.answered.wait(timeout), "no answer on the kiosk screen"
        self.answered.clear()
        return self.answers[-1]


class PaperRunsOutDuringTheTicket(PrinterEmulator):
    """The roll ends while the first ticket is being printed."""

    def _finish(self, job):
        super()._finish(job)
        if len(self.jobs) == 1:
            self.mode = "paper_out"


def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def kiosk(tmp_path, device_config_file):
    def build(emulator_class=PrinterEmulator, mode="ready", appointments=()):
        emulator = emulator_class(out_dir=tmp_path / "tickets", mode=mode)
        emulator.start()
        device_config_file.write_text(device_config_file.read_text() + f"""
[printer]
uri = {emulator.uri}
timeout = 1s
wait_page_url = https://jobcenter.example/wartezeit?site={{site}}&ticket={{code}}
""")
        config = load_config(device_config_file)
        store = StateStore(config.state.database)
        if appointments:  # before the core starts: from then on only its thread writes
            store.replace_appointments(appointments[0].day, list(appointments))
        core = Core(config, store, FakeClock(MORNING))
        core.start()
        recorder = Recorder()
        printer = config.printer
        dispenser = TicketDispenser(core, config, lambda: open_printer(printer.uri, None, 1.0), signals=recorder,
                                    on_answer=recorder.on_answer, recheck_s=0.1)
        dispenser.start()
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
    assert codes == ["https://jobcenter.example/wartezeit?site=test-office&ticket=A001"]
    assert [e.code for e in core.snapshot.waiting] == ["A001"]
    assert recorder.beeps == ["accepted"] and "PRINTING" in recorder.states


@pytest.mark.parametrize("mode, reason", [("paper_out", "paper out"), ("cover_open", "cover open"),
                                          ("silent", "no answer"), ("hung", "")])
def test_a_printer_that_cannot_print_consumes_no_number_and_says_out_of_order(kiosk, mode, reason):
    emulator, core, dispenser, recorder = kiosk(mode=mode)
    dispenser.request("leave")
    answer = recorder.wait_answer()
    assert answer.code is None and answer.message.title.render() == "Außer Betrieb"
    assert "Information" in answer.message.body.render()
    assert core.snapshot.issued_today == ()
    health = printer_health(core)
    assert health.state is Health.FAILED and reason in health.detail
    assert recorder.states[-1] == "OUT_OF_ORDER" and recorder.beeps == ["refused"]
    assert "component_health" in [e.kind for e in core.snapshot.last_events]


def test_recovery_is_detected_by_itself_and_the_next_press_prints(kiosk):
    emulator, core, dispenser, recorder = kiosk(mode="paper_out")
    assert until(lambda: printer_health(core) and printer_health(core).state is Health.FAILED)
    emulator.mode = "ready"
    assert until(lambda: printer_health(core).state is Health.OK)
    assert recorder.states[-1] == "READY" and dispenser.out_of_order is None
    dispenser.request("documents")
    assert recorder.wait_answer().code == "C001"


def test_paper_running_out_during_a_ticket_voids_its_number_for_good(kiosk):
    emulator, core, dispenser, recorder = kiosk(emulator_class=PaperRunsOutDuringTheTicket)
    dispenser.request("leave")
    answer = recorder.wait_answer()
    assert answer.message.title.render() == "Außer Betrieb"
    assert core.snapshot.waiting == ()  # a voided number is never called
    assert dict(core.snapshot.issued_today) == {"leave": 1}  # ...and never issued again
    kinds = [e.kind for e in core.snapshot.last_events]
    assert "ticket_void" in kinds
    emulator.mode = "ready"
    assert until(lambda: printer_health(core).state is Health.OK)
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A002"


def test_paper_near_end_still_prints_and_warns_the_technician(kiosk):
    emulator, core, dispenser, recorder = kiosk(mode="near_end")
    dispenser.request("leave")
    assert recorder.wait_answer().code == "A001"
    health = printer_health(core)
    assert health.state is Health.DEGRADED and "near end" in health.detail


def test_the_morning_list_prints_each_appointment_without_names_once_a_day(kiosk):
    from datetime import time as time_of_day

    from appliance.domain.state import Appointment
    day = MORNING.date()
    emulator, core, dispenser, recorder = kiosk(appointments=[
        Appointment("1", "test-office", day, time_of_day(9, 30), "leave", "T021"),
        Appointment("2", "test-office", day, time_of_day(8, 15), "documents", "T007"),
        Appointment("3", "test-office", day, time_of_day(10, 0), "leave", "T030", status="cancelled")])
    # 09:00 in Berlin is past the default 07:00: the morning run prints by itself
    job = emulator.wait_for_jobs(1)[0]
    assert job.index(b"08:15") < job.index(b"09:30") and b"T007" in job and b"T021" in job
    assert b"T030" not in job  # cancelled
    dispenser.print_day_list(scheduled=True)  # the scheduled run happens once a day
    time.sleep(0.5)
    assert len(emulator.jobs) == 1
