"""Who may use the reference backend: its devices, its counters and the staff token, read from an access
file (TOML) and the environment, never from the command line, and read again when the file changes.

Tokens on a command line are in every local user's process list; a file of mode 0600 and the
environment of the service are not. A changed file registers new devices and counters without a restart.
"""

import hmac
import logging
import os
import re
import secrets
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from entrance_backend.http import DeviceAccess

log = logging.getLogger("entrance-backend")

STAFF_TOKEN_VARIABLE = "ENTRANCE_STAFF_TOKEN"
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")  # the protocol's device and site names
RECHECK_S = 1.0  # how often the file's modification time is looked at, at most
EXAMPLE = """\
# The reference backend's access file: keep it mode 0600, owned by the backend's user.
staff_token_file = "staff.token"     # or: staff_token = "...", or $ENTRANCE_STAFF_TOKEN

[[device]]
id = "kiosk-1"
site = "mitte"                       # default: serve --site
token_file = "kiosk-1.token"         # or: token = "..."; relative to this file

[[counter]]
site = "mitte"
number = 3
token = "..."                        # what the staff type on the counter page, or token_file
concerns = ["leave", "documents"]    # optional: what the counter serves unless its staff choose
"""


class AccessFileError(ValueError):
    """The access file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class CounterAccess:
    site: str
    number: int
    token: str = field(repr=False)
    concerns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Access:
    devices: tuple[DeviceAccess, ...] = ()
    counters: tuple[CounterAccess, ...] = ()
    staff_token: str | None = field(default=None, repr=False)

    def counter(self, token: str) -> CounterAccess | None:
        # Compared with every counter's, in constant time each, so the answer's time says nothing.
        found = None
        for counter in self.counters:
            if hmac.compare_digest(token.encode(), counter.token.encode()):
                found = counter
        return found


def read_access(path: Path, default_site: str, environ: Mapping[str, str] = os.environ) -> Access:
    """The file's devices, counters and staff token (else $ENTRANCE_STAFF_TOKEN); every token distinct."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise AccessFileError(f"{path}: cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise AccessFileError(f"{path}: not valid TOML: {error}") from None
    unknown = set(data) - {"staff_token", "staff_token_file", "device", "counter"}
    if unknown:
        raise AccessFileError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; an example:\n{EXAMPLE}")
    staff = _token(path, "the staff", data, "staff_token", "staff_token_file", required=False)
    staff = staff or environ.get(STAFF_TOKEN_VARIABLE) or None
    devices = tuple(_device(path, index, entry, default_site) for index, entry in _entries(path, data, "device"))
    counters = tuple(_counter(path, index, entry, default_site) for index, entry in _entries(path, data, "counter"))
    access = Access(devices, counters, staff)
    _check_distinct(path, access)
    return access


def register_device(path: Path, device: str, site: str) -> Path:
    """Adds a device with a new token to the access file; the token goes into ``<device>.token`` beside it
    (mode 0600), to be copied to the device. A serving backend lets it in within a second."""
    token_path = path.parent / f"{device}.token"
    if token_path.exists():
        raise AccessFileError(f"{token_path} exists already: is {device} registered?")
    _write_secret(token_path, secrets.token_urlsafe(24))
    try:
        _append(path, site, f'[[device]]\nid = "{device}"\nsite = "{site}"\ntoken_file = "{token_path.name}"\n')
    except AccessFileError:
        token_path.unlink()
        raise
    return token_path


def register_counter(path: Path, site: str, number: int, concerns: tuple[str, ...] = ()) -> str:
    """Adds a counter with a new key to the access file; answers the key, which its staff type in once."""
    key = secrets.token_urlsafe(12)
    listed = ", ".join(f'"{concern}"' for concern in concerns)
    _append(path, site, f'[[counter]]\nsite = "{site}"\nnumber = {number}\ntoken = "{key}"\nconcerns = [{listed}]\n')
    return key


def _append(path: Path, default_site: str, entry: str) -> None:
    """Appends ``entry`` when the file still reads with it; else leaves the file as it was."""
    before = path.read_text(encoding="utf-8") if path.exists() else None
    if before is None:
        _write_secret(path, "")
    with path.open("a", encoding="utf-8") as file:
        file.write(("\n" if before else "") + entry)
    try:
        read_access(path, default_site, environ={})
    except AccessFileError:
        if before is None:
            path.unlink()
        else:
            path.write_text(before, encoding="utf-8")
        raise


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text + ("\n" if text else ""))


