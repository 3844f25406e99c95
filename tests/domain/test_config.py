"""The config files a technician writes: layering, typed values, and errors that name file and line.

Every test writes real files into tmp_path and loads them the way the daemon does.
"""
import os
import stat
from datetime import time, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from appliance.domain.config import load_config
from appliance.domain.config.ini import Problem
from appliance.domain.config.loader import DEFAULTS_FILE
from appliance.domain.config.types import (Boolean, Choice, Duration, GpioPin, Integer, List, SecretFile,
                                    String, TimeOfDay, TimeZone, Url)
from appliance.domain.errors import ConfigError

DEVICE = """\
[device]
id = kiosk-1
site = mitte
"""

MONITOR = DEVICE + "roles = monitor\n"

KIOSK = DEVICE + """\
roles = kiosk

[concern:leave]
title_de = Urlaub / Ortsabwesenheit beantragen
title_en = Apply for leave
prefix = U
first = 1
last = 299
"""

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
    for line in lines[start + 1:]:
        if line.startswith("["):
            break
        if line.startswith(f"{key} = "):
            return line
    raise AssertionError(f"[{section}] {key} is not in the listing:\n{config.effective}")


def defaults_line(fragment: str) -> int:
    return line_of(DEFAULTS_FILE, fragment)


# --- Layering: defaults < device file < conf.d/*.conf in lexical order -------------------------

def test_a_minimal_monitor_needs_only_id_and_site_and_roles_and_takes_the_rest_from_the_defaults(tmp_path):
    config = load_config(write(tmp_path / "appliance.conf", MONITOR))

    assert config.device.id == "kiosk-1"
    assert config.device.site == "mitte"
    assert config.device.roles == ("monitor",)
    assert str(config.device.timezone) == "Europe/Berlin"
    assert config.core.tick == timedelta(seconds=1)
    assert config.backend.verify_tls is True
    assert config.backend.url is None and config.backend.token_file is None
    assert config.logging.level == "info"


