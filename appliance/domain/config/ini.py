"""A small INI reader that remembers where every value came from.

configparser forgets line numbers, and a technician at a device needs ``FILE:LINE`` in every
message; so this reader keeps them, and collects every syntax problem instead of stopping at one.
"""

import re
from dataclasses import dataclass
from pathlib import Path

# An indented 'name = value' line is almost surely a misplaced key, not a continued list.
_LOOKS_LIKE_KEY = re.compile(r"[a-z_][a-z0-9_]*\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, located as precisely as it can be."""

    file: str
    line: int  # 0 when the problem has no line (a missing file or a missing key)
    message: str
    section: str | None = None
    key: str | None = None

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = ""
        if self.section is not None:
            what = f" [{self.section}]" + (f" {self.key}:" if self.key else ":")
        return f"{where}:{what} {self.message}" if what else f"{where}: {self.message}"


@dataclass(frozen=True)
class Setting:
    """A raw value as written, with its origin."""

    value: str
    file: str
    line: int


@dataclass
class IniFile:
    """One parsed file: sections in order, each a dict key -> Setting, plus header lines."""

    path: str
    sections: dict[str, dict[str, Setting]]
    section_lines: dict[str, int]


def parse_ini(text: str, path: str, problems: list[Problem]) -> IniFile:
    """Parse ``text``; append every syntax problem to ``problems`` and keep what is readable.

    Syntax: ``[section]``, ``key = value``, comments from ``#`` or ``;`` at the start of a line or
    from `` #`` inside one, indented lines continue the previous value (for lists).
    """
    result = IniFile(path, {}, {})
    section = None
    last = None  # (section, key) a continuation line extends
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if raw[0] in " \t" and last is not None:
            if _LOOKS_LIKE_KEY.match(stripped):
                problems.append(
                    Problem(
                        path,
                        number,
                        "this indented line continues the value above; if it is "
                        "a key of its own, remove the indentation",
                        last[0],
                        last[1],
                    )
                )
                continue
            sec, key = last
            old = result.sections[sec][key]
            joined = f"{old.value}\n{_strip_comment(stripped)}".strip()
            result.sections[sec][key] = Setting(joined, old.file, old.line)
            continue
        last = None
        if stripped.startswith("["):
            if not stripped.endswith("]") or len(stripped) < 3:
                problems.append(Problem(path, number, f"a section header looks like [name], not {stripped!r}"))
                section = None
                continue
            section = stripped[1:-1].strip()
            if section in result.sections:
                problems.append(
                    Problem(
                        path,
                        number,
                        f"section appears twice in this file (first at line {result.section_lines[section]})",
                        section,
                    )
                )
            else:
                result.sections[section] = {}
                result.section_lines[section] = number
            continue
        if "=" not in stripped:
            problems.append(Problem(path, number, f"expected 'key = value', found {stripped[:40]!r}", section))
            continue
        key, _, value = stripped.partition("=")
        key = key.strip().lower()
        if section is None:
            problems.append(Problem(path, number, f"'{key}' stands before any [section]"))
            continue
        if not key:
            problems.append(Problem(path, number, "a line starts with '=' but has no key", section))
            continue
        if key in result.sections[section]:
            first = result.sections[section][key].line
            problems.append(Problem(path, number, f"set twice in this file (first at line {first})", section, key))
            continue
        result.sections[section][key] = Setting(_strip_comment(value.strip()), path, number)
        last = (section, key)
    return result


def read_ini(path: Path, problems: list[Problem]) -> IniFile | None:
    """Read and parse a file; an unreadable file is a problem, not an exception."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(str(path), 0, "file not found"))
        return None
    except UnicodeDecodeError as error:
        line = Path(path).read_bytes()[: error.start].count(b"\n") + 1
        problems.append(Problem(str(path), line, "is not UTF-8 text (save the file as UTF-8)"))
        return None
    except OSError as error:
        problems.append(Problem(str(path), 0, f"cannot be read: {error.strerror}"))
        return None
    return parse_ini(text, str(path), problems)


def _strip_comment(value: str) -> str:
    for marker in (" #", "\t#"):
        index = value.find(marker)
        if index >= 0:
            value = value[:index]
    return value.strip()
