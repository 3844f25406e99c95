"""Camera figures: each QR decoder's reads of real photos per category and of synthetic frames
per degradation, and the camera chain's cost on an empty frame as a ratio to zxing-cpp's own.

Synthetic frames are seeded: a code rendered into a cluttered scene, then degraded (blur,
perspective, noise, small, low contrast, phone-screen glare), plus empty scenes; at 640×480 and
1280×720. ``python bench/bench_scan.py`` prints the tables for ``drivers/README-scan.md``.
"""

import base64
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import qrcode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.drivers.camera import frame_to_gray  # noqa: E402
from appliance.drivers.errors import DecoderUnavailable  # noqa: E402
from appliance.drivers.qr_decoders import DECODERS, DEFAULT_DECODER, make_decoder  # noqa: E402
from tests.support.photos import photo_sets  # noqa: E402

SIZES = [(640, 480), (1280, 720)]
DEGRADATIONS = ["clean", "blur", "perspective", "noise", "small", "low_contrast", "glare", "empty"]
SAMPLES = 30  # per degradation and size


def sample_payload(rng: random.Random) -> str:
    """About as long as a signed check-in code: fields and an Ed25519 signature, base64url."""
    raw = bytes(rng.randrange(256) for _ in range(84))
    return "EA1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def code_modules(payload: str, mask_pattern: int = 0) -> np.ndarray:
    """The QR code as one pixel per module, quiet zone included (255 light, 0 dark).

    The mask is given, not searched for: the search takes longer than rendering the frame.
    """
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4, mask_pattern=mask_pattern
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return np.where(np.array(qr.get_matrix(), dtype=bool), 0, 255).astype(np.uint8)


