"""The photo sets the decoder tests and the benchmark read: real photos of QR codes (zxing-cpp's
samples, each with its category) and photo-like images of the appliance's own codes.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data"
REAL = DATA / "real_qr_photos"
OWN = DATA / "qr_photos"


@dataclass(frozen=True)
class Photo:
    path: Path
    text: str
    """The code's exact text."""
    category: str

    def gray(self) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(self.path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)


def real_photos() -> list[Photo]:
    """zxing-cpp's sample photos, each with the text beside it (bytes as written: CR LF stays)."""
    categories = dict(
        line.split("\t")
        for line in (REAL / "categories.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    return [
        Photo(REAL / name, (REAL / name).with_suffix(".txt").read_bytes().decode("utf-8"), category)
        for name, category in sorted(categories.items())
    ]


def own_photos() -> list[Photo]:
    """The appliance's own check-in codes on paper and phone screens (tests/data/make_qr_photos.py)."""
    expected = (OWN / "expected.txt").read_text(encoding="utf-8").splitlines()
    return [
        Photo(OWN / name, text, _own_category(name)) for name, text in sorted(line.split(" ", 1) for line in expected)
    ]


def _own_category(name: str) -> str:
    if name.startswith("phone-size-"):
        return "own code, phone, 1.5–3 px a module"
    return "own code, " + name.split("-")[0]


@cache
def photo_sets() -> dict[str, list[Photo]]:
    return {"real_photos": real_photos(), "own_codes": own_photos()}
