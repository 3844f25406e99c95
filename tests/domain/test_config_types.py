"""Typed config values: each turns what a technician wrote into a checked value and says what
would be right when it cannot; secrets are read from private files and never shown.
"""

from datetime import time, timedelta
from pathlib import Path

import pytest

from appliance.app.config import load_config
from appliance.domain.config.types import (
    Boolean,
    Choice,
    Duration,
    GpioPin,
    Integer,
    List,
    SecretFile,
    String,
    TimeOfDay,
    TimeZone,
    Url,
)
from appliance.domain.errors import ConfigError
from support.config_files import DEVICE, MONITOR, SECRET, effective_line, only_problem, write

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
    path = write(tmp_path / "appliance.conf", MONITOR + "[numbering]\nfallback_blocks = 27\n")

    problem = only_problem(path)

    assert str(problem) == f"{path}:6: [numbering] fallback_blocks: 27 is out of range: use 1 to 26"


def test_choice_accepts_only_its_words():
    level = Choice("debug", "info", "warning", "error")
    assert level.parse("warning", None) == "warning"
    with pytest.raises(ValueError, match=r"Did you mean 'warning'\?"):
        level.parse("warn", None)
    with pytest.raises(ValueError, match=r"^'loud' is not one of debug, info, warning, error$"):
        level.parse("loud", None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90s", timedelta(seconds=90)),
        ("15min", timedelta(minutes=15)),
        ("1h 30min", timedelta(hours=1, minutes=30)),
        ("1h30min", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("2 sec", timedelta(seconds=2)),
        ("1.5h", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
    ],
)
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
    path = write(
        tmp_path / "appliance.conf",
        DEVICE + "roles =\n    kiosk\n    monitor\n[concern:leave]\ntitle_de = Urlaub\nprefix = U\n",
    )

    assert load_config(path).device.roles == ("kiosk", "monitor")


def test_time_zone_must_be_a_known_zone():
    assert TimeZone().parse("Europe/Berlin", None).key == "Europe/Berlin"
    for text in ("Berlin", "Europe/Berln", "../../etc/passwd", "CEST+1"):
        with pytest.raises(ValueError, match=r"is not a known time zone: write e.g. Europe/Berlin"):
            TimeZone().parse(text, None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yes", True),
        ("true", True),
        ("on", True),
        ("1", True),
        ("Yes", True),
        ("no", False),
        ("false", False),
        ("off", False),
        ("0", False),
        ("NO", False),
    ],
)
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
    assert repr(config.backend.token_file) == f"Secret({str(token)!r}, '********')"


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


def test_a_secret_file_that_is_not_text_is_refused_saying_so(tmp_path):
    token = tmp_path / "backend.token"
    token.write_bytes(b"\xff\xfe not UTF-8")
    token.chmod(0o600)
    with pytest.raises(ValueError, match=f"^secret file {token} cannot be read: 'utf-8' codec can't decode"):
        SecretFile().parse(str(token), tmp_path)


def test_secret_stays_hidden_even_when_other_problems_fail_the_load(tmp_path):
    token = write(tmp_path / "backend.token", SECRET, mode=0o600)
    main = write(tmp_path / "appliance.conf", MONITOR + f"[backend]\ntoken_file = {token}\ntimeout = 3\n")

    with pytest.raises(ConfigError) as caught:
        load_config(main)

    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.problems)
