"""The monitor as a process against a fake daemon on a real Unix socket: state, changes, reconnects, files."""

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import REPO_ROOT, on_clock, stop_process, wait_for

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.app.monitor_process import main  # noqa: E402
from appliance.display import theme  # noqa: E402
from appliance.display.monitor_render import render_monitor  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from support.ocr import count_colour, read_text  # noqa: E402
from support.samples import call, sample_view  # noqa: E402
from support.view_server import ViewServer  # noqa: E402

CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
ENV = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO_ROOT))

pytestmark = pytest.mark.slow


def view_calling(code: str, counter: int = 3, **changes) -> dict:
    now = datetime.now(UTC)
    return sample_view(now, calls=[call(code, counter, now), call("D017", 1, now - timedelta(minutes=2))], **changes)


def code_region(view: dict, size=(1920, 1080)) -> pygame.Rect:
    """Where the current call's code stands: the layout is the same in any process."""
    frame = render_monitor(pygame.Surface(size), parse_view(view), datetime.now(UTC))
    return frame.regions["call_code"]


class Frames:
    """The PNGs a headless monitor writes, newest last."""

    def __init__(self, folder: Path):
        self.folder = folder

    def all(self) -> list[Path]:
        return sorted(self.folder.glob("frame-*.png")) if self.folder.is_dir() else []

    def newest_showing(self, shows, what: str) -> pygame.Surface:
        """The newest frame once ``shows(frame)`` holds for it: a slow machine may still be drawing the one before,
        or the one before that of a burst of changes."""

        def newest():
            frames = self.all()
            frame = frames and pygame.image.load(str(frames[-1]))
            return frame and shows(frame) and frame

        return wait_for(newest, what=what)


@pytest.fixture
def socket_path(tmp_path):
    return tmp_path / "run" / "control.sock"


@pytest.fixture
def headless(tmp_path, socket_path):
    """Starts ``python -m appliance.app.monitor_process --out`` and stops it with SIGTERM, as systemd would."""
    processes = []

    def start(*extra, sound=False, env=ENV):
        log = open(tmp_path / "monitor.log", "wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "appliance.app.monitor_process",
                "--socket",
                str(socket_path),
                "--out",
                str(tmp_path / "frames"),
                "--log-level",
                "debug",
                *([] if sound else ["--no-sound"]),
                *extra,
            ],
            cwd=REPO_ROOT,
            env=env,
            stderr=log,
            stdout=log,
        )
        processes.append(process)
        return process, Frames(tmp_path / "frames")

    yield start
    codes = []
    for process in processes:  # every one, also after one that had to be killed
        try:
            codes.append(stop_process(process))
        except AssertionError as failure:
            codes.append(failure)
    assert all(code == 0 for code in codes), codes


def shows_code(view: dict, code: str, size=(1920, 1080)):
    """Whether a frame shows ``code`` as the current call of ``view``, read by OCR."""
    region = code_region(view, size)
    return lambda frame: read_text(frame, region, charset=CODE_CHARS) == code


def test_the_monitor_shows_the_daemons_state_and_then_each_new_call(headless, socket_path):
    first = view_calling("U042")
    with ViewServer(socket_path, first, keepalive_s=0.5) as server:
        # On the snapshot's clock: a call is fresh (highlighted) however long a loaded machine takes to start it.
        process, frames = headless("--clock", "snapshot")
        # The first frame may be the connecting screen still: a slow machine draws it before the view comes.
        frame = frames.newest_showing(
            lambda frame: count_colour(frame, theme.HIGHLIGHT) > 100000, "the fresh call, highlighted"
        )
        assert read_text(frame, code_region(first), charset=CODE_CHARS) == "U042"

        second = view_calling("B731", 5)
        server.publish(second)
        frames.newest_showing(shows_code(second, "B731"), "the new call B731")
        # Keep-alives repeat the same view: no new frames for them.
        count = len(frames.all())
        time.sleep(1.6)
        assert len(frames.all()) == count and process.poll() is None


