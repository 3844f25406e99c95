"""`entrance-appliance scan-test`: a technician sees each decoded code and the verdict it would get."""

import os
import re
import subprocess
import sys
from datetime import date

import cv2
import numpy as np
import qrcode

from appliance.domain.codes import AppointmentCode, Ed25519PrivateKey, encode, public_key_text
from support import REPO_ROOT

KEY = Ed25519PrivateKey.generate()


def run(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def setup(tmp_path, device_config_file):
    (tmp_path / "site.pub").write_text(public_key_text(KEY) + "\n")
    device_config_file.write_text(
        device_config_file.read_text() + "\n[checkin]\nmodes = signed, reference\npublic_key_file = site.pub\n"
    )
    text = encode(
        AppointmentCode(7, "test-office", date(2020, 1, 2), __import__("datetime").time(9), "leave", "T007"), KEY
    )
    qrcode.make(text).save(tmp_path / "code.png")
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((200, 200, 3), 255, np.uint8))
    return text


def test_image_files_print_each_code_with_its_verdict(tmp_path, device_config_file):
    text = setup(tmp_path, device_config_file)
    result = run(["scan-test", "--config", str(device_config_file), "--source", "code.png", "blank.png"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{text}\twrong_day (T007)  [config only, no day list]"]
    assert "blank.png: no code found" in result.stderr


def test_a_recorded_video_is_read_to_its_end_and_each_code_counted_once(tmp_path, device_config_file):
    text = setup(tmp_path, device_config_file)
    frame = cv2.resize(cv2.imread(str(tmp_path / "code.png")), (480, 480))
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 8, (480, 480))
    for index in range(24):
        writer.write(frame if 4 <= index < 20 else np.full_like(frame, 255))
    writer.release()
    result = run(["scan-test", "--config", str(device_config_file), "--source", "clip.avi"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [text]
    # What a technician aiming a camera reads: how many frames, the decode time, how often a code.
    assert re.search(
        r"# scanner camera:clip\.avi: 24 frames, [0-9.]+ ms a frame, a code in 67 % of them", result.stderr
    )


def test_a_forged_code_is_called_forged(tmp_path, device_config_file):
    setup(tmp_path, device_config_file)
    forged = encode(
        AppointmentCode(7, "test-office", date(2020, 1, 2), __import__("datetime").time(9), "leave", "T007"),
        Ed25519PrivateKey.generate(),
    )
    qrcode.make(forged).save(tmp_path / "forged.png")
    result = run(["scan-test", "--config", str(device_config_file), "--source", "forged.png"], tmp_path)
    assert result.stdout.split("\t")[1].startswith("forged")


def test_an_unreadable_source_is_a_clear_error(tmp_path, device_config_file):
    result = run(["scan-test", "--config", str(device_config_file), "--source", "serial:ttyACM0"], tmp_path)
    assert result.returncode == 2 and "serial:/dev/ttyACM0" in result.stderr
