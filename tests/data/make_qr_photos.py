"""Makes tests/data/qr_photos/: photo-like JPEGs of booking QR codes, as a camera at the
entrance would see them (no real photos of visitors' codes may be kept).

Each is a print-out or a phone screen in a cluttered scene, rotated and tilted, bent, lit
unevenly, defocused or shaken, noisy, then JPEG-compressed. The payloads are signed check-in
codes as the booking e-mail carries them (``appliance.domain.codes.encode``), made up, signed with
a fixed test key; phones show them at the sizes a code has on a screen held 15–40 cm from the
camera (1.5–3 px a module at 640×480), through the screen's pixel grid, dimmed or with glare.
Run from the repository root: ``.venv/bin/python tests/data/make_qr_photos.py``; the output is
committed (about 300 KB), so a change here shows up as changed images in review.
"""

import random
import sys
from datetime import date, time
from pathlib import Path

import cv2
import numpy as np
import qrcode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from appliance.domain.codes import AppointmentCode, Ed25519PrivateKey, encode  # noqa: E402

OUT = Path(__file__).resolve().parent / "qr_photos"
TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
"""Ed25519 signs deterministically: the same key and code give the same payload on every run."""
SIZE = (640, 480)


def qr_image(payload: str, module_px: int) -> np.ndarray:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module_px, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    return np.array(qr.make_image(fill_color="black", back_color="white").convert("L"), dtype=np.uint8)


def paper(payload: str, rng: random.Random) -> np.ndarray:
    """A printed confirmation: the code with lines of text around it on off-white paper."""
    code = qr_image(payload, 6)
    side = code.shape[0]
    sheet = np.full((side + 160, side + 200), rng.randrange(225, 250), np.uint8)
    sheet[40 : 40 + side, 100 : 100 + side] = np.minimum(code, sheet[0, 0]) // 1
    sheet[40 : 40 + side, 100 : 100 + side][code < 128] = rng.randrange(15, 50)
    for row in range(side + 60, side + 150, 18):
        cv2.putText(
            sheet,
            "Ihr Termin: Dienstag 09:40 Eingangszone",
            (20, row),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            40,
            1,
            cv2.LINE_AA,
        )
    return cv2.cvtColor(sheet, cv2.COLOR_GRAY2BGR)


def phone(payload: str, rng: random.Random, *, grid: bool = False) -> np.ndarray:
    """A phone showing the e-mail: dark bezel, bright screen, the code in the middle; with
    ``grid`` the screen's pixels show as a fine dark grid (moiré once the camera scales it)."""
    code = qr_image(payload, 5)
    side = code.shape[0]
    body = np.full((int(side * 2.0), side + 60, 3), (30, 30, 35), np.uint8)
    screen = np.full((int(side * 2.0) - 60, side + 30, 3), (250, 250, 250), np.uint8)
    screen[:50] = (200, 120, 40)  # the mail app's title bar
    top = (screen.shape[0] - side) // 2
    screen[top : top + side, 15 : 15 + side] = cv2.cvtColor(code, cv2.COLOR_GRAY2BGR)
    if grid:
        screen[::2, :] = (screen[::2, :] * 0.88).astype(np.uint8)
        screen[:, ::2] = (screen[:, ::2] * 0.92).astype(np.uint8)
    body[30 : 30 + screen.shape[0], 15 : 15 + screen.shape[1]] = screen
    return body


def phone_screen(payload: str, rng: random.Random) -> np.ndarray:
    return phone(payload, rng, grid=True)


def scene(rng: random.Random) -> np.ndarray:
    width, height = SIZE
    nprng = np.random.default_rng(rng.randrange(2**32))
    base = cv2.resize(nprng.uniform(40, 180, (4, 5, 3)).astype(np.float32), SIZE, interpolation=cv2.INTER_CUBIC)
    image = np.clip(base, 0, 255).astype(np.uint8)
    for _ in range(rng.randrange(3, 8)):  # counter edges, a sleeve, posters
        color = tuple(rng.randrange(0, 255) for _ in range(3))
        pts = np.array([[rng.randrange(width), rng.randrange(height)] for _ in range(4)], np.int32)
        cv2.fillConvexPoly(image, cv2.convexHull(pts), color, cv2.LINE_AA)
    return image


def bend(image: np.ndarray, amount: float) -> np.ndarray:
    """Paper that is not flat: rows shift along a sine."""
    height, width = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    ys = ys + amount * np.sin(xs / width * np.pi)
    return cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def put(
    scene_image: np.ndarray, item: np.ndarray, rng: random.Random, *, scale: float, angle: float, tilt: float
) -> np.ndarray:
    height, width = item.shape[:2]
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    cx, cy = SIZE[0] / 2 + rng.uniform(-80, 80), SIZE[1] / 2 + rng.uniform(-50, 50)
    corners = []
    for x, y in src:
        x, y = (x - width / 2) * scale, (y - height / 2) * scale
        x, y = x * (1 + rng.uniform(-tilt, tilt)), y * (1 + rng.uniform(-tilt, tilt))
        corners.append([cx + x * np.cos(angle) - y * np.sin(angle), cy + x * np.sin(angle) + y * np.cos(angle)])
    matrix = cv2.getPerspectiveTransform(src, np.float32(corners))
    warped = cv2.warpPerspective(item, matrix, SIZE, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full(item.shape[:2], 255, np.uint8), matrix, SIZE)
    out = scene_image.copy()
    out[mask > 127] = warped[mask > 127]
    return out


