"""Layered loading: package defaults, then the device's file, then conf.d/*.conf in order.

Every problem in every layer is collected before failing, so a technician fixes them in one go.
"""
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from appliance.domain.errors import ConfigError
from appliance.domain.numbering import number_block
from appliance.domain.config.ini import IniFile, Problem, Setting, parse_ini, read_ini
from appliance.domain.config.model import (AppConfig, BackendConfig, CheckinConfig, Concern, CoreConfig, DeviceConfig, GpioConfig,
                    LoggingConfig, MonitorConfig, NumberingConfig, PrinterConfig, PushConfig, ScannerConfig,
                    StateConfig, WaitsConfig)
from appliance.domain.config.schema import OPTIONAL_KEYS, SECTIONS, schema_for
from appliance.domain.config.suggest import closest, did_you_mean

DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.conf"
ETC_FILE = Path("/etc/entrance-appliance/appliance.conf")
# [concern:*] gives values to every concern section that does not set them itself.
ALL_CONCERNS = "concern:*"
_CONCERN_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


@dataclass(frozen=True)
class Layer:
    """Config text from one source; relative paths in it are taken from ``base_dir``."""

    name: str
    text: str | None  # None: read the file called ``name``
    base_dir: Path


def file_layers(main: Path | None = None) -> list[Layer]:
    """The defaults, the device's file (``main`` or the /etc file) and the conf.d beside it."""
    main = Path(main) if main is not None else ETC_FILE
    layers = [Layer(str(DEFAULTS_FILE), None, DEFAULTS_FILE.parent), Layer(str(main), None, main.parent.resolve())]
    conf_d = main.parent / "conf.d"
    if conf_d.is_dir():
        layers += [Layer(str(p), None, conf_d.resolve()) for p in sorted(conf_d.glob("*.conf"))]
    return layers


def load_config(main: Path | None = None) -> AppConfig:
    """Load the layered config of a device; raises ConfigError listing every problem."""
    return load_layers(file_layers(main))


def load_layers(layers: list[Layer]) -> AppConfig:
    problems: list[Problem] = []
    parsed: list[tuple[IniFile, Path]] = []
    for layer in layers:
        if layer.text is None:
            ini = read_ini(Path(layer.name), problems)
        else:
            ini = parse_ini(layer.text, layer.name, problems)
        if ini is not None:
            parsed.append((ini, layer.base_dir))
    if any(p.line == 0 and p.message == "file not found" for p in problems):
        raise ConfigError(problems)  # everything else would only be a consequence
    merged, bases = _merge(parsed, problems)
    values = _typed_values(merged, bases, problems)
    main_file = layers[1].name if len(layers) > 1 else layers[0].name
    _require(merged, main_file, problems)
    config = _build(values, merged, [layer.name for layer in layers], problems)
    if problems:
        raise ConfigError(sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line, p.message)))
    return config


def _merge(parsed, problems):
    """Later layers win key by key; unknown sections and keys are problems."""
    merged: dict[str, dict[str, Setting]] = {}
    bases: dict[tuple[str, str], Path] = {}
    known_sections = [s for s in SECTIONS if not s.endswith(":")] + [ALL_CONCERNS]
    for ini, base_dir in parsed:
        for section, settings in ini.sections.items():
            line = ini.section_lines[section]
            keys, _ = schema_for(section)
            if (keys is not None and section.startswith("concern:") and section != ALL_CONCERNS
                    and not _CONCERN_NAME.fullmatch(section[8:])):
                problems.append(Problem(ini.path, line, "a concern's name uses lower-case letters, digits and "
                                        "dashes, e.g. [concern:first-application]", section))
                continue
            if keys is None and section != ALL_CONCERNS:
                hint = _section_hint(section, known_sections)
                problems.append(Problem(ini.path, line, f"unknown section{hint}", section))
                continue
            keys = keys or SECTIONS["concern:"]
            for key, setting in settings.items():
                if key not in keys:
                    problems.append(Problem(ini.path, setting.line,
                                            f"unknown key{did_you_mean(key, keys)}", section, key))
                    continue
                merged.setdefault(section, {})[key] = setting
                bases[(section, key)] = base_dir
            merged.setdefault(section, {})
    return merged, bases


def _section_hint(section: str, known_sections) -> str:
    prefix, colon, name = section.partition(":")
    templates = [s[:-1] for s in SECTIONS if s.endswith(":")]
    if colon:
        match = closest(prefix, templates)
        return f". Did you mean '{match}:{name}'?" if match else ""
    if section in templates:
        return f". Sections of this kind are named like [{section}:NAME]"
    return did_you_mean(section, known_sections)


