"""Typed configuration values: each turns the text a technician wrote into a checked value.

A type's ``parse`` raises ValueError with a message that says what would be right; ``show``
turns a value back into text for ``check-config`` (secrets come back masked).
"""

import re
import stat
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path as _Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.domain.catalogs import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE
from appliance.domain.config.suggest import did_you_mean

# Devices, sites and concerns share one kind of name; the sync protocol's "Name" schema is the same.
NAME_PATTERN = r"[a-z0-9][a-z0-9-]{0,31}"
NAME_HINT = "use 1 to 32 lower-case letters, digits and dashes, e.g. kiosk-1"


class ValueType:
    """Base of every config value type."""

    def parse(self, raw: str, base_dir: _Path):
        raise NotImplementedError

    def show(self, value) -> str:
        return str(value)


class String(ValueType):
    def __init__(self, pattern: str | None = None, hint: str = "", max_length: int = 200, why_short: str = ""):
        self.pattern = re.compile(pattern) if pattern else None
        self.hint = hint
        self.max_length = max_length
        self.why_short = why_short  # what a longer value would spoil, for the technician

    def parse(self, raw, base_dir):
        if not raw:
            raise ValueError("must not be empty")
        if len(raw) > self.max_length:
            why = f": {self.why_short}" if self.why_short else ""
            raise ValueError(f"is {len(raw)} characters long; at most {self.max_length} are allowed{why}")
        if self.pattern and not self.pattern.fullmatch(raw):
            raise ValueError(f"{raw!r} is not valid: {self.hint}")
        return raw


class Name(String):
    """A device's, site's or concern's name, as the backend knows it."""

    def __init__(self):
        super().__init__(NAME_PATTERN, NAME_HINT, max_length=32)


class Integer(ValueType):
    def __init__(self, minimum: int | None = None, maximum: int | None = None):
        self.minimum, self.maximum = minimum, maximum

    def parse(self, raw, base_dir):
        try:
            value = int(raw, 10)
        except ValueError:
            raise ValueError(f"{raw!r} is not a whole number") from None
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ValueError(f"{value} is out of range: use {self.minimum} to {self.maximum}")
        return value


class Boolean(ValueType):
    _WORDS = {"yes": True, "true": True, "on": True, "1": True, "no": False, "false": False, "off": False, "0": False}

    def parse(self, raw, base_dir):
        try:
            return self._WORDS[raw.lower()]
        except KeyError:
            raise ValueError(f"{raw!r} is not yes or no") from None

    def show(self, value):
        return "yes" if value else "no"


class Choice(ValueType):
    """One of a few words; numbers given as choices (``Choice(80, 58)``) come back as numbers."""

    def __init__(self, *choices):
        self.choices = {str(choice): choice for choice in choices}

    def parse(self, raw, base_dir):
        if raw not in self.choices:
            raise ValueError(f"{raw!r} is not one of {', '.join(self.choices)}{did_you_mean(raw, self.choices)}")
        return self.choices[raw]


class Language(Choice):
    """A language visitors are offered: one with a catalog (German is the source and needs none)."""

    def __init__(self):
        super().__init__(*LANGUAGES)

    def parse(self, raw, base_dir):
        if raw not in self.choices:
            raise ValueError(no_catalog(raw))
        return raw


def no_catalog(language: str) -> str:
    return (
        f"{language!r} has no catalog: shipped are {', '.join(LANGUAGES)}{did_you_mean(language, LANGUAGES)} "
        f"(a language is added as {LOCALE_DIR.name}/{language}/LC_MESSAGES/appliance.po)"
    )


@dataclass(frozen=True)
class PerLanguage:
    """A text a technician gives per language (``title_de``, ``title_uk``, ...): German, then the others."""

    texts: tuple[tuple[str, str], ...]  # (language, text)

    def get(self, language: str) -> str | None:
        """The text in ``language``, else the German one (None when neither is given)."""
        texts = dict(self.texts)
        return texts.get(language) or texts.get(SOURCE_LANGUAGE)

    def __bool__(self) -> bool:
        return bool(self.texts)


_DURATION_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h|d)")


class Duration(ValueType):
    """``90s``, ``15min``, ``1h 30min``: a number without a unit is refused as ambiguous."""

    def __init__(self, minimum: timedelta = timedelta(0), maximum: timedelta | None = None):
        self.minimum, self.maximum = minimum, maximum

    def parse(self, raw, base_dir):
        text = raw.replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(a + b for a, b in parts) != text:
            if re.fullmatch(r"\d+(\.\d+)?", text):
                raise ValueError(f"{raw!r} needs a unit: write {text}s or {text}min")
            raise ValueError(f"{raw!r} is not a duration: write e.g. 90s, 15min or 1h 30min")
        value = timedelta(seconds=sum(float(n) * _DURATION_UNITS[u] for n, u in parts))
        if value < self.minimum or (self.maximum is not None and value > self.maximum):
            upper = f" to {self.show(self.maximum)}" if self.maximum is not None else " or more"
            raise ValueError(f"{raw} is out of range: use {self.show(self.minimum)}{upper}")
        return value

    def show(self, value):
        seconds = value.total_seconds()
        if seconds and seconds % 3600 == 0:
            return f"{seconds / 3600:g}h"
        if seconds and seconds % 60 == 0:
            return f"{seconds / 60:g}min"
        return f"{seconds:g}s"


