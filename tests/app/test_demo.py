"""`entrance-appliance demo`: an office of real devices (two kiosks, two monitors, each its own process)
on simulated hardware, with the reference backend, an office hour in seconds.

Runs the real program headless in tmp_path and reads what it leaves: screens, logs, the kiosks'
state and the reference backend's database.
"""

import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT, run_program, wait_for

TICKET_CODE = re.compile(r"\b[ABC]\d{3}\b")
SUMMARY = re.compile(r"^demo: (\d+) tickets printed .*?, (\d+) appointments checked in, (\d+) calls", re.MULTILINE)
KIOSKS = ("demo-kiosk-1", "demo-kiosk-2")


def run_demo(tmp_path: Path, minutes: int = 60, seed: int = 7) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    # The bound only decides how long a failing run takes (an emulated Pi needs minutes).
    return run_program(
        [
            sys.executable,
            "-m",
            "appliance",
            "demo",
            "--minutes",
            str(minutes),
            "--seed",
            str(seed),
            "--headless",
            "--out",
            "OUT",
            "--state-dir",
            "VAR",
        ],
        timeout=900,
        cwd=tmp_path,
        env=env,
        text=True,
    )


def office_tickets(directory: Path) -> list[tuple[int, str, int, str]]:
    """Every ticket of both kiosks, each kiosk's in the order it issued them."""
    return [ticket for kiosk in KIOSKS for ticket in tickets(directory / "VAR" / kiosk / "state.db")]


def tickets(database: Path) -> list[tuple[int, str, int, str]]:
    """(id, concern, number, code) of every ticket, as an inspector reads the state file."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return db.execute("SELECT id, concern, number, code FROM tickets ORDER BY id").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The demo run twice in the same directory: (first result, tickets after it, second result, tickets)."""
    directory = tmp_path_factory.mktemp("demo")
    first = run_demo(directory)
    after_first = office_tickets(directory) if first.returncode == 0 else []
    second = run_demo(directory)
    return directory, first, after_first, second


def test_demo_runs_an_hour_headless_and_exits_0(two_runs):
    _, first, _, second = two_runs
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr


def test_demo_writes_the_call_up_monitor_with_ticket_codes(two_runs):
    directory, *_ = two_runs
    monitor = (directory / "OUT" / "monitor.txt").read_text(encoding="utf-8")

    assert "Aufruf" in monitor
    assert TICKET_CODE.search(monitor), monitor


def test_demo_logs_every_issued_ticket(two_runs):
    directory, first, after_first, _ = two_runs
    lines = (directory / "OUT" / "tickets.log").read_text(encoding="utf-8").splitlines()
    issued_first = int(re.search(r"demo: (\d+) tickets printed", first.stderr)[1])

    assert issued_first == len(after_first) > 0
    assert len(lines) >= issued_first
    assert all(TICKET_CODE.search(line) for line in lines[:issued_first]), lines[:issued_first]


def test_demo_shows_progress_up_to_100_percent_and_a_summary_on_stderr(two_runs):
    _, first, _, _ = two_runs
    progress = re.findall(r"^\[[# ]{30}\] +(\d+)%", first.stderr, re.MULTILINE)

    assert progress and [int(p) for p in progress] == sorted(int(p) for p in progress)
    assert progress[-1] == "100"
    assert re.search(
        r"^demo: \d+ tickets printed \(\d+ at demo-kiosk-1, \d+ at demo-kiosk-2\), \d+ appointments checked in, "
        r"\d+ calls \(\d+ recalls, \d+ not come, \d+ transfers\), \d+ still waiting",
        first.stderr,
        re.MULTILINE,
    )


def test_every_screen_of_the_office_agreed_after_every_change_and_each_monitor_drew_frames(two_runs):
    directory, first, _, second = two_runs
    for run in (first, second):
        agreed = re.search(
            r"^demo: all 4 screens agreed after every one of (\d+) changes \(until they did: max (\d+) ms",
            run.stderr,
            re.MULTILINE,
        )
        assert agreed and int(agreed[1]) > 10, run.stderr
    for monitor in ("demo-monitor-1", "demo-monitor-2"):
        assert len(list((directory / "OUT" / monitor).glob("frame-*.png"))) > 1, monitor


def test_counters_recalled_marked_not_come_and_transferred_through_the_backend(two_runs):
    directory, *_ = two_runs
    calls = (directory / "OUT" / "calls.log").read_text(encoding="utf-8")
    counts = [int(n) for n in re.search(r"(\d+) recalls, (\d+) not come, (\d+) transfers", two_runs[1].stderr).groups()]

    assert all(counts), counts
    assert re.search(
        r"^\S+ \S+  (\w+) -> Schalter / Counter (\d+)\n\S+ \S+  \1 -> Schalter / Counter \2$", calls, re.MULTILINE
    )
    assert re.search(r"  \w+ nicht erschienen / not come$", calls, re.MULTILINE)
    assert re.search(r"  \w+ weitergeleitet / transferred: [a-z-]+$", calls, re.MULTILINE)


def test_second_demo_run_continues_the_numbering_of_every_concern_at_each_kiosk(two_runs):
    directory, _, after_first, _ = two_runs
    every = []
    for kiosk in KIOSKS:
        kiosk_first = [t for t in after_first if t in tickets(directory / "VAR" / kiosk / "state.db")]
        kiosk_every = tickets(directory / "VAR" / kiosk / "state.db")
        second = kiosk_every[len(kiosk_first) :]
        assert second, f"the second run issued no tickets at {kiosk}"
        for concern in {c for _, c, _, _ in second}:
            earlier = [number for _, c, number, _ in kiosk_first if c == concern]
            later = [number for _, c, number, _ in second if c == concern]
            assert later[0] > max(earlier, default=0), f"{kiosk} {concern}: {later[0]} after {max(earlier, default=0)}"
        every += kiosk_every
    codes = [code for *_, code in every]
    assert len(codes) == len(set(codes)), "a code was issued twice in the office"


