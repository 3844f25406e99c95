"""QR decoders: the default chain reads photo-like images at least as well as the best single
decoder, falls back in order, and no decoder trips over odd frames."""

import cv2
import numpy as np
import pytest

from appliance.drivers.camera import decode_image
from appliance.drivers.errors import BadDriverSetting, DecoderUnavailable
from appliance.drivers.qr_decoders import DECODERS, DEFAULT_DECODER, DecoderChain, make_decoder
from bench import bench_scan
from support import DATA

PHOTOS = DATA / "qr_photos"


def photos() -> list[tuple[str, np.ndarray, str]]:
    expected = dict(line.split(" ", 1) for line in (PHOTOS / "expected.txt").read_text().splitlines())
    return [
        (name, cv2.cvtColor(cv2.imread(str(PHOTOS / name)), cv2.COLOR_BGR2GRAY), payload)
        for name, payload in sorted(expected.items())
    ]


def test_the_default_chain_reads_photos_at_least_as_well_as_the_best_single_decoder():
    images = photos()
    assert len(images) >= 12
    read = {}
    for name in [*DECODERS, "default"]:
        decoder = make_decoder(DEFAULT_DECODER if name == "default" else name)
        read[name] = {photo for photo, image, payload in images if payload in decoder.decode(image)}
    best_single = max(len(read[name]) for name in DECODERS)
    summary = {name: len(found) for name, found in read.items()}
    assert len(read["default"]) >= best_single, summary
    assert len(read["default"]) >= len(images) - 1, summary


class Fixed:
    """A decoder backend that answers the same every time and counts its calls."""

    def __init__(self, name, texts):
        self.name, self.texts, self.calls = name, texts, 0

    def decode(self, frame_gray):
        self.calls += 1
        return list(self.texts)


def test_a_chain_asks_the_next_decoder_only_when_the_one_before_found_nothing():
    first, second, third = Fixed("a", []), Fixed("b", ["B"]), Fixed("c", ["C"])
    chain = DecoderChain([first, second, third])
    assert chain.decode(np.zeros((30, 30), np.uint8)) == ["B"]
    assert (first.calls, second.calls, third.calls) == (1, 1, 0)
    assert chain.name == "a,b,c"


def test_a_chain_can_ask_its_fallbacks_on_every_nth_empty_frame_only():
    first, fallback = Fixed("a", []), Fixed("b", [])
    chain = DecoderChain([first, fallback], fallback_every=4)
    for _ in range(12):
        chain.decode(np.zeros((30, 30), np.uint8))
    assert (first.calls, fallback.calls) == (12, 3)


def test_unknown_decoder_names_are_refused_with_the_choices():
    with pytest.raises(BadDriverSetting, match="zxingcpp, pyzbar, opencv, opencv_aruco"):
        make_decoder("zxing,quirc")


def test_a_missing_library_is_named_or_left_out_of_a_chain_on_request(monkeypatch):
    class Missing:
        name = "missing"

        def __init__(self):
            raise DecoderUnavailable("missing is not installed")

    monkeypatch.setitem(DECODERS, "missing", Missing)
    with pytest.raises(DecoderUnavailable, match="not installed"):
        make_decoder("zxingcpp,missing")
    assert make_decoder("zxingcpp,missing", skip_unavailable=True).name == "zxingcpp"


@pytest.mark.parametrize("name", list(DECODERS))
@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((21, 21), np.uint8),
        np.full((480, 640), 255, np.uint8),
        np.random.default_rng(1).integers(0, 256, (480, 640), dtype=np.uint8),
        np.random.default_rng(2).integers(0, 256, (21, 1000), dtype=np.uint8),
    ],
    ids=["tiny-black", "white", "noise", "sliver"],
)
def test_decoders_find_nothing_in_frames_without_a_code(name, frame):
    assert make_decoder(name).decode(frame) == []


@pytest.mark.slow
def test_the_benchmark_reports_every_figure():
    figures = bench_scan.run(samples=1)
    for decoder in [*DECODERS, "default"]:
        for degradation in bench_scan.DEGRADATIONS:
            assert 0 <= figures[f"decoder_{decoder}_{degradation}_success_pct"] <= 100
    for key in ("camera_empty_frame_ms", "camera_decode_ms_640x480", "camera_decode_ms_1280x720"):
        assert figures[key] > 0
    assert "| default (" in bench_scan.table(figures)


def test_image_files_are_decoded_and_files_that_are_no_images_give_nothing(tmp_path):
    name, _, payload = photos()[0]
    assert decode_image(PHOTOS / name) == [payload]
    (tmp_path / "notes.jpg").write_bytes(b"\x00\xff not a JPEG" * 100)
    assert decode_image(tmp_path / "notes.jpg") == []
    assert decode_image(tmp_path / "missing.png") == []