class AccessFile:
    """The access file, read again when it changed: ``refresh`` looks at it at most once a second and
    answers the new Access, else None. A file that no longer reads keeps the access it had, logged."""

    def __init__(self, path: Path, default_site: str, clock=time.monotonic):
        self.path, self._site, self._clock = Path(path), default_site, clock
        self._stamp = self._file_stamp()
        self.access = read_access(self.path, default_site)
        self._looked_at = clock()

    def refresh(self) -> Access | None:
        now = self._clock()
        if now - self._looked_at < RECHECK_S:
            return None
        self._looked_at = now
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            self.access = read_access(self.path, self._site)
        except AccessFileError as error:
            log.error("%s; the access read before stays", error)
            return None
        log.info(
            "%s read again: %d device(s), %d counter(s)", self.path, len(self.access.devices), len(self.access.counters)
        )
        return self.access

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            status = self.path.stat()
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size


def _entries(path: Path, data: dict, kind: str):
    entries = data.get(kind, [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise AccessFileError(f"{path}: write each {kind} as a [[{kind}]] table")
    return enumerate(entries, 1)


def _device(path: Path, index: int, entry: dict, default_site: str) -> DeviceAccess:
    where = f"[[device]] {index}"
    _only(path, where, entry, {"id", "site", "token", "token_file"})
    device = entry.get("id")
    if not isinstance(device, str) or not NAME.fullmatch(device):
        raise AccessFileError(f"{path}: {where}: id: 1 to 32 lower-case letters, digits and dashes, e.g. kiosk-1")
    site = _site(path, where, entry, default_site)
    return DeviceAccess(device, site, _token(path, f"{where} ({device})", entry, "token", "token_file"))


def _counter(path: Path, index: int, entry: dict, default_site: str) -> CounterAccess:
    where = f"[[counter]] {index}"
    _only(path, where, entry, {"site", "number", "token", "token_file", "concerns"})
    number = entry.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 999:
        raise AccessFileError(f"{path}: {where}: number: the counter's number, 1 to 999")
    concerns = entry.get("concerns", [])
    if not isinstance(concerns, list) or not all(isinstance(c, str) and NAME.fullmatch(c) for c in concerns):
        raise AccessFileError(f'{path}: {where}: concerns: a list of concern names, e.g. ["leave"]')
    site = _site(path, where, entry, default_site)
    token = _token(path, f"{where} (counter {number})", entry, "token", "token_file")
    return CounterAccess(site, number, token, tuple(concerns))


def _site(path: Path, where: str, entry: dict, default_site: str) -> str:
    site = entry.get("site", default_site)
    if not isinstance(site, str) or not NAME.fullmatch(site):
        raise AccessFileError(f"{path}: {where}: site: 1 to 32 lower-case letters, digits and dashes")
    return site


def _only(path: Path, where: str, entry: dict, keys: set[str]) -> None:
    if unknown := set(entry) - keys:
        raise AccessFileError(f"{path}: {where}: unknown key(s) {', '.join(sorted(unknown))}; known: {sorted(keys)}")


def _token(path: Path, who: str, entry: dict, key: str, file_key: str, required: bool = True) -> str | None:
    if key in entry and file_key in entry:
        raise AccessFileError(f"{path}: {who}: give {key} or {file_key}, not both")
    if file_key in entry:
        token_path = path.parent / str(entry[file_key])
        try:
            token = token_path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise AccessFileError(f"{path}: {who}: {file_key}: {error}") from None
    else:
        token = entry.get(key)
    if token is None and not required:
        return None
    if not isinstance(token, str) or len(token) < 12 or any(c.isspace() for c in token):
        raise AccessFileError(f"{path}: {who}: the token must be at least 12 characters without spaces")
    return token


def _check_distinct(path: Path, access: Access) -> None:
    tokens = (
        [d.token for d in access.devices]
        + [c.token for c in access.counters]
        + [access.staff_token] * bool(access.staff_token)
    )
    if len(set(tokens)) != len(tokens):
        raise AccessFileError(f"{path}: every device, counter and the staff need tokens of their own")
    for kind, names in (
        ("device", [d.device for d in access.devices]),
        ("counter", [(c.site, c.number) for c in access.counters]),
    ):
        if twice := sorted({str(name) for name in names if names.count(name) > 1}):
            raise AccessFileError(f"{path}: {kind} {', '.join(twice)} is listed twice")
