"""What every code reader shares, and that it comes without hardware libraries: a camera or a
serial scanner works on a device where python-evdev is not installed."""

import logging
import subprocess
import sys
import threading

import pytest

from appliance.domain.journal import short_hash
from appliance.drivers.code_reader import FAILED, OK, CodeReader
from support import ANSWER_S, REPO_ROOT
from support.readers import Recorder, started


def import_without(blocked: list[str], modules: list[str]) -> subprocess.CompletedProcess:
    """Imports ``modules`` in a fresh interpreter in which each of ``blocked`` cannot be imported."""
    script = "\n".join(
        [
            "import sys",
            *(f"sys.modules[{name!r}] = None" for name in blocked),
            *(f"import {module}" for module in modules),
            f"leaked = sorted(set({blocked!r}) & {{m.split('.')[0] for m in sys.modules if sys.modules[m]}})",
            "assert not leaked, leaked",
        ]
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_camera_and_serial_readers_import_without_evdev():
    result = import_without(["evdev"], ["appliance.drivers.camera", "appliance.drivers.serial_scanner"])
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_the_reader_base_and_the_source_parser_import_no_hardware_library():
    result = import_without(
        ["evdev", "serial", "cv2", "gpiozero", "numpy"], ["appliance.drivers.code_reader", "appliance.drivers.readers"]
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow  # starts a Python process: make test runs it, make test-fast leaves it out
def test_the_evdev_scanner_does_need_evdev():
    # The check above would pass on a module that imports nothing: this one must fail.
    result = import_without(["evdev"], ["appliance.drivers.evdev_scanner"])
    assert result.returncode != 0 and "evdev" in result.stderr


class ScriptedReader(CodeReader):
    """A reader whose 'device' is a script of health changes and codes."""

    def __init__(self, script, recorder, on_code=None):
        super().__init__("scripted", on_code or recorder.on_code, recorder.on_health, logging.getLogger("test"))
        self.script = script
        self.done = threading.Event()

    def _run(self):
        for kind, value in self.script:
            if kind == "code":
                self._deliver(value)
            else:
                self._report(*value)
        self.done.set()


def test_health_is_reported_on_changes_only():
    recorder = Recorder()
    reader = started(
        ScriptedReader(
            [
                ("health", (FAILED, "unplugged")),
                ("health", (FAILED, "unplugged")),
                ("health", (OK, "open")),
                ("health", (OK, "open")),
                ("health", (FAILED, "unplugged")),
            ],
            recorder,
        )
    )
    assert reader.done.wait(ANSWER_S) and reader.stop()
    assert recorder.all_health == [(FAILED, "unplugged"), (OK, "open"), (FAILED, "unplugged")]
    assert reader.health == (FAILED, "unplugged")


def test_a_failing_owner_neither_stops_the_reader_nor_sees_the_code_in_the_log(caplog):
    recorder = Recorder()

    def on_code(text, source):
        if text.startswith("SECRET"):
            raise RuntimeError(f"cannot handle {text}")
        recorder.on_code(text, source)

    reader = started(ScriptedReader([("code", "SECRET-1"), ("code", "next")], recorder, on_code))
    assert reader.done.wait(ANSWER_S) and reader.stop()
    assert recorder.next_code() == ("next", "scripted") and reader.codes_read == 2
    assert "SECRET" not in caplog.text and short_hash("SECRET-1") in caplog.text


def test_stop_says_when_the_worker_did_not_end():
    release = threading.Event()

    class Stuck(CodeReader):
        def _run(self):
            release.wait(ANSWER_S)

    reader = started(Stuck("stuck", print, print, logging.getLogger("test")))
    try:
        assert reader.stop(timeout=0.05) is False
    finally:
        release.set()
    assert reader.stop() is True
