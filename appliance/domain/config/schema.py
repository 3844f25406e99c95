"""What may stand in a config file: sections of typed keys, each with its default, whether it may
stay unset, its meaning, and the checks that need more than one value.

Each component declares its own sections (as Mopidy's extensions do); the wiring layer puts them
together into one ``Schema``, from which the typed model the rest of the appliance reads is derived.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.domain.catalogs import LANGUAGES
from appliance.domain.config.model import AppConfig
from appliance.domain.config.types import ValueType

# [NAME:*] gives values to every section of a template that does not set them itself.
ALL = "*"


@dataclass(frozen=True)
class Key:
    """One setting: its type, its default as a technician would write it, and what it means."""

    type: ValueType
    doc: str
    default: str | None = None  # None: no default
    optional: bool = False  # may stay unset (None); an empty value unsets it
    # Written once per language as NAME_xx (title_de, title_uk, ...), for any language with a catalog;
    # a required one needs the German text. The model holds them together as a PerLanguage.
    per_language: bool = False

    @property
    def required(self) -> bool:
        return self.default is None and not self.optional


@dataclass(frozen=True)
class Section:
    """A ``[name]`` section, or with ``template`` any number of ``[name:NAME]`` sections.

    ``checks`` see the whole checked config (a ``loader.Checked``) and report what is wrong
    across values; ``remarks`` add comment lines to check-config's listing.
    """

    name: str
    keys: dict[str, Key]
    checks: tuple[Callable, ...] = ()
    template: bool = False
    example: str = ""  # a template's example instance name, for messages
    model: type = object  # the base class of the section's model: its methods
    remarks: Callable | None = None

    @property
    def header(self) -> str:
        return f"{self.name}:" if self.template else self.name

    def spec(self, written: str) -> Key | None:
        """The key a file's ``written`` name sets (``title_uk`` sets the per-language ``title``), or None."""
        name, language = per_language_key(written)
        if language in LANGUAGES and name in self.keys and self.keys[name].per_language:
            return self.keys[name]
        key = self.keys.get(written)
        return key if key is not None and not key.per_language else None

    def written_names(self) -> list[str]:
        """Every name a file may set in this section, for suggestions."""
        return [
            variant
            for key, spec in self.keys.items()
            for variant in ([f"{key}_{language}" for language in LANGUAGES] if spec.per_language else [key])
        ]


def per_language_key(written: str) -> tuple[str, str | None]:
    """``title_uk`` is ('title', 'uk'); a name without a language suffix is (name, None)."""
    name, underscore, language = written.rpartition("_")
    return (
        (name, language) if underscore and name and language.isalpha() and len(language) in (2, 3) else (written, None)
    )


class Schema:
    """The sections of one kind of program's config, and the model classes derived from them.

    A fixed section ``[device]`` becomes ``config.device``, a frozen value with one attribute per
    key; a template ``[concern:NAME]`` becomes ``config.concerns``, a tuple of values with ``name``.
    """

    def __init__(self, *sections: Section):
        self.sections = {section.name: section for section in sections}
        if len(self.sections) != len(sections):
            raise ValueError("a section is declared twice")
        self.defaults = {
            name: {
                key: _parse_default(section, key, spec)
                for key, spec in section.keys.items()
                if spec.default is not None
            }
            for name, section in self.sections.items()
        }
        self.models = {name: _model(section) for name, section in self.sections.items()}
        self.config_model = dataclasses.make_dataclass(
            "AppConfig",
            [(plural(s) if s.template else s.name, Any) for s in self.sections.values()]
            + [
                ("files", tuple, field(metadata={"doc": "the files read, in order"})),
                ("effective", str, field(metadata={"doc": "check-config's listing, secrets masked"})),
                (
                    "origins",
                    dict,
                    field(compare=False, metadata={"doc": "(header, key as written) -> (file, line) that set it"}),
                ),
            ],
            bases=(AppConfig,),
            frozen=True,
        )

    def section_of(self, header: str) -> Section | None:
        """The section that ``[header]`` belongs to, or None if there is none."""
        name, colon, instance = header.partition(":")
        section = self.sections.get(name)
        if section is None or section.template != bool(colon) or (colon and not instance):
            return None
        return section

    def fixed(self):
        return [s for s in self.sections.values() if not s.template]

    def templates(self):
        return [s for s in self.sections.values() if s.template]


def plural(section: Section) -> str:
    """The config attribute holding a template's sections: ``concerns`` for [concern:NAME]."""
    return f"{section.name}s"


def _parse_default(section: Section, key: str, spec: Key):
    try:
        return spec.type.parse(spec.default, Path("/"))
    except ValueError as error:  # a programming error: fail at import, not at a device
        raise ValueError(f"the default of [{section.header}] {key} is wrong: {error}") from None


def _model(section: Section) -> type:
    fields = [("name", str, field(metadata={"doc": f"the NAME of [{section.name}:NAME]"}))] if section.template else []
    fields += [(key, Any, field(metadata={"doc": spec.doc})) for key, spec in section.keys.items()]
    name = "".join(part.title() for part in section.name.split("_"))
    return dataclasses.make_dataclass(
        name if section.template else f"{name}Config", fields, bases=(section.model,), frozen=True
    )
