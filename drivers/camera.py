"""A camera that reads QR codes: OpenCV captures frames, a worker thread decodes them.

The source is a device index, a /dev/video* path, or a video file or stream (tests, scan-test).
The same code seen again within a window counts once; a lost camera is reopened with backoff;
the frame rate is capped so an idle camera costs little CPU.
"""

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from appliance.domain.backoff import Backoff
from appliance.drivers.code_reader import FAILED, OK, CodeReader, OnCode, OnHealth
from appliance.drivers.errors import BadDriverSetting
from appliance.drivers.qr_decoders import DEFAULT_DECODER, FrameDecoder, make_decoder

log = logging.getLogger("appliance.drivers.camera")

DEFAULT_FPS = 8.0
DEFAULT_DEDUPE_S = 5.0
DEFAULT_SIZE = (640, 480)
"""What the Raspberry Pi camera modules and USB webcams all deliver; a held-up code needs no more."""
V4L2_MANUAL_EXPOSURE = 1
"""OpenCV passes CAP_PROP_AUTO_EXPOSURE to V4L2 as is: 1 is manual, 3 automatic."""
MAX_PIXELS = 4096 * 4096
"""Frames larger than this are refused rather than decoded for seconds."""


def frame_to_gray(frame) -> np.ndarray | None:
    """The 8-bit grayscale image in what a capture delivered, or None when it holds none.

    Cameras and drivers hand over BGR, BGRA, single-channel or 16-bit frames; a broken one
    hands over None, empty arrays or nonsense shapes, which must not reach a decoder.
    """
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return None
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        return None
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        gray = frame
    elif frame.ndim == 3 and frame.shape[2] in (3, 4):
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    else:
        return None
    height, width = gray.shape
    if height < 21 or width < 21 or height * width > MAX_PIXELS:  # 21: the smallest QR code
        return None
    return np.ascontiguousarray(gray)


def capture_target(source: int | str) -> int | str:
    """What cv2.VideoCapture opens for ``source``: "0" is device index 0; paths and URLs stay text."""
    if isinstance(source, int):
        return source
    text = str(source).strip()
    return int(text) if text.isdigit() else text


def _without_password(source: str) -> str:
    """A stream URL as logs may show it: rtsp://user:secret@host/ becomes rtsp://…@host/."""
    return re.sub(r"://[^/@]*@", "://…@", source)


def is_device(source: int | str) -> bool:
    return isinstance(source, int) or str(source).startswith("/dev/")


def camera_size(text: str) -> tuple[int, int]:
    """ "640x480" as (640, 480)."""
    width, height = text.lower().split("x")
    return int(width), int(height)


def fixed_value(text: str) -> float | None:
    """A camera control as configured: None for "auto", else the driver's fixed value."""
    return None if text == "auto" else float(text)


def open_video_capture(
    source: int | str,
    *,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    exposure: float | None = None,
    focus: float | None = None,
) -> cv2.VideoCapture:
    """cv2.VideoCapture on a camera (through V4L2, with a one-frame buffer) or a file/stream.

    A camera is asked for ``size`` and ``fps``, and for a fixed exposure and focus where given
    (None leaves the camera's automatic ones on); what it granted is logged."""
    if not is_device(source):
        return cv2.VideoCapture(source)
    capture = cv2.VideoCapture(source, cv2.CAP_V4L2)
    if capture.isOpened():
        # With the driver's usual four buffers a capped reader would decode frames that are
        # up to half a second old; one buffer keeps the decoded frame the current one.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if fps:
            capture.set(cv2.CAP_PROP_FPS, fps)
        if size:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if exposure is not None:
            capture.set(cv2.CAP_PROP_AUTO_EXPOSURE, V4L2_MANUAL_EXPOSURE)
            capture.set(cv2.CAP_PROP_EXPOSURE, exposure)
        if focus is not None:
            capture.set(cv2.CAP_PROP_AUTOFOCUS, 0)
            capture.set(cv2.CAP_PROP_FOCUS, focus)
        log.info(
            "camera %s: %dx%d at %.0f fps, exposure %s, focus %s",
            source,
            capture.get(cv2.CAP_PROP_FRAME_WIDTH),
            capture.get(cv2.CAP_PROP_FRAME_HEIGHT),
            capture.get(cv2.CAP_PROP_FPS),
            "auto" if exposure is None else capture.get(cv2.CAP_PROP_EXPOSURE),
            "auto" if focus is None else capture.get(cv2.CAP_PROP_FOCUS),
        )
    return capture


