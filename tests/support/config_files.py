"""Config files for the config tests: minimal device texts, writing them, and reading problems back."""

from pathlib import Path
from textwrap import dedent

import pytest

from appliance.app.config import load_config
from appliance.domain.config.ini import Problem
from appliance.domain.errors import ConfigError

DEVICE = """\
[device]
id = kiosk-1
site = mitte
"""

MONITOR = DEVICE + "roles = monitor\n"

KIOSK = (
    DEVICE
    + """\
roles = kiosk

[concern:leave]
title_de = Urlaub beantragen
title_en = Apply for leave
prefix = U
first = 1
last = 299
"""
)

SECRET = "tok-3f9a1c-never-show-me"


def write(path: Path, text: str, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    if mode is not None:
        path.chmod(mode)
    return path


def line_of(path: Path, fragment: str) -> int:
    """The 1-based number of the line of ``path`` that contains ``fragment`` (exactly one must)."""
    numbers = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line]
    assert len(numbers) == 1, f"{fragment!r} is on lines {numbers}"
    return numbers[0]


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def effective_line(config, section: str, key: str) -> str:
    """The line of check-config's listing that shows ``key`` in ``[section]``."""
    lines = config.effective.splitlines()
    start = lines.index(f"[{section}]")
    for line in lines[start + 1 :]:
        if line.startswith("["):
            break
        if line.startswith(f"{key} = "):
            return line
    raise AssertionError(f"[{section}] {key} is not in the listing:\n{config.effective}")
