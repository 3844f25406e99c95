"""Shared fixtures: a device config written as a real file, and the package defaults beside it."""

import logging
import os
import random
from pathlib import Path

import pytest

from appliance.app.config import load_config
from support import run_seed
from support.config import write_device_config


def pytest_configure(config):
    # Drawn once, before xdist starts its workers: they inherit it, so one run has one seed.
    if os.environ.get("TEST_SEED") == "random":
        os.environ["TEST_SEED"] = str(random.randrange(2**32))


def pytest_report_header(config):
    return f"TEST_SEED={run_seed()} (generated cases; TEST_SEED=random draws new ones)"


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