def scene(width: int, height: int, rng: random.Random) -> np.ndarray:
    """A grey, cluttered background: lighting gradient, blotches, edges and text-like strokes."""
    nprng = np.random.default_rng(rng.randrange(2**32))
    low = cv2.resize(nprng.uniform(60, 200, (6, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    image = low + nprng.normal(0, 4, (height, width))
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(rng.randrange(4, 12)):
        x, y = rng.randrange(width), rng.randrange(height)
        color = rng.randrange(20, 235)
        if rng.random() < 0.5:
            cv2.rectangle(image, (x, y), (x + rng.randrange(20, 200), y + rng.randrange(10, 120)), color, -1)
        else:
            cv2.line(image, (x, y), (rng.randrange(width), rng.randrange(height)), color, rng.randrange(1, 6))
    for _ in range(rng.randrange(1, 4)):
        cv2.putText(
            image,
            "Termin 08:30 Raum 2.14",
            (rng.randrange(width // 2), rng.randrange(20, height)),
            cv2.FONT_HERSHEY_SIMPLEX,
            rng.uniform(0.4, 1.2),
            rng.randrange(0, 80),
            2,
        )
    return image


def place(
    background: np.ndarray,
    modules: np.ndarray,
    module_px: float,
    rng: random.Random,
    *,
    tilt: float = 0.04,
    rotate: bool = True,
    dark: int = 20,
    light: int = 235,
) -> np.ndarray:
    """Warp the code onto the background: scale, rotation, perspective tilt (fraction of its side)."""
    height, width = background.shape
    n = modules.shape[0]
    side = n * module_px
    # Render at 8 px per module, then let the warp scale it down: sharp, with real interpolation.
    big = cv2.resize(modules, (n * 8, n * 8), interpolation=cv2.INTER_NEAREST)
    big = np.where(big > 127, light, dark).astype(np.uint8)
    src = np.float32([[0, 0], [n * 8, 0], [n * 8, n * 8], [0, n * 8]])
    cx = rng.uniform(side * 0.75, max(side * 0.75 + 1, width - side * 0.75))
    cy = rng.uniform(side * 0.75, max(side * 0.75 + 1, height - side * 0.75))
    angle = rng.uniform(-np.pi, np.pi) if rotate else rng.uniform(-0.1, 0.1)
    corners = []
    for dx, dy in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
        jx = dx + rng.uniform(-tilt, tilt) * 2
        jy = dy + rng.uniform(-tilt, tilt) * 2
        x = (jx * np.cos(angle) - jy * np.sin(angle)) * side / 2 + cx
        y = (jx * np.sin(angle) + jy * np.cos(angle)) * side / 2 + cy
        corners.append([x, y])
    matrix = cv2.getPerspectiveTransform(src, np.float32(corners))
    warped = cv2.warpPerspective(big, matrix, (width, height), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full_like(big, 255), matrix, (width, height), flags=cv2.INTER_AREA)
    alpha = mask.astype(np.float32) / 255
    return (background * (1 - alpha) + warped * alpha).astype(np.uint8)


def glare(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """A phone screen's reflection: a bright soft blob that saturates part of the code."""
    height, width = image.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    radius = rng.uniform(0.08, 0.2) * width
    blob = np.exp(-(((xx - cx) ** 2 + ((yy - cy) * rng.uniform(0.6, 1.6)) ** 2) / (2 * radius**2)))
    gradient = (xx / width) * rng.uniform(0, 60)
    return np.clip(image + blob * rng.uniform(180, 260) + gradient, 0, 255).astype(np.uint8)


def make_frame(degradation: str, size: tuple[int, int], rng: random.Random) -> tuple[np.ndarray, str | None]:
    """One BGR frame (as a camera delivers it) and the payload it shows (None when empty)."""
    width, height = size
    background = scene(width, height, rng)
    if degradation == "empty":
        return cv2.cvtColor(background, cv2.COLOR_GRAY2BGR), None
    payload = sample_payload(rng)
    modules = code_modules(payload, rng.randrange(8))
    module_px = rng.uniform(3.5, 6.0) * (height / 480)
    if degradation == "small":
        image = place(background, modules, rng.uniform(1.3, 2.5), rng)
    elif degradation == "perspective":
        image = place(background, modules, module_px, rng, tilt=rng.uniform(0.12, 0.25))
    elif degradation == "low_contrast":
        mid = rng.uniform(90, 170)
        spread = rng.uniform(8, 30)
        image = place(background, modules, module_px, rng, dark=int(mid - spread), light=int(mid + spread))
    else:
        image = place(background, modules, module_px, rng)
    if degradation == "blur":
        sigma = rng.uniform(0.3, 0.75) * module_px
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    elif degradation == "noise":
        nprng = np.random.default_rng(rng.randrange(2**32))
        image = np.clip(image + nprng.normal(0, rng.uniform(25, 70), image.shape), 0, 255).astype(np.uint8)
    elif degradation == "glare":
        image = glare(image, rng)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), payload


def frames(samples: int = SAMPLES, seed: int = 2024):
    """Every (degradation, size, frame, payload), the same for every decoder."""
    rng = random.Random(seed)
    for degradation in DEGRADATIONS:
        for size in SIZES:
            for _ in range(samples):
                frame, payload = make_frame(degradation, size, rng)
                yield degradation, size, frame, payload


def _decoders() -> dict:
    found = {}
    for name in DECODERS:
        try:
            found[name] = make_decoder(name)
        except DecoderUnavailable as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
    found["default"] = make_decoder(DEFAULT_DECODER)
    return found


def empty_frame_ratio(empty_frames: list[np.ndarray], passes: int = 8) -> tuple[float, float]:
    """The default chain's time on frames with no code, and that time over zxing-cpp's own.

    Both decode each frame side by side, ``passes`` times; each frame counts with its fastest
    time for each (the time without the pauses other work on the machine forces on it)."""
    zxing, chain = make_decoder("zxingcpp"), make_decoder(DEFAULT_DECODER)
    grays = [frame_to_gray(frame) for frame in empty_frames]
    zxing_s = [float("inf")] * len(grays)
    chain_s = [float("inf")] * len(grays)
    for _ in range(passes):
        for index, gray in enumerate(grays):
            began = time.perf_counter()
            zxing.decode(gray)
            between = time.perf_counter()
            chain.decode(gray)
            chain_s[index] = min(chain_s[index], time.perf_counter() - between)
            zxing_s[index] = min(zxing_s[index], between - began)
    return sum(chain_s) * 1000 / len(grays), sum(chain_s) / sum(zxing_s)


def camera_idle_cpu_pct(empty_frames: list[np.ndarray], seconds: float = 6.0, fps: int = 8) -> float:
    """The share of one core a camera reader uses watching an empty entrance at the default
    frame rate: an MJPG video of empty scenes read through OpenCV (JPEG decoding included, as
    with a USB webcam), capped at ``fps``, with the default chain. The process's CPU time over
    the wall time, so other work on the machine does not count."""
    from appliance.drivers.camera import CameraReader

    height, width = empty_frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as directory:
        video = str(Path(directory) / "entrance.avi")
        writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
        for index in range(int(seconds * fps)):
            writer.write(empty_frames[index % len(empty_frames)])
        writer.release()
        camera = CameraReader(video, lambda code, source: None, lambda state, detail: None, fps=fps)
        began_cpu, began = time.process_time(), time.monotonic()
        camera.start()
        camera.wait_finished(seconds * 10)
        used_cpu, elapsed = time.process_time() - began_cpu, time.monotonic() - began
        camera.stop()
    return 100 * used_cpu / elapsed


def slug(category: str) -> str:
    """A category as part of a figure's name: "crumpled, dark surround" -> "crumpled_dark_surround"."""
    return "_".join(category.replace(",", " ").split())


def photo_figures(decoders: dict) -> dict[str, float]:
    """Each decoder's reads of the real photos and the appliance's own codes, per category."""
    figures: dict[str, float] = {}
    for photo_set, photos in photo_sets().items():
        for name, decoder in decoders.items():
            read: dict[str, int] = {}
            for photo in photos:
                ok = photo.text in decoder.decode(photo.gray())
                read[photo.category] = read.get(photo.category, 0) + ok
            for category, count in read.items():
                figures[f"{photo_set}_{name}_{slug(category)}_read"] = count
            figures[f"{photo_set}_{name}_read"] = sum(read.values())
        for photo in photos:
            key = f"{photo_set}_{slug(photo.category)}_count"
            figures[key] = figures.get(key, 0) + 1
        figures[f"{photo_set}_count"] = len(photos)
    return figures


def run(samples: int = SAMPLES) -> dict:
    decoders = _decoders()
    hits: dict[tuple[str, str], list[bool]] = {}
    times: dict[tuple[str, str], list[float]] = {}
    empty: dict[str, list[np.ndarray]] = {}
    for degradation, size, frame, payload in frames(samples):
        size_name = f"{size[0]}x{size[1]}"
        if payload is None:
            empty.setdefault(size_name, []).append(frame)
        for name, decoder in decoders.items():
            began = time.perf_counter()
            texts = decoder.decode(frame_to_gray(frame))
            elapsed_ms = (time.perf_counter() - began) * 1000
            ok = (not texts) if payload is None else (payload in texts)
            hits.setdefault((name, degradation), []).append(ok)
            kind = "empty" if payload is None else "code"
            times.setdefault((name, f"{kind}_{size_name}"), []).append(elapsed_ms)
    figures: dict[str, float] = {}
    for (name, degradation), results in hits.items():
        figures[f"decoder_{name}_{degradation}_success_pct"] = round(100 * sum(results) / len(results), 1)
    for (name, kind), values in times.items():
        figures[f"decoder_{name}_{kind}_ms"] = round(statistics.median(values), 2)
    for size_name, frames_of_size in empty.items():
        chain_ms, ratio = empty_frame_ratio(frames_of_size)
        figures[f"camera_empty_frame_ms_{size_name}"] = round(chain_ms, 2)
        figures[f"camera_empty_frame_ratio_{size_name}"] = round(ratio, 3)
    figures["camera_idle_cpu_pct"] = round(camera_idle_cpu_pct(empty["640x480"]), 1)
    figures.update(photo_figures(decoders))
    figures["camera_decode_ms_640x480"] = figures["decoder_default_code_640x480_ms"]
    figures["camera_decode_ms_1280x720"] = figures["decoder_default_code_1280x720_ms"]
    return figures


def table(figures: dict) -> str:
    """The Markdown table of README-scan.md: success per degradation, median ms per frame."""
    names = [n for n in [*DECODERS, "default"] if f"decoder_{n}_clean_success_pct" in figures]
    head = ["decoder", *DEGRADATIONS, "ms 640×480 code / empty", "ms 1280×720 code / empty"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in names:
        cells = [f"{figures[f'decoder_{name}_{d}_success_pct']:.0f} %" for d in DEGRADATIONS]
        for size in ("640x480", "1280x720"):
            code_ms, empty_ms = figures[f"decoder_{name}_code_{size}_ms"], figures[f"decoder_{name}_empty_{size}_ms"]
            cells.append(f"{code_ms:.1f} / {empty_ms:.1f}")
        label = f"default ({DEFAULT_DECODER})" if name == "default" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def photo_table(figures: dict, photo_set: str = "real_photos") -> str:
    """The Markdown table of README-scan.md: codes read per category, each decoder and the chain."""
    names = [n for n in [*DECODERS, "default"] if f"{photo_set}_{n}_read" in figures]
    categories = sorted(
        {photo.category for photo in photo_sets()[photo_set]}, key=lambda c: -figures[f"{photo_set}_{slug(c)}_count"]
    )
    head = ["category (photos)", *(f"chain: {DEFAULT_DECODER}" if n == "default" else n for n in names)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for category in categories:
        cells = [str(figures.get(f"{photo_set}_{n}_{slug(category)}_read", 0)) for n in names]
        lines.append(f"| {category} ({figures[f'{photo_set}_{slug(category)}_count']}) | " + " | ".join(cells) + " |")
    cells = [f"**{figures[f'{photo_set}_{n}_read']}**" for n in names]
    lines.append(f"| all ({figures[f'{photo_set}_count']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = run(int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES)
    for key in sorted(results):
        print(f"{key:<48} {results[key]}")
    print()
    print(table(results))
    print()
    print(photo_table(results))
    print()
    print(photo_table(results, "own_codes"))
    print()
    print("| figure | value |\n| --- | --- |")
    for key in (
        "camera_empty_frame_ms_640x480",
        "camera_empty_frame_ms_1280x720",
        "camera_empty_frame_ratio_640x480",
        "camera_empty_frame_ratio_1280x720",
        "camera_idle_cpu_pct",
        "camera_decode_ms_640x480",
        "camera_decode_ms_1280x720",
    ):
        print(f"| `{key}` | {results[key]} |")
