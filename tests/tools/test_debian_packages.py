"""tools/debian-packages, which the Makefile and the offline bundle's install.sh install Debian packages with:
what counts as installed, and which real package a name is installed as.

dpkg-query and apt-cache are stand-ins on PATH that answer as a trixie arm64 system without Raspberry
Pi's archive does (libzbar0 only provided, by libzbar0t64; no python3-lgpio).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from support import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "debian-packages"

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
