"""``entrance-appliance scan-test``: what a scanner or camera reads, and what check-in would say.

For technicians at the device: the payload is printed on their terminal (never logged), with the
verdict the running daemon would give it, or, when none runs, a verdict from the config alone
(signed codes are judged fully; plain references need the daemon's day list).
"""

import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from appliance.protocol.control import DaemonNotRunning, Request


def run_scan_test(sources: list[str], config) -> int:
    from appliance.drivers.errors import BadScannerSource
    from appliance.drivers.readers import SourceKind, open_reader, parse_source

    try:
        parsed = [parse_source(text) for text in sources]
    except BadScannerSource as error:
        print(f"scan-test: {error}", file=sys.stderr)
        return 2
    judge = _Judge(config)
    printed = threading.Lock()

    def on_code(payload: str, source: str) -> None:
        with printed:
            print(f"{payload}\t{judge(payload)}", flush=True)

    def on_health(state: str, detail: str) -> None:
        print(f"# {state}: {detail}", file=sys.stderr, flush=True)

    try:
        images = [s for s in parsed if s.kind is SourceKind.IMAGE]
        for source in images:
            from appliance.drivers.camera import decode_image

            codes = decode_image(str(source.target))
            if not codes:
                print(f"# {source.target}: no code found", file=sys.stderr)
            for payload in codes:
                on_code(payload, str(source.target))
        readers = [
            open_reader(s, on_code, on_health, config.scanner if config else None, live=not _is_file(s.target))
            for s in parsed
            if s.kind is not SourceKind.IMAGE
        ]
        for reader in readers:
            reader.start()
        if not readers:
            return 0
        from appliance.drivers.camera import CameraReader

        cameras = [r for r in readers if isinstance(r, CameraReader)]
        finished = [r for r in readers if getattr(r, "is_file", False)]
        if len(finished) == len(readers):
            for reader in readers:
                reader.wait_finished()
        else:
            print("# reading; Ctrl-C ends", file=sys.stderr)
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            _show_camera_rates([c for c in cameras if not c.is_file], stop)
        for reader in readers:
            reader.stop()
        for camera in cameras:
            print(f"# {camera.label}: {camera.counts.describe()}", file=sys.stderr, flush=True)
        return 0
    finally:
        judge.close()


def _show_camera_rates(cameras, stop: threading.Event, every_s: float = 2.0) -> None:
    """Until ``stop``: each live camera's frames a second, decode time and share of frames with a
    code, every ``every_s`` seconds, so a technician aiming the camera sees what helps."""
    before = {camera: (camera.counts, time.monotonic()) for camera in cameras}
    # Never an unbounded wait: a signal another thread took runs its handler only when this thread wakes.
    while not stop.wait(every_s):
        for camera in cameras:
            counts, now = camera.counts, time.monotonic()
            earlier, then = before[camera]
            before[camera] = (counts, now)
            print(f"# {camera.label}: {counts.since(earlier).describe(now - then)}", file=sys.stderr, flush=True)


def _is_file(target) -> bool:
    return isinstance(target, str) and not target.startswith("/dev/") and Path(target).is_file()


class _Judge:
    """Asks the running daemon; without one, a core on a scratch database judges from the config."""

    def __init__(self, config):
        self._config = config
        self._local = None

    def __call__(self, payload: str) -> str:
        if self._config is None:
            return "(no verdict: the config has problems)"
        from appliance.protocol.control import request

        try:
            answer = request(self._config.core.control_socket, Request.JUDGE, payload=payload)
            return _describe(answer["verdict"], answer["display_code"], "daemon")
        except DaemonNotRunning:
            pass
        if self._local is None:
            self._local = _LocalJudge(self._config)
        return self._local(payload)

    def close(self):
        if self._local is not None:
            self._local.close()


class _LocalJudge:
    def __init__(self, config):
        import dataclasses

        from appliance.domain.clock import SystemClock
        from appliance.domain.core import Core
        from appliance.domain.state import StateStore

        self._directory = tempfile.TemporaryDirectory()
        config = dataclasses.replace(
            config, state=dataclasses.replace(config.state, database=Path(self._directory.name) / "scratch.db")
        )
        self._store = StateStore(config.state.database)
        self._core = Core(config, self._store, SystemClock())

    def __call__(self, payload: str) -> str:
        from appliance.domain.commands import JudgeScan

        result = self._core.apply(JudgeScan(payload))
        return _describe(result.verdict.value, result.display_code, "config only, no day list")

    def close(self):
        self._store.close()
        self._directory.cleanup()


def _describe(verdict: str, display_code: str | None, basis: str) -> str:
    return f"{verdict}" + (f" ({display_code})" if display_code else "") + f"  [{basis}]"
