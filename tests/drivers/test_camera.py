"""The camera reader: a recorded video through cv2.VideoCapture, and capture backends that
fail the ways cameras fail (unplugged, garbage frames) for what a file cannot show."""

import logging
import time

import cv2
import numpy as np
import pytest
import qrcode

from appliance.domain.journal import short_hash
from appliance.drivers.camera import CameraReader, FrameCounts, capture_target, frame_to_gray, open_video_capture
from support import ANSWER_S, wait_for
from support.readers import Recorder, started

SIZE = (640, 480)
CODE_A = "EA1.kiosk-test.0001.c2lnbmF0dXJlLWEtbm90LXJlYWw"
CODE_B = "EA1.kiosk-test.0002.c2lnbmF0dXJlLWItbm90LXJlYWw"


def frame_with(payload: str | None) -> np.ndarray:
    """A BGR camera frame: a grey counter, and the code held up in the middle (or nothing)."""
    frame = np.full((SIZE[1], SIZE[0], 3), 128, np.uint8)
    cv2.rectangle(frame, (40, 40), (200, 120), (60, 90, 160), -1)  # something that is not a code
    if payload:
        qr = qrcode.QRCode(box_size=5, border=4)
        qr.add_data(payload)
        code = np.array(qr.make_image().convert("L"), dtype=np.uint8)
        top, left = (SIZE[1] - code.shape[0]) // 2, (SIZE[0] - code.shape[1]) // 2
        frame[top : top + code.shape[0], left : left + code.shape[1]] = code[..., None]
    return frame


def record(path, payloads: list[str | None], fps: int = 10) -> str:
    """Writes the frames as an MJPG video (OpenCV's built-in codec, no FFmpeg needed)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened()
    for payload in payloads:
        writer.write(frame_with(payload))
    writer.release()
    return str(path)


class FrameClock:
    """Time as a recorded video tells it: each frame read moves it on by one frame's length, however long the
    machine takes to read and decode the frame. ``open`` opens the video with its reads ticking this clock."""

    def __init__(self, fps: float):
        self.now, self.frame_s = 1000.0, 1.0 / fps

    def __call__(self) -> float:
        return self.now

    def open(self, source, **options) -> "TickingCapture":
        return TickingCapture(open_video_capture(source, **options), self)


class TickingCapture:
    """A capture whose every read moves ``clock`` on by one frame's length."""

    def __init__(self, capture, clock: FrameClock):
        self.capture, self.clock = capture, clock

    def isOpened(self):  # noqa: N802  (OpenCV's name)
        return self.capture.isOpened()

    def read(self):
        self.clock.now += self.clock.frame_s
        return self.capture.read()

    def release(self):
        self.capture.release()


def codes_of(recorder: Recorder) -> list[str]:
    codes = []
    while not recorder.codes.empty():
        codes.append(recorder.codes.get()[0])
    return codes


class ScriptedCapture:
    """A capture backend that plays a script: each item is a frame, or FAIL for a failed read;
    after the script every read fails, as an unplugged camera's do."""

    FAIL = object()

    def __init__(self, script, *, loop=False):
        self.script = list(script)
        self.loop = loop
        self.reads = 0
        self.released = False

    def isOpened(self):  # noqa: N802  (OpenCV's name)
        return True

    def read(self):
        self.reads += 1
        if not self.script:
            return False, None
        item = self.script.pop(0)
        if self.loop:
            self.script.append(item)
        return (False, None) if item is self.FAIL else (True, item)

    def release(self):
        self.released = True


def test_a_recorded_video_yields_each_code_once(tmp_path):
    video = record(tmp_path / "entrance.avi", [None] * 3 + [CODE_A] * 5 + [None] * 2 + [CODE_B] * 3 + [CODE_A] * 3)
    recorder, clock = Recorder(), FrameClock(fps=10)
    camera = started(
        CameraReader(video, recorder.on_code, recorder.on_health, fps=None, open_capture=clock.open, monotonic=clock)
    )
    assert camera.wait_finished(ANSWER_S)
    assert codes_of(recorder) == [CODE_A, CODE_B]  # A again within 5 s counts once
    assert camera.frames_read == 16 and camera.frames_unusable == 0
    assert recorder.all_health == [("ok", f"{video} open")]


def test_a_code_seen_again_after_the_window_counts_again_and_one_held_up_counts_once(tmp_path):
    # At 20 frames a second: A held for 0.4 s, gone for 0.6 s, back; the window is 0.3 s.
    video = record(tmp_path / "again.avi", [CODE_A] * 8 + [None] * 12 + [CODE_A] * 2)
    recorder, clock = Recorder(), FrameClock(fps=20)
    camera = started(
        CameraReader(
            video,
            recorder.on_code,
            recorder.on_health,
            fps=None,
            dedupe_s=0.3,
            open_capture=clock.open,
            monotonic=clock,
        )
    )
    assert camera.wait_finished(ANSWER_S)
    assert codes_of(recorder) == [CODE_A, CODE_A]


