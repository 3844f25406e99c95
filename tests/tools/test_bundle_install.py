"""The offline bundle's install.sh, run for real on this machine as a technician runs it on a Pi: as root, with
the network cut, into a throwaway system (tests/support/machine.py) that the host's files are never written by.

The bundle is made by `make bundle` itself, with no Python's wheels (BUNDLE_PYTHONS=""), and then given this
machine's: the test venv's dependencies packed again as wheels, no download. tools/arm64-check does the same on
an emulated Pi with the real aarch64 bundle; this runs on every CI run. Where a test makes the machine look like
one systemd runs, the units' restart is tried against a stand-in systemctl (tests/support/systemd_stand_in).
"""

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from appliance import __version__
from support import LIBFAKETIME, REPO_ROOT, wait_for
from support.machine import ROOT_ENV, Machine, NamespaceUnavailable, installed_wheels, record_line

pytestmark = pytest.mark.slow

PREFIX = "/opt/entrance-appliance"
# The machines' changes (a release's venv is about 300 MB) on a RAM disk: an install takes a third less time there.
MACHINES = "/dev/shm" if os.path.isdir("/dev/shm") else None
UNCHANGED = "the installed version is unchanged"
# systemctl, udevadm and systemd-sysusers for a machine where no systemd runs: the lowest boundary of install.sh.
SYSTEMD_STAND_IN = REPO_ROOT / "tests" / "support" / "systemd_stand_in"
DAEMON, MONITOR = "entrance-appliance", "entrance-appliance-monitor"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """The unpacked bundle, as `make bundle` lays it out, with wheels for this machine's python3."""
    folder = tmp_path_factory.mktemp("bundle")
    probe = Machine(folder / "probe")
    try:
        abi = probe.sh("python3 -c 'import sys; print(\"cp%d%d\" % sys.version_info[:2])'").strip()
    except NamespaceUnavailable as error:
        pytest.fail(
            f"{error}\ninstall.sh is tried in a user and mount namespace with overlays (unshare --user --map-root-user"
            " --mount --net); this machine must allow them (Linux 5.11 or newer, user namespaces not disabled)",
            pytrace=False,
        )
    made = subprocess.run(
        ["make", "-s", "bundle"],
        cwd=REPO_ROOT,
        env={**os.environ, "BUNDLE_DIST": str(folder), "BUNDLE_PYTHONS": ""},
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, f"make bundle failed: {made.stdout}{made.stderr}"
    (packed,) = folder.glob("entrance-appliance-*.tar.gz")
    subprocess.run(["tar", "-C", str(folder), "-xzf", str(packed)], check=True)
    unpacked = folder / packed.name.removesuffix(".tar.gz")
    (unpacked / "wheels" / abi).mkdir()
    installed_wheels("entrance-appliance", unpacked / "wheels" / abi)
    # install.sh's first step must find them all: offline, apt could fetch nothing.
    packages = [
        name for role in ("runtime", "monitor") for name in (unpacked / f"debian-packages.{role}").read_text().split()
    ]
    missing = probe.run(str(unpacked / "debian-packages"), "missing", *packages)
    assert not missing.stdout.strip(), f"Debian packages missing ({missing.stdout.split()}): run make test-packages"
    yield unpacked
    shutil.rmtree(folder)  # its wheels, some hundred MB: not kept for pytest's last runs


@pytest.fixture(scope="session")
def first_install(bundle):
    """A machine that had no appliance, after install.sh, and what install.sh said."""
    machine = Machine(Path(tempfile.mkdtemp(prefix="entrance-appliance-first-install-", dir=MACHINES)))
    yield machine, machine.run(str(bundle / "install.sh"))
    shutil.rmtree(machine.folder)


@pytest.fixture
def installed(first_install):
    """A machine of this test's own, as the first install left it."""
    machine = Machine(Path(tempfile.mkdtemp(prefix="entrance-appliance-installed-", dir=MACHINES)), on=first_install[0])
    yield machine
    shutil.rmtree(machine.folder)


def build_of(bundle: Path) -> str:
    return (bundle / "VERSION").read_text().strip()


def releases(machine: Machine) -> list[str]:
    return machine.sh(f"ls {PREFIX}/releases").split()


def current(machine: Machine) -> str:
    return machine.sh(f"readlink {PREFIX}/current").strip()


def version(machine: Machine) -> str:
    """What the appliance the units start says its version is."""
    return machine.sh(f"{PREFIX}/venv/bin/entrance-appliance --version").strip()


def digest(machine: Machine, *paths: str) -> str:
    return machine.sh(f"cat {' '.join(paths)} | sha256sum")


def copy_of(bundle: Path, folder: Path) -> Path:
    """A copy of the bundle to break (hard links: the wheels are not copied, nor changed by a removal)."""
    copy = folder / bundle.name
    shutil.copytree(bundle, copy, copy_function=os.link)
    return copy


def test_a_first_install_switches_current_and_venv_to_its_release_and_writes_the_example_config(first_install, bundle):
    machine, result = first_install
    build = build_of(bundle)

    assert machine.sh("awk -F: 'NR > 2 { print $1 }' /proc/net/dev").split() == ["lo"]  # offline
    assert result.returncode == 0, result.stderr
    assert f"entrance-appliance {build} installed in {PREFIX}/current." in result.stdout
    assert "Now edit /etc/entrance-appliance/appliance.conf" in result.stdout
    assert releases(machine) == [f"0001-{build}"]
    assert current(machine) == f"releases/0001-{build}"
    assert machine.sh(f"readlink {PREFIX}/venv").strip() == "current/venv"
    assert version(machine) == f"entrance-appliance {__version__}"
    assert (
        machine.sh("cat /etc/entrance-appliance/appliance.conf")
        == (bundle / "config" / "kiosk-monitor.conf").read_text()
    )
    assert machine.run(f"{PREFIX}/venv/bin/entrance-appliance", "check-config").returncode == 0
    units = ("/etc/systemd/system/entrance-appliance.service", "/etc/systemd/system/entrance-appliance-monitor.service")
    assert machine.run("ls", *units, "/etc/udev/rules.d/60-entrance-appliance-printer.rules").returncode == 0
    assert "note: systemd-sysusers not run (no systemd); the user is made at boot" in result.stderr


def test_an_upgrade_switches_to_the_new_release_and_leaves_the_config_and_the_state_as_they_were(installed, bundle):
    installed.sh(
        "echo '# edited by the technician' >> /etc/entrance-appliance/appliance.conf &&"
        " mkdir -p /var/lib/entrance-appliance && head -c 4096 /dev/urandom > /var/lib/entrance-appliance/state.db"
    )
    kept = ("/etc/entrance-appliance/appliance.conf", "/var/lib/entrance-appliance/state.db")
    before = digest(installed, *kept)
    build = build_of(bundle)

    result = installed.run(str(bundle / "install.sh"))

    assert result.returncode == 0, result.stderr
    assert f"entrance-appliance {build} installed in {PREFIX}/current." in result.stdout
    assert "Now edit" not in result.stdout
    assert current(installed) == f"releases/0002-{build}"
    assert releases(installed) == [f"0001-{build}", f"0002-{build}"]
    assert version(installed) == f"entrance-appliance {__version__}"
    assert digest(installed, *kept) == before


def test_a_bundle_missing_a_wheel_fails_and_leaves_the_installed_version_running(installed, bundle, tmp_path):
    broken = copy_of(bundle, tmp_path)
    for wheel in broken.glob("wheels/*/pyzbar-*.whl"):
        wheel.unlink()
    build = build_of(bundle)

    result = installed.run(str(broken / "install.sh"))

    assert result.returncode != 0
    assert "No matching distribution found for pyzbar" in result.stderr
    assert f"error: install of {build} failed; {UNCHANGED}" in result.stderr
    assert current(installed) == f"releases/0001-{build}"
    assert releases(installed) == [f"0001-{build}"]
    assert installed.run(f"{PREFIX}/venv/bin/entrance-appliance", "check-config").returncode == 0


def test_a_new_version_that_refuses_the_config_fails_and_leaves_the_installed_version_running(
    installed, bundle, tmp_path
):
    broken = copy_of(bundle, tmp_path)
    # A new version that renamed a key of the device's config: [device] roles is unknown to it.
    (wheel,) = broken.glob("wheels/entrance_appliance-*.whl")
    rewritten(wheel, "appliance/domain/settings.py", '"roles": Key(', '"device_roles": Key(')
    build = build_of(bundle)

    result = installed.run(str(broken / "install.sh"))

    assert result.returncode != 0
    assert f"error: install of {build} failed; {UNCHANGED}" in result.stderr
    roles_line = next(
        number
        for number, line in enumerate((bundle / "config" / "kiosk-monitor.conf").read_text().splitlines(), 1)
        if line.startswith("roles")
    )
    assert f"/etc/entrance-appliance/appliance.conf:{roles_line}: [device] roles: unknown key" in result.stderr
    assert current(installed) == f"releases/0001-{build}"
    assert releases(installed) == [f"0001-{build}"]


def test_upgrades_keep_the_current_release_and_the_one_before_it_also_with_the_clock_set_back(installed, bundle):
    assert LIBFAKETIME is not None, "libfaketime is not installed: run make test-packages"
    build = build_of(bundle)
    # A Pi has no real-time clock: one booted offline may run on fake-hwclock's last saved time, and two
    # upgrades may well fall in the same second of it.
    behind = {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": "2024-06-01 08:00:00", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    # The first install ran on the right clock; the two upgrades after it on one behind it, in the same second.
    for clock in (behind, behind):
        replaced = current(installed)
        result = installed.run(str(bundle / "install.sh"), env=clock)

        assert result.returncode == 0, result.stderr
        assert current(installed) != replaced
        # In the order of their names, as a technician lists them: the one to go back to, then the current one.
        assert [f"releases/{name}" for name in releases(installed)] == [replaced, current(installed)]
    assert current(installed) == f"releases/0003-{build}"
    assert version(installed) == f"entrance-appliance {__version__}"


def test_an_upgrade_restarts_the_running_units_on_the_new_release(installed, bundle, tmp_path):
    systemd = units_running(tmp_path, DAEMON, MONITOR)
    build = build_of(bundle)

    result = install_under_systemd(installed, bundle, systemd)

    assert result.returncode == 0, result.stderr
    assert current(installed) == f"releases/0002-{build}"
    assert starts(systemd) == [(DAEMON, "active", f"0002-{build}"), (MONITOR, "active", f"0002-{build}")]


def test_an_upgrade_whose_daemon_does_not_start_goes_back_and_restarts_only_what_ran_before(
    installed, bundle, tmp_path
):
    broken = daemon_exiting_at_start(bundle, tmp_path)
    systemd = units_running(tmp_path, DAEMON)  # a kiosk without a screen: its monitor unit is not running
    build = build_of(bundle)

    result = install_under_systemd(installed, broken, systemd)

    assert result.returncode != 0
    assert f"error: {DAEMON} did not start on {build}; back to 0001-{build}" in result.stderr
    assert current(installed) == f"releases/0001-{build}"
    assert starts(systemd) == [(DAEMON, "failed", f"0002-{build}"), (DAEMON, "active", f"0001-{build}")]
    assert installed.sh(f"systemctl is-active {MONITOR} || true", env=stand_in_env(systemd)).strip() == "inactive"
    # The release gone back to runs under its own unit file, not the new release's.
    unit = f"{DAEMON}.service"
    assert installed.sh(f"cat /etc/systemd/system/{unit}") == (bundle / "systemd" / unit).read_text()


def test_a_first_install_whose_daemon_does_not_start_says_what_to_do(installed, bundle, tmp_path):
    # A device that `make install` set up: its venv a folder, no release to go back to, the daemon running.
    installed.sh(f"rm -rf {PREFIX} && mkdir -p {PREFIX}/venv")
    broken = daemon_exiting_at_start(bundle, tmp_path)
    systemd = units_running(tmp_path, DAEMON)
    build = build_of(bundle)

    result = install_under_systemd(installed, broken, systemd)

    assert result.returncode != 0
    assert f"error: {DAEMON} did not start on {build}, and there is no earlier release to go back to." in result.stderr
    assert f"journalctl -b -u {DAEMON}" in result.stderr
    assert f"systemctl restart {DAEMON}" in result.stderr
    assert current(installed) == f"releases/0001-{build}"
    assert starts(systemd) == [(DAEMON, "failed", f"0001-{build}")]


def units_running(folder: Path, *units: str) -> Path:
    """The systemd stand-in's state, with ``units`` running as install.sh begins."""
    state = folder / "systemd"
    state.mkdir()
    for unit in units:
        (state / unit).write_text("active\n")
    return state


def stand_in_env(systemd: Path) -> dict:
    return {"PATH": f"{SYSTEMD_STAND_IN}:{ROOT_ENV['PATH']}", "SYSTEMD_STAND_IN": str(systemd)}


def install_under_systemd(machine: Machine, bundle: Path, systemd: Path) -> subprocess.CompletedProcess:
    """install.sh on ``machine`` made to look like one systemd runs: /run/systemd/system there, the stand-ins first
    on PATH."""
    script = 'mkdir -p /run/systemd/system && exec "$0"'
    return machine.run("sh", "-c", script, str(bundle / "install.sh"), env=stand_in_env(systemd))


def starts(systemd: Path) -> list[tuple[str, str, str]]:
    """Each start of a unit as the stand-in saw it: the unit, whether it came up, the release it started."""
    found = re.findall(rf"^(\S+): (\w+) on {PREFIX}/releases/([^/]+)/", (systemd / "calls").read_text(), flags=re.M)
    return [tuple(start) for start in found]


def daemon_exiting_at_start(bundle: Path, folder: Path) -> Path:
    """A bundle whose daemon imports and accepts the config but exits as it starts, its unit file changed too."""
    broken = copy_of(bundle, folder)
    (wheel,) = broken.glob("wheels/entrance_appliance-*.whl")
    rewritten(wheel, "appliance/app/daemon.py", "    appliance.start()", '    raise RuntimeError("does not start")')
    unit = broken / "systemd" / f"{DAEMON}.service"
    changed = unit.read_text() + "# this release's\n"
    unit.unlink()  # a hard link to the bundle's
    unit.write_text(changed)
    return broken


def rewritten(wheel: Path, member: str, old: str, new: str) -> None:
    """``wheel`` rewritten with ``old`` replaced by ``new`` in ``member``, its RECORD line to match."""
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    source = files[member].decode()
    assert old in source, f"{old!r} is no longer in {member}: the test needs another change to make"
    files[member] = source.replace(old, new).encode()
    (record,) = [name for name in files if name.endswith(".dist-info/RECORD")]
    line = record_line(member, files[member])
    files[record] = re.sub(rf"^{re.escape(member)},.*$", line, files[record].decode(), flags=re.M).encode()
    wheel.unlink()  # a hard link to the bundle's: write a new file, not into it
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_an_install_that_times_out_leaves_none_of_its_processes_running(tmp_path):
    machine = Machine(tmp_path / "machine")
    # A step that hangs, with a child of its own: what a stuck apt or pip would leave.
    marker = "987654"

    with pytest.raises(subprocess.TimeoutExpired):
        machine.run("sh", "-c", f"sleep {marker} & sleep {marker}", timeout=3)

    def left() -> list[str]:
        return subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True).stdout.split()

    wait_for(lambda: not left(), what=f"the timed-out run's processes to end (left: {left()})")
