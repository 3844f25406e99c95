"""tools/debian-packages, which the Makefile and the offline bundle's install.sh install Debian packages with:
what counts as installed, and which real package a name is installed as.

dpkg-query and apt-cache are stand-ins on PATH: they replay what the real ones answered in the fresh
Debian arm64 roots of tools/arm64-check (tests/data/apt-answers/, recorded by
tests/support/record_apt_answers.py), or answer from a made-up system where no real one is at hand (Raspberry
Pi's archive, unreachable from the development machine; a package that cannot be fetched).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "debian-packages"
RECORDED = REPO_ROOT / "tests" / "data" / "apt-answers"

# dpkg-query or apt-cache (the script's name) as it answered with these arguments in a recorded system.
REPLAY = """
import json, os, sys
recorded = json.loads(open(sys.argv[1]).read())
question = " ".join([os.path.basename(sys.argv[2]), *sys.argv[3:]])
if question not in recorded:
    sys.exit(f"not recorded: {question}")
sys.stdout.write(recorded[question]["stdout"])
sys.exit(recorded[question]["returncode"])
"""

# dpkg-query -W -f=FORMAT [NAME]: FORMAT's ${Status} and ${Provides} for NAME, or for every installed package.
DPKG_QUERY = """
import json, sys
installed = json.loads(open(sys.argv[1]).read())
fmt, names = sys.argv[3].removeprefix("-f="), sys.argv[4:]
for name in names or installed:
    if name not in installed:
        print(f"dpkg-query: no packages found matching {name}", file=sys.stderr)
        sys.exit(1)
    line = fmt.replace("${Status}", "install ok installed").replace("${Provides}", installed[name])
    sys.stdout.write(line.replace("\\\\n", "\\n"))
"""

# apt-cache policy NAME / showpkg NAME, from the archive's packages and what provides which virtual name.
APT_CACHE = """
import json, sys
archive = json.loads(open(sys.argv[1]).read())
command, name = sys.argv[2], sys.argv[3]
if command == "policy":
    print(f"{name}:\\n  Installed: (none)\\n  Candidate: {'1.0' if name in archive['real'] else '(none)'}")
elif command == "showpkg":
    print(f"Package: {name}\\nReverse Provides: ")
    for provider in archive["provides"].get(name, []):
        print(f"{provider} 0.23.93-7")