def test_the_frame_rate_is_capped(tmp_path):
    # A lower bound only: a slower machine takes longer still. How fast an uncapped reader goes is the
    # machine's speed, measured in the benchmark (camera_decode_ms_640x480), not asserted here.
    video = record(tmp_path / "idle.avi", [None] * 9)
    recorder = Recorder()
    began = time.monotonic()
    started(CameraReader(video, recorder.on_code, recorder.on_health, fps=25)).wait_finished(ANSWER_S)
    assert time.monotonic() - began >= 8 / 25


def test_an_idle_camera_reads_no_faster_than_the_cap():
    capture = ScriptedCapture([frame_with(None)], loop=True)
    recorder = Recorder()
    began = time.monotonic()
    camera = started(
        CameraReader(
            "/dev/video-test", recorder.on_code, recorder.on_health, fps=10, open_capture=lambda source, **_: capture
        )
    )
    try:
        wait_for(lambda: capture.reads >= 5, what="five reads")
    finally:
        camera.stop()
    # A lower bound only (a loaded machine reads slower still): five reads at 10 a second span 0.4 s.
    assert time.monotonic() - began >= 4 / 10


def test_a_lost_camera_is_reported_and_reopened_with_growing_pauses():
    opens: list[float] = []
    backends = [
        ScriptedCapture([frame_with(CODE_A)]),  # delivers, then is unplugged
        None,
        None,  # not back yet
        ScriptedCapture([frame_with(CODE_B)]),  # plugged in again
    ]

    class Closed(ScriptedCapture):
        def isOpened(self):  # noqa: N802
            return False

    def open_capture(source, **_):
        opens.append(time.monotonic())
        backend = backends.pop(0) if backends else None
        return backend or Closed([])

    recorder = Recorder()
    camera = started(
        CameraReader(
            "/dev/video-test",
            recorder.on_code,
            recorder.on_health,
            fps=None,
            retry_initial_s=0.05,
            retry_max_s=1.0,
            open_capture=open_capture,
        )
    )
    try:
        assert recorder.next_code()[0] == CODE_A
        assert recorder.wait_health("failed").startswith("lost")
        assert "cannot open" in recorder.wait_health("failed")
        recorder.wait_health("ok")
        assert recorder.next_code()[0] == CODE_B
    finally:
        camera.stop()
    pauses = [b - a for a, b in zip(opens, opens[1:4])]
    # The one backoff rule (appliance.domain.backoff): at least half of 0.05 s, doubling each time.
    assert pauses[0] >= 0.025 and pauses[1] >= 0.05 and pauses[2] >= 0.1


def test_a_missing_camera_device_is_reported_through_opencv_and_retried():
    opens = []

    def counting_open(source, **options):
        opens.append(source)
        return open_video_capture(source, **options)

    recorder = Recorder()
    camera = started(
        CameraReader(
            "/dev/video-entrance-test-missing",
            recorder.on_code,
            recorder.on_health,
            retry_initial_s=0.02,
            open_capture=counting_open,
        )
    )
    try:
        assert "cannot open" in recorder.wait_health("failed")
        wait_for(lambda: len(opens) >= 2, what="a second try to open the camera")
    finally:
        camera.stop()


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((480, 640, 3), np.float32),
        np.zeros((480, 640, 5), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((4, 480, 640, 3), np.uint8),
        np.zeros((480, 640), bool),
        "frame",
        42,
        np.zeros((480, 0), np.uint8),
    ],
    ids=["none", "empty", "float", "5-channel", "1x1", "4-d", "bool", "text", "int", "zero-width"],
)
def test_garbage_frames_are_skipped_and_the_next_good_frame_is_read(garbage):
    capture = ScriptedCapture([garbage, garbage, frame_with(CODE_A)])
    recorder = Recorder()
    camera = started(
        CameraReader(
            "/dev/video-test", recorder.on_code, recorder.on_health, fps=None, open_capture=lambda source, **_: capture
        )
    )
    try:
        assert recorder.next_code()[0] == CODE_A
        assert camera.frames_unusable == 2
    finally:
        camera.stop()


