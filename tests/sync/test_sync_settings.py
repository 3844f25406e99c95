"""The sync's config sections: [backend] and [push] each need their own token once switched on."""

from appliance.app.config import load_config
from support.config_files import MONITOR, SECRET, line_of, only_problem, write


def test_a_backend_url_without_a_token_points_at_the_url_and_names_the_missing_key(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[backend]\nurl = https://backend.example/api\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "url ="), "backend", "token_file")
    assert problem.message == "the backend needs this device's token: set [backend] token_file"


def test_push_switched_on_without_a_token_points_at_enabled(tmp_path):
    path = write(tmp_path / "appliance.conf", MONITOR + "[push]\nenabled = yes\n")

    problem = only_problem(path)

    assert (problem.line, problem.section, problem.key) == (line_of(path, "enabled ="), "push", "token_file")
    assert problem.message == "the push endpoint needs a token of its own: set [push] token_file"


def test_backend_and_push_with_their_tokens_load(tmp_path):
    token = write(tmp_path / "device.token", SECRET, mode=0o600)
    path = write(
        tmp_path / "appliance.conf",
        MONITOR + f"[backend]\nurl = https://backend.example/api\n"
        f"token_file = {token}\n[push]\nenabled = yes\ntoken_file = {token}\n",
    )

    config = load_config(path)

    assert config.backend.url == "https://backend.example/api" and config.backend.token_file.value == SECRET
    assert config.push.enabled is True and config.push.token_file.value == SECRET