def test_the_monitor_reconnects_after_the_daemon_restarts_and_shows_reconnecting_meanwhile(headless, socket_path):
    header = pygame.Rect(0, 0, 1920, 120)

    def reconnecting(frame) -> bool:  # "Verbindung wird hergestellt" in the header's warning colour
        return count_colour(frame, theme.WARNING, header, tolerance=30) > 50

    server = ViewServer(socket_path, view_calling("A001"), keepalive_s=0.5)
    process, frames = headless()
    frames.newest_showing(lambda frame: not reconnecting(frame), "the daemon's view on screen")

    server.close()
    frames.newest_showing(reconnecting, "the reconnecting notice once the daemon is gone")

    later = view_calling("C117", 2)
    with ViewServer(socket_path, later, keepalive_s=0.5) as again:
        wait_for(lambda: again.subscriptions == 1, what="a new subscription")
        frames.newest_showing(
            lambda frame: (
                count_colour(frame, theme.WARNING, header, tolerance=30) == 0 and shows_code(later, "C117")(frame)
            ),
            "the new daemon's view, without the reconnecting notice",
        )
        assert again.subscriptions == 1
    assert process.poll() is None


def test_a_monitor_started_before_the_daemon_waits_and_then_connects(headless, socket_path):
    process, frames = headless()
    frame = frames.newest_showing(lambda frame: True, "the first frame")
    assert count_colour(frame, theme.HIGHLIGHT) == 0

    view = view_calling("E008", 4)
    with ViewServer(socket_path, view):
        frames.newest_showing(shows_code(view, "E008"), "the daemon's call E008")
    assert process.poll() is None


def test_screenshot_writes_one_png_of_the_current_state_and_exits_0(tmp_path, socket_path):
    view = view_calling("A042", 3)
    with ViewServer(socket_path, view):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "appliance.app.monitor_process",
                "--socket",
                str(socket_path),
                "--screenshot",
                str(tmp_path / "shot.png"),
            ],
            cwd=REPO_ROOT,
            env=ENV,
            capture_output=True,
            timeout=60,
        )

    assert result.returncode == 0, result.stderr
    shot = pygame.image.load(str(tmp_path / "shot.png"))
    assert shot.get_size() == (1920, 1080)
    assert read_text(shot, code_region(view), charset=CODE_CHARS) == "A042"


def test_screenshot_of_a_portrait_monitor_is_upright(tmp_path, socket_path):
    view = view_calling("C117", 12)
    with ViewServer(socket_path, view):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "appliance.app.monitor_process",
                "--socket",
                str(socket_path),
                "--size",
                "1920x1080",
                "--rotation",
                "90",
                "--screenshot",
                str(tmp_path / "shot.png"),
            ],
            cwd=REPO_ROOT,
            env=ENV,
            capture_output=True,
            timeout=60,
        )

    assert result.returncode == 0, result.stderr
    shot = pygame.image.load(str(tmp_path / "shot.png"))
    assert shot.get_size() == (1080, 1920)
    assert read_text(shot, code_region(view, (1080, 1920)), charset=CODE_CHARS) == "C117"


def test_screenshot_without_a_daemon_writes_the_waiting_screen_and_exits_4(tmp_path, socket_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance.app.monitor_process",
            "--socket",
            str(socket_path),
            "--screenshot-wait",
            "0.5",
            "--screenshot",
            str(tmp_path / "shot.png"),
        ],
        cwd=REPO_ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 4
    assert "no daemon answered" in result.stderr and (tmp_path / "shot.png").is_file()


def test_main_takes_the_socket_from_the_device_config(tmp_path, device_config, device_config_file):
    view = view_calling("D016", 1)
    with ViewServer(device_config.core.control_socket, view):
        code = main(["--config", str(device_config_file), "--screenshot", str(tmp_path / "shot.png")])

    assert code == 0
    assert read_text(pygame.image.load(str(tmp_path / "shot.png")), code_region(view), charset=CODE_CHARS) == "D016"


def test_a_bad_config_stops_with_exit_2_naming_the_problem(tmp_path, capsys):
    bad = tmp_path / "bad.conf"
    bad.write_text("[device]\nid = Not Valid!\n")

    assert main(["--config", str(bad), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "problem(s) in the configuration" in capsys.readouterr().err


def test_in_a_window_it_redraws_only_on_change_and_idles_without_a_busy_loop(tmp_path, socket_path):
    with ViewServer(socket_path, view_calling("A001"), keepalive_s=0.2) as server:
        log = tmp_path / "monitor.log"
        with open(log, "wb") as stream:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "appliance.app.monitor_process",
                    "--socket",
                    str(socket_path),
                    "--windowed",
                    "--size",
                    "640x360",
                    "--no-sound",
                    "--highlight-seconds",
                    "0",
                    "--log-level",
                    "debug",
                ],
                cwd=REPO_ROOT,
                env=ENV,
                stderr=stream,
            )
        try:
            # The first frame may be drawn on connecting, before the view arrives: wait for the view's.
            wait_for(lambda: "calling A001" in log.read_text(), what="the first frame showing the view")
            before = len(log.read_text().splitlines())
            ran_before, started = _loop_ran_seconds(process.pid), time.monotonic()
            time.sleep(3)  # fifteen keep-alives of an unchanged view
            ran_share = (_loop_ran_seconds(process.pid) - ran_before) / (time.monotonic() - started)
            # Each frame names its cause. Unchanged keep-alives are none; the clock's minute tick
            # (at most one in 3 s) and the window system's own requests (an expose) are.
            redraws = [line for line in log.read_text().splitlines()[before:] if "frame presented" in line]
            without_cause = [line for line in redraws if not re.search(r"frame presented \((minute|window)\)", line)]
            assert without_cause == []
            assert sum("(minute)" in line for line in redraws) <= 1
            assert ran_share < BUSY_LOOP_SHARE, ran_share

            server.publish(view_calling("A002"))
            wait_for(lambda: "calling A002" in log.read_text(), what="the new call presented")
        finally:
            assert stop_process(process) == 0