def test_a_camera_delivering_only_garbage_is_reported_and_reopened():
    opens = []

    def open_capture(source, **_):
        opens.append(source)
        return ScriptedCapture([np.zeros((480, 640, 7), np.uint8)], loop=True)

    recorder = Recorder()
    camera = started(
        CameraReader(
            "/dev/video-test",
            recorder.on_code,
            recorder.on_health,
            fps=None,
            max_unusable_frames=10,
            retry_initial_s=0.02,
            open_capture=open_capture,
        )
    )
    try:
        assert "unusable frames" in recorder.wait_health("failed")
        recorder.wait_health("ok")
        assert len(opens) >= 2
    finally:
        camera.stop()


def test_grey_16_bit_and_bgra_frames_are_decoded_too():
    bgr = frame_with(CODE_A)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    frames = [
        gray,
        gray[..., None],
        gray.astype(np.uint16) << 8,
        cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA),
        bgr[::-1, ::-1],
    ]  # the last one is a strided view (a flipped mirror image)
    for frame in frames:
        converted = frame_to_gray(frame)
        assert converted is not None and converted.dtype == np.uint8 and converted.ndim == 2


def test_a_decoder_that_fails_on_a_frame_does_not_stop_the_camera(caplog):
    class Flaky:
        name = "flaky"
        calls = 0

        def decode(self, frame_gray):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("decoder bug")
            return [CODE_B]

    capture = ScriptedCapture([frame_with(None), frame_with(None)])
    recorder = Recorder()
    camera = started(
        CameraReader(
            "/dev/video-test",
            recorder.on_code,
            recorder.on_health,
            fps=None,
            decoder=Flaky(),
            open_capture=lambda source, **_: capture,
        )
    )
    try:
        assert recorder.next_code()[0] == CODE_B
    finally:
        camera.stop()
    assert "RuntimeError" in caplog.text


def test_payloads_never_reach_the_log_only_their_short_hash(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    video = record(tmp_path / "log.avi", [CODE_A, CODE_B])

    def failing_on_code(text, source):
        raise ValueError(f"rejected {text}")

    recorder = Recorder()
    started(CameraReader(video, failing_on_code, recorder.on_health, fps=None)).wait_finished(ANSWER_S)
    assert CODE_A not in caplog.text and CODE_B not in caplog.text
    assert short_hash(CODE_A) in caplog.text and short_hash(CODE_B) in caplog.text


def test_stop_returns_promptly_from_a_capped_camera():
    capture = ScriptedCapture([frame_with(None)], loop=True)
    recorder = Recorder()
    camera = started(
        CameraReader(
            "/dev/video-test", recorder.on_code, recorder.on_health, fps=0.01, open_capture=lambda source, **_: capture
        )
    )
    recorder.wait_health("ok")
    # Between two frames a hundred seconds apart: stop() ends the pause instead of waiting it out.
    assert camera.stop(timeout=ANSWER_S) and camera.finished.is_set()


def test_a_stream_password_never_reaches_health_or_logs(caplog):
    recorder = Recorder()
    camera = started(
        CameraReader(
            "rtsp://entrance:s3cret@127.0.0.1:1/cam",
            recorder.on_code,
            recorder.on_health,
            open_capture=lambda source, **_: ScriptedCapture([]),
            retry_initial_s=0.02,
        )
    )
    try:
        detail = recorder.wait_health("failed")
    finally:
        camera.stop()
    assert "s3cret" not in detail and "s3cret" not in camera.label and "s3cret" not in caplog.text
    assert "127.0.0.1:1/cam" in detail


@pytest.mark.parametrize(
    "given, wanted",
    [("0", 0), (2, 2), (" /dev/video0 ", "/dev/video0"), ("rtsp://127.0.0.1/cam", "rtsp://127.0.0.1/cam")],
)
def test_sources_are_device_indexes_paths_or_urls(given, wanted):
    assert capture_target(given) == wanted


def test_the_decode_rate_says_frames_a_second_time_a_frame_and_how_often_a_code_was_seen():
    earlier = FrameCounts(frames=10, with_code=2, decode_seconds=0.01)
    now = FrameCounts(frames=26, with_code=10, decode_seconds=0.034)
    assert now.since(earlier).describe(2.0) == "8.0 frames/s, 1.5 ms a frame, a code in 50 % of them"
    assert now.describe() == "26 frames, 1.3 ms a frame, a code in 38 % of them"
    assert FrameCounts().describe(2.0) == "no frames"


def test_a_camera_counts_the_frames_it_decoded_and_those_with_a_code(tmp_path):
    video = record(tmp_path / "counted.avi", [None] * 3 + [CODE_A] * 5)
    recorder = Recorder()
    camera = started(CameraReader(video, recorder.on_code, recorder.on_health, fps=None))
    assert camera.wait_finished(ANSWER_S)
    assert (camera.counts.frames, camera.counts.with_code) == (8, 5)
    assert camera.counts.decode_seconds > 0
