"""The printer emulator: tickets sent over real TCP come out as PNGs whose QR codes scan to the ticket's URL."""

import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from appliance.app.sample_ticket import sample_ticket
from appliance.domain.wording import in_languages, ticket_queue
from appliance.printer.connection import open_printer
from appliance.printer.emulator import MODES, PrinterEmulator, render, render_png
from appliance.printer.layout import ticket_bytes
from appliance.printer.status import PrinterState, printer_status
from support import ANSWER_S, REPO_ROOT, stop_process, wait_for
from support.ocr import read_page, similarity

TICKET = sample_ticket(datetime(2026, 11, 25, 9, 14, tzinfo=ZoneInfo("Europe/Berlin")))


@pytest.fixture
def emulator(tmp_path):
    with PrinterEmulator(out_dir=tmp_path / "tickets") as emulator:
        yield emulator


def print_ticket(emulator, content=TICKET, **layout) -> bytes:
    data = ticket_bytes(content, profile=layout.pop("profile", "TM-T88V"), paper_width_mm=80, **layout)
    with open_printer(emulator.uri, timeout_s=ANSWER_S) as connection:
        assert printer_status(connection, ANSWER_S).can_print
        connection.write(data)
    emulator.wait_for_jobs(len(emulator.jobs) + 1)
    return data


def dark_row_bands(image: Image.Image) -> list[int]:
    """Heights of the horizontal bands of the picture that have any black in them."""
    grey = image.convert("L")
    rows = [grey.crop((0, y, grey.width, y + 1)).getextrema()[0] < 128 for y in range(grey.height)]
    bands, run = [], 0
    for dark in rows + [False]:
        if dark:
            run += 1
        elif run:
            bands.append(run)
            run = 0
    return bands


@pytest.mark.parametrize("native_qr", [True, False], ids=["native-qr", "raster-qr"])
def test_a_ticket_over_tcp_prints_its_number_large_and_a_qr_code_that_scans_to_its_url(emulator, tmp_path, native_qr):
    data = print_ticket(emulator, native_qr=native_qr)
    assert emulator.jobs == [data]  # exactly the bytes sent; the status queries are not part of the job
    png = tmp_path / "ticket.png"
    printed = render_png(emulator.jobs[0], png)
    image = Image.open(png)
    assert image.width == 576
    assert image.convert("L").getextrema() == (0, 255)  # not blank
    assert [code.data.decode() for code in decode(image)] == [TICKET.url]
    assert printed.largest_line().text == "A042"
    # The number is by far the tallest text on the paper: 8 x 24 dots, its glyphs well over 100 dots high.
    text_bands = sorted(band for band in dark_row_bands(image) if band < 180)
    assert text_bands[-1] > 100 and text_bands[-2] < 50


def test_each_job_is_written_as_a_png_named_after_the_ticket_number(emulator, tmp_path):
    print_ticket(emulator)
    print_ticket(emulator, replace(TICKET, code="C007"), native_qr=False)
    assert [png.name for png in emulator.pngs] == ["A042.png", "C007.png"]
    for png in emulator.pngs:
        assert png.parent == tmp_path / "tickets"
        assert [code.data.decode() for code in decode(Image.open(png))] == [TICKET.url]


def test_umlauts_come_back_out_of_the_printer(emulator):
    print_ticket(
        emulator,
        replace(TICKET, queue=(("Sie sind als Nächstes dran", "You are next"),), concern=("Ärger über Änderungen",)),
    )
    text = render(emulator.jobs[0]).text
    assert "Ärger über Änderungen" in text and "Sie sind als Nächstes dran" in text


def ticket_in(language: str):
    """The sample ticket with every line from the catalogs in German and ``language``."""
    languages = ("de", language)
    return replace(
        TICKET,
        heading=in_languages("ticket.number", languages),
        queue=tuple(in_languages(line, languages) for line in ticket_queue(3, (10, 20))),
        url_label=in_languages("ticket.online", languages),
        footer=in_languages("ticket.footer", languages),
    )


