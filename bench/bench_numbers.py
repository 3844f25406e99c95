"""Office numbers: how long a press waits for the number the office draws (the reference backend on
loopback), stored as the kiosk's ticket."""

import statistics
import tempfile
import time
from pathlib import Path

from appliance.app.config import load_config
from appliance.domain.clock import SystemClock
from appliance.domain.commands import IssueTicket
from appliance.domain.core import Core
from appliance.domain.state import StateStore
from appliance.sync.numbers import OfficeNumbers
from entrance_backend.main import BackgroundBackend, DeviceAccess, Settings
from support.config import secret_file, write_device_config

TOKEN, STAFF = "bench-device-token", "bench-staff-token"
REPO = Path(__file__).resolve().parent.parent


def office_ticket_number_ms_p99(presses: int = 500) -> float:
    """A press → the office's number drawn over HTTP and the ticket with it committed on the kiosk (p99)."""
    with tempfile.TemporaryDirectory(dir=REPO / "bench") as tmp:  # on the real disk, not tmpfs
        directory = Path(tmp)
        settings = Settings(
            directory / "backend.db",
            (DeviceAccess("bench-kiosk", "bench-office", TOKEN),),
            STAFF,
            "bench-office",
            rate_limit=0,
        )
        backend = BackgroundBackend(settings).start()
        path = write_device_config(
            directory,
            device={"id": "bench-kiosk", "site": "bench-office", "roles": "kiosk"},
            concerns={"leave": {"title_de": "Urlaub beantragen", "prefix": "A", "last": 9999}},
            core={"tick": "1s"},
            backend={"url": backend.url, "token_file": secret_file(directory / "backend.token", TOKEN)},
        )
        config = load_config(path)
        store = StateStore(config.state.database)
        core = Core(config, store, SystemClock())
        core.start()
        numbers = OfficeNumbers(core, config, "bench-run-0001")
        try:
            samples = []
            for _ in range(presses):
                started = time.perf_counter()
                office = numbers.draw("leave")
                core.submit(IssueTicket("leave", "bench", office)).result(10)
                samples.append((time.perf_counter() - started) * 1000)
                assert office is not None, "the office did not answer within its deadline"
        finally:
            numbers.close()
            core.stop()
            store.close()
            backend.stop()
    return round(statistics.quantiles(samples, n=100)[98], 2)


def run() -> dict:
    return {"office_ticket_number_ms_p99": office_ticket_number_ms_p99()}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<32} {value}")
