"""QR decoders behind one tiny interface: ``decode(frame_gray) -> list[str]``.

zxing-cpp, pyzbar (ZBar), OpenCV's two detectors, zxing-cpp on enhanced crops, and the chain the
camera uses. ``bench/bench_scan.py`` measures them; the figures are in ``drivers/README-scan.md``.
"""

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from appliance.drivers.errors import BadDriverSetting, DecoderUnavailable

log = logging.getLogger("appliance.drivers.qr_decoders")

DEFAULT_DECODER = "zxingcpp_dual,pyzbar,enhanced,opencv_aruco"
"""zxing-cpp with both its binarizers on every frame (as cheap as zxing-cpp alone, and it reads
uneven and noisy prints zxing-cpp's default misses); behind it, only on frames where it saw a code
it could not read: ZBar, zxing-cpp on enhanced crops of what it saw, OpenCV's ArUco detector.
The figures are in drivers/README-scan.md."""


class FrameDecoder(Protocol):
    name: str

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        """Texts of the QR codes in an 8-bit grayscale frame (H×W), [] when none."""


@dataclass
class Sighting:
    """What a first look at a frame found: the codes read, and where it saw code-like things
    (finder patterns, a symbol that failed its checksum) that it could not read."""

    texts: list[str]
    unread: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Bounding boxes (x, y, width, height) of the code-like things not read."""


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _import_zxingcpp():
    try:
        import zxingcpp
    except ImportError as exc:
        raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from exc
    return zxingcpp


def _box(position) -> tuple[int, int, int, int]:
    xs = [point.x for point in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)]
    ys = [point.y for point in (position.top_left, position.top_right, position.bottom_right, position.bottom_left)]
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


class ZxingCppDecoder:
    """zxing-cpp with its defaults (its local-average binarizer, inverted and downscaled tries)."""

    name = "zxingcpp"

    def __init__(self):
        self._zxing = _import_zxingcpp()
        self._formats = self._zxing.BarcodeFormat.QRCode
        # The code's own characters, as ZBar and OpenCV give them: zxing-cpp's default would
        # rewrite GS1 codes as "(01)…", so the text would depend on which decoder read it.
        self._text_mode = self._zxing.TextMode.Plain

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        return self.look(frame_gray).texts

    def look(self, frame_gray: np.ndarray) -> Sighting:
        return self._look(frame_gray, Sighting([]))

    def _look(self, frame_gray: np.ndarray, sighting: Sighting, **options) -> Sighting:
        for result in self._zxing.read_barcodes(
            frame_gray, formats=self._formats, text_mode=self._text_mode, return_errors=True, **options
        ):
            if result.valid and result.text:
                sighting.texts.append(result.text)
            else:
                sighting.unread.append(_box(result.position))
        return sighting


class ZxingCppDualDecoder(ZxingCppDecoder):
    """zxing-cpp, then on a frame it read nothing in, its global-histogram binarizer once more.

    The global threshold reads prints and screens whose fine texture or noise confuses the local
    one; without the inverted and downscaled tries it costs under a tenth of the first pass."""

    name = "zxingcpp_dual"

    def look(self, frame_gray: np.ndarray) -> Sighting:
        sighting = super().look(frame_gray)
        if sighting.texts:
            return sighting
        return self._look(
            frame_gray,
            sighting,
            binarizer=self._zxing.Binarizer.GlobalHistogram,
            try_invert=False,
            try_downscale=False,
            try_rotate=False,  # turns only linear barcodes; a QR code reads at any angle
        )


ENHANCED_SIDE = 480
"""The longer side small images are scaled up to before the enhanced tries."""


class EnhancedDecoder(ZxingCppDecoder):
    """zxing-cpp on enhanced versions of a frame (or of a crop around a code seen but not read):
    scaled up (small codes), local contrast (CLAHE: dim light, glare), smoothed (moiré, noise)."""

    name = "enhanced"

    def __init__(self):
        super().__init__()
        try:
            import cv2
        except ImportError as exc:
            raise DecoderUnavailable("OpenCV is not installed (pip install opencv-python-headless)") from exc
        self._cv2 = cv2
        self._clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))

    def look(self, frame_gray: np.ndarray) -> Sighting:
        cv2 = self._cv2
        # A crop around a small code is scaled up to about ENHANCED_SIDE pixels: zxing-cpp finds
        # finder patterns from about 3–4 pixels a module, and a phone held far off shows 1.5–2.
        scale = min(4.0, ENHANCED_SIDE / max(frame_gray.shape))
        if scale < 1.5:
            scale, image = 1.0, frame_gray
        else:
            image = cv2.resize(frame_gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        global_ = self._zxing.Binarizer.GlobalHistogram
        unread: list[tuple[int, int, int, int]] = []
        for enhanced, options in (
            (image, {}),
            (self._clahe.apply(image), {}),
            (cv2.medianBlur(image, 3), {"binarizer": global_}),
            (cv2.GaussianBlur(image, (0, 0), 1.0), {"binarizer": global_}),
        ):
            sighting = self._look(enhanced, Sighting([]), **options)
            if sighting.texts:
                return sighting
            unread.extend(sighting.unread)
        return Sighting([], [tuple(round(value / scale) for value in box) for box in unread])


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
        self._cv2 = cv2
        self._detector = self._make_detector(cv2)

    @staticmethod
    def _make_detector(cv2):
        return cv2.QRCodeDetector()

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        try:
            ok, texts, _, _ = self._detector.detectAndDecodeMulti(frame_gray)
        except (UnicodeDecodeError, self._cv2.error):
            # OpenCV's Python binding fails on a code whose bytes are not UTF-8, and its detector
            # on some odd geometry: nothing read, like any other decoder that cannot read a frame.
            return []
        return [text for text in texts if text] if ok else []


class OpenCVArucoDecoder(OpenCVDecoder):
    """cv2.QRCodeDetectorAruco: finds finder patterns with the ArUco detector (OpenCV ≥ 4.8)."""

    name = "opencv_aruco"

    @staticmethod
    def _make_detector(cv2):
        if not hasattr(cv2, "QRCodeDetectorAruco"):
            raise DecoderUnavailable(f"OpenCV {cv2.__version__} has no QRCodeDetectorAruco (needs 4.8 or newer)")
        return cv2.QRCodeDetectorAruco()


def crop_around(frame_gray: np.ndarray, boxes: list[tuple[int, int, int, int]], margin: float = 0.25) -> np.ndarray:
    """The part of the frame holding every box, widened by ``margin`` of its size on each side
    (a code's quiet zone, and a symbol the first look found only part of)."""
    height, width = frame_gray.shape
    left = min(x for x, _, _, _ in boxes)
    top = min(y for _, y, _, _ in boxes)
    right = max(x + w for x, _, w, _ in boxes)
    bottom = max(y + h for _, y, _, h in boxes)
    pad = int(margin * max(right - left, bottom - top)) + 8
    return frame_gray[max(0, top - pad) : min(height, bottom + pad), max(0, left - pad) : min(width, right + pad)]


class DecoderChain:
    """The first decoder looks at every frame; the others are asked, in turn, only when it saw
    something code-like that it could not read, first on a crop around what it saw, then on the
    whole frame. An empty frame costs what the first decoder costs; the first that reads answers.
    """

    def __init__(self, decoders: list[FrameDecoder]):
        if not decoders:
            raise BadDriverSetting("a decoder chain needs at least one decoder")
        if len(decoders) > 1 and not hasattr(decoders[0], "look"):
            raise BadDriverSetting(_not_a_first_decoder(decoders[0].name))
        self.decoders = list(decoders)
        self.name = ",".join(decoder.name for decoder in self.decoders)

    def decode(self, frame_gray: np.ndarray) -> list[str]:
        first, *fallbacks = self.decoders
        if not fallbacks:
            return first.decode(frame_gray)
        sighting = first.look(frame_gray)
        if sighting.texts or not sighting.unread:
            return sighting.texts
        crop = crop_around(frame_gray, sighting.unread)
        images = [crop] if crop.shape == frame_gray.shape else [crop, frame_gray]
        for image in images:
            if min(image.shape) < 21:
                continue
            for decoder in fallbacks:
                texts = decoder.decode(image)
                if texts:
                    return texts
        return []


DECODERS = {
    cls.name: cls
    for cls in (ZxingCppDecoder, ZxingCppDualDecoder, PyzbarDecoder, EnhancedDecoder, OpenCVDecoder, OpenCVArucoDecoder)
}


def _not_a_first_decoder(name: str) -> str:
    lookers = ", ".join(known for known, cls in DECODERS.items() if hasattr(cls, "look"))
    return f"a decoder chain starts with one that says where it saw a code ({lookers}), not {name}"


def chain_problem(spec: str) -> str | None:
    """What is wrong with a decoder chain as configured ("zxingcpp_dual,pyzbar"), or None."""
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in DECODERS]
    if unknown or not names:
        return f"unknown QR decoder {', '.join(unknown) or repr(spec)}; choose from {', '.join(DECODERS)}"
    if len(names) > 1 and not hasattr(DECODERS[names[0]], "look"):
        return _not_a_first_decoder(names[0])
    return None


def make_decoder(spec: str = DEFAULT_DECODER, *, skip_unavailable: bool = False) -> FrameDecoder:
    """A decoder from its name, or a chain from names joined by commas ("zxingcpp,pyzbar").

    Raises ``BadDriverSetting`` (a ValueError) for a ``chain_problem`` and ``DecoderUnavailable`` when
    a library is missing; with ``skip_unavailable`` a chain does without such decoders (with a
    warning) as long as one is left.
    """
    problem = chain_problem(spec)
    if problem:
        raise BadDriverSetting(problem)
    names = [name.strip() for name in spec.split(",") if name.strip()]
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
    return decoders[0] if len(decoders) == 1 else DecoderChain(decoders)
