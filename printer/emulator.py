"""A network ESC/POS ticket printer in software, for the demo and the tests: it prints to PNG files.

Switchable into the faults real printers have: paper near end or out, cover open, silent, hung, garbage.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import select
import signal
import socket
import threading
import time
from pathlib import Path

from appliance.printer.render import PrintedJob, render, render_png
from appliance.printer.status import ERROR_CAUSE, OFFLINE_CAUSE, PAPER_SENSOR, PRINTER
from appliance.printer.stream import CUTS, REALTIME, next_command

__all__ = ["PrinterEmulator", "MODES", "render", "render_png"]
log = logging.getLogger(__name__)

# The answers to DLE EOT 1, 2, 3, 4 per mode. Bits 1 and 4 are always set; 0x08 in n=1 is offline;
# n=2: 0x04 cover open, 0x20 stopped by paper end, 0x40 error; n=3: 0x08 cutter error;
# n=4: 0x0C near end, 0x60 paper end.
_ANSWERS = {
    "ready": {PRINTER: 0x12, OFFLINE_CAUSE: 0x12, ERROR_CAUSE: 0x12, PAPER_SENSOR: 0x12},
    "near_end": {PRINTER: 0x12, OFFLINE_CAUSE: 0x12, ERROR_CAUSE: 0x12, PAPER_SENSOR: 0x1E},
    "paper_out": {PRINTER: 0x1A, OFFLINE_CAUSE: 0x32, ERROR_CAUSE: 0x12, PAPER_SENSOR: 0x7E},
    "cover_open": {PRINTER: 0x1A, OFFLINE_CAUSE: 0x16, ERROR_CAUSE: 0x12, PAPER_SENSOR: 0x12},
    "offline": {PRINTER: 0x1A, OFFLINE_CAUSE: 0x12, ERROR_CAUSE: 0x12, PAPER_SENSOR: 0x12},
    "error": {PRINTER: 0x1A, OFFLINE_CAUSE: 0x52, ERROR_CAUSE: 0x1A, PAPER_SENSOR: 0x12},
}
MODES = (*_ANSWERS, "silent", "hung", "garbage")
# Modes in which the paper does not move: what arrives is taken but nothing comes out.
_NOT_PRINTING = ("paper_out", "cover_open", "offline", "error")


class PrinterEmulator:
    """Listens on TCP like a network printer on port 9100; ``jobs`` holds what it printed.

    A job is what arrived up to a cut, or up to the end of a connection; real-time status queries
    are answered at once and are not part of it. ``out_dir`` gets one PNG per job, named after the
    ticket number when the job has one (the largest text), ``job-0001.png`` otherwise.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        out_dir: Path | str | None = None,
        paper_width_mm: int = 80,
        profile: str | None = None,
        mode: str = "ready",
        seed: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.paper_width_mm = paper_width_mm
        self.profile = profile
        self.mode = mode
        self.jobs: list[bytes] = []
        self.not_printed: list[bytes] = []  # jobs that arrived while the paper could not move
        self.pngs: list[Path] = []
        self.status_queries = 0
        self._random = random.Random(seed)
        self._changed = threading.Condition()
        self._server: socket.socket | None = None
        self._clients: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown printer emulator mode '{value}'; modes: {', '.join(MODES)}")
        self._mode = value

    def start(self) -> int:
        """Start listening; returns the port (the chosen one when port was 0)."""
        server = socket.create_server((self.host, self.port))
        server.settimeout(0.1)
        self._server = server
        self.port = server.getsockname()[1]
        self._spawn(self._accept_loop, "printer-emulator")
        return self.port

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.close()
        for client in list(self._clients):
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> PrinterEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def uri(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def wait_for_jobs(self, count: int = 1, timeout_s: float = 60.0) -> list[bytes]:
        """Block until ``count`` jobs were printed (or the timeout passed); returns the jobs so far. The timeout
        is long: a test waits it out only when the jobs never come, a loaded machine takes seconds for one."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.jobs) < count and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return list(self.jobs)

    def answer(self, n: int) -> bytes:
        """What this printer says to DLE EOT n right now (nothing when silent or hung)."""
        mode = self._mode
        if mode in ("silent", "hung"):
            return b""
        if mode == "garbage":
            return self._random.randbytes(self._random.randint(1, 3))
        answer = _ANSWERS[mode].get(n)
        return b"" if answer is None else bytes([answer])

    def _spawn(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        # A day of tickets is thousands of connections: keep only the threads still serving.
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._clients.add(client)
            self._spawn(self._serve, "printer-emulator-client", client)

    def _serve(self, client: socket.socket) -> None:
        pending = bytearray()  # the job so far
        parsed = 0  # pending[:parsed] is whole commands
        try:
            while not self._stopping.is_set():
                if self._mode == "hung":
                    time.sleep(0.05)  # a hung printer takes nothing: the sender's buffers fill up
                    continue
                ready, _, _ = select.select([client], [], [], 0.1)
                if not ready:
                    continue
                data = client.recv(65536)
                if not data:
                    break
                pending += data
                parsed = self._consume(client, pending, parsed)
        except OSError:
            pass  # the other side went away; what arrived is kept below
        finally:
            if _has_print_data(pending):
                self._finish(bytes(pending))
            self._clients.discard(client)
            client.close()

    def _consume(self, client: socket.socket, pending: bytearray, parsed: int) -> int:
        """Answer status queries, cut jobs at cuts; returns how far ``pending`` is parsed now."""
        while True:
            command = next_command(pending, parsed)
            if command is None:
                return parsed
            if command.name in REALTIME:
                n = pending[command.start + 2]
                del pending[command.start : command.end]
                if command.name == "DLE EOT":
                    self.status_queries += 1
                    reply = self.answer(n)
                    if reply:
                        client.sendall(reply)
                continue
            parsed = command.end
            if command.name in CUTS:
                self._finish(bytes(pending[:parsed]))
                del pending[:parsed]
                parsed = 0

    def _finish(self, job: bytes) -> None:
        if self._mode in _NOT_PRINTING:
            self.not_printed.append(job)
            return
        png = None
        if self.out_dir is not None:
            try:
                printed = render(job, self.paper_width_mm, self.profile)
                png = self.out_dir / f"{self._job_name(printed, len(self.jobs) + 1)}.png"
                png.parent.mkdir(parents=True, exist_ok=True)
                printed.image.save(png, format="PNG")
            except Exception:  # a picture that cannot be drawn must not take the printer down
                log.exception("printer emulator could not draw job %d", len(self.jobs) + 1)
                png = None
        with self._changed:
            self.jobs.append(job)
            if png is not None:
                self.pngs.append(png)
            self._changed.notify_all()

    @staticmethod
    def _job_name(printed: PrintedJob, number: int) -> str:
        largest = printed.largest_line()
        # Only a ticket number is printed at three times the height or more.
        if largest is not None and largest.magnification[1] >= 3:
            name = re.sub(r"[^A-Za-z0-9_-]+", "_", largest.text).strip("_")[:40]
            if name:
                return name
        return f"job-{number:04d}"


def _has_print_data(pending: bytes) -> bool:
    # A connection that only initialised the printer or asked for status leaves no job.
    return bool(pending.replace(b"\x1b@", b"").strip(b"\x00\r\n"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance.printer.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--out", type=Path, help="directory for one PNG per printed job")
    parser.add_argument("--paper", type=int, choices=(58, 80), default=80, help="paper width in mm")
    parser.add_argument("--profile", help="python-escpos profile whose code pages to use")
    parser.add_argument("--mode", choices=MODES, default="ready")
    args = parser.parse_args(argv)
    emulator = PrinterEmulator(
        args.host, args.port, out_dir=args.out, paper_width_mm=args.paper, profile=args.profile, mode=args.mode
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    port = emulator.start()
    print(
        f"printer emulator on tcp://{args.host}:{port}, mode {args.mode}"
        + (f", PNGs in {args.out}" if args.out else ""),
        flush=True,
    )
    printed = 0
    while not stop.wait(0.2):
        for job in emulator.jobs[printed:]:
            printed += 1
            print(f"job {printed}: {len(job)} bytes", flush=True)
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
