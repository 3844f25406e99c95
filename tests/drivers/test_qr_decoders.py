"""QR decoders: the camera's chain reads real photos at least as well as the best two decoders
together, asks its fallbacks only about frames with something code-like, and no decoder trips
over odd frames."""

import random

import numpy as np
import pytest

from appliance.drivers.camera import decode_image, frame_to_gray
from appliance.drivers.errors import BadDriverSetting, DecoderUnavailable
from appliance.drivers.qr_decoders import DECODERS, DEFAULT_DECODER, DecoderChain, Sighting, make_decoder
from bench import bench_scan
from support.photos import own_photos, photo_sets, real_photos


def reads(decoder, photos) -> set:
    return {photo.path for photo in photos if photo.text in decoder.decode(photo.gray())}


@pytest.mark.slow  # every real photo through every decoder: half a minute on a loaded machine
def test_the_default_chain_reads_every_real_photo_the_best_two_decoders_read_together():
    photos = real_photos()
    assert len(photos) >= 130
    read = {name: reads(make_decoder(name), photos) for name in ("zxingcpp", "pyzbar", "opencv", "opencv_aruco")}
    best, second = sorted(read.values(), key=len, reverse=True)[:2]
    chain = reads(make_decoder(DEFAULT_DECODER), photos)
    missed = sorted(str(path.relative_to(path.parents[1])) for path in (best | second) - chain)
    assert not missed, missed
    assert len(chain) > len(best)


def test_the_appliance_s_own_codes_are_read_on_paper_and_on_phones_down_to_2_px_a_module():
    photos = own_photos()
    chain = reads(make_decoder(DEFAULT_DECODER), photos)
    best_two = reads(make_decoder("zxingcpp"), photos) | reads(make_decoder("pyzbar"), photos)
    assert best_two <= chain
    for size in ("3px", "2.5px", "2px", "2px-dim"):
        assert own_photos()[0].path.with_name(f"phone-size-{size}.jpg") in chain, size
    assert {photo.category for photo in photos} == {
        "own code, paper",
        "own code, phone",
        "own code, phone, 1.5–3 px a module",
    }


def test_every_real_photo_has_its_text_and_a_category():
    photos = real_photos()
    on_disk = {path for path in photos[0].path.parents[1].glob("qrcode-*/*") if path.suffix != ".txt"}
    assert {photo.path for photo in photos} == on_disk
    assert all(photo.text and photo.category for photo in photos)


def test_a_code_read_by_any_decoder_gives_the_same_text():
    # A GS1 code: zxing-cpp's default text mode would write "(01)…" where ZBar gives the characters.
    photo = next(p for p in real_photos() if p.path.name.startswith("gs1-"))
    assert make_decoder("zxingcpp").decode(photo.gray()) == make_decoder("pyzbar").decode(photo.gray()) == [photo.text]


def test_opencv_gives_nothing_rather_than_failing_on_a_code_that_is_not_utf8():
    photo = next(p for p in real_photos() if "qrcode-2/30.png" in str(p.path))
    for name in ("opencv", "opencv_aruco"):
        assert make_decoder(name).decode(photo.gray()) in ([], [photo.text])


class Fixed:
    """A decoder backend that answers the same every time and counts its calls."""

    def __init__(self, name, texts):
        self.name, self.texts, self.calls = name, texts, 0

    def decode(self, frame_gray):
        self.calls += 1
        return list(self.texts)


class Looking(Fixed):
    """A first decoder that saw something code-like (``unread``) or nothing, and read nothing."""

    def __init__(self, name, unread):
        super().__init__(name, [])
        self.unread = unread

    def look(self, frame_gray):
        self.calls += 1
        return Sighting([], list(self.unread))


def test_a_chain_asks_the_next_decoder_only_when_the_one_before_found_nothing():
    first, second, third = Looking("a", [(5, 5, 20, 20)]), Fixed("b", ["B"]), Fixed("c", ["C"])
    chain = DecoderChain([first, second, third])
    assert chain.decode(np.zeros((30, 30), np.uint8)) == ["B"]
    assert (first.calls, second.calls, third.calls) == (1, 1, 0)
    assert chain.name == "a,b,c"


def test_the_fallbacks_are_asked_only_when_the_first_decoder_saw_something_code_like():
    blind, fallback = Looking("a", []), Fixed("b", ["B"])
    chain = DecoderChain([blind, fallback])
    for _ in range(12):
        assert chain.decode(np.zeros((480, 640), np.uint8)) == []
    assert (blind.calls, fallback.calls) == (12, 0)
    seeing = Looking("a", [(100, 100, 60, 60)])
    assert DecoderChain([seeing, fallback]).decode(np.zeros((480, 640), np.uint8)) == ["B"]


def test_cluttered_scenes_without_a_code_never_reach_the_fallbacks():
    # The benchmark's empty scenes: lighting gradients, blotches, edges, lines of text.
    rng = random.Random(5)
    fallback = Fixed("fallback", [])
    chain = DecoderChain([make_decoder("zxingcpp_dual"), fallback])
    for size in bench_scan.SIZES:
        for _ in range(10):
            frame, _ = bench_scan.make_frame("empty", size, rng)
            assert chain.decode(frame_to_gray(frame)) == []
    assert fallback.calls == 0


def test_the_fallbacks_see_a_crop_around_what_the_first_decoder_saw_then_the_whole_frame():
    shapes = []

    class Recording(Fixed):
        def decode(self, frame_gray):
            shapes.append(frame_gray.shape)
            return []

    DecoderChain([Looking("a", [(100, 200, 40, 40)]), Recording("b", [])]).decode(np.zeros((480, 640), np.uint8))
    assert shapes[1] == (480, 640)
    assert shapes[0][0] < 100 and shapes[0][1] < 100


def test_a_chain_must_start_with_a_decoder_that_says_where_it_saw_a_code():
    with pytest.raises(BadDriverSetting, match="zxingcpp, zxingcpp_dual, enhanced.*not pyzbar"):
        make_decoder("pyzbar,zxingcpp")


def test_unknown_decoder_names_are_refused_with_the_choices():
    with pytest.raises(BadDriverSetting, match="zxingcpp, zxingcpp_dual, pyzbar, enhanced, opencv, opencv_aruco"):
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
    for key in (
        "camera_empty_frame_ratio_640x480",
        "camera_empty_frame_ratio_1280x720",
        "camera_idle_cpu_pct",
        "camera_decode_ms_640x480",
        "camera_decode_ms_1280x720",
    ):
        assert figures[key] > 0
    assert "| default (" in bench_scan.table(figures)
    for photo_set in photo_sets():
        assert "| all (" in bench_scan.photo_table(figures, photo_set)


def test_image_files_are_decoded_and_files_that_are_no_images_give_nothing(tmp_path):
    photo = own_photos()[0]
    assert decode_image(photo.path) == [photo.text]
    (tmp_path / "notes.jpg").write_bytes(b"\x00\xff not a JPEG" * 100)
    assert decode_image(tmp_path / "notes.jpg") == []
    assert decode_image(tmp_path / "missing.png") == []
