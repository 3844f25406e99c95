"""`entrance-appliance` on the command line, as a technician at the device runs it.

Each test runs the real program (`python -m appliance`) and reads its exit code, stdout and stderr.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from appliance import __version__
from support import ANSWER_S, REPO_ROOT

TOKEN = "tok-7f3a9c-RECOGNISABLE-SECRET-41d2"

VALID = """\
[device]
id = kiosk-7
site = test-office
roles = kiosk, monitor

[concern:leave]
title_de = Urlaub beantragen
prefix = A

[state]
database = var/state.db

[core]
control_socket = run/control.sock

[backend]
url = https://backend.example/api
token_file = token
"""

BROKEN = """\
[device]
id = Kiosk 7
site = test-office
roles = kiosk, monitor

[concern:leave]
title_de = Urlaub beantragen
prefix = a1

[core]
tik = 1s
control_socket = run/control.sock

[logging]
level = loud
"""


def line_of(text: str, start: str) -> int:
    """The 1-based number of the line in ``text`` that starts with ``start``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def entrance_appliance(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=ANSWER_S
    )


@pytest.fixture
def token_file(tmp_path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "appliance.conf"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_config_prints_every_effective_value_with_the_file_and_line_it_came_from(tmp_path, token_file):
    config = write_config(tmp_path, VALID)

    result = entrance_appliance("check-config", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# configuration is valid")
    assert f"id = kiosk-7    # {config}:{line_of(VALID, 'id =')}\n" in result.stdout
    database = tmp_path / "var" / "state.db"  # relative paths are taken from the config file's directory
    assert f"database = {database}    # {config}:{line_of(VALID, 'database =')}\n" in result.stdout
    assert re.search(r"^tick = 1s    # default$", result.stdout, re.MULTILINE), result.stdout
    assert "[concern:leave]\ntitle_de = Urlaub beantragen    #" in result.stdout


def test_check_config_warns_at_its_line_of_a_title_the_monitor_would_cut_short_at_its_size(tmp_path, token_file):
    long = "Weiterbewilligung der Leistungen zum Lebensunterhalt beantragen"  # 63 characters: allowed
    text = VALID.replace("[state]", f"[concern:renewal]\ntitle_de = {long}\nprefix = W\n\n[state]")
    small = write_config(tmp_path, text + "\n[monitor]\nsize = 800x480\n")

    result = entrance_appliance("check-config", "--config", str(small), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr  # "Urlaub beantragen" fits
    assert warnings[0].startswith(
        f"warning: {small}:{line_of(text, 'title_de = Weiter')}: [concern:renewal] title_de: the monitor (800x480) "
        "shows it cut short as 'Weiterbewilligung"
    )
    assert warnings[0].endswith("…': shorten it so visitors read it whole")
    short_only = write_config(tmp_path, VALID)  # on the screen's own size: 1920x1080 unless [monitor] size says

    stderr = entrance_appliance("check-config", "--config", str(short_only), cwd=tmp_path).stderr
    assert not [line for line in stderr.splitlines() if line.startswith("warning: ")], stderr


# A site file is no device's whole config: it is checked where it goes, in conf.d beside its device file.
SITE_FILE_OF = {"device-kiosk.conf": "site-mitte.conf"}
DEVICE_EXAMPLES = sorted(
    path.name for path in (REPO_ROOT / "config").glob("*.conf") if path.name not in SITE_FILE_OF.values()
)


@pytest.mark.parametrize("example", DEVICE_EXAMPLES)
def test_every_shipped_example_config_passes_check_config_without_a_single_warning(example, tmp_path, token_file):
    """A technician's first check of our own example is clean, and the monitor shows every title whole."""
    examples = REPO_ROOT / "config"
    text = (examples / example).read_text(encoding="utf-8")
    config = write_config(tmp_path, text.replace("/etc/entrance-appliance/backend.token", str(token_file)))
    if example in SITE_FILE_OF:
        (tmp_path / "conf.d").mkdir()
        (tmp_path / "conf.d" / SITE_FILE_OF[example]).write_bytes((examples / SITE_FILE_OF[example]).read_bytes())

    result = entrance_appliance("check-config", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# configuration is valid")
    assert result.stderr == "", f"config/{example}"


def test_check_config_masks_the_secret_and_never_prints_it(tmp_path, token_file):
    config = write_config(tmp_path, VALID)

    result = entrance_appliance("check-config", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    origin = f"{config}:{line_of(VALID, 'token_file =')}"
    assert f"token_file = {token_file} (********)    # {origin}\n" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_secret_file_readable_by_others_is_a_problem_that_still_does_not_print_the_secret(tmp_path, token_file):
    token_file.chmod(0o644)
    config = write_config(tmp_path, VALID)

    result = entrance_appliance("check-config", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 2
    origin = f"{config}:{line_of(VALID, 'token_file =')}"
    assert f"{origin}: [backend] token_file: secret file {token_file} is readable by group or others" in result.stderr
    assert f"chmod 600 {token_file}" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_check_config_exits_2_listing_every_problem_with_file_line_section_and_key(tmp_path):
    config = write_config(tmp_path, BROKEN)

    result = entrance_appliance("check-config", "--config", str(config), cwd=tmp_path)

    def at(start):
        return f"{config}:{line_of(BROKEN, start)}"

    assert result.returncode == 2
    assert result.stdout == ""
    heading, *problems = result.stderr.splitlines()
    assert heading == "4 problem(s) in the configuration:"
    assert [problem.strip() for problem in problems] == [
        f"{at('id =')}: [device] id: 'Kiosk 7' is not valid: use 1 to 32 lower-case letters, digits and "
        "dashes, e.g. kiosk-1",
        f"{at('prefix =')}: [concern:leave] prefix: 'a1' is not valid: use one or two capital letters, e.g. A",
        f"{at('tik =')}: [core] tik: unknown key. Did you mean 'tick'?",
        f"{at('level =')}: [logging] level: 'loud' is not one of debug, info, warning, error",
    ]


def test_check_config_of_a_missing_file_exits_2_naming_it(tmp_path):
    missing = tmp_path / "nowhere.conf"

    result = entrance_appliance("check-config", "--config", str(missing), cwd=tmp_path)

    assert result.returncode == 2
    assert str(missing) in result.stderr


def test_version_prints_the_program_name_and_version():
    result = entrance_appliance("--version", cwd=REPO_ROOT)

    assert result.returncode == 0
    assert result.stdout.strip() == f"entrance-appliance {__version__}"


def test_unknown_command_exits_2_and_lists_the_known_ones(tmp_path):
    result = entrance_appliance("frobnicate", cwd=tmp_path)

    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    for command in ("run", "check-config", "status", "demo"):
        assert f"'{command}'" in result.stderr


def test_no_command_at_all_exits_2_with_usage(tmp_path):
    result = entrance_appliance(cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith("usage: entrance-appliance")


@pytest.mark.parametrize("setup_cfg", ["setup.cfg", "backend/setup.cfg"])
def test_every_console_script_points_at_a_function_that_exists(setup_cfg):
    """What `make demo` and the systemd units run: the installed scripts, not `python -m`."""
    import configparser
    import importlib

    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / setup_cfg, encoding="utf-8")
    scripts = [line.split("=", 1) for line in parser["options.entry_points"]["console_scripts"].split("\n") if line]
    assert scripts
    for name, target in scripts:
        module, _, function = target.strip().partition(":")
        assert callable(getattr(importlib.import_module(module), function, None)), f"{name.strip()} -> {target}"