def test_device_file_overrides_defaults_and_conf_d_overrides_device_file(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[core]\ntick = 2s\n[logging]\nlevel = warning\n")
    write(tmp_path / "conf.d" / "10-debug.conf", "[logging]\nlevel = debug\n")

    config = load_config(main)

    assert config.device.timezone.key == "Europe/Berlin"      # defaults only
    assert config.core.tick == timedelta(seconds=2)            # device file beats defaults
    assert config.logging.level == "debug"                     # conf.d beats device file
    assert config.files == (str(DEFAULTS_FILE), str(main), str(tmp_path / "conf.d" / "10-debug.conf"))


def test_conf_d_files_apply_in_lexical_order_so_the_last_name_wins(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR)
    conf_d = tmp_path / "conf.d"
    write(conf_d / "20-site.conf", "[core]\ntick = 2s\n")
    write(conf_d / "10-office.conf", "[core]\ntick = 1s\n")
    write(conf_d / "9-late.conf", "[core]\ntick = 9s\n")  # '9' sorts after '2': lexical, not numeric

    config = load_config(main)

    assert [Path(f).name for f in config.files[2:]] == ["10-office.conf", "20-site.conf", "9-late.conf"]
    assert config.core.tick == timedelta(seconds=9)


def test_conf_d_ignores_files_that_do_not_end_in_conf(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR)
    write(tmp_path / "conf.d" / "README", "not ini at all\n")
    write(tmp_path / "conf.d" / "50-old.conf.bak", "[logging]\nlevel = debug\n")
    write(tmp_path / "conf.d" / "50-old.conf~", "[logging]\nlevel = debug\n")

    config = load_config(main)

    assert config.logging.level == "info"
    assert len(config.files) == 2


def test_effective_listing_shows_each_value_with_the_file_and_line_it_came_from(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[core]\ntick = 2s\n")
    late = write(tmp_path / "conf.d" / "50-debug.conf", "# more logs while we look for the fault\n"
                                                        "[logging]\nlevel = debug\n")

    config = load_config(main)

    assert effective_line(config, "device", "id") == f"id = kiosk-1    # {main}:{line_of(main, 'id =')}"
    assert effective_line(config, "core", "tick") == f"tick = 2s    # {main}:{line_of(main, 'tick =')}"
    assert effective_line(config, "logging", "level") == f"level = debug    # {late}:3"
    assert effective_line(config, "device", "timezone") == (
        f"timezone = Europe/Berlin    # {DEFAULTS_FILE}:{defaults_line('timezone =')}")


def test_the_same_key_in_two_layers_is_an_override_not_a_duplicate(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[logging]\nlevel = warning\n")
    write(tmp_path / "conf.d" / "10.conf", "[logging]\nlevel = error\n")

    assert load_config(main).logging.level == "error"


def test_problems_in_conf_d_name_the_conf_d_file(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR)
    extra = write(tmp_path / "conf.d" / "10-extra.conf", "[logging]\nlevl = debug\n")

    problem = only_problem(main)

    assert (problem.file, problem.line, problem.section, problem.key) == (str(extra), 2, "logging", "levl")
    assert str(problem) == f"{extra}:2: [logging] levl: unknown key. Did you mean 'level'?"


# --- Every problem at once, each with its line -------------------------------------------------

def test_every_mistake_in_a_file_is_reported_at_once_each_with_its_own_line(tmp_path):
    path = write(tmp_path / "appliance.conf", """\
        [device]
        id = kiosk-1
        site = mitte
        rols = kiosk
        roles = monitor
        timezone = Europe/Berln
        languages = de, fr

        [numbering]
        series = 30
        series_count two

        [core]
        tick = 30
        tick = 1s

        [logging]
        level = warn

        [scanner-settings]
        paper = 80mm
        """)

    problems = problems_of(path)

    found = {(p.line, p.section, p.key) for p in problems}
    assert found == {
        (line_of(path, "rols ="), "device", "rols"),
        (line_of(path, "timezone ="), "device", "timezone"),
        (line_of(path, "languages ="), "device", "languages"),
        (line_of(path, "series = 30"), "numbering", "series"),
        (line_of(path, "series_count two"), "numbering", None),
        (line_of(path, "tick = 30"), "core", "tick"),
        (line_of(path, "tick = 1s"), "core", "tick"),
        (line_of(path, "level = warn"), "logging", "level"),
        (line_of(path, "[scanner-settings]"), "scanner-settings", None),
    }
    assert all(p.file == str(path) for p in problems)
    assert [p.line for p in problems] == sorted(p.line for p in problems), "sorted by line for reading top-down"
    rendered = str(ConfigError(problems)).splitlines()
    assert rendered == [str(p) for p in problems]
    assert f"{path}:{line_of(path, 'rols =')}: [device] rols: unknown key. Did you mean 'roles'?" in rendered
    assert f"{path}:{line_of(path, 'tick = 30')}: [core] tick: '30' needs a unit: write 30s or 30min" in rendered
    assert any(r.startswith(f"{path}:{line_of(path, 'series = 30')}: [numbering] series: 30 is out of range")
               for r in rendered)


def test_problems_from_several_files_are_reported_together(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[logging]\nlevel = loud\n")
    extra = write(tmp_path / "conf.d" / "10.conf", "[core]\ntick = soon\n")

    problems = problems_of(main)

    assert [(p.file, p.line, p.key) for p in problems] == [(str(main), 6, "level"), (str(extra), 2, "tick")]


# --- Did you mean …? ---------------------------------------------------------------------------

def test_misspelt_key_names_file_line_and_suggests_the_right_one(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "timezon = Europe/Berlin\n")

    problem = only_problem(path)

    assert (problem.file, problem.line, problem.section, problem.key) == (str(path), 5, "device", "timezon")
    assert problem.message == "unknown key. Did you mean 'timezone'?"
    assert str(problem) == f"{path}:5: [device] timezon: unknown key. Did you mean 'timezone'?"


def test_unknown_key_without_a_close_match_is_still_an_error(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "colour = blue\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key, problem.message) == (5, "device", "colour", "unknown key")


def test_misspelt_section_names_its_header_line_and_suggests_the_right_one(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "\n[loging]\nlevel = debug\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (6, "loging", None)
    assert str(problem) == f"{path}:6: [loging]: unknown section. Did you mean 'logging'?"


def test_misspelt_concern_section_suggests_concern_with_the_same_name(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "\n[concen:leave]\ntitle_de = Urlaub\nprefix = U\n")

    problem = only_problem(path)

    assert (problem.line, problem.section) == (6, "concen:leave")
    assert problem.message == "unknown section. Did you mean 'concern:leave'?"


def test_concern_section_without_a_name_explains_how_to_name_it(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "\n[concern]\ntitle_de = Urlaub\n")

    problem = only_problem(path)

    assert problem.section == "concern"
    assert "[concern:NAME]" in problem.message


def test_misspelt_choice_suggests_the_right_one(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + "roles = monitr\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (4, "device", "roles")
    assert problem.message == "'monitr' is not one of kiosk, monitor. Did you mean 'monitor'?"


# --- Value types -------------------------------------------------------------------------------

def test_integer_accepts_its_range_and_names_the_range_when_refusing():
    series = Integer(1, 26)
    assert series.parse("1", None) == 1 and series.parse("26", None) == 26
    with pytest.raises(ValueError, match=r"^27 is out of range: use 1 to 26$"):
        series.parse("27", None)
    with pytest.raises(ValueError, match=r"^0 is out of range"):
        series.parse("0", None)
    with pytest.raises(ValueError, match=r"'two' is not a whole number"):
        series.parse("two", None)
    with pytest.raises(ValueError, match=r"not a whole number"):
        series.parse("1.5", None)


def test_integer_out_of_range_in_a_file_names_the_line(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[numbering]\nseries_count = 27\n")

    problem = only_problem(path)

    assert str(problem) == f"{path}:6: [numbering] series_count: 27 is out of range: use 1 to 26"


def test_choice_accepts_only_its_words():
    level = Choice("debug", "info", "warning", "error")
    assert level.parse("warning", None) == "warning"
    with pytest.raises(ValueError, match=r"Did you mean 'warning'\?"):
        level.parse("warn", None)
    with pytest.raises(ValueError, match=r"^'loud' is not one of debug, info, warning, error$"):
        level.parse("loud", None)


@pytest.mark.parametrize("text, expected", [
    ("90s", timedelta(seconds=90)),
    ("15min", timedelta(minutes=15)),
    ("1h 30min", timedelta(hours=1, minutes=30)),
    ("1h30min", timedelta(hours=1, minutes=30)),
    ("500ms", timedelta(milliseconds=500)),
    ("2 sec", timedelta(seconds=2)),
    ("1.5h", timedelta(minutes=90)),
    ("1d", timedelta(days=1)),
])
def test_duration_reads_numbers_with_units(text, expected):
    assert Duration().parse(text, None) == expected


def test_duration_without_a_unit_is_refused_as_ambiguous_and_suggests_units():
    with pytest.raises(ValueError, match=r"^'30' needs a unit: write 30s or 30min$"):
        Duration().parse("30", None)


@pytest.mark.parametrize("text", ["soon", "30 minutes", "1h 30", "-5s", ""])
def test_duration_refuses_what_is_not_a_duration(text):
    with pytest.raises(ValueError):
        Duration().parse(text, None)


def test_duration_outside_its_range_names_the_range():
    timeout = Duration(timedelta(seconds=1), timedelta(minutes=2))
    with pytest.raises(ValueError, match=r"^5min is out of range: use 1s to 2min$"):
        timeout.parse("5min", None)
    with pytest.raises(ValueError, match=r"is out of range: use 1s or more$"):
        Duration(timedelta(seconds=1)).parse("0s", None)


def test_duration_is_shown_back_in_the_largest_whole_unit():
    assert Duration().show(timedelta(seconds=90)) == "90s"
    assert Duration().show(timedelta(minutes=15)) == "15min"
    assert Duration().show(timedelta(hours=2)) == "2h"
    assert Duration().show(timedelta(milliseconds=10)) == "0.01s"


def test_duration_in_a_file_is_typed_and_listed(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[backend]\ntimeout = 1min 30s\n")

    config = load_config(path)

    assert config.backend.timeout == timedelta(seconds=90)
    assert effective_line(config, "backend", "timeout").startswith("timeout = 90s    #")


def test_time_of_day_reads_hours_and_minutes():
    assert TimeOfDay().parse("07:00", None) == time(7, 0)
    assert TimeOfDay().parse("7:30", None) == time(7, 30)
    assert TimeOfDay().parse("23:59", None) == time(23, 59)
    assert TimeOfDay().show(time(7, 5)) == "07:05"
    for text in ("24:00", "12:60", "7h", "07:00:00", "7"):
        with pytest.raises(ValueError, match=r"write HH:MM, e.g. 07:00"):
            TimeOfDay().parse(text, None)


def test_relative_path_is_taken_from_the_directory_of_the_file_that_sets_it(tmp_path):
    main = write(tmp_path / "device" / "appliance.conf", MONITOR + "[state]\ndatabase = data/state.db\n")
    write(tmp_path / "device" / "conf.d" / "10.conf", "[core]\ncontrol_socket = run/control.sock\n")

    config = load_config(main)

    assert config.state.database == (tmp_path / "device" / "data" / "state.db").resolve()
    assert config.core.control_socket == (tmp_path / "device" / "conf.d" / "run" / "control.sock").resolve()


def test_absolute_path_is_kept_as_written(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[state]\ndatabase = /srv/appliance/state.db\n")

    assert load_config(main).state.database == Path("/srv/appliance/state.db")


def test_path_that_must_exist_is_refused_when_missing(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[backend]\nca_bundle = office-ca.pem\n")

    problem = only_problem(main)

    assert (problem.line, problem.section, problem.key) == (6, "backend", "ca_bundle")
    assert problem.message == f"{tmp_path.resolve() / 'office-ca.pem'} does not exist"

    (tmp_path / "office-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_config(main).backend.ca_bundle == tmp_path.resolve() / "office-ca.pem"


def test_url_needs_http_or_https_and_a_host():
    assert Url().parse("https://backend.jobcenter.example/api", None) == "https://backend.jobcenter.example/api"
    assert Url().parse("http://10.0.0.5:8080", None) == "http://10.0.0.5:8080"
    for text in ("backend.jobcenter.example/api", "ftp://backend.example", "https://", "https:/backend"):
        with pytest.raises(ValueError, match=r"is not a URL: write e.g. https://"):
            Url().parse(text, None)


def test_backend_url_in_a_file_is_checked(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[backend]\nurl = backend.example\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (6, "backend", "url")


def test_empty_optional_value_means_not_set(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[backend]\nurl =\n")

    assert load_config(path).backend.url is None


@pytest.mark.parametrize("text", ["17", "GPIO17", "gpio17", "BCM17", "2", "27"])
def test_gpio_pin_reads_bcm_numbers_with_or_without_prefix(text):
    assert GpioPin().parse(text, None) == int(text.upper().removeprefix("GPIO").removeprefix("BCM"))


@pytest.mark.parametrize("text", ["0", "1", "28", "GPIO0", "pin17", "17a", ""])
def test_gpio_pin_refuses_eeprom_pins_and_numbers_the_pi_does_not_have(text):
    with pytest.raises(ValueError, match=r"use a BCM number from 2 to 27 \(e.g. 17 or GPIO17\)"):
        GpioPin().parse(text, None)


def test_list_reads_commas_and_continuation_lines(tmp_path):
    items = List(Choice("de", "en", "tr"))
    assert items.parse("de, en", None) == ("de", "en")
    assert items.parse("de\nen\ntr", None) == ("de", "en", "tr")
    assert items.show(("de", "en")) == "de, en"
    with pytest.raises(ValueError, match="names an item twice"):
        items.parse("de, de", None)
    with pytest.raises(ValueError, match="needs at least one item"):
        items.parse(" , ", None)
    with pytest.raises(ValueError, match=r"'fr' is not one of de, en, tr"):
        items.parse("de, fr", None)


def test_list_continued_on_indented_lines_in_a_file(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + "roles =\n    kiosk\n    monitor\n"
                 "[concern:leave]\ntitle_de = Urlaub\nprefix = U\n")

    assert load_config(path).device.roles == ("kiosk", "monitor")


def test_time_zone_must_be_a_known_zone():
    assert TimeZone().parse("Europe/Berlin", None).key == "Europe/Berlin"
    for text in ("Berlin", "Europe/Berln", "../../etc/passwd", "CEST+1"):
        with pytest.raises(ValueError, match=r"is not a known time zone: write e.g. Europe/Berlin"):
            TimeZone().parse(text, None)


@pytest.mark.parametrize("text, expected", [
    ("yes", True), ("true", True), ("on", True), ("1", True), ("Yes", True),
    ("no", False), ("false", False), ("off", False), ("0", False), ("NO", False),
])
def test_boolean_reads_yes_and_no_words(text, expected):
    assert Boolean().parse(text, None) is expected


def test_boolean_refuses_other_words_and_shows_yes_or_no():
    with pytest.raises(ValueError, match=r"^'maybe' is not yes or no$"):
        Boolean().parse("maybe", None)
    assert Boolean().show(True) == "yes" and Boolean().show(False) == "no"


def test_device_id_must_be_a_short_lower_case_name(tmp_path):
    path = write(tmp_path / "appliance.conf", "[device]\nid = Kiosk 1\nsite = mitte\nroles = monitor\n")

    problem = only_problem(path)

    assert (problem.line, problem.key) == (2, "id")
    assert problem.message == "'Kiosk 1' is not valid: use 1 to 32 lower-case letters, digits and dashes, e.g. kiosk-1"


def test_string_refuses_empty_and_overlong_values():
    with pytest.raises(ValueError, match="must not be empty"):
        String().parse("", None)
    with pytest.raises(ValueError, match="at most 200"):
        String().parse("x" * 201, None)


# --- Secret files ------------------------------------------------------------------------------

def test_secret_file_with_mode_0600_is_read_and_never_shown(tmp_path):
    token = write(tmp_path / "backend.token", SECRET + "\n", mode=0o600)
    main = write(tmp_path / "appliance.conf", MONITOR + f"[backend]\ntoken_file = {token}\n")

    config = load_config(main)

    assert config.backend.token_file.value == SECRET
    assert config.backend.token_file.path == token
    assert SECRET not in config.effective
    assert SECRET not in repr(config) and SECRET not in str(config)
    assert SECRET not in repr(config.backend.token_file)
    assert effective_line(config, "backend", "token_file") == f"token_file = {token} (********)    # {main}:6"
    assert "'********'" in repr(config.backend.token_file)


def test_secret_file_path_may_be_relative_to_the_config_file(tmp_path):
    write(tmp_path / "backend.token", SECRET, mode=0o600)
    main = write(tmp_path / "appliance.conf", MONITOR + "[backend]\ntoken_file = backend.token\n")

    assert load_config(main).backend.token_file.path == tmp_path.resolve() / "backend.token"


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o604])
def test_secret_file_readable_by_others_is_refused_with_a_chmod_hint(tmp_path, mode):
    token = write(tmp_path / "backend.token", SECRET, mode=mode)
    main = write(tmp_path / "appliance.conf", MONITOR + f"[backend]\ntoken_file = {token}\n")

    problem = only_problem(main)

    assert (problem.file, problem.line, problem.section, problem.key) == (str(main), 6, "backend", "token_file")
    assert f"(mode {mode:04o})" in problem.message
    assert problem.message.endswith(f"run chmod 600 {token}")
    assert SECRET not in str(problem)


def test_missing_secret_file_is_refused(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[backend]\ntoken_file = /nonexistent/backend.token\n")

    problem = only_problem(main)

    assert problem.key == "token_file"
    assert problem.message == "secret file /nonexistent/backend.token does not exist"


@pytest.mark.parametrize("content", ["", "\n", "   \n\n"])
def test_empty_secret_file_is_refused(tmp_path, content):
    token = write(tmp_path / "backend.token", content, mode=0o600)
    main = write(tmp_path / "appliance.conf", MONITOR + f"[backend]\ntoken_file = {token}\n")

    assert only_problem(main).message == f"secret file {token} is empty"


def test_secret_file_must_be_a_regular_file(tmp_path):
    (tmp_path / "tokens").mkdir(mode=0o700)
    with pytest.raises(ValueError, match="is not a regular file"):
        SecretFile().parse("tokens", tmp_path)


def test_secret_stays_hidden_even_when_other_problems_fail_the_load(tmp_path):
    token = write(tmp_path / "backend.token", SECRET, mode=0o600)
    main = write(tmp_path / "appliance.conf", MONITOR + f"[backend]\ntoken_file = {token}\ntimeout = 3\n")

    with pytest.raises(ConfigError) as caught:
        load_config(main)

    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.problems)


# --- File syntax -------------------------------------------------------------------------------

def test_key_set_twice_in_one_file_names_both_lines(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "site = nord\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (5, "device", "site")
    assert str(problem) == f"{path}:5: [device] site: set twice in this file (first at line 3)"


def test_key_names_are_not_case_sensitive_so_a_capitalised_repeat_is_a_duplicate(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "Site = nord\n")

    assert only_problem(path).message == "set twice in this file (first at line 3)"


def test_section_appearing_twice_in_one_file_names_both_headers(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[logging]\nlevel = info\n[device]\ntimezone = UTC\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (7, "device", None)
    assert str(problem) == f"{path}:7: [device]: section appears twice in this file (first at line 1)"


def test_line_without_equals_sign_is_reported_with_its_section(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "timezone Europe/Berlin\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (5, "device", None)
    assert problem.message == "expected 'key = value', found 'timezone Europe/Berlin'"


def test_key_before_any_section_is_reported(tmp_path):
    path = write(tmp_path / "appliance.conf", "# device 1\nid = kiosk-1\n" + MONITOR)

    problems = problems_of(path)

    assert problems[0] == Problem(str(path), 2, "'id' stands before any [section]")
    assert str(problems[0]) == f"{path}:2: 'id' stands before any [section]"


def test_broken_section_header_is_reported(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[logging\nlevel = debug\n")

    problems = problems_of(path)

    assert problems[0].line == 5 and "a section header looks like [name]" in problems[0].message


def test_comments_whole_line_and_after_a_value_are_ignored(tmp_path):
    path = write(tmp_path / "appliance.conf", """\
        # the kiosk at the main door
        ; an old-style comment
        [device]
        id = kiosk-1   # printed on the case
        site = mitte
        roles = monitor
        """)

    assert load_config(path).device.id == "kiosk-1"


def test_file_that_is_not_utf8_names_the_first_bad_line(tmp_path):
    path = tmp_path / "appliance.conf"
    path.write_bytes(b"[device]\nid = kiosk-1\nsite = mitte\n# Gr\xfc\xdfe aus dem Eingang\nroles = monitor\n")

    problems = problems_of(path)

    encoding = [p for p in problems if "UTF-8" in p.message]
    assert encoding == [Problem(str(path), 4, "is not UTF-8 text (save the file as UTF-8)")]
    assert str(encoding[0]) == f"{path}:4: is not UTF-8 text (save the file as UTF-8)"


def test_a_missing_device_file_is_the_only_problem_reported(tmp_path):
    path = tmp_path / "appliance.conf"

    problems = problems_of(path)

    assert problems == [Problem(str(path), 0, "file not found")]
    assert str(problems[0]) == f"{path}: file not found"


def test_missing_id_and_site_are_each_named(tmp_path):
    path = write(tmp_path / "appliance.conf", "[device]\nroles = monitor\n")

    problems = problems_of(path)

    assert [(p.file, p.line, p.section, p.key, p.message) for p in problems] == [
        (str(path), 0, "device", "id", "is required but not set"),
        (str(path), 0, "device", "site", "is required but not set"),
    ]
    assert str(problems[0]) == f"{path}: [device] id: is required but not set"


def test_concern_without_title_or_prefix_names_what_is_missing(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + "roles = kiosk\n[concern:leave]\nfirst = 1\n")

    problems = problems_of(path)

    assert {(p.section, p.key, p.message) for p in problems} == {
        ("concern:leave", "title_de", "is required but not set"),
        ("concern:leave", "prefix", "is required but not set"),
    }


# --- Rules across values -----------------------------------------------------------------------

def test_numbering_series_above_series_count_is_refused_with_the_allowed_range(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[numbering]\nseries = 3\nseries_count = 2\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "series = 3"), "numbering", "series")
    assert problem.message == ("is 3 but series_count is only 2: give each kiosk in the office a series "
                               "from 1 to 2")


def test_series_count_too_large_for_a_concern_range_names_the_concern(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("last = 299", "last = 2")
                 + "[numbering]\nseries = 1\nseries_count = 3\n")

    problem = only_problem(path)

    assert (problem.section, problem.key, problem.line) == ("concern:leave", "last", line_of(path, "last = 2"))
    assert "too small for 3 series" in problem.message


def test_kiosks_sharing_an_office_may_each_take_a_series(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[numbering]\nseries = 2\nseries_count = 3\n")

    config = load_config(path)

    assert (config.numbering.series, config.numbering.series_count) == (2, 3)


@pytest.mark.parametrize("first, last", [(500, 500), (600, 500)])
def test_concern_first_must_be_below_last(tmp_path, first, last):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("first = 1", f"first = {first}")
                 .replace("last = 299", f"last = {last}"))

    problem = only_problem(path)

    assert (problem.section, problem.key, problem.line) == ("concern:leave", "last", line_of(path, "last ="))
    assert problem.message == f"first ({first}) must be below last ({last})"


def test_first_above_an_inherited_last_points_at_the_technicians_first_line(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("first = 1", "first = 1000").replace("last = 299\n", ""))

    problem = only_problem(path)

    assert (problem.file, problem.line, problem.key) == (str(path), line_of(path, "first ="), "first")
    assert problem.message == "first (1000) must be below last (999)"


def test_an_indented_key_is_flagged_instead_of_swallowed_into_the_value_above(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("prefix = U", "  prefix = U"))

    problems = problems_of(path)

    indented = [p for p in problems if "indented" in p.message]
    assert [(p.line, p.section, p.key) for p in indented] == [(line_of(path, "  prefix = U"), "concern:leave",
                                                                "title_en")]


def test_a_concern_name_with_capitals_or_spaces_is_refused(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("[concern:leave]", "[concern:Leave Days]"))

    problems = problems_of(path)

    assert any(p.section == "concern:Leave Days" and "lower-case" in p.message for p in problems)


def test_effective_config_shows_inherited_values_and_this_devices_number_block(tmp_path):
    text = KIOSK.replace("[device]", "[numbering]\nseries = 2\nseries_count = 3\n\n[device]")
    config = load_config(write(tmp_path / "appliance.conf", text.replace("last = 299\n", "")))

    leave = config.effective.split("[concern:leave]")[1].split("\n\n")[0]
    assert "last = 999    # " in leave and "defaults.conf" in leave
    assert "#   U: leave 334-666" in config.effective


def test_two_concerns_with_the_same_prefix_are_refused(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + dedent("""\
        [concern:documents]
        title_de = Unterlagen abgeben
        prefix = U
        """))

    problem = only_problem(path)

    assert (problem.section, problem.key) == ("concern:documents", "prefix")
    assert problem.line == line_of(path, "title_de = Unterlagen") + 1
    assert problem.message == ("'U' is already the prefix of [concern:leave]: ticket numbers would be "
                               "ambiguous")


def test_concern_star_gives_defaults_to_every_concern_that_does_not_set_them_itself(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + dedent("""\
        roles = kiosk

        [concern:*]
        first = 100
        last = 499
        title_en = Please ask at the information desk

        [concern:leave]
        title_de = Urlaub / Ortsabwesenheit beantragen
        title_en = Apply for leave
        prefix = U

        [concern:documents]
        title_de = Unterlagen abgeben
        prefix = D
        last = 199
        """))

    config = load_config(path)

    leave, documents = config.concerns
    assert (leave.name, leave.first, leave.last, leave.title("en")) == ("leave", 100, 499, "Apply for leave")
    assert (documents.name, documents.first, documents.last) == ("documents", 100, 199)
    assert documents.title("en") == "Please ask at the information desk"
    assert config.concern("documents").title("de") == "Unterlagen abgeben"


def test_concern_star_is_not_itself_a_concern(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + "roles = kiosk\n[concern:*]\ntitle_de = Anliegen\n"
                 "prefix = A\n")

    problem = only_problem(path)

    assert (problem.section, problem.key) == ("device", "roles")


def test_package_defaults_give_every_concern_numbers_1_to_999(tmp_path):
    config = load_config(write(tmp_path / "appliance.conf", DEVICE + "roles = kiosk\n[concern:other]\n"
                                                                    "title_de = Sonstiges\nprefix = S\n"))

    assert (config.concerns[0].first, config.concerns[0].last) == (1, 999)


def test_kiosk_role_without_any_concern_is_refused(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + "roles = kiosk\n")

    problem = only_problem(path)

    assert (problem.file, problem.line, problem.section, problem.key) == (str(path), 0, "device", "roles")
    assert str(problem) == f"{path}: [device] roles: a kiosk needs at least one [concern:NAME] section"


def test_roles_must_be_said_and_a_kiosk_needs_a_concern(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE)
    problem = only_problem(path)
    assert (problem.section, problem.key, problem.message) == ("device", "roles", "is required but not set")

    kiosk = write(tmp_path / "kiosk.conf", DEVICE + "roles = kiosk\n")
    assert only_problem(kiosk).message == "a kiosk needs at least one [concern:NAME] section"
    assert load_config(write(tmp_path / "monitor.conf", MONITOR)).concerns == ()


def test_a_broken_concern_is_reported_once_not_also_as_a_missing_concern(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("prefix = U", "prefix = u"))

    problem = only_problem(path)

    assert (problem.section, problem.key) == ("concern:leave", "prefix")
    assert problem.message == "'u' is not valid: use one or two capital letters, e.g. A"


def test_concerns_keep_the_order_of_the_file(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + dedent("""\
        [concern:other]
        title_de = Sonstiges Anliegen
        prefix = S
        [concern:documents]
        title_de = Unterlagen abgeben
        prefix = D
        """))

    assert [c.name for c in load_config(path).concerns] == ["leave", "other", "documents"]


def test_file_permissions_of_the_config_itself_do_not_matter(tmp_path):
    # Only secrets must be private; the device file is meant to be readable by the daemon's group.
    path = write(tmp_path / "appliance.conf", MONITOR, mode=0o644)

    assert load_config(path).device.id == "kiosk-1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
