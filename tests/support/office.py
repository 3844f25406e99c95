"""An office of real device processes on loopback, put together as the demo does (app.demo_office): the
reference backend, kiosks and monitors each a process of its own with its own config, state and socket.

The office's clock starts at 10:00 on the tests' Wednesday in the office's zone and runs on in real time: the
backend's and the devices' (given as their start) and the monitors' (libfaketime), so nothing depends on the
date or the time of day the tests run at.
"""

import itertools
import os
import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.app.demo import demo_site_key, wait_for_day_list
from appliance.app.demo_backend import ReferenceBackend, demo_secret
from appliance.app.demo_hardware import ScannerFifo
from appliance.app.demo_office import (
    KIOSK_FILE,
    MONITOR_FILE,
    DeviceRunner,
    OfficeScreens,
    start_monitor,
    stop_process,
    write_device_file,
    write_site_file,
)
from appliance.domain.codes import AppointmentCode, encode
from appliance.printer.emulator import PrinterEmulator
from support import ANSWER_S, TEST_START, on_clock

SITE = "test-office"
ZONE = ZoneInfo("Europe/Berlin")
# The monitors' own options: "nicht aktuell" a second after the backend went away (a device says so
# from then on, on the monitor's own clock: the snapshot's stands still while nothing changes), and
# the newest call highlighted all along, so no frame depends on when it is drawn.
HIGHLIGHT_S = 10 * 3600
MONITOR_OPTIONS = ("--clock", "wall", "--stale-after", "1", "--highlight-seconds", str(HIGHLIGHT_S))
# The demo's kiosk, but patient as the tests are: a loaded machine stalls the printer emulator (a thread of the
# tests' process) and the backend for longer than the Pi's defaults allow (a printer silent 5 s counts as gone, an
# office that does not answer a draw within 300 ms has the kiosk print from its fallback block, or print nothing
# before the block is leased): the printer is waited for as long as any answer, a draw the longest the config allows.
PRINTER_LINE = "uri = {printer}\n"
assert PRINTER_LINE in KIOSK_FILE
PATIENT_KIOSK_FILE = (
    KIOSK_FILE.replace(PRINTER_LINE, f"{PRINTER_LINE}timeout = {ANSWER_S:g}s\n")
    + "\n[numbering]\noffice_deadline = 5s\n"
)


def ten_o_clock() -> datetime:
    return TEST_START.astimezone(ZONE).replace(hour=10, minute=0, second=0, microsecond=0)


