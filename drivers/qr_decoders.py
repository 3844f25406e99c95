"""QR decoders behind one tiny interface: ``decode(frame_gray) -> list[str]``.

zxing-cpp, pyzbar (ZBar) and OpenCV's two detectors, and a chain that asks the next decoder
only when the one before found nothing. ``bench/bench_scan.py`` measures them; the numbers and
the reason for ``DEFAULT_DECODER`` are in ``drivers/README-scan.md``.
"""

import logging
from typing import Protocol

import numpy as np

from appliance.drivers.errors import BadDriverSetting, DecoderUnavailable

log = logging.getLogger("appliance.drivers.qr_decoders")

DEFAULT_DECODER = "zxingcpp,opencv_aruco,pyzbar"
"""zxing-cpp first: the best single decoder on every degradation, and about 1 ms a frame; then
OpenCV's ArUco-based detector, which reads low-contrast and noisy codes zxing-cpp misses; then
ZBar, the best on phone-screen glare. The numbers are in drivers/README-scan.md."""

CAMERA_FALLBACK_EVERY = 8
"""A camera asks the fallback decoders only on every 8th frame in which zxing-cpp found nothing
(once a second at 8 fps): an idle camera then costs an eighth of their time, and a code held
up for a second still gets them."""


class FrameDecoder(Protocol):
    name: str

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        """Texts of the QR codes in an 8-bit grayscale frame (H×W), [] when none."""


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class ZxingCppDecoder:
    name = "zxingcpp"

    def __init__(self):
        try:
            import zxingcpp
        except ImportError as exc:
            raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from exc
        self._zxing = zxingcpp
        self._formats = zxingcpp.BarcodeFormat.QRCode

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        return [
            result.text
            for result in self._zxing.read_barcodes(frame_gray, formats=self._formats)
            if result.valid and result.text
        ]


class PyzbarDecoder:
    name = "pyzbar"

    def __init__(self):
        try:
            from pyzbar import pyzbar
        except ImportError as exc:  # pyzbar raises ImportError too when libzbar0 is missing
            raise DecoderUnavailable(f"pyzbar cannot be used ({exc}); install pyzbar and Debian's libzbar0") from exc
        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        return [_text(symbol.data) for symbol in self._pyzbar.decode(frame_gray, symbols=self._symbols) if symbol.data]


class OpenCVDecoder:
    """cv2.QRCodeDetector; one instance per thread (OpenCV's detectors keep state)."""

    name = "opencv"

    def __init__(self):
        try:
            import cv2
        except ImportError as exc:
            raise DecoderUnavailable("OpenCV is not installed (pip install opencv-python-headless)") from exc
        self._detector = self._make_detector(cv2)

    @staticmethod
    def _make_detector(cv2):
        return cv2.QRCodeDetector()

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        ok, texts, _, _ = self._detector.detectAndDecodeMulti(frame_gray)
        return [text for text in texts if text] if ok else []


class OpenCVArucoDecoder(OpenCVDecoder):
    """cv2.QRCodeDetectorAruco: finds finder patterns with the ArUco detector (OpenCV ≥ 4.8)."""

    name = "opencv_aruco"

    @staticmethod
    def _make_detector(cv2):
        if not hasattr(cv2, "QRCodeDetectorAruco"):
            raise DecoderUnavailable(f"OpenCV {cv2.__version__} has no QRCodeDetectorAruco (needs 4.8 or newer)")
        return cv2.QRCodeDetectorAruco()


class DecoderChain:
    """Asks each decoder in turn; the first that finds something answers.

    With ``fallback_every=n`` the decoders after the first are asked only on every n-th frame
    that the first found nothing in (a code is in view for many frames; an empty scene is not
    worth every decoder on every frame).
    """

    def __init__(self, decoders: list[FrameDecoder], *, fallback_every: int = 1):
        if not decoders or fallback_every < 1:
            raise BadDriverSetting("a decoder chain needs at least one decoder and fallback_every >= 1")
        self.decoders = list(decoders)
        self.name = ",".join(decoder.name for decoder in self.decoders)
        self.fallback_every = fallback_every
        self._misses = 0

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        first, *fallbacks = self.decoders
        texts = first.decode(frame_gray)
        if texts or not fallbacks:
            return texts
        self._misses += 1
        if self._misses % self.fallback_every:
            return []
        for decoder in fallbacks:
            texts = decoder.decode(frame_gray)
            if texts:
                return texts
        return []


DECODERS = {cls.name: cls for cls in (ZxingCppDecoder, PyzbarDecoder, OpenCVDecoder, OpenCVArucoDecoder)}


def make_decoder(
    spec: str = DEFAULT_DECODER, *, fallback_every: int = 1, skip_unavailable: bool = False
) -> FrameDecoder:
    """A decoder from its name, or a chain from names joined by commas ("zxingcpp,pyzbar").

    Raises ``BadDriverSetting`` (a ValueError) for an unknown name and ``DecoderUnavailable`` when
    a library is missing; with ``skip_unavailable`` a chain does without such decoders (with a
    warning) as long as one is left.
    """
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in DECODERS]
    if unknown or not names:
        raise BadDriverSetting(
            f"unknown QR decoder {', '.join(unknown) or repr(spec)}; choose from {', '.join(DECODERS)}"
        )
    decoders, missing = [], []
    for name in names:
        try:
            decoders.append(DECODERS[name]())
        except DecoderUnavailable as exc:
            if not skip_unavailable:
                raise
            missing.append(exc)
    if not decoders:
        raise missing[0]
    for exc in missing:
        log.warning("QR decoder left out: %s", exc)
    return decoders[0] if len(decoders) == 1 else DecoderChain(decoders, fallback_every=fallback_every)
