"""Records what dpkg-query and apt-cache answer in a fresh Debian arm64 root, for the tests of
tools/debian-packages (tests/data/apt-answers/): the choosing code runs on a real system's answers.

Run as root, after tools/arm64-check made the pristine roots (minutes: each apt-cache runs under qemu):
  python3 tests/support/record_apt_answers.py /var/cache/entrance-appliance/arm64-root/trixie NAME... \
      > tests/data/apt-answers/trixie-arm64.json
with the Makefile's names: $(DEBIAN_PACKAGES) python3-venv python3-lgpio $(MONITOR_DEBIAN_PACKAGES).
"""

import json
import subprocess
import sys

# apt-cache would write its binary caches into the root: kept out, so the pristine root stays as it is.
APT_CACHE = ["apt-cache", "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache="]


def answer(root: str, *argv: str) -> dict:
    command = APT_CACHE + list(argv[1:]) if argv[0] == "apt-cache" else list(argv)
    done = subprocess.run(
        ["chroot", root, *command],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )
    return {"stdout": done.stdout, "returncode": done.returncode}


def record(root: str, names: list[str]) -> dict[str, dict]:
    """Each answer under its command line, as tools/debian-packages asks."""
    questions = [("dpkg-query", "-W", "-f=${Status}|${Provides}\\n")]
    for name in names:
        questions += [
            ("dpkg-query", "-W", "-f=${Status}\\n", name),
            ("apt-cache", "policy", name),
            ("apt-cache", "showpkg", name),
        ]
    return {" ".join(question): answer(root, *question) for question in questions}


if __name__ == "__main__":
    json.dump(record(sys.argv[1], sys.argv[2:]), sys.stdout, indent=1, sort_keys=True)
    print()