"""


def system(tmp_path: Path, installed: dict[str, str], real: list[str], provides: dict[str, list[str]]) -> dict:
    """An environment whose dpkg-query and apt-cache describe this system."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (tmp_path / "installed.json").write_text(json.dumps(installed))
    (tmp_path / "archive.json").write_text(json.dumps({"real": real, "provides": provides}))
    for tool, source, data in (("dpkg-query", DPKG_QUERY, "installed.json"), ("apt-cache", APT_CACHE, "archive.json")):
        (tmp_path / f"{tool}.py").write_text(source)
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\nexec {sys.executable} {tmp_path / (tool + ".py")} {tmp_path / data} "$@"\n')
        script.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def recorded_system(tmp_path: Path, suite: str) -> dict:
    """An environment whose dpkg-query and apt-cache answer as SUITE's fresh arm64 root did."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "replay.py").write_text(REPLAY)
    for tool in ("dpkg-query", "apt-cache"):
        script = bin_dir / tool
        script.write_text(
            f'#!/bin/sh\nexec {sys.executable} {tmp_path / "replay.py"} {RECORDED / suite}.json "$0" "$@"\n'
        )
        script.chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def bundle_packages() -> list[str]:
    """The names the offline bundle's install.sh asks for on a device with both roles (make bundle's lists)."""
    printed = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-C",
            str(REPO_ROOT),
            "--eval",
            "names: ; @echo $(filter-out python3-lgpio?,$(DEBIAN_PACKAGES)) python3-venv python3-lgpio? "
            "$(MONITOR_DEBIAN_PACKAGES)",
            "names",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return printed.stdout.split()


def missing(env: dict, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TOOL), "missing", *names], env=env, capture_output=True, text=True, timeout=60)


def test_a_virtual_name_counts_as_installed_when_a_package_providing_it_is(tmp_path):
    env = system(tmp_path, {"libzbar0t64": "libzbar0 (= 0.23.93-7)", "tzdata": ""}, ["libzbar0t64", "tzdata"], {})

    result = missing(env, "libzbar0", "tzdata")

    assert (result.returncode, result.stdout) == (0, "")


def test_a_missing_virtual_name_is_installed_as_the_real_package_providing_it(tmp_path):
    env = system(tmp_path, {}, ["libzbar0t64", "tzdata"], {"libzbar0": ["libzbar0t64"]})

    result = missing(env, "libzbar0", "tzdata")

    assert (result.returncode, result.stdout.split()) == (0, ["libzbar0t64", "tzdata"])


def test_an_optional_package_the_archive_lacks_is_left_out_with_a_note_saying_what_takes_its_place(tmp_path):
    env = system(tmp_path, {}, ["tzdata"], {})

    result = missing(env, "python3-lgpio?", "tzdata")

    assert (result.returncode, result.stdout.split()) == (0, ["tzdata"])
    assert "only in Raspberry Pi's archive" in result.stderr and "other pin backends" in result.stderr


def test_an_optional_package_the_archive_has_is_installed(tmp_path):
    env = system(tmp_path, {}, ["python3-lgpio"], {})

    assert missing(env, "python3-lgpio?").stdout.split() == ["python3-lgpio"]


def test_a_required_package_nothing_provides_is_an_error_naming_it(tmp_path):
    env = system(tmp_path, {}, [], {})

    result = missing(env, "libzbar0")

    assert result.returncode == 1 and "no package libzbar0" in result.stderr


def test_install_runs_no_apt_when_all_is_installed_or_only_an_unknown_optional_package_is_missing(tmp_path):
    env = system(tmp_path, {"tzdata": ""}, ["tzdata"], {})
    apt_get = Path(env["PATH"].split(":")[0]) / "apt-get"
    apt_get.write_text(f"#!/bin/sh\ntouch {tmp_path / 'apt-ran'}\n")
    apt_get.chmod(0o755)

    result = subprocess.run(
        [str(TOOL), "install", "tzdata", "python3-lgpio?"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "apt-ran").exists()


def test_an_optional_package_apt_lists_but_cannot_fetch_offline_is_left_out_and_the_rest_installed(tmp_path):
    # Raspberry Pi OS without a network: its lists name python3-lgpio, but neither the image nor the
    # office's mirror holds it.
    env = system(tmp_path, {}, ["tzdata", "python3-lgpio"], {})
    apt_get = Path(env["PATH"].split(":")[0]) / "apt-get"
    apt_get.write_text(
        f'#!/bin/sh\n[ "$1" = update ] && exit 100\ncase "$*" in *python3-lgpio*) exit 100 ;; esac\n'
        f'echo "$@" >> {tmp_path / "installed"}\n'
    )
    apt_get.chmod(0o755)

    result = subprocess.run(
        [str(TOOL), "install", "tzdata", "python3-lgpio?"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "installed").read_text().split()[-1] == "tzdata"
    assert "could not be fetched" in result.stderr and "other pin backends" in result.stderr


def test_install_fetches_an_optional_package_the_archive_has_with_the_rest(tmp_path):
    # Raspberry Pi OS, its archive reachable (or in the office's mirror): python3-lgpio installs, no note.
    env = system(tmp_path, {}, ["tzdata", "python3-lgpio"], {})
    apt_get = Path(env["PATH"].split(":")[0]) / "apt-get"
    apt_get.write_text(f'#!/bin/sh\n[ "$1" = update ] || echo "$@" >> {tmp_path / "installed"}\n')
    apt_get.chmod(0o755)

    result = subprocess.run(
        [str(TOOL), "install", "tzdata", "python3-lgpio?"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    installed = [line.split()[-1] for line in (tmp_path / "installed").read_text().splitlines()]
    assert installed == ["tzdata", "python3-lgpio"]
    assert "note:" not in result.stderr


@pytest.mark.parametrize(
    ("system", "zbar", "asound"),
    [("bookworm-arm64", "libzbar0", "libasound2"), ("trixie-arm64", "libzbar0t64", "libasound2t64")],
)
def test_on_a_fresh_debian_arm64_the_bundle_asks_apt_for_the_names_it_has_and_leaves_out_lgpio(
    tmp_path, system, zbar, asound
):
    env = recorded_system(tmp_path, system)

    result = missing(env, *bundle_packages())

    # What install.sh had apt install in tools/arm64-check's root of that suite (trixie renamed two to *t64).
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "libusb-1.0-0", "fonts-dejavu-core", "libfribidi0", "espeak-ng", zbar,
        "libdrm2", "libgbm1", "libegl1", "libegl-mesa0", "libgles2", "libgl1-mesa-dri", asound,
    ]  # fmt: skip
    assert "python3-lgpio is only in Raspberry Pi's archive" in result.stderr
