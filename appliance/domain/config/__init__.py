"""Provisioning by config files: a typed schema, layered files, and errors that name file and line."""
from appliance.domain.config.loader import ETC_FILE, Layer, file_layers, load_config, load_layers
from appliance.domain.config.model import AppConfig, Concern

__all__ = ["AppConfig", "Concern", "ETC_FILE", "Layer", "file_layers", "load_config", "load_layers"]
