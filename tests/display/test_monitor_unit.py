"""The monitor's own systemd unit, checked by systemd's own tools like the daemon's unit."""

import re
import shutil
import subprocess
import sys

import pytest

from support import REPO_ROOT

UNIT = REPO_ROOT / "systemd" / "entrance-appliance-monitor.service"
INSTALLED_EXECUTABLE = "/opt/entrance-appliance/venv/bin/entrance-appliance"
MAX_EXPOSURE = 3.5


def run(*command):
    tool = shutil.which(command[0])
    if tool is None:
        pytest.skip(f"{command[0]} is not on PATH (it comes with the Debian package systemd)")
    return subprocess.run([tool, *command[1:]], capture_output=True, text=True, timeout=60)


def settings(section: str) -> dict[str, list[str]]:
    """The unit's key -> values (keys repeat in units, so a list each)."""
    found: dict[str, list[str]] = {}
    current = None
    for line in UNIT.read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_monitor_unit_passes_systemd_analyze_verify_without_any_message(tmp_path):
    # As for the daemon's unit: verify wants ExecStart= to exist, so a copy starts one that does.
    executable = shutil.which("entrance-appliance") or sys.executable
    text = UNIT.read_text()
    assert text.count(f"ExecStart={INSTALLED_EXECUTABLE} monitor") == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(f"ExecStart={INSTALLED_EXECUTABLE} ", f"ExecStart={executable} "))

    result = run("systemd-analyze", "verify", "--man=no", str(copy))

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_monitor_unit_is_rated_at_most_3_5_by_systemd_analyze_security():
    result = run("systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT))

    assert result.returncode == 0, result.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_monitor_restarts_always_and_survives_a_daemon_restart():
    unit, service = settings("Unit"), settings("Service")

    assert service["Restart"] == ["always"]
    assert "entrance-appliance.service" in unit["After"][0]
    # BindsTo= or Requires= would stop (or fail) the monitor whenever the daemon restarts.
    assert "BindsTo" not in unit and "Requires" not in unit and "PartOf" not in unit
    # The daemon's RuntimeDirectory holds the socket; declaring it here would delete it on our stop.
    assert "RuntimeDirectory" not in service


def test_monitor_runs_as_the_service_user_with_display_sound_and_input_groups_only():
    service = settings("Service")

    assert service["User"] == ["entrance-appliance"]
    assert set(service["SupplementaryGroups"][0].split()) == {"video", "render", "audio", "input"}
    assert service["DevicePolicy"] == ["closed"]
    assert set(service["DeviceAllow"]) == {"char-drm rw", "char-alsa rw", "char-input r"}
    assert service["PrivateNetwork"] == ["yes"] and service["IPAddressDeny"] == ["any"]


def test_every_hardening_exception_is_explained_by_a_comment_above_it():
    lines = UNIT.read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith(
            (
                "MemoryDenyWriteExecute=no",
                "ProcSubset=all",
                "PrivateUsers=no",
                "DeviceAllow=",
                "RestrictAddressFamilies=",
            )
        ):
            assert lines[index - 1].startswith("#"), line