@pytest.mark.slow  # tesseract reads each ticket back: make test runs it, make test-fast leaves it out
@pytest.mark.parametrize(
    "language, profile, page",
    [
        ("uk", "TM-T88V", (46, "cp1251")),
        ("ru", "TM-T88IV", (17, "cp866")),
        ("uk", "simple", None),
        ("tr", "TM-T88V", (13, "cp857")),
        ("tr", "TM-T88IV", None),
    ],
    ids=["uk-cp1251", "ru-cp866", "uk-no-cyrillic-page", "tr-cp857", "tr-no-turkish-page"],
)
def test_a_cyrillic_or_turkish_ticket_comes_out_readable_through_the_code_page_or_as_images(
    tmp_path, language, profile, page
):
    content = ticket_in(language)
    with PrinterEmulator(out_dir=tmp_path / "tickets", profile=profile) as emulator:
        data = print_ticket(emulator, content, profile=profile, native_qr=True)
        (png,) = emulator.pngs

    if page is not None:  # the switch to the profile's Cyrillic or Turkish page, the heading in its bytes, no image
        number, encoding = page
        assert bytes([0x1B, 0x74, number]) + content.heading[1].encode(encoding) in data
        assert b"\x1dv0" not in data
    else:
        # No page for them: each line with a letter CP437 lacks an image ('Güncel' stays text in CP437).
        assert data.count(b"\x1bt") == 1 and data.count(b"\x1dv0") >= 4
    lines = read_page(Image.open(png), language)
    for words in (content.heading[1], content.url_label[1], content.footer[1], content.queue[0][1]):
        best = max(lines, key=lambda line: similarity(words, line))
        assert similarity(words, best) >= 0.85, f"printed {words!r}, tesseract read {lines}"


def test_several_tickets_on_one_connection_are_separate_jobs_split_at_the_cut(emulator):
    first = ticket_bytes(TICKET, profile=None, paper_width_mm=80)
    second = ticket_bytes(replace(TICKET, code="A043"), profile=None, paper_width_mm=80)
    with open_printer(emulator.uri) as connection:
        connection.write(first + second)
    assert emulator.wait_for_jobs(2) == [first, second]


def test_a_connection_that_only_asks_for_status_prints_nothing(emulator):
    with open_printer(emulator.uri) as connection:
        for _ in range(3):
            printer_status(connection, ANSWER_S)
    time.sleep(0.2)
    assert emulator.jobs == [] and emulator.status_queries == 6


@pytest.mark.parametrize("mode", ["paper_out", "cover_open"])
def test_nothing_comes_out_while_the_paper_cannot_move(emulator, mode):
    emulator.mode = mode
    data = ticket_bytes(TICKET, profile=None, paper_width_mm=80)
    with open_printer(emulator.uri) as connection:
        connection.write(data)
    wait_for(lambda: emulator.not_printed, what="the job taken in without printing")
    assert emulator.jobs == [] and emulator.not_printed == [data] and emulator.pngs == []


def test_a_silent_printer_still_prints(emulator):
    emulator.mode = "silent"
    data = ticket_bytes(TICKET, profile=None, paper_width_mm=80)
    with open_printer(emulator.uri) as connection:
        assert printer_status(connection, 0.2).state is PrinterState.NO_ANSWER
        connection.write(data)
    assert emulator.wait_for_jobs(1) == [data]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown printer emulator mode 'jammed'; modes: ready, near_end"):
        PrinterEmulator(mode="jammed")
    assert set(MODES) >= {"ready", "near_end", "paper_out", "cover_open", "silent", "hung", "garbage"}


def test_the_paper_is_576_dots_wide_for_80_mm_and_384_for_58_mm():
    data = ticket_bytes(TICKET, profile=None, paper_width_mm=58)
    assert render(data, 58).image.width == 384
    assert render(data, 80).image.width == 576