class Office:
    """``kiosks`` and ``monitors`` (device ids) of one site; with ``frames``, every device runs a monitor
    process writing its frames to ``directory``/frames/<device>/."""

    def __init__(self, directory: Path, kiosks=("kiosk-1", "kiosk-2"), monitors=("monitor-1",), frames=False):
        self.directory, self.kiosks, self.monitors, self.with_frames = directory, kiosks, monitors, frames
        self.var = directory / "var"
        self.names = tuple(kiosks) + tuple(monitors)
        for name in self.names:
            (self.var / name).mkdir(parents=True, exist_ok=True)
        tokens = {name: demo_secret(self.var / name / "backend.token") for name in self.names}
        self.backend = ReferenceBackend(self.var, directory / "backend.log", SITE, tokens)
        self.key = demo_site_key(self.var)
        self.clock_start, self._started = ten_o_clock(), time.monotonic()
        self.printers, self.scanners, self.configs = {}, {}, {}
        self.devices: dict[str, DeviceRunner] = {}
        self.monitor_processes: dict = {}
        self.screens: OfficeScreens | None = None
        self.codes: dict[str, str] = {}  # display code -> the signed code on the visitor's phone
        self._appointment_ids = itertools.count(1)

    def now(self) -> datetime:
        """The office's time: the backend's and every device's clock."""
        return self.clock_start + timedelta(seconds=time.monotonic() - self._started)

    def start(self, booked: int = 2) -> "Office":
        """The backend with ``booked`` appointments of today (slots from 10:00), then every device; what started
        is stopped again when a part fails to start, so no process outlives the failing test."""
        try:
            self._start(booked)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, booked: int) -> None:
        self.backend.start(clock_start=self.now())
        held = self.book(booked)
        # Day lists fetched again every few seconds: a booking made while the office runs reaches the kiosks.
        site_file = write_site_file(self.var, SITE, self.backend.url, appointments_interval="5s")
        for name in self.kiosks:
            self.printers[name] = PrinterEmulator(out_dir=self.directory / "tickets" / name)
            self.printers[name].start()
            self.scanners[name] = ScannerFifo(self.var / name / "scanner.fifo", layout="us")
            self.configs[name] = write_device_file(
                site_file, self.var / name, PATIENT_KIOSK_FILE, device=name, printer=self.printers[name].uri
            )
        for name in self.monitors:
            self.configs[name] = write_device_file(site_file, self.var / name, MONITOR_FILE, device=name)
        for name in self.names:
            self.start_device(name)
        # The first scan must find its appointment: each kiosk's first day list comes after a heartbeat, a while
        # on a loaded machine, so the office is ready once every kiosk holds it (the demo waits for it too).
        for name in self.kiosks:
            wait_for_day_list(self.devices[name], held)
        self.screens = OfficeScreens({name: self.devices[name].socket for name in self.names})
        if self.with_frames:
            for name in self.names:
                self.monitor_processes[name] = start_monitor(
                    self.devices[name].socket,
                    self.frames_dir(name),
                    headless=True,
                    log_path=self.directory / f"{name}-monitor.log",
                    options=MONITOR_OPTIONS,
                    environment=on_clock(dict(os.environ), self.now()),
                )

    def book(self, count: int) -> set[str]:
        """``count`` appointments more, booked at the backend; their ids."""
        day = self.clock_start.date()
        appointments = []
        for _ in range(count):
            number = next(self._appointment_ids)
            slot = (self.clock_start + timedelta(minutes=5 * number)).time()
            code = AppointmentCode(number, SITE, day, slot, "leave", f"T{number:03d}")
            self.codes[code.display_code] = encode(code, self.key)
            appointments.append(
                {
                    "id": str(number),
                    "day": day.isoformat(),
                    "slot": slot.strftime("%H:%M"),
                    "concern": "leave",
                    "display_code": code.display_code,
                    "reference": f"R{number:05d}",
                }
            )
        self.backend.book(appointments, self.var / "bookings.json")
        return {appointment["id"] for appointment in appointments}

    def start_device(self, name: str) -> None:
        self.devices[name] = DeviceRunner(name, self.configs[name], self.now(), self.directory / f"{name}.log")
        if name in self.scanners:
            self.scanners[name].connect()

    def stop_device(self, name: str) -> None:
        if name in self.scanners:
            self.scanners[name].close()
        self.devices[name].stop()

    def press(self, kiosk: str, concern: str) -> dict:
        """A visitor presses ``concern``'s button at ``kiosk``: what its screen answers."""
        self.devices[kiosk].do("press", concern=concern)
        return self.devices[kiosk].answer("a button press")

    def scan(self, kiosk: str, display_code: str) -> dict:
        """A visitor holds the appointment's QR code to ``kiosk``'s scanner: what its screen answers."""
        self.scanners[kiosk].hold_up(self.codes[display_code])
        return self.devices[kiosk].answer("a scan")

    def frames_dir(self, name: str) -> Path:
        return self.directory / "frames" / name

    def stop(self) -> None:
        """Stops what started, the screens' readers first and the printers last: every part, also when the stop
        of another fails."""
        with ExitStack() as stopping:  # its callbacks run last in, first out
            for printer in self.printers.values():
                stopping.callback(printer.stop)
            stopping.callback(self.backend.stop)
            for name in self.devices:
                stopping.callback(self.stop_device, name)
            for process in self.monitor_processes.values():
                stopping.callback(stop_process, process)
            if self.screens:
                stopping.callback(self.screens.stop)
