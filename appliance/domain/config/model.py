"""The checked configuration as typed, immutable values the rest of the appliance reads."""
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.domain.errors import UnknownConcern
from appliance.domain.config.types import KeyRing, Secret


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    site: str
    roles: tuple[str, ...]
    timezone: ZoneInfo
    languages: tuple[str, ...]


@dataclass(frozen=True)
class NumberingConfig:
    series: int
    series_count: int


@dataclass(frozen=True)
class Concern:
    """A visitor's reason to come ('Anliegen'), with its own ticket prefix and number range."""

    name: str
    title_de: str
    title_en: str | None
    prefix: str
    first: int
    last: int
    button: int | None = None  # BCM pin of its ticket button, if it has one
    service: timedelta = timedelta(minutes=8)  # a visit's usual length: the wait estimate's cold start

    def title(self, language: str) -> str:
        return self.title_en if language == "en" and self.title_en else self.title_de


@dataclass(frozen=True)
class CheckinConfig:
    modes: tuple[str, ...]
    public_key_file: KeyRing | None
    early: timedelta
    late: timedelta
    late_policy: str


@dataclass(frozen=True)
class ScannerConfig:
    inputs: tuple[str, ...]
    layout: str
    max_gap: timedelta
    camera_fps: int
    dedupe: timedelta
    decoder: str


@dataclass(frozen=True)
class PrinterConfig:
    uri: str | None
    profile: str | None
    paper_width: int
    timeout: timedelta
    logo: Path | None
    wait_page_url: str | None
    footer_de: str
    footer_en: str | None
    day_list_at: time | None


@dataclass(frozen=True)
class GpioConfig:
    ready_led: int | None
    printing_led: int | None
    fault_led: int | None
    buzzer: int | None
    min_gap: timedelta
    stuck_after: timedelta


@dataclass(frozen=True)
class MonitorConfig:
    rotation: int
    size: str | None
    slides: Path | None
    slide_seconds: timedelta
    highlight: timedelta
    recent: int
    stale_after: timedelta
    language: str
    sound: bool
    speech: bool
    layout: str            # monitor (the waiting room's) or kiosk (the kiosk's own screen)
    touch: bool            # kiosk layout: concerns are buttons on a touchscreen
    answer_seconds: timedelta  # kiosk layout: how long an answer stays


@dataclass(frozen=True)
class WaitsConfig:
    counters: int  # counters usually open: the wait estimate's cold start


@dataclass(frozen=True)
class StateConfig:
    database: Path


@dataclass(frozen=True)
class CoreConfig:
    control_socket: Path
    tick: timedelta


@dataclass(frozen=True)
class BackendConfig:
    url: str | None
    token_file: Secret | None
    ca_bundle: Path | None
    timeout: timedelta
    verify_tls: bool
    heartbeat_interval: timedelta
    appointments_interval: timedelta
    batch_size: int             # events per upload
    outbox_alarm: int           # undelivered events above which the backend's health is an alarm
    clock_tolerance: timedelta  # how far the backend's Date may be off for the clock to count as right


@dataclass(frozen=True)
class PushConfig:
    """The device's push endpoint, where the central system may put a day's appointments."""

    enabled: bool
    bind: str
    port: int
    token_file: Secret | None


@dataclass(frozen=True)
class LoggingConfig:
    level: str


@dataclass(frozen=True)
class AppConfig:
    device: DeviceConfig
    numbering: NumberingConfig
    concerns: tuple[Concern, ...]
    checkin: CheckinConfig
    scanner: ScannerConfig
    printer: PrinterConfig
    gpio: GpioConfig
    monitor: MonitorConfig
    waits: WaitsConfig
    state: StateConfig
    core: CoreConfig
    backend: BackendConfig
    push: PushConfig
    logging: LoggingConfig
    files: tuple[str, ...]       # the layers read, in order
    effective: str               # check-config's listing, secrets masked

    def concern(self, name: str) -> Concern:
        for concern in self.concerns:
            if concern.name == name:
                return concern
        raise UnknownConcern(f"no concern named {name!r}; configured: {', '.join(c.name for c in self.concerns)}")