def test_random_bytes_never_crash_the_renderer():
    rng = random.Random(4)
    valid = ticket_bytes(TICKET, profile=None, paper_width_mm=80, native_qr=False)
    for _ in range(80):
        junk = rng.randbytes(rng.randint(0, 400))
        cut = rng.randint(0, len(valid))
        for job in (junk, valid[:cut], valid[:cut] + junk, junk + valid):
            printed = render(job)
            assert printed.image.width == 576


@pytest.mark.parametrize(
    "job",
    [
        b"\x1dv0\x00\xff\xff\xff\xff",  # a raster image claiming 4 GB
        b"\x1dv0\x00\x02\x00\x02\x00\xff",  # raster data cut short
        b"\x1d(k\xff\xff1P0" + b"x" * 10,  # QR data claiming 64 KB
        b"\x1d(k\x03\x001Q0",  # print a QR code that was never stored
        b"\x1d(k\x04\x001C\x00\x00\x1d(k\x03\x001Q0",  # module size 0
        b"\x1b*\x21\xff\xff",  # column image cut short
        b"\x1d!\xff" + b"W" * 500 + b"\n",  # the largest size, far too long for a line
        b"\x1bd\xff" * 200 + b"end\n",  # metres of paper feed
        b"\x1bt\xc8\x80\x81\n",  # a code page nobody knows
    ],
)
def test_malformed_commands_are_skipped_safely(job):
    printed = render(job)
    assert printed.image.height <= 8000


def test_the_emulator_survives_noise_and_keeps_answering(emulator):
    noise = random.Random(9).randbytes(20000).replace(b"\x10\x04", b"..")
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        sock.sendall(noise)
    with open_printer(emulator.uri) as connection:
        assert printer_status(connection, ANSWER_S).state is PrinterState.READY


def test_a_hung_emulator_accepts_the_connection_but_takes_no_data(emulator):
    emulator.mode = "hung"
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=0.3) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        with pytest.raises(TimeoutError):
            for _ in range(10_000):
                sock.sendall(b"x" * 65536)


def line_from(process: subprocess.Popen) -> str:
    """The program's next line on stdout; a program that says nothing fails the test instead of hanging it."""
    assert select.select([process.stdout], [], [], ANSWER_S)[0], f"{process.args} printed no line within {ANSWER_S} s"
    return process.stdout.readline()


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_the_emulator_runs_as_a_command_and_writes_pngs(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance.printer.emulator", "--port", "0", "--out", str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = line_from(process)
        assert banner.startswith("printer emulator on tcp://127.0.0.1:")
        uri = banner.split()[3].rstrip(",")
        with open_printer(uri) as connection:
            connection.write(ticket_bytes(TICKET, profile=None, paper_width_mm=80))
        assert line_from(process).startswith("job 1:")
        assert (out / "A042.png").exists()
    finally:
        assert stop_process(process) == 0


def test_a_ticket_trickling_in_a_few_bytes_at_a_time_is_still_one_job(emulator):
    data = ticket_bytes(TICKET, profile="TM-T88V", paper_width_mm=80)
    with socket.create_connection(("127.0.0.1", emulator.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(data), 7):
            sock.sendall(data[start : start + 7])
            if start % 70 == 0:
                time.sleep(0.002)  # let some pieces arrive on their own
    assert emulator.wait_for_jobs(1) == [data]


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_the_emulator_program_ends_on_sigterm_with_a_printer_connection_open():
    program = subprocess.Popen(
        [sys.executable, "-m", "appliance.printer.emulator", "--port", "0", "--mode", "hung"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        port = int(line_from(program).split("tcp://127.0.0.1:")[1].split(",")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_S):  # a sender the hung printer never reads
            program.send_signal(signal.SIGTERM)
            assert program.wait(timeout=ANSWER_S) == 0
    finally:
        if program.poll() is None:
            program.kill()
            program.wait()
        program.stdout.close()
