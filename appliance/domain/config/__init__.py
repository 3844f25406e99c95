"""Provisioning by config files: a typed schema the components declare, layered files, and errors
that name file and line. The wiring layer (appliance.app.config) assembles the schema and loads."""

from appliance.domain.config.loader import ETC_FILE, Checked, Layer, file_layers, load_layers
from appliance.domain.config.model import AppConfig, Concern
from appliance.domain.config.schema import Key, Schema, Section

__all__ = [
    "AppConfig",
    "Checked",
    "Concern",
    "ETC_FILE",
    "Key",
    "Layer",
    "Schema",
    "Section",
    "file_layers",
    "load_layers",
]
