"""How ``serve`` stops, and its worker processes for ``--workers N``: forked onto one listening socket, stopped
together within seconds however slow the machine, and never left serving without the process that started them.
"""

import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# A worker still running this long after it was told to stop is killed: uvicorn's graceful stop takes at most
# a few seconds (its connections 3 s), so a stop always ends well inside systemd's stop timeout (90 s).
STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

log = logging.getLogger("entrance-backend")


class StopAsked(SystemExit):
    """SIGTERM or SIGINT came while no server was serving yet (or after it had stopped gracefully)."""


def stop_at_once(number, frame) -> None:
    """The stop signals' handler outside uvicorn: a process still connecting to (or waiting for) its database ends
    its start at once, and uvicorn, once it has stopped gracefully, raises the signal again against this one.
    SystemExit's kind, so psycopg cancels a statement it interrupts."""
    raise StopAsked(0)


def serve_workers(listening: socket.socket, count: int, serve_one: Callable[[], None]) -> None:
    """Forks ``count`` workers running ``serve_one`` (uvicorn accepting on ``listening``, which this process then
    closes); a stop asked of this process stops them all (killing those not stopped within STOP_GRACE_S), one
    that fails stops the others (its supervisor, e.g. systemd, starts the backend again), and each stops by
    itself when this process ends, however it ends."""
    parent = os.getpid()
    # Blocked until each side has its handlers: a stop that comes meanwhile waits, instead of being lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    workers = set()
    for _ in range(count):
        pid = os.fork()  # before any thread or connection: each worker makes its own
        if pid == 0:
            _run_worker(parent, serve_one)
        workers.add(pid)
    listening.close()
    stop_deadline = None

    def stop_all(number=None, frame=None) -> None:
        nonlocal stop_deadline
        stop_deadline = stop_deadline or time.monotonic() + STOP_GRACE_S
        _signal(workers, signal.SIGTERM)

    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, stop_all)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    failed = False
    while workers:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            workers.discard(pid)
            if os.waitstatus_to_exitcode(status) != 0 and stop_deadline is None:
                failed = True
                print(f"reference backend: worker {pid} failed; stopping the others", file=sys.stderr)
                stop_all()
        elif stop_deadline is not None and time.monotonic() > stop_deadline:
            late = sorted(workers)
            print(f"reference backend: worker(s) {late} not stopped within {STOP_GRACE_S:g} s: killed", file=sys.stderr)
            _signal(workers, signal.SIGKILL)
            stop_deadline = float("inf")
        else:
            time.sleep(0.1)  # a child's end, or the grace's
    if failed:
        raise OSError("a backend worker failed")


def _run_worker(parent: int, serve_one: Callable[[], None]) -> None:
    """A forked worker's whole life: never returns to the code that forked it."""
    code = 0
    try:
        _stop_when_ended(parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # the handler: stop_at_once, then uvicorn's
        serve_one()
    except StopAsked:
        pass
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    os._exit(code)


def _stop_when_ended(parent: int) -> None:
    """Linux sends this process SIGTERM when ``parent`` ends, also when it is killed: no worker serves alone."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it ended before it could be told
        raise StopAsked(0)


def _signal(workers: set[int], number: int) -> None:
    for worker in workers:
        try:
            os.kill(worker, number)
        except ProcessLookupError:  # ended, not yet reaped
            pass
