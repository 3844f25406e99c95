"""Child processes that end with the program that started them, however it ends (SIGKILL too).

The demo's backend, devices and monitors run in sessions of their own (Ctrl-C reaches the demo only, which stops
them in order); without this, a demo killed outright would leave them running, orphaned."""

import ctypes
import os
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Looked up once, before any fork: between fork and exec the child only calls it (the demo has threads).
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def dies_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for subprocess.Popen: Linux sends the child SIGTERM (its orderly stop) once the thread that
    starts it is gone, so start children from the thread that lives as long as the program (its main thread)."""
    parent = os.getpid()

    def in_the_child() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent ended before the request took effect: nothing would send it
            os.kill(os.getpid(), signal.SIGTERM)

    return in_the_child
