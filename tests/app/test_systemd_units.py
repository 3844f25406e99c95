"""The systemd unit and sysusers snippet, checked by systemd's own tools."""

import re
import shutil
import subprocess
import sys

import pytest

from support import REPO_ROOT

SYSTEMD_DIR = REPO_ROOT / "systemd"
UNIT = SYSTEMD_DIR / "entrance-appliance.service"
SYSUSERS = SYSTEMD_DIR / "entrance-appliance.sysusers"
INSTALLED_EXECUTABLE = "/opt/entrance-appliance/venv/bin/entrance-appliance"
MAX_EXPOSURE = 2.5


def run(*command):
    tool = shutil.which(command[0])
    if tool is None:
        pytest.skip(f"{command[0]} is not on PATH (it comes with the Debian package systemd)")
    return subprocess.run([tool, *command[1:]], capture_output=True, text=True, timeout=60)


def test_unit_passes_systemd_analyze_verify_without_any_message(tmp_path):
    # verify insists that ExecStart= exists; on a test machine the venv under /opt does
    # not, so a copy of the unit starts an executable that does. Nothing else is filtered:
    # systemd 252 says nothing about the missing user or groups.
    executable = shutil.which("entrance-appliance") or sys.executable
    text = UNIT.read_text()
    assert text.count(f"ExecStart={INSTALLED_EXECUTABLE} ") == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(f"ExecStart={INSTALLED_EXECUTABLE} ", f"ExecStart={executable} "))

    result = run("systemd-analyze", "verify", "--man=no", str(copy))

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_unit_is_rated_at_most_2_5_by_systemd_analyze_security():
    result = run("systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT))

    assert result.returncode == 0, result.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_sysusers_dry_run_only_announces_the_user_and_its_groups(tmp_path):
    (tmp_path / "etc").mkdir()

    result = run("systemd-sysusers", "--dry-run", f"--root={tmp_path}", str(SYSUSERS))

    assert result.returncode == 0, result.stderr
    unexpected = [
        line
        for line in result.stderr.splitlines()
        if not line.startswith(("Creating group ", "Creating user ", "Would write "))
    ]
    assert unexpected == []
    assert "Creating user 'entrance-appliance'" in result.stderr
    assert not (tmp_path / "etc" / "passwd").exists()


def test_sysusers_creates_the_user_with_its_home_and_device_groups(tmp_path):
    # Into an empty root in tmp_path, so the result does not depend on this machine's groups.
    (tmp_path / "etc").mkdir()

    result = run("systemd-sysusers", f"--root={tmp_path}", str(SYSUSERS))

    assert result.returncode == 0, result.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc" / "passwd").read_text().splitlines()}
    assert passwd["entrance-appliance"][5] == "/var/lib/entrance-appliance"
    members = {
        fields[0]: fields[3].split(",")
        for fields in (line.split(":") for line in (tmp_path / "etc" / "group").read_text().splitlines())
    }
    for group in ("input", "gpio", "lp", "dialout", "video"):
        assert "entrance-appliance" in members[group], group
