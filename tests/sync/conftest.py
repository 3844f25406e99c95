"""Fixtures of the sync tests: a reference backend behind a Gate, and a device syncing with it."""

import pytest

from support.sync import Central, Device


@pytest.fixture
def central(tmp_path, backend_database):
    central = Central(tmp_path, database=backend_database).start()
    yield central
    central.stop()


@pytest.fixture
def device(tmp_path, central):
    device = Device(tmp_path, central.url).start()
    yield device
    device.stop()
