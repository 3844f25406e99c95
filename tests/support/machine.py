"""A throwaway copy of this machine's system to install the offline bundle into, as root and offline: the host's
files seen through overlays in a user and mount namespace with the network cut, every write kept in a folder.

``Machine(folder)`` runs commands there: /etc, /usr, /opt, /root and /var's lib, log and cache/apt are overlays
whose changes land in ``folder`` (kept from run to run: one machine, installed and upgraded in turn), /run is
empty (no systemd: install.sh leaves units alone, unless a command makes /run/systemd/system), only loopback
exists, and its processes are its own (a run that times out ends them all). ``Machine(folder, on=other)`` starts
as ``other`` is now, so one first install serves many tests. The overlays are what keep the host's files
unwritten: root in the namespace is the host's root, and owns them. Needs no privilege, but Linux 5.11 or newer.
"""

import base64
import hashlib
import importlib.metadata
import subprocess
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

# Where install.sh, apt and dpkg (should a package be missing), and the test write. Not the whole of /var: the
# mounts that tools/arm64-check leaves under /var/cache while it runs keep it from being overlaid.
OVERLAID = ("etc", "usr", "opt", "root", "var/lib", "var/log", "var/cache/apt")
# What a technician's root shell has: the system's python3 and tools, none of this process's settings
# (pip's or the test venv's).
ROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}

# Exit status of the set-up when a mount is refused (the command's own statuses are its own).
SET_UP_FAILED = 97


class NamespaceUnavailable(RuntimeError):
    """This machine cannot make a user and mount namespace with overlays: the install cannot be tried here."""


class Machine:
    def __init__(self, folder: Path, on: "Machine | None" = None):
        self.folder, self.on = folder, on
        for dir in OVERLAID:
            (folder / dir / "changes").mkdir(parents=True, exist_ok=True)
            (folder / dir / "work").mkdir(exist_ok=True)

    def _set_up(self) -> str:
        mounts = []
        for dir in OVERLAID:
            lower = f"{self.on.folder / dir / 'changes'}:/{dir}" if self.on else f"/{dir}"
            changes, work = self.folder / dir / "changes", self.folder / dir / "work"
            # userxattr: the overlay's own marks (a removed file, an emptied folder) as a user may set them.
            options = f"userxattr,lowerdir={lower},upperdir={changes},workdir={work}"
            mounts.append(f"mount -t overlay overlay -o {options} /{dir}")
        mounts.append("mount -t tmpfs tmpfs /run")
        return "".join(f"{mount} || exit {SET_UP_FAILED}\n" for mount in mounts) + 'exec env -i "$@"\n'

    def run(self, *command: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        """``command`` as root on this machine, offline; its output as text."""
        settings = [f"{key}={value}" for key, value in {**ROOT_ENV, **(env or {})}.items()]
        # Its own process namespace too: when a run times out and unshare is killed, all that ran inside dies with it.
        namespace = ["unshare", "--user", "--map-root-user", "--mount", "--net"]
        namespace += ["--pid", "--mount-proc", "--fork", "--kill-child"]
        try:
            result = subprocess.run(
                [*namespace, "sh", "-c", self._set_up(), "sh", *settings, *command],
                env={"PATH": ROOT_ENV["PATH"]},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except FileNotFoundError as error:
            raise NamespaceUnavailable(f"unshare is not installed (Debian's util-linux): {error}") from error
        if result.returncode == SET_UP_FAILED or result.stderr.startswith("unshare:"):
            raise NamespaceUnavailable(f"the test's machine could not be set up: {result.stderr.strip()}")
        return result

    def sh(self, script: str, **kwargs) -> str:
        """A shell script's output on this machine; AssertionError with its error output if it fails."""
        result = self.run("sh", "-c", script, **kwargs)
        assert result.returncode == 0, f"{script!r} failed on the test's machine: {result.stderr}"
        return result.stdout


def installed_wheels(distribution: str, into: Path) -> list[Path]:
    """Wheels of ``distribution``'s dependencies (not itself) as this Python has them installed: each packed
    again from its files, so a bundle for this machine needs no network and no download."""
    # Each requirement with the extras its requirer asked for (python-escpos[usb,serial] needs pyusb).
    wanted = [(Requirement(line), {""}) for line in importlib.metadata.requires(distribution) or []]
    walked: set[tuple[str, frozenset]] = set()
    wheels: dict[str, Path] = {}
    while wanted:
        requirement, extras = wanted.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": extra}) for extra in extras):
            continue
        key = requirement.name.lower().replace("_", "-")
        if (key, frozenset(requirement.extras)) in walked:
            continue
        walked.add((key, frozenset(requirement.extras)))
        dependency = importlib.metadata.distribution(requirement.name)
        if key not in wheels:
            wheels[key] = _packed(dependency, into)
        wanted += [(Requirement(line), {"", *requirement.extras}) for line in dependency.requires or []]
    return list(wheels.values())


def record_line(path: str, data: bytes) -> str:
    """``path``'s line in a wheel's RECORD."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _packed(dependency: importlib.metadata.Distribution, into: Path) -> Path:
    """A wheel of an installed distribution: its files in site-packages, tagged as its WHEEL file says."""
    info = next(f for f in dependency.files if f.parent.name.endswith(".dist-info")).parent
    tags = [
        line.split(": ", 1)[1].strip().split("-")
        for line in dependency.read_text("WHEEL").splitlines()
        if line.startswith("Tag: ")
    ]
    tag = "-".join(".".join(dict.fromkeys(part[i] for part in tags)) for i in range(3))
    name = dependency.metadata["Name"].replace("-", "_").replace(".", "_")
    wheel = into / f"{name}-{dependency.version}-{tag}.whl"
    # pip writes its own INSTALLER, REQUESTED and direct_url.json; scripts outside site-packages are made
    # again from the entry points.
    left_out = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        for file in dependency.files:
            if file.parts[0] == ".." or "__pycache__" in file.parts or (file.parent == info and file.name in left_out):
                continue
            data = Path(dependency.locate_file(file)).read_bytes()
            archive.writestr(str(file), data)
            record.append(record_line(str(file), data))
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel
