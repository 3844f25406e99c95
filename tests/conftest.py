"""Shared fixtures: a device config written as a real file, and the package defaults beside it."""

import logging
from pathlib import Path

import pytest

from appliance.app.config import load_config
from support.config import write_device_config


@pytest.fixture
def device_config_file(tmp_path) -> Path:
    """A minimal, valid device config file in tmp_path (state and socket in tmp_path too)."""
    return write_device_config(tmp_path)


@pytest.fixture
def device_config(device_config_file):
    return load_config(device_config_file)


@pytest.fixture(autouse=True)
def _logging_left_as_found():
    """Commands run in-process (monitor main, cli) point the root logger at this test's captured
    stderr; put it back, or later tests' threads log into a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
