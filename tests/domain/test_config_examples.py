"""The example files in config/ that technicians copy to a device load cleanly and say what they mean."""

import dataclasses
import re
import shutil

import pytest

from appliance.app.config import SCHEMA, load_config
from appliance.domain.errors import ConfigError
from support import REPO_ROOT

EXAMPLES = REPO_ROOT / "config"
KINDS = {"kiosk.conf": ("kiosk",), "monitor.conf": ("monitor",), "kiosk-monitor.conf": ("kiosk", "monitor")}
CONCERNS = ("first-application", "leave", "documents", "other")
# Optional keys without a default (url, button, ready_led, ...): commented out, they show an example.
NO_DEFAULT = {
    name
    for section in SCHEMA.sections.values()
    for name in section.written_names()
    if section.spec(name).optional and section.spec(name).default is None
}


@pytest.fixture(params=sorted(KINDS))
def example(request, tmp_path):
    """An example copied to where a technician would put it, alone in its directory (no conf.d)."""
    target = tmp_path / "appliance.conf"
    shutil.copyfile(EXAMPLES / request.param, target)
    return request.param, target


def test_every_device_kind_has_an_example():
    assert set(KINDS) <= {p.name for p in EXAMPLES.glob("*.conf")}


def test_example_loads_without_any_problem(example):
    name, path = example
    try:
        config = load_config(path)
    except ConfigError as error:
        pytest.fail(f"config/{name} has problems:\n{error}")

    assert config.device.roles == KINDS[name]


def test_example_shows_every_concern_in_the_check_config_listing(example):
    _, path = example

    config = load_config(path)

    assert [c.name for c in config.concerns] == list(CONCERNS)
    for concern in config.concerns:
        assert f"[concern:{concern.name}]" in config.effective
        assert f"title_de = {concern.title.get('de')}    # {path}:" in config.effective
        assert "en" in dict(concern.title.texts), f"[concern:{concern.name}] has no English title"


def test_examples_use_realistic_job_centre_concerns(example):
    _, path = example

    config = load_config(path)

    assert config.concern("leave").info.title("de") == "Urlaub beantragen"
    assert config.concern("leave").info.title("en") == "Apply for leave"
    assert config.concern("first-application").info.title("en") == "Apply for Bürgergeld"
    assert config.concern("documents").info.title("de") == "Unterlagen abgeben"
    assert config.concern("other").info.title("de") == "Sonstiges Anliegen"


def test_all_examples_define_the_same_concerns_as_devices_in_one_office_must(tmp_path):
    loaded = []
    for name in sorted(KINDS):
        (tmp_path / name).mkdir()
        loaded.append(load_config(shutil.copyfile(EXAMPLES / name, tmp_path / name / "appliance.conf")))

    assert len({c.concerns for c in loaded}) == 1


def test_example_shows_every_key_of_every_section_so_nothing_has_to_be_looked_up(example):
    name, path = example
    text = path.read_text(encoding="utf-8")

    for section in SCHEMA.fixed():
        assert re.search(rf"^#? ?\[{re.escape(section.name)}\]$", text, re.M), f"config/{name} lacks [{section.name}]"
        for key, spec in section.keys.items():
            key = f"{key}_de" if spec.per_language else key
            assert re.search(rf"^(# )?{key} =", text, re.M), f"config/{name} lacks [{section.name}] {key}"
    for key, spec in SCHEMA.sections["concern"].keys.items():
        key = f"{key}_de" if spec.per_language else key
        assert re.search(rf"^{key} =", text, re.M), f"config/{name}: no concern sets {key}"


def test_commented_out_values_are_the_real_defaults(example, tmp_path):
    """Uncommenting any '# key = value' line must change nothing: the comment shows the default."""
    name, path = example
    # A commented-out key without a default shows an example, so uncommenting it means leaving it unset.
    uncommented = re.sub(
        r"^# (\[[a-z:*-]+\]|([a-z_]+) = .*)$",
        lambda m: f"{m[2]} =" if m[2] in NO_DEFAULT else m[1],
        path.read_text(encoding="utf-8"),
        flags=re.M,
    )
    variant = tmp_path / "uncommented" / "appliance.conf"
    variant.parent.mkdir()
    variant.write_text(uncommented, encoding="utf-8")

    as_shipped, with_defaults_written = load_config(path), load_config(variant)

    for part in [
        field.name for field in dataclasses.fields(as_shipped) if field.name not in ("files", "effective", "origins")
    ]:
        assert getattr(as_shipped, part) == getattr(with_defaults_written, part), f"config/{name}: {part}"


def test_backend_token_is_pointed_at_the_etc_file_with_a_chmod_600_hint(example):
    _, path = example
    text = path.read_text(encoding="utf-8")

    assert "# token_file = /etc/entrance-appliance/backend.token" in text
    assert "chmod 600 /etc/entrance-appliance/backend.token" in text


def test_an_office_is_provisioned_with_one_site_file_and_a_short_file_per_device(tmp_path):
    token = tmp_path / "backend.token"
    token.write_text("tok-3f9a1c-0123456789\n")
    token.chmod(0o600)
    device_file = tmp_path / "appliance.conf"
    device_file.write_text(
        (EXAMPLES / "device-kiosk.conf")
        .read_text(encoding="utf-8")
        .replace("/etc/entrance-appliance/backend.token", str(token))
    )
    site_file = tmp_path / "conf.d" / "site-mitte.conf"
    site_file.parent.mkdir()
    shutil.copyfile(EXAMPLES / "site-mitte.conf", site_file)

    config = load_config(device_file)

    assert (config.device.id, config.device.site, config.backend.url) == (
        "kiosk-mitte-1",
        "mitte",
        "https://backend.jobcenter.example/appliance/v1",
    )
    assert [c.name for c in config.concerns] == list(CONCERNS) and all(c.button for c in config.concerns)
    site_lines = site_file.read_text(encoding="utf-8").splitlines()
    assert f"site = mitte    # {site_file}:{site_lines.index('site = mitte') + 1}" in config.effective
    device_lines = device_file.read_text(encoding="utf-8").splitlines()
    assert f"id = kiosk-mitte-1    # {device_file}:{device_lines.index('id = kiosk-mitte-1') + 1}" in config.effective
    assert "#   U: leave office 1-899, fallback blocks of 25 in 900-999" in config.effective
