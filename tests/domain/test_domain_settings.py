"""The domain's config sections and their checks across values: device roles, numbering blocks,
concerns with their ranges and prefixes, [concern:*], and signed check-in codes.
"""

from textwrap import dedent

import pytest

from appliance.app.config import load_config
from support.config_files import DEVICE, KIOSK, MONITOR, line_of, only_problem, problems_of, write

# --- Rules across values -----------------------------------------------------------------------


def _with_backend(tmp_path, text: str) -> str:
    token = write(tmp_path / "backend.token", "tok-3f9a1c-0123456789", mode=0o600)
    return text + f"\n[backend]\nurl = https://backend.example\ntoken_file = {token}\n"


def test_fallback_blocks_that_leave_the_office_no_number_are_refused_naming_the_concern(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        _with_backend(tmp_path, KIOSK.replace("last = 299", "last = 40") + "[numbering]\nfallback_blocks = 4\n"),
    )

    problem = only_problem(path)

    assert (problem.section, problem.key, problem.line) == ("concern:leave", "last", line_of(path, "last = 40"))
    assert problem.message == (
        "the range 1-40 is too small for 4 fallback blocks of 25 numbers ([numbering]): widen it or make the "
        "blocks smaller"
    )


def test_a_device_without_a_backend_has_no_fallback_blocks_to_fit(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("last = 299", "last = 40"))

    assert load_config(path).numbering.fallback_blocks == 4  # the whole range is its own


def test_the_office_deadline_is_a_duration_in_milliseconds(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[numbering]\noffice_deadline = 250ms\n")

    assert load_config(path).numbering.office_deadline.total_seconds() == 0.25


@pytest.mark.parametrize("first, last", [(500, 500), (600, 500)])
def test_concern_first_must_be_below_last(tmp_path, first, last):
    path = write(
        tmp_path / "appliance.conf",
        KIOSK.replace("first = 1", f"first = {first}").replace("last = 299", f"last = {last}"),
    )

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
    assert [(p.line, p.section, p.key) for p in indented] == [
        (line_of(path, "  prefix = U"), "concern:leave", "title_en")
    ]


def test_a_concern_name_with_capitals_or_spaces_is_refused(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("[concern:leave]", "[concern:Leave Days]"))

    problems = problems_of(path)

    assert any(p.section == "concern:Leave Days" and "lower-case" in p.message for p in problems)


def test_effective_config_shows_inherited_values_and_the_office_and_fallback_numbers(tmp_path):
    text = _with_backend(tmp_path, KIOSK.replace("[device]", "[numbering]\nfallback_blocks = 3\n\n[device]"))
    config = load_config(write(tmp_path / "appliance.conf", text.replace("last = 299\n", "")))

    leave = config.effective.split("[concern:leave]")[1].split("\n\n")[0]
    assert "last = 999    # default" in leave
    assert "#   U: leave office 1-924, fallback blocks of 25 in 925-999" in config.effective


def test_effective_config_of_a_device_alone_shows_the_whole_range_as_its_own(tmp_path):
    config = load_config(write(tmp_path / "appliance.conf", KIOSK))

    assert "#   U: leave 1-299" in config.effective


def test_two_concerns_with_the_same_prefix_are_refused(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        KIOSK
        + dedent("""\
        [concern:documents]
        title_de = Unterlagen abgeben
        prefix = U
        """),
    )

    problem = only_problem(path)

    assert (problem.section, problem.key) == ("concern:documents", "prefix")
    assert problem.line == line_of(path, "title_de = Unterlagen") + 1
    assert problem.message == ("'U' is already the prefix of [concern:leave]: ticket numbers would be ambiguous")


def test_concern_star_gives_defaults_to_every_concern_that_does_not_set_them_itself(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        DEVICE
        + dedent("""\
        roles = kiosk

        [concern:*]
        first = 100
        last = 499
        title_en = Please ask at the information desk

        [concern:leave]
        title_de = Urlaub beantragen
        title_en = Apply for leave
        prefix = U

        [concern:documents]
        title_de = Unterlagen abgeben
        prefix = D
        last = 199
        """),
    )

    config = load_config(path)

    leave, documents = config.concerns
    assert (leave.name, leave.first, leave.last, leave.info.title("en")) == ("leave", 100, 499, "Apply for leave")
    assert (documents.name, documents.first, documents.last) == ("documents", 100, 199)
    assert documents.info.title("en") == "Please ask at the information desk"
    assert config.concern("documents").info.title("de") == "Unterlagen abgeben"


def test_concern_star_is_not_itself_a_concern(tmp_path):
    path = write(tmp_path / "appliance.conf", DEVICE + "roles = kiosk\n[concern:*]\ntitle_de = Anliegen\nprefix = A\n")

    problem = only_problem(path)

    assert (problem.section, problem.key) == ("device", "roles")


def test_package_defaults_give_every_concern_numbers_1_to_999(tmp_path):
    config = load_config(
        write(
            tmp_path / "appliance.conf", DEVICE + "roles = kiosk\n[concern:other]\ntitle_de = Sonstiges\nprefix = S\n"
        )
    )

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
    path = write(
        tmp_path / "appliance.conf",
        KIOSK
        + dedent("""\
        [concern:other]
        title_de = Sonstiges Anliegen
        prefix = S
        [concern:documents]
        title_de = Unterlagen abgeben
        prefix = D
        """),
    )

    assert [c.name for c in load_config(path).concerns] == ["leave", "other", "documents"]


def test_a_kiosk_taking_signed_codes_needs_the_sites_public_key(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[checkin]\nmodes = signed, reference\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "modes ="), "checkin", "modes")
    assert problem.message == ("signed codes need the site's public key: set public_key_file, or use modes = reference")
    assert load_config(write(tmp_path / "monitor.conf", MONITOR + "[checkin]\nmodes = signed\n")).checkin.modes == (
        "signed",
    )
