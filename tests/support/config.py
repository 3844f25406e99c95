"""Device config files for tests: the minimal valid device, plus whatever sections a test adds.

One builder, so a new required key or a renamed section is changed here, not in a dozen files.
"""

from pathlib import Path

# Two concerns, so tests see per-concern numbering, queues and waits.
CONCERNS = {
    "leave": {"title_de": "Urlaub beantragen", "title_en": "Apply for leave", "prefix": "A"},
    "documents": {"title_de": "Unterlagen abgeben", "title_en": "Hand in documents", "prefix": "C"},
}


def device_config_text(directory: Path, *, concerns: dict = CONCERNS, **sections: dict) -> str:
    """A kiosk-and-monitor device with its state and control socket in ``directory``.

    Each keyword is a section (``backend={"url": ...}``, ``concern_advice={...}`` for
    ``[concern:advice]``); keys given for [device], [state] and [core] replace the defaults, and a
    key whose value is None is left out.
    """
    defaults = {
        "device": {"id": "kiosk-1", "site": "test-office", "roles": "kiosk, monitor"},
        "state": {"database": f"{directory}/state.db"},
        "core": {"control_socket": f"{directory}/control.sock", "tick": "50ms"},
    }
    for name, keys in defaults.items():
        sections[name] = keys | sections.get(name, {})
    ordered = {"device": sections.pop("device")}
    ordered |= {f"concern_{name}": keys for name, keys in concerns.items()}
    ordered |= sections
    return "".join(_section(name, keys) for name, keys in ordered.items())


def write_device_config(directory: Path, **sections) -> Path:
    """``device_config_text`` written to ``directory``/appliance.conf."""
    path = directory / "appliance.conf"
    path.write_text(device_config_text(directory, **sections), encoding="utf-8")
    return path


def secret_file(path: Path, value: str) -> Path:
    """A token file as the daemon accepts it: readable by its owner only."""
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _section(name: str, keys: dict) -> str:
    header = "concern:" + name.removeprefix("concern_") if name.startswith("concern_") else name
    return f"\n[{header}]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items() if value is not None)