def light(image: np.ndarray, rng: random.Random, *, glare: float = 0.0, dim: float = 1.0) -> np.ndarray:
    height, width = image.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = 1 - rng.uniform(0.1, 0.4) * (xx / width if rng.random() < 0.5 else yy / height)
    out = image.astype(np.float32) * (shade * dim)[..., None]
    if glare:
        cx, cy, r = rng.uniform(250, 400), rng.uniform(170, 300), rng.uniform(40, 90)
        out += (glare * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))[..., None]
    return np.clip(out, 0, 255)


def camera(
    image: np.ndarray, rng: random.Random, *, defocus: float = 0.6, shake: int = 0, noise: float = 3.0
) -> np.ndarray:
    image = cv2.GaussianBlur(image, (0, 0), defocus)
    if shake:
        kernel = np.zeros((shake, shake), np.float32)
        kernel[shake // 2, :] = 1 / shake
        image = cv2.filter2D(image, -1, kernel)
    nprng = np.random.default_rng(rng.randrange(2**32))
    return np.clip(image + nprng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)


PHOTOS = [
    # name, what is held up, placement, light, camera
    ("paper-straight", paper, dict(scale=0.9, angle=0.05, tilt=0.03), dict(), dict()),
    ("paper-rotated", paper, dict(scale=0.8, angle=2.4, tilt=0.05), dict(), dict()),
    ("paper-tilted", paper, dict(scale=0.85, angle=-0.3, tilt=0.22), dict(), dict(defocus=0.8)),
    ("paper-bent", paper, dict(scale=0.9, angle=0.2, tilt=0.08), dict(), dict(defocus=0.7)),
    ("paper-far", paper, dict(scale=0.42, angle=0.6, tilt=0.05), dict(), dict(defocus=0.5)),
    ("paper-dim", paper, dict(scale=0.8, angle=-0.5, tilt=0.06), dict(dim=0.35), dict(noise=7)),
    ("paper-shaken", paper, dict(scale=0.9, angle=0.1, tilt=0.04), dict(), dict(shake=5)),
    ("phone-straight", phone, dict(scale=0.75, angle=0.1, tilt=0.04), dict(), dict()),
    ("phone-glare", phone, dict(scale=0.75, angle=-0.2, tilt=0.06), dict(glare=170), dict()),
    ("phone-strong-glare", phone, dict(scale=0.7, angle=0.3, tilt=0.05), dict(glare=240), dict(defocus=0.9)),
    ("phone-tilted", phone, dict(scale=0.7, angle=1.2, tilt=0.2), dict(), dict(defocus=0.8)),
    ("phone-far-dim", phone, dict(scale=0.4, angle=-0.4, tilt=0.05), dict(dim=0.5), dict(noise=6)),
    ("paper-tiny", paper, dict(scale=0.36, angle=0.9, tilt=0.08), dict(), dict(defocus=0.7, noise=5)),
    (
        "phone-dark-shaken",
        phone,
        dict(scale=0.6, angle=0.5, tilt=0.12),
        dict(dim=0.3, glare=60),
        dict(shake=3, noise=7),
    ),
    # Phone sizes: a code 3–5 cm wide on the screen, held 15–40 cm from the camera.
    ("phone-size-3px", phone_screen, dict(scale=0.6, angle=0.15, tilt=0.05), dict(dim=0.8), dict(defocus=0.7)),
    ("phone-size-2.5px", phone_screen, dict(scale=0.5, angle=-0.25, tilt=0.06), dict(), dict(defocus=0.6)),
    ("phone-size-2px", phone_screen, dict(scale=0.4, angle=0.4, tilt=0.05), dict(glare=90), dict(defocus=0.6)),
    ("phone-size-2px-dim", phone_screen, dict(scale=0.4, angle=-0.1, tilt=0.08), dict(dim=0.45), dict(noise=6)),
    ("phone-size-1.7px", phone_screen, dict(scale=0.34, angle=0.7, tilt=0.05), dict(), dict(defocus=0.5)),
    ("phone-size-1.5px", phone_screen, dict(scale=0.3, angle=0.05, tilt=0.04), dict(), dict(defocus=0.5)),
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = random.Random(20240917)
    lines = []
    for number, (name, holder, placement, lighting, optics) in enumerate(PHOTOS):
        code = AppointmentCode(
            rng.randrange(10**6),
            "jobcenter-mitte",
            date(2026, 3, 2 + number),
            time(8 + number % 8, 10),
            "leave",
            f"T{number:03d}",
        )
        payload = encode(code, TEST_KEY)
        item = holder(payload, rng)
        if name == "paper-bent":
            item = bend(item, 14)
        image = put(scene(rng), item, rng, **placement)
        image = camera(light(image, rng, **lighting), rng, **optics)
        cv2.imwrite(str(OUT / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 72])
        lines.append(f"{name}.jpg {payload}")
    (OUT / "expected.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
