"""Layered loading against a schema: the device's file, then conf.d/*.conf in order, over the defaults.

Every problem in every layer, and every check's, is collected before failing, so a technician
fixes them in one go.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from appliance.domain.catalogs import LANGUAGES, SOURCE_LANGUAGE
from appliance.domain.config.ini import IniFile, Problem, Setting, parse_ini, read_ini
from appliance.domain.config.model import AppConfig
from appliance.domain.config.schema import ALL, Schema, Section, per_language_key, plural
from appliance.domain.config.suggest import closest, did_you_mean
from appliance.domain.config.types import NAME_PATTERN, PerLanguage, no_catalog
from appliance.domain.errors import ConfigError

ETC_FILE = Path("/etc/entrance-appliance/appliance.conf")
DEFAULT = "default"  # where a value no file sets comes from, in check-config's listing
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class Layer:
    """Config text from one source; relative paths in it are taken from ``base_dir``."""

    name: str
    text: str | None  # None: read the file called ``name``
    base_dir: Path


def file_layers(main: Path | None = None) -> list[Layer]:
    """The device's file (``main`` or the /etc file) and the conf.d beside it."""
    main = Path(main) if main is not None else ETC_FILE
    layers = [Layer(str(main), None, main.parent.resolve())]
    conf_d = main.parent / "conf.d"
    if conf_d.is_dir():
        layers += [Layer(str(p), None, conf_d.resolve()) for p in sorted(conf_d.glob("*.conf"))]
    return layers


def load_layers(layers: list[Layer], schema: Schema) -> AppConfig:
    """Load ``layers`` (later ones win key by key) against ``schema``; raises ConfigError listing every problem."""
    problems: list[Problem] = []
    parsed: list[tuple[IniFile, Path]] = []
    for layer in layers:
        ini = (
            read_ini(Path(layer.name), problems) if layer.text is None else parse_ini(layer.text, layer.name, problems)
        )
        if ini is not None:
            parsed.append((ini, layer.base_dir))
    if any(p.line == 0 and p.message == "file not found" for p in problems):
        raise ConfigError(problems)  # everything else would only be a consequence
    checked = Checked(schema, _merge(parsed, schema, problems), layers[0].name, problems)
    for section in schema.sections.values():
        for check in section.checks:
            check(checked)
    if problems:
        raise ConfigError(sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line, p.message)))
    return checked.build(tuple(layer.name for layer in layers))


class Checked:
    """The merged, typed values of every layer, as the sections' checks see them.

    ``value`` is None where a key is unset or its value was refused (already a problem), so a
    check only looks further where what it needs is there.
    """

    def __init__(
        self,
        schema: Schema,
        merged: dict[str, dict[str, tuple[Setting, Path]]],
        main_file: str,
        problems: list[Problem],
    ):
        self.schema, self.main_file, self.problems = schema, main_file, problems
        self.settings = {
            header: {key: setting for key, (setting, _) in keys.items()} for header, keys in merged.items()
        }
        self._values: dict[str, dict[str, object]] = {}
        for header, keys in merged.items():
            section = schema.section_of(header)
            for key, (setting, base_dir) in keys.items():
                spec = section.spec(key)
                try:
                    value = None if spec.optional and setting.value == "" else spec.type.parse(setting.value, base_dir)
                except ValueError as error:
                    problems.append(Problem(setting.file, setting.line, str(error), header, key))
                else:
                    self._values.setdefault(header, {})[key] = value
        self._require()

    def instances(self, template: str) -> list[str]:
        """The headers of a template's sections (``concern:leave``, ...) in the order of the files."""
        return [h for h in self.settings if h.startswith(f"{template}:") and h != f"{template}:{ALL}"]

    def is_set(self, header: str, key: str) -> bool:
        """Whether a file sets ``key`` in ``[header]`` itself (not by default or through [NAME:*])."""
        return key in self.settings.get(header, {})

    def value(self, header: str, key: str):
        """The typed value in effect; None when unset or refused."""
        source = self._source(header, key)
        if source is None:
            return self.schema.defaults[header.partition(":")[0]].get(key)
        return self._values.get(source, {}).get(key)

    def where(self, header: str, key: str) -> tuple[str, int]:
        """The file and line that set the value in effect (the device's file when none does)."""
        source = self._source(header, key)
        if source is None:
            return self.main_file, 0
        setting = self.settings[source][key]
        return setting.file, setting.line

    def problem(self, header: str, key: str, message: str, at: tuple[str, int] | None = None) -> None:
        """Report ``message`` about ``[header] key``, at the line that set it unless ``at`` says where."""
        self.problems.append(Problem(*(at or self.where(header, key)), message, header, key))

    def build(self, files: tuple[str, ...]) -> AppConfig:
        """The typed, frozen config, once no problem is left."""
        sections = {}
        for section in self.schema.sections.values():
            if section.template:
                sections[plural(section)] = tuple(
                    self._model(section, h, name=h.partition(":")[2]) for h in self.instances(section.name)
                )
            else:
                sections[section.name] = self._model(section, section.name)
        return self.schema.config_model(**sections, files=files, effective=self._listing(), origins=self._origins())

    def _origins(self) -> dict[tuple[str, str], tuple[str, int]]:
        """Where each value in effect was set, also one a section takes from [NAME:*]."""
        origins = {}
        for header in [h for h in self.settings if not h.endswith(f":{ALL}")]:
            inherited = self.settings.get(f"{header.partition(':')[0]}:{ALL}", {})
            for written in {**inherited, **self.settings[header]}:
                origins[header, written] = self.where(header, written)
        return origins

    def _model(self, section: Section, header: str, **extra):
        values = {
            key: self._per_language(header, key) if spec.per_language else self.value(header, key)
            for key, spec in section.keys.items()
        }
        return self.schema.models[section.name](**extra, **values)

    def _per_language(self, header: str, key: str) -> PerLanguage:
        texts = ((language, self.value(header, f"{key}_{language}")) for language in LANGUAGES)
        return PerLanguage(tuple((language, text) for language, text in texts if text is not None))

    def _source(self, header: str, key: str) -> str | None:
        if key in self.settings.get(header, {}):
            return header
        template, colon, _ = header.partition(":")
        if colon and key in self.settings.get(f"{template}:{ALL}", {}):
            return f"{template}:{ALL}"
        return None

    def _require(self) -> None:
        for section in self.schema.fixed():
            for key in _required(section):
                if not self.is_set(section.name, key):
                    self.problem(section.name, key, "is required but not set", at=(self.main_file, 0))
        for section in self.schema.templates():
            for header in self.instances(section.name):
                for key in _required(section):
                    if self._source(header, key) is None:
                        self.problem(header, key, "is required but not set", at=(self.main_file, 0))

    def _listing(self) -> str:
        """The effective config as check-config prints it: every value with the file and line it came from."""
        headers = []
        for section in self.schema.sections.values():
            if section.template:
                headers += [h for h in self.settings if h == f"{section.name}:{ALL}"] + self.instances(section.name)
            else:
                headers.append(section.name)
        lines = []
        for header in headers:
            section = self.schema.section_of(header)
            shown = []
            for key, spec in _written(section):
                source = self._source(header, key)
                if source is not None:
                    setting = self.settings[source][key]
                    shown.append(f"{key} = {_show(spec, self._values[source][key])}    # {setting.file}:{setting.line}")
                elif self.value(header, key) is not None and not header.endswith(f":{ALL}"):
                    shown.append(f"{key} = {_show(spec, self.value(header, key))}    # {DEFAULT}")
            if shown:
                lines += [f"[{header}]", *shown, ""]
        listing = "\n".join(lines)
        for section in self.schema.sections.values():
            if section.remarks is not None:
                listing += section.remarks(self)
        return listing


