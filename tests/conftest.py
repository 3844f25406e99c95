"""Shared fixtures: a device config written as a real file, and the package defaults beside it; the reference
backend's database, once on each store (SQLite and a real PostgreSQL server)."""

import logging
import os
import random
from pathlib import Path

import pytest

from appliance.app.config import load_config
from support import run_seed
from support.config import write_device_config
from support.postgres import PostgresServer


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


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the whole session (started on first use); each test takes a database of its own."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_database(request, tmp_path):
    """Where a reference backend keeps its data: the protocol's tests run on both stores."""
    if request.param == "sqlite":
        return tmp_path / "backend.db"
    return request.getfixturevalue("postgres_server").new_database()