def decode_image(path: str, decoder: FrameDecoder | None = None) -> list[str]:
    """The codes in an image file (scan-test with photos); [] when there are none or the file
    is not an image. Uses the default chain."""
    gray = frame_to_gray(cv2.imread(str(path), cv2.IMREAD_COLOR))
    if gray is None:
        return []
    return (decoder or make_decoder(DEFAULT_DECODER, skip_unavailable=True)).decode(gray)


@dataclass(frozen=True)
class FrameCounts:
    """What a camera has decoded so far: scan-test shows technicians the rate while they aim it."""

    frames: int = 0
    with_code: int = 0
    decode_seconds: float = 0.0

    def since(self, earlier: "FrameCounts") -> "FrameCounts":
        return FrameCounts(
            self.frames - earlier.frames,
            self.with_code - earlier.with_code,
            self.decode_seconds - earlier.decode_seconds,
        )

    def describe(self, seconds: float | None = None) -> str:
        """ "8.0 frames/s, 1.2 ms a frame, a code in 50 % of them" (frames/s only over ``seconds``)."""
        if not self.frames:
            return "no frames"
        rate = f"{self.frames / seconds:.1f} frames/s" if seconds else f"{self.frames} frames"
        ms = self.decode_seconds * 1000 / self.frames
        return f"{rate}, {ms:.1f} ms a frame, a code in {100 * self.with_code / self.frames:.0f} % of them"


