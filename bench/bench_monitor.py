"""Monitor figures: frame time, idle CPU, call-to-pixels latency and memory over many updates.

The process figures run the real monitor (SDL's dummy video driver) against a fake daemon socket.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the sample views are test fixtures (tests/support)

import pygame  # noqa: E402

from appliance.display.announcer import Announcer  # noqa: E402
from appliance.display.monitor_render import render_monitor  # noqa: E402
from appliance.display.slides import Slides  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from support.samples import NOW, call, make_slides, sample_view  # noqa: E402
from support.view_server import ViewServer  # noqa: E402

ENV = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO / "tests"))
# A minute of idling: twelve keep-alives and the clock's minute change, as on a quiet afternoon.
IDLE_SECONDS = 60.0


def _busy_view(now: datetime, index: int) -> dict:
    """A view with a new call and a changed queue, as after every call at a busy counter."""
    calls = [call(f"A{(index - k) % 1000:03d}", (index - k) % 9 + 1, now - timedelta(seconds=40 * k)) for k in range(6)]
    return sample_view(now, waiting=30, calls=calls)


def monitor_frame_ms(runs: int = 50) -> float:
    """A full 1920x1080 frame (30 waiting, 6 calls, slides, ticker) drawn offscreen; median."""
    with tempfile.TemporaryDirectory() as folder:
        slides = Slides(make_slides(Path(folder)), interval_s=10)
        surface = pygame.Surface((1920, 1080))
        times = []
        for index in range(runs + 5):
            now = NOW + timedelta(seconds=index)
            view = parse_view(_busy_view(now, index))
            started = time.perf_counter()
            render_monitor(surface, view, now, slides=slides)
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times[5:]), 2)  # the first frames fill the font caches


class _Monitor:
    """The monitor process in a (dummy) window, its log lines timestamped as they arrive."""

    def __init__(self, socket_path: Path, *extra: str):
        self.lines: list[tuple[float, str]] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "appliance.app.monitor_process",
                "--socket",
                str(socket_path),
                "--windowed",
                "--size",
                "1920x1080",
                "--no-sound",
                "--log-level",
                "debug",
                *extra,
            ],
            cwd=REPO,
            env=ENV,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append((time.perf_counter(), line))

    def wait_for(self, pattern: str, after: float = 0.0, timeout: float = 20.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for stamp, line in list(self.lines):
                if stamp >= after and re.search(pattern, line):
                    return stamp
            time.sleep(0.0005)
        raise RuntimeError(f"the monitor never logged {pattern!r}")

    def cpu_seconds(self) -> float:
        """CPU time of all the process's threads, in nanoseconds' resolution (schedstat), not ticks."""
        return (
            sum(
                int((task / "schedstat").read_text().split()[0])
                for task in Path(f"/proc/{self.process.pid}/task").iterdir()
            )
            / 1e9
        )

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def monitor_idle_cpu_pct(seconds: float = IDLE_SECONDS) -> float:
    """CPU share of one core while nothing happens: only the daemon's 5 s keep-alives arrive."""
    with tempfile.TemporaryDirectory() as folder:
        socket_path = Path(folder) / "control.sock"
        now = datetime.now(UTC)
        with ViewServer(
            socket_path, sample_view(now, calls=[call("A042", 3, now - timedelta(minutes=5))]), keepalive_s=5.0
        ):
            monitor = _Monitor(socket_path)
            try:
                monitor.wait_for("frame presented")
                time.sleep(2.0)  # start-up is over
                cpu, started = monitor.cpu_seconds(), time.monotonic()
                time.sleep(seconds)
                return round((monitor.cpu_seconds() - cpu) / (time.monotonic() - started) * 100, 3)
            finally:
                monitor.stop()


def call_to_pixels_ms(calls: int = 20) -> float:
    """A new call sent by the fake daemon -> the frame showing it presented (display flipped); median."""
    with tempfile.TemporaryDirectory() as folder:
        socket_path = Path(folder) / "control.sock"
        with ViewServer(socket_path, _busy_view(datetime.now(UTC), 0), keepalive_s=5.0) as server:
            monitor = _Monitor(socket_path)
            try:
                monitor.wait_for("frame presented")
                times = []
                for index in range(1, calls + 1):
                    time.sleep(0.3)
                    view = _busy_view(datetime.now(UTC), index)
                    code = view["snapshot"]["recent_calls"][0]["code"]
                    sent = time.perf_counter()
                    server.publish(view)
                    shown = monitor.wait_for(f"calling {code}$", after=sent)
                    times.append((shown - sent) * 1000)
                return round(statistics.median(times), 1)
            finally:
                monitor.stop()


class _NoSound:
    def play(self, name, wav):
        pass


def monitor_rss_growth_pct(updates: int = 100_000, warmup: int = 10_000) -> float:
    """RSS growth over ``updates`` view lines, each parsed, announced and drawn as the monitor does.

    In a fresh process, so the other figures' surfaces and threads do not blur it; measured from
    the end of a warm-up (font caches, the announcer's memory of recent calls, allocator arenas).
    """
    result = subprocess.run(
        [sys.executable, __file__, "--rss", str(updates), str(warmup)],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return float(result.stdout.split()[-1])


def _rss_growth(updates: int, warmup: int, size=(960, 540)) -> float:
    # Drawn at 960x540 offscreen so the run takes minutes, not most of an hour; the caches and
    # per-frame objects that could leak are the same at any size.
    pygame.font.init()
    surface = pygame.Surface(size)
    announcer = Announcer(_NoSound(), chime=False, pause_s=0)
    shown = None
    baseline = 0
    try:
        for index in range(warmup + updates):
            now = NOW + timedelta(seconds=index)
            view = parse_view(json.loads(json.dumps(_busy_view(now, index))))
            announcer.offer(view.recent_calls, now)
            if view != shown:
                render_monitor(surface, view, now)
                shown = view
            # A call per update as fast as the CPU allows would queue announcements faster than
            # the announcer thread gets the GIL; an office calls a few a minute. Let it catch up.
            if index % 100 == 0:
                announcer.wait_idle(10)
            if index == warmup:
                baseline = _rss_kb()
        announcer.wait_idle(10)
        return round((_rss_kb() - baseline) / baseline * 100, 2)
    finally:
        announcer.close()


def _rss_kb() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def run() -> dict:
    pygame.font.init()
    return {
        "monitor_frame_ms": monitor_frame_ms(),
        "monitor_idle_cpu_pct": monitor_idle_cpu_pct(),
        "call_to_pixels_ms": call_to_pixels_ms(),
        "monitor_rss_growth_pct": monitor_rss_growth_pct(),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        print(_rss_growth(int(sys.argv[2]), int(sys.argv[3])))
    else:
        for key, value in run().items():
            print(f"{key:<32} {value}")