def _typed_values(merged, bases, problems):
    values: dict[str, dict[str, object]] = {}
    for section, settings in merged.items():
        keys = schema_for(section)[0] or SECTIONS["concern:"]
        for key, setting in settings.items():
            try:
                values.setdefault(section, {})[key] = keys[key].parse(setting.value, bases[(section, key)])
            except ValueError as error:
                problems.append(Problem(setting.file, setting.line, str(error), section, key))
    return values


def _require(merged, main_file, problems):
    concern_defaults = merged.get(ALL_CONCERNS, {})
    for section, keys in SECTIONS.items():
        if section.endswith(":"):
            continue
        for key in keys:
            if (section, key) not in OPTIONAL_KEYS and key not in merged.get(section, {}):
                problems.append(Problem(main_file, 0, "is required but not set", section, key))
    for section in merged:
        if section.startswith("concern:") and section != ALL_CONCERNS:
            for key in SECTIONS["concern:"]:
                if ("concern:", key) in OPTIONAL_KEYS:
                    continue
                if key not in merged[section] and key not in concern_defaults:
                    problems.append(Problem(main_file, 0, "is required but not set", section, key))


def _build(values, merged, files, problems) -> AppConfig | None:
    def where(section, key):
        setting = merged.get(section, {}).get(key) or merged.get(ALL_CONCERNS, {}).get(key)
        return (setting.file, setting.line) if setting else (files[-1], 0)

    def section_values(section, **extra):
        result = {k: None for k in SECTIONS[section]}
        result.update(values.get(section, {}))
        return {**result, **extra}

    device = DeviceConfig(**section_values("device"))
    numbering = NumberingConfig(**section_values("numbering"))
    series_ok = None not in (numbering.series, numbering.series_count)
    if series_ok and numbering.series > numbering.series_count:
        problems.append(Problem(*where("numbering", "series"), f"is {numbering.series} but series_count is only "
                                f"{numbering.series_count}: give each kiosk in the office a series from 1 to "
                                f"{numbering.series_count}", "numbering", "series"))
    concerns, prefixes = [], {}
    defaults = values.get(ALL_CONCERNS, {})
    for section in merged:
        if not section.startswith("concern:") or section == ALL_CONCERNS:
            continue
        fields = {k: None for k in SECTIONS["concern:"]} | defaults | values.get(section, {})
        if any(fields[k] is None for k in ("title_de", "prefix", "first", "last")):
            continue  # already reported as a type problem
        concern = Concern(name=section.partition(":")[2], **fields)
        if concern.first >= concern.last:
            own = "last" if "last" in merged[section] or "first" not in merged[section] else "first"
            problems.append(Problem(*where(section, own), f"first ({concern.first}) must be below last "
                                    f"({concern.last})", section, own))
        elif series_ok and numbering.series <= numbering.series_count:
            try:
                number_block(concern.first, concern.last, numbering.series, numbering.series_count)
            except ValueError as error:
                problems.append(Problem(*where(section, "last"), str(error), section, "last"))
        if concern.prefix in prefixes:
            problems.append(Problem(*where(section, "prefix"), f"'{concern.prefix}' is already the prefix of "
                                    f"[{prefixes[concern.prefix]}]: ticket numbers would be ambiguous",
                                    section, "prefix"))
        prefixes.setdefault(concern.prefix, section)
        concerns.append(concern)
    declared = any(s.startswith("concern:") and s != ALL_CONCERNS for s in merged)  # even if one failed to parse
    if "kiosk" in (device.roles or ()) and not declared:
        problems.append(Problem(files[1] if len(files) > 1 else files[0], 0,
                                "a kiosk needs at least one [concern:NAME] section", "device", "roles"))
    checkin = CheckinConfig(**section_values("checkin"))
    if "kiosk" in (device.roles or ()) and "signed" in (checkin.modes or ()) and checkin.public_key_file is None:
        problems.append(Problem(*where("checkin", "modes"), "signed codes need the site's public key: set "
                                "public_key_file, or use modes = reference", "checkin", "modes"))
    scanner = ScannerConfig(**section_values("scanner"))
    _check_scanner_inputs(scanner, where, problems)
    printer = PrinterConfig(**section_values("printer"))
    if printer.paper_width is not None:
        printer = dataclasses.replace(printer, paper_width=int(printer.paper_width))
    _check_printer(printer, where, problems)
    buttons = [(c.button, c.name) for c in concerns if c.button is not None]
    if buttons and printer.uri is None and "kiosk" in (device.roles or ()):
        problems.append(Problem(*where(f"concern:{buttons[0][1]}", "button"), "a ticket button needs a printer: "
                                "set [printer] uri", f"concern:{buttons[0][1]}", "button"))
    gpio = GpioConfig(**section_values("gpio"))
    pins: dict[int, tuple[str, str]] = {}
    for section, key, pin in ([(f"concern:{n}", "button", p) for p, n in buttons] +
                              [("gpio", k, getattr(gpio, k)) for k in ("ready_led", "printing_led", "fault_led",
                                                                      "buzzer")]):
        if pin is None:
            continue
        if pin in pins:
            problems.append(Problem(*where(section, key), f"GPIO{pin} is already used by [{pins[pin][0]}] "
                                    f"{pins[pin][1]}", section, key))
        pins.setdefault(pin, (section, key))
    backend, push = BackendConfig(**section_values("backend")), PushConfig(**section_values("push"))
    if backend.url and "token_file" not in merged.get("backend", {}):
        problems.append(Problem(*where("backend", "url"), "the backend needs this device's token: set "
                                "[backend] token_file", "backend", "token_file"))
    if push.enabled and "token_file" not in merged.get("push", {}):
        problems.append(Problem(*where("push", "enabled"), "the push endpoint needs a token of its own: set "
                                "[push] token_file", "push", "token_file"))
    monitor = MonitorConfig(**section_values("monitor"))
    if monitor.rotation is not None:
        monitor = dataclasses.replace(monitor, rotation=int(monitor.rotation))
    if problems:
        return None
    listing = _listing(values, merged)
    if numbering.series_count > 1 or concerns:
        blocks = [f"#   {c.prefix}: {c.name} {'-'.join(map(str, number_block(c.first, c.last, numbering.series, numbering.series_count)))}"
                  for c in concerns]
        listing += f"# numbers this device issues (series {numbering.series} of {numbering.series_count}):\n" + \
            "\n".join(blocks) + "\n"
    return AppConfig(
        device=device, numbering=numbering, concerns=tuple(concerns), checkin=checkin, scanner=scanner, printer=printer,
        gpio=gpio, monitor=monitor, waits=WaitsConfig(**section_values("waits")),
        state=StateConfig(**section_values("state")), core=CoreConfig(**section_values("core")),
        backend=backend, push=push, logging=LoggingConfig(**section_values("logging")),
        files=tuple(files), effective=listing)