def _required(section: Section) -> list[str]:
    """The names a file must set: a required per-language key needs its German text."""
    return [
        f"{key}_{SOURCE_LANGUAGE}" if spec.per_language else key for key, spec in section.keys.items() if spec.required
    ]


def _written(section: Section):
    """(name as written, key) for every name a file may set, per-language keys once per language."""
    for key, spec in section.keys.items():
        for name in [f"{key}_{language}" for language in LANGUAGES] if spec.per_language else [key]:
            yield name, spec


def _show(spec, value) -> str:
    return "" if value is None else spec.type.show(value)


def _merge(parsed, schema: Schema, problems) -> dict[str, dict[str, tuple[Setting, Path]]]:
    """Later layers win key by key; unknown sections and keys are problems."""
    merged: dict[str, dict[str, tuple[Setting, Path]]] = {}
    for ini, base_dir in parsed:
        for header, settings in ini.sections.items():
            line = ini.section_lines[header]
            section = schema.section_of(header)
            if section is None:
                problems.append(Problem(ini.path, line, f"unknown section{_section_hint(header, schema)}", header))
                continue
            instance = header.partition(":")[2]
            if section.template and instance != ALL and not _NAME.fullmatch(instance):
                problems.append(
                    Problem(
                        ini.path,
                        line,
                        f"a {section.name}'s name uses lower-case letters, digits "
                        f"and dashes, e.g. [{section.name}:{section.example}]",
                        header,
                    )
                )
                continue
            own = merged.setdefault(header, {})
            for key, setting in settings.items():
                if section.spec(key) is None:
                    problems.append(Problem(ini.path, setting.line, _unknown_key(key, section), header, key))
                    continue
                own[key] = (setting, base_dir)
    return merged


def _unknown_key(written: str, section: Section) -> str:
    name, language = per_language_key(written)
    if language is not None and name in section.keys and section.keys[name].per_language:
        return f"{name} in {no_catalog(language)}"
    if written in section.keys:  # a per-language key written without its language
        return f"is given per language: {written}_{SOURCE_LANGUAGE} in German, {written}_en in English, ..."
    return f"unknown key{did_you_mean(written, section.written_names())}"


def _section_hint(header: str, schema: Schema) -> str:
    prefix, colon, name = header.partition(":")
    templates = [s.name for s in schema.templates()]
    if colon:
        match = closest(prefix, templates)
        return f". Did you mean '{match}:{name}'?" if match else ""
    if header in templates:
        return f". Sections of this kind are named like [{header}:NAME]"
    return did_you_mean(header, [s.name for s in schema.fixed()] + [f"{t}:{ALL}" for t in templates])