class CameraReader(CodeReader):
    """Reads and decodes one camera's frames on a worker thread.

    ``on_code(text, label)`` once per payload within ``dedupe_s`` (a code held in view for a
    minute counts once: each sighting renews the window); ``on_health(state, detail)`` on
    changes. A file source ends at its end (``finished`` is set); a device or stream whose
    reads fail ``max_failed_reads`` times in a row (unplugged), or that delivers
    ``max_unusable_frames`` unusable frames in a row (a broken driver), is reopened with
    exponential backoff. ``fps=None`` reads as fast as frames come (files in tests). ``monotonic()``
    paces the frames and times the dedupe window (a test's clock moves one frame's length a frame).
    """

    def __init__(
        self,
        source: int | str,
        on_code: OnCode,
        on_health: OnHealth,
        *,
        decoder: FrameDecoder | None = None,
        fps: float | None = DEFAULT_FPS,
        dedupe_s: float = DEFAULT_DEDUPE_S,
        size: tuple[int, int] | None = DEFAULT_SIZE,
        exposure: float | None = None,
        focus: float | None = None,
        label: str | None = None,
        max_failed_reads: int = 5,
        max_unusable_frames: int = 30,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        open_capture: Callable[..., cv2.VideoCapture] = open_video_capture,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if fps is not None and fps <= 0:
            raise BadDriverSetting(f"camera fps must be positive (or None for no cap), not {fps}")
        self.source = capture_target(source)
        """What OpenCV opens: a device index, a /dev/video* path, a file or a stream URL."""
        self._shown = _without_password(str(self.source))
        super().__init__(label or f"camera {self._shown}", on_code, on_health, log)
        self.is_file = isinstance(self.source, str) and os.path.isfile(self.source)
        self._decoder = decoder or make_decoder(DEFAULT_DECODER, skip_unavailable=True)
        self._period = 1.0 / fps if fps else 0.0
        self._fps = fps
        self._camera_settings = {"size": size, "exposure": exposure, "focus": focus}
        self._dedupe_s = dedupe_s
        self._max_failed_reads = max_failed_reads
        self._max_unusable = max_unusable_frames
        self._retry = (retry_initial_s, retry_max_s)
        self._open_capture = open_capture
        self._monotonic = monotonic
        self._seen: dict[str, float] = {}
        self.finished = threading.Event()
        """Set when the worker has ended: a file's last frame was read, or stop() was called."""
        self.frames_read = 0
        self.frames_unusable = 0
        self.counts = FrameCounts()
        """Frames decoded, frames with a code, time spent decoding (replaced whole, so a reader on
        another thread always sees the three together)."""

    def wait_finished(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    # -- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            backoff = Backoff(*self._retry)
            while not self._stop.is_set():
                try:
                    capture = self._open_capture(self.source, fps=self._fps, **self._camera_settings)
                    opened = capture.isOpened()
                except Exception as exc:  # cv2.error, or a backend that raises
                    capture, opened = None, False
                    self._log.debug("%s: open failed: %s", self.label, exc)
                if not opened:
                    self._release(capture)
                    self._report(FAILED, f"cannot open {self._shown}")
                    if self.is_file or self._stop.wait(backoff.next_delay()):
                        return
                    continue
                self._report(OK, f"{self._shown} open")
                good_before = self.frames_read - self.frames_unusable
                try:
                    reason = self._read(capture)
                finally:
                    self._release(capture)
                if reason is None:  # stopped, or the file's end
                    return
                self._report(FAILED, reason)
                if self.is_file:
                    return
                if self.frames_read - self.frames_unusable > good_before:
                    backoff.reset()  # it worked for a while: a replug is worth a quick retry
                if self._stop.wait(backoff.next_delay()):
                    return
        finally:
            self.finished.set()

    def _read(self, capture) -> str | None:
        """Reads until stopped (None), a file ends (None), or the camera is lost (the reason)."""
        failed = unusable = 0
        next_frame = self._monotonic()
        while not self._stop.is_set():
            try:
                ok, frame = capture.read()
            except Exception:  # cv2.error from a backend in trouble
                ok, frame = False, None
            if not ok:
                if self.is_file:
                    return None
                failed += 1
                if failed >= self._max_failed_reads:
                    return f"lost: {failed} reads from {self._shown} failed in a row"
            else:
                failed = 0
                self.frames_read += 1
                gray = frame_to_gray(frame)
                if gray is None:
                    self.frames_unusable += 1
                    unusable += 1
                    if unusable >= self._max_unusable:
                        return f"{unusable} unusable frames in a row from {self._shown}"
                else:
                    unusable = 0
                    self._decode(gray)
            if self._period:
                next_frame += self._period
                pause = next_frame - self._monotonic()
                if pause > 0:
                    if self._stop.wait(pause):
                        return None
                else:
                    next_frame = self._monotonic()  # behind: do not try to catch up
        return None

    def _decode(self, gray: np.ndarray) -> None:
        began = time.perf_counter()
        try:
            texts = self._decoder.decode(gray)
        except Exception as exc:
            self._log.warning(
                "%s: decoder %s failed on a frame: %s", self.label, self._decoder.name, type(exc).__name__
            )
            return
        counts = self.counts
        self.counts = FrameCounts(
            counts.frames + 1, counts.with_code + bool(texts), counts.decode_seconds + time.perf_counter() - began
        )
        now = self._monotonic()
        if len(self._seen) > 256:
            self._seen = {t: s for t, s in self._seen.items() if now - s < self._dedupe_s}
        for text in dict.fromkeys(texts):
            last = self._seen.get(text)
            self._seen[text] = now
            if last is not None and now - last < self._dedupe_s:
                continue
            self._deliver(text)

    @staticmethod
    def _release(capture) -> None:
        if capture is not None:
            try:
                capture.release()
            except Exception:
                pass
