"""Languages in the config: offered ones must have a catalog, and concern titles and ticket footers are
given per language (title_de, title_uk, ...) with problems at their file and line."""

from appliance.app.config import load_config
from support.config_files import KIOSK, line_of, only_problem, write


def test_titles_in_any_shipped_language_are_read_and_listed_with_their_line(tmp_path):
    path = write(
        tmp_path / "appliance.conf",
        KIOSK.replace(
            "title_en = Apply for leave", "title_en = Apply for leave\ntitle_uk = Відпустка\ntitle_ar = إجازة"
        ),
    )

    config = load_config(path)

    info = config.concern("leave").info
    assert (info.title("uk"), info.title("ar"), info.title("tr")) == ("Відпустка", "إجازة", info.title("de"))
    assert f"title_uk = Відпустка    # {path}:{line_of(path, 'title_uk')}" in config.effective


def test_a_title_in_a_language_without_a_catalog_is_refused_at_its_line(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("title_en = Apply", "title_xx = Apply"))

    problem = only_problem(path)

    assert (problem.file, problem.line, problem.key) == (str(path), line_of(path, "title_xx"), "title_xx")
    assert problem.message.startswith("title in 'xx' has no catalog: shipped are de, ")


def test_a_title_without_its_language_says_how_to_write_it(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("title_en = Apply", "title = Apply"))

    problem = only_problem(path)

    assert (problem.line, problem.key) == (line_of(path, "title = Apply"), "title")
    assert "title_de in German, title_en in English" in problem.message


def test_an_offered_language_needs_a_catalog(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK.replace("[device]\n", "[device]\nlanguages = de, uk, fr\n"))

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "languages ="), "device", "languages")
    assert "'fr' has no catalog" in problem.message


def test_ticket_footers_are_given_per_language(tmp_path):
    path = write(tmp_path / "appliance.conf", KIOSK + "[printer]\nfooter_de = Danke\nfooter_tr = Teşekkürler\n")

    footer = load_config(path).printer.footer

    assert (footer.get("de"), footer.get("tr"), footer.get("uk")) == ("Danke", "Teşekkürler", "Danke")


def test_a_title_too_long_for_a_monitor_row_and_a_ticket_is_refused_at_its_line_saying_why(tmp_path):
    too_long = "Weiterbewilligung von Leistungen zur Sicherung des Lebensunterhalts beantragen"  # 78 characters
    path = write(tmp_path / "appliance.conf", KIOSK.replace("title_en = Apply for leave", f"title_uk = {too_long}"))

    problem = only_problem(path)

    assert (problem.file, problem.line, problem.key) == (str(path), line_of(path, "title_uk"), "title_uk")
    assert problem.message == (
        "is 78 characters long; at most 64 are allowed: a title names the concern in a row of the monitor and two "
        "lines of a ticket; shorten it"
    )