def test_with_sound_out_each_new_call_is_announced_into_a_wav_file(headless, socket_path, tmp_path):
    with ViewServer(socket_path, view_calling("A001", 1), keepalive_s=0.5) as server:
        # On the snapshot's clock: A001 is fresh, and so announced, however long a loaded machine takes to start it.
        process, frames = headless("--clock", "snapshot", "--sound-out", str(tmp_path / "sound"), sound=True)
        frames.newest_showing(lambda frame: count_colour(frame, theme.HIGHLIGHT) > 100000, "A001's call on screen")
        server.publish(view_calling("A002", 2))
        wait_for(lambda: len(list((tmp_path / "sound").glob("*.wav"))) >= 2, what="two chimes")
        time.sleep(1.5)  # keep-alives repeat both calls: still two
    assert sorted(p.name for p in (tmp_path / "sound").glob("*.wav")) == ["0001-chime.wav", "0002-chime.wav"]
    assert "announcing A001 to counter 1" in (tmp_path / "monitor.log").read_text()


# A loop woken at once again and again runs whenever it gets a processor: all the time on a quiet machine, and at
# least half of it unless two other busy processes share each core. One that sleeps between its wakes runs a few
# milliseconds per wake, however loaded the machine (measured: 0.0005 of the time in a window, 0.04 headless across
# a minute, alone and at a load of 6 alike): waiting for a processor is not counted, so load cannot fail the test.
BUSY_LOOP_SHARE = 0.5


def _loop_ran_seconds(pid: int) -> float:
    """How long the process's main thread, the monitor's loop, has run on a processor (/proc/PID/schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def test_headless_it_idles_across_its_clocks_minute_and_records_the_moment_the_view_grows_stale(
    headless, socket_path, tmp_path
):
    # The monitor's clock (libfaketime) stands 1.5 s before a minute when it starts: the minute passes while it
    # idles. Frame files record what the screen shows, not its clock, but the loop must still sleep through it.
    real = datetime.now(UTC)
    shift = (real + timedelta(minutes=1)).replace(second=0, microsecond=0) - timedelta(seconds=1.5) - real
    view = view_calling("A001")
    with ViewServer(socket_path, view, keepalive_s=1.0) as server:
        process, frames = headless("--highlight-seconds", "0", "--stale-after", "1", env=on_clock(ENV, real + shift))
        log = tmp_path / "monitor.log"
        wait_for(lambda: "calling A001" in log.read_text(), what="the frame showing the view")  # not the connecting one
        before = len(log.read_text().splitlines())
        ran_before, started = _loop_ran_seconds(process.pid), time.monotonic()
        time.sleep(3)  # three keep-alives and the minute
        ran_share = (_loop_ran_seconds(process.pid) - ran_before) / (time.monotonic() - started)
        assert [line for line in log.read_text().splitlines()[before:] if "frame presented" in line] == []
        assert ran_share < BUSY_LOOP_SHARE, ran_share

        # The device lost its backend just now, on the monitor's clock: a second later the mark stands, in a file
        # of its own, though no view changes after this one.
        stale = dict(view, backend={"stale_since": (datetime.now(UTC) + shift).isoformat()})
        server.publish(stale)
        place = render_monitor(
            pygame.Surface((1920, 1080)),
            parse_view(stale),
            datetime.now(UTC) + shift + timedelta(seconds=2),
            stale_after_s=1,
        )
        mark = next(drawn.rect for drawn in place.drawn if drawn.role == "mark")
        frames.newest_showing(
            lambda frame: "aktuell" in read_text(frame, mark, pad=4).lower(), "the mark 'nicht aktuell'"
        )