def _check_scanner_inputs(scanner, where, problems) -> None:
    from appliance.drivers.readers import parse_source
    for source in scanner.inputs or ():
        try:
            parse_source(source)
        except ValueError as error:
            problems.append(Problem(*where("scanner", "inputs"), str(error), "scanner", "inputs"))


def _check_printer(printer, where, problems) -> None:
    """The profile must be one python-escpos knows, and a logo must be an image it can print."""
    if printer.profile is None and printer.logo is None:
        return  # python-escpos takes most of a second to import: only where there is something to check
    from appliance.printer.errors import PrinterConfigError
    from appliance.printer.layout import logo_problem
    from appliance.printer.profiles import load_profile
    if printer.profile is not None and printer.paper_width is not None:
        try:
            load_profile(printer.profile, printer.paper_width)
        except PrinterConfigError as error:
            problems.append(Problem(*where("printer", "profile"), str(error), "printer", "profile"))
    if printer.logo is not None:
        problem = logo_problem(printer.logo)
        if problem:
            problems.append(Problem(*where("printer", "logo"), problem, "printer", "logo"))


def _listing(values, merged) -> str:
    """The effective config as check-config prints it: every value with the file and line it came from."""
    lines = []
    for section in merged:
        if not merged[section]:
            continue
        keys = schema_for(section)[0] or SECTIONS["concern:"]
        lines.append(f"[{section}]")
        inherited = merged.get(ALL_CONCERNS, {}) if section.startswith("concern:") else {}
        for key in keys:
            source = section if key in merged[section] else ALL_CONCERNS if key in inherited else None
            if source is not None and key in values.get(source, {}):
                setting = merged[source][key]
                lines.append(f"{key} = {keys[key].show(values[source][key])}    # {setting.file}:{setting.line}")
        lines.append("")
    return "\n".join(lines)