class TimeOfDay(ValueType):
    def parse(self, raw, base_dir):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"{raw!r} is not a time of day: write HH:MM, e.g. 07:00")
        return time(int(match[1]), int(match[2]))

    def show(self, value):
        return value.strftime("%H:%M")


class Path(ValueType):
    """A filesystem path; relative paths are taken from the directory of the file that sets them."""

    def __init__(self, must_exist: bool = False):
        self.must_exist = must_exist

    def parse(self, raw, base_dir):
        path = _Path(raw).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        if self.must_exist and not path.exists():
            raise ValueError(f"{path} does not exist")
        return path


class Url(ValueType):
    def __init__(self, schemes=("http", "https")):
        self.schemes = schemes

    def parse(self, raw, base_dir):
        parts = urlsplit(raw)
        if parts.scheme not in self.schemes or not parts.netloc:
            raise ValueError(f"{raw!r} is not a URL: write e.g. https://backend.example/api")
        return raw


class GpioPin(ValueType):
    """A BCM GPIO number; 0 and 1 are the HAT ID EEPROM pins and stay free."""

    def parse(self, raw, base_dir):
        match = re.fullmatch(r"(?:GPIO|BCM)?(\d+)", raw, re.IGNORECASE)
        if not match or not 2 <= int(match[1]) <= 27:
            raise ValueError(f"{raw!r} is not a usable GPIO pin: use a BCM number from 2 to 27 (e.g. 17 or GPIO17)")
        return int(match[1])


class TimeZone(ValueType):
    def parse(self, raw, base_dir):
        try:
            return ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{raw!r} is not a known time zone: write e.g. Europe/Berlin") from None


class List(ValueType):
    """Items separated by commas or new lines."""

    def __init__(self, item: ValueType, allow_empty: bool = False, unique: bool = True):
        self.item, self.allow_empty, self.unique = item, allow_empty, unique

    def parse(self, raw, base_dir):
        items = [part.strip() for part in re.split(r"[,\n]", raw) if part.strip()]
        if not items and not self.allow_empty:
            raise ValueError("needs at least one item")
        if self.unique and len(set(items)) != len(items):
            raise ValueError("names an item twice")
        return tuple(self.item.parse(item, base_dir) for item in items)

    def show(self, value):
        return ", ".join(self.item.show(v) for v in value)


@dataclass(frozen=True)
class Secret:
    """A secret read from a file; it never shows itself in logs or in check-config."""

    path: _Path
    value: str

    def __repr__(self):
        return f"Secret({str(self.path)!r}, '********')"


class SecretFile(ValueType):
    """Names a file holding a secret; refuses files that group or others may read."""

    def parse(self, raw, base_dir):
        path = Path().parse(raw, base_dir)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise ValueError(f"secret file {path} does not exist") from None
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"secret file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise ValueError(
                f"secret file {path} is readable by group or others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): run chmod 600 {path}"
            )
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"secret file {path} cannot be read: {error}") from None
        if not value:
            raise ValueError(f"secret file {path} is empty")
        return Secret(path, value)

    def show(self, value):
        return f"{value.path} (********)"


class PublicKeyFile(ValueType):
    """A file of Ed25519 public keys, one per line (base64 or PEM): more than one during a key rollover."""

    def parse(self, raw, base_dir):
        from appliance.domain.codes import load_public_key  # cryptography is loaded only where keys are used

        path = Path(must_exist=True).parse(raw, base_dir)
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"key file {path} cannot be read: {error}") from None
        blocks = [text] if "-----BEGIN" in text else [line for line in text.splitlines() if line.strip()]
        keys = []
        for number, block in enumerate(blocks, start=1):
            try:
                keys.append(load_public_key(block))
            except ValueError as error:
                raise ValueError(f"key file {path}, key {number}: {error}") from None
        if not keys:
            raise ValueError(f"key file {path} holds no key")
        return KeyRing(path, tuple(keys))

    def show(self, value):
        return f"{value.path} ({len(value.keys)} key(s))"


@dataclass(frozen=True)
class KeyRing:
    path: _Path
    keys: tuple


class UrlTemplate(ValueType):
    """A URL with {placeholders}, e.g. https://jobcenter.example/wartezeit?ticket={code}."""

    def __init__(self, *names: str):
        self.names = names

    def parse(self, raw, base_dir):
        try:
            example = raw.format(**dict.fromkeys(self.names, "X"))
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"{raw!r} uses an unknown placeholder {error}: use {', '.join('{' + n + '}' for n in self.names)}"
            ) from None
        Url().parse(example, base_dir)
        return raw