def summaries(two_runs) -> list[tuple[int, int, int]]:
    """(tickets, check-ins, calls) of each run, as its summary line says."""
    _, first, _, second = two_runs
    return [tuple(int(n) for n in SUMMARY.search(run.stderr).groups()) for run in (first, second)]


def kiosk_logs(directory: Path) -> str:
    return "".join((directory / "OUT" / f"{kiosk}.log").read_text(encoding="utf-8") for kiosk in KIOSKS)


def test_every_ticket_came_from_a_button_press_through_the_gpio_panel(two_runs):
    directory, *_ = two_runs
    log = kiosk_logs(directory)
    printed = sum(tickets for tickets, _, _ in summaries(two_runs))

    assert printed > 0
    assert len(re.findall(r"issued [ABC]\d{3} \([a-z-]+, from button\)", log)) == printed
    assert len(re.findall(r"appliance\.drivers\.gpio: button '[a-z-]+': accepted", log)) == printed
    assert "from simulated" not in log


def test_every_check_in_came_from_the_evdev_reader_on_a_kiosk_s_scanner_fifo(two_runs):
    directory, *_ = two_runs
    log = kiosk_logs(directory)
    fifos = "|".join(re.escape(str(directory / "VAR" / kiosk / "scanner.fifo")) for kiosk in KIOSKS)
    checked_in = sum(check_ins for _, check_ins, _ in summaries(two_runs))

    assert checked_in > 0
    assert len(re.findall(rf"scan [0-9a-f]{{10}} from scanner (?:{fifos}): accepted", log)) == checked_in
    assert len(re.findall(rf"scanner (?:{fifos}): code [0-9a-f]{{10}}", log)) >= checked_in


def test_every_call_was_made_at_the_backend_and_reached_the_screens_through_the_feeds(two_runs):
    directory, *_ = two_runs
    db = sqlite3.connect(f"file:{directory / 'VAR' / 'backend.db'}?mode=ro", uri=True)
    try:
        held = db.execute("SELECT code, counter FROM calls ORDER BY n").fetchall()
    finally:
        db.close()
    logged = re.findall(
        r"  (\w+) -> Schalter / Counter (\d+)$",
        (directory / "OUT" / "calls.log").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    recalls = sum(int(n) for n in re.findall(r"(\d+) recalls", "".join(run.stderr for run in two_runs[1::2])))

    assert len(held) == sum(calls for _, _, calls in summaries(two_runs)) + recalls > 0
    assert [(code, int(counter)) for code, counter in logged] == held


def test_the_demo_leaves_no_process_behind(two_runs):
    directory, *_ = two_runs
    left = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            started_there = (proc / "cwd").resolve() == directory.resolve()
        except OSError:
            continue
        if str(directory) in command or started_there:  # the backend, the devices, the monitors
            left.append(command)
    assert (directory / "OUT" / "backend.log").read_text(encoding="utf-8").count("reference backend stopped") == 2
    assert left == []


def running_descendants(pid: int) -> dict[int, bytes]:
    """The processes below ``pid`` that still run (a zombie has ended), with their commands, as /proc shows them."""
    parents, commands = {}, {}
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            commands[int(proc.name)] = (proc / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        state, parent = stat[stat.rindex(")") + 2 :].split()[:2]
        if state != "Z":
            parents[int(proc.name)] = int(parent)
    below, found = {pid}, {pid}
    while found:
        found = {child for child, parent in parents.items() if parent in found}
        below |= found
    return {child: commands[child] for child in below - {pid} if child in parents}


def still_running(processes: dict[int, bytes]) -> list[str]:
    """The commands of those of ``processes`` that still run: the same id with the same command, not a zombie."""
    running = []
    for pid, command in processes.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if Path(f"/proc/{pid}/cmdline").read_bytes() == command and stat[stat.rindex(")") + 2] != "Z":
                running.append(command.replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return running


@pytest.mark.slow
def test_a_demo_killed_outright_leaves_none_of_its_processes_running(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    command = [sys.executable, "-m", "appliance", "demo", "--minutes", "600", "--seed", "7", "--headless"]
    command += ["--out", "OUT", "--state-dir", "VAR"]
    stderr_path, started = tmp_path / "demo.stderr", {}
    with open(stderr_path, "w") as stderr:
        demo = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        # The office is up (the backend, both kiosks, both monitors) once the demo says so.
        wait_for(lambda: "demo: an office of" in stderr_path.read_text(), timeout=300, what="the demo's office")
        started = running_descendants(demo.pid)
        assert len(started) >= 5, started

        demo.kill()  # as `timeout -s KILL` or the OOM killer would end it: no chance to stop anything
        demo.wait()

        # Each is told to stop as the demo is gone; the bound only decides how long a failing run takes.
        wait_for(lambda: not still_running(started), timeout=60, what="every process of the demo ended")
    finally:
        started |= running_descendants(demo.pid)  # a failed start: what the demo had started by then
        demo.kill()
        demo.wait()
        for pid, command in started.items():
            if still_running({pid: command}):
                os.kill(pid, signal.SIGKILL)
