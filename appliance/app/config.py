"""The device's whole config schema, put together from the sections each layer declares, and the
loading that check-config, the daemon, the monitor process and the demo share.
"""

from pathlib import Path

from appliance.display import settings as display_settings
from appliance.domain import settings as domain_settings
from appliance.domain.config import AppConfig, Layer, Schema, file_layers
from appliance.domain.config import load_layers as load_layers_against
from appliance.drivers import settings as driver_settings
from appliance.sync import settings as sync_settings

SCHEMA = Schema(
    *domain_settings.SECTIONS, *driver_settings.SECTIONS, *sync_settings.SECTIONS, *display_settings.SECTIONS
)


def load_config(main: Path | None = None) -> AppConfig:
    """The device's layered config (``main`` or /etc/entrance-appliance/appliance.conf, then its
    conf.d); raises ConfigError listing every problem."""
    return load_layers(file_layers(main))


def load_layers(layers: list[Layer]) -> AppConfig:
    """Config from ``layers`` (later ones win key by key), e.g. a text the demo writes itself."""
    return load_layers_against(layers, SCHEMA)
