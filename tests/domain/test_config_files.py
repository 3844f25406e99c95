"""The config files a technician writes: layers, every problem at once with file and line, "did
you mean", and the INI syntax. Every test writes real files into tmp_path and loads them as the daemon does.
"""

import os
import stat
from datetime import timedelta
from pathlib import Path

from appliance.app.config import load_config
from appliance.domain.config.ini import Problem
from appliance.domain.errors import ConfigError
from support.config_files import DEVICE, MONITOR, effective_line, line_of, only_problem, problems_of, write

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

    assert config.device.timezone.key == "Europe/Berlin"  # defaults only
    assert config.core.tick == timedelta(seconds=2)  # device file beats defaults
    assert config.logging.level == "debug"  # conf.d beats device file
    assert config.files == (str(main), str(tmp_path / "conf.d" / "10-debug.conf"))


def test_conf_d_files_apply_in_lexical_order_so_the_last_name_wins(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR)
    conf_d = tmp_path / "conf.d"
    write(conf_d / "20-site.conf", "[core]\ntick = 2s\n")
    write(conf_d / "10-office.conf", "[core]\ntick = 1s\n")
    write(conf_d / "9-late.conf", "[core]\ntick = 9s\n")  # '9' sorts after '2': lexical, not numeric

    config = load_config(main)

    assert [Path(f).name for f in config.files[1:]] == ["10-office.conf", "20-site.conf", "9-late.conf"]
    assert config.core.tick == timedelta(seconds=9)


def test_conf_d_ignores_files_that_do_not_end_in_conf(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR)
    write(tmp_path / "conf.d" / "README", "not ini at all\n")
    write(tmp_path / "conf.d" / "50-old.conf.bak", "[logging]\nlevel = debug\n")
    write(tmp_path / "conf.d" / "50-old.conf~", "[logging]\nlevel = debug\n")

    config = load_config(main)

    assert config.logging.level == "info"
    assert len(config.files) == 1


def test_effective_listing_shows_each_value_with_the_file_and_line_it_came_from(tmp_path):
    main = write(tmp_path / "appliance.conf", MONITOR + "[core]\ntick = 2s\n")
    late = write(
        tmp_path / "conf.d" / "50-debug.conf", "# more logs while we look for the fault\n[logging]\nlevel = debug\n"
    )

    config = load_config(main)

    assert effective_line(config, "device", "id") == f"id = kiosk-1    # {main}:{line_of(main, 'id =')}"
    assert effective_line(config, "core", "tick") == f"tick = 2s    # {main}:{line_of(main, 'tick =')}"
    assert effective_line(config, "logging", "level") == f"level = debug    # {late}:3"
    assert effective_line(config, "device", "timezone") == ("timezone = Europe/Berlin    # default")


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
    path = write(
        tmp_path / "appliance.conf",
        """\
        [device]
        id = kiosk-1
        site = mitte
        rols = kiosk
        roles = monitor
        timezone = Europe/Berln
        languages = de, fr

        [numbering]
        fallback_blocks = 30
        fallback_size two

        [core]
        tick = 30
        tick = 1s

        [logging]
        level = warn

        [scanner-settings]
        paper = 80mm
        """,
    )

    problems = problems_of(path)

    found = {(p.line, p.section, p.key) for p in problems}
    assert found == {
        (line_of(path, "rols ="), "device", "rols"),
        (line_of(path, "timezone ="), "device", "timezone"),
        (line_of(path, "languages ="), "device", "languages"),
        (line_of(path, "fallback_blocks = 30"), "numbering", "fallback_blocks"),
        (line_of(path, "fallback_size two"), "numbering", None),
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
    assert any(
        r.startswith(f"{path}:{line_of(path, 'fallback_blocks = 30')}: [numbering] fallback_blocks: 30 is out of range")
        for r in rendered
    )


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
    path = write(
        tmp_path / "appliance.conf",
        """\
        # the kiosk at the main door
        ; an old-style comment
        [device]
        id = kiosk-1   # printed on the case
        site = mitte
        roles = monitor
        """,
    )

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


def test_file_permissions_of_the_config_itself_do_not_matter(tmp_path):
    # Only secrets must be private; the device file is meant to be readable by the daemon's group.
    path = write(tmp_path / "appliance.conf", MONITOR, mode=0o644)

    assert load_config(path).device.id == "kiosk-1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
