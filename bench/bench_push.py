"""Push figures: a day list of about 1 MB put to a device's push endpoint, answered (schema checked once,
off the event loop), and how long a small request waits meanwhile."""

import json
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests

from appliance.app.config import load_config
from appliance.domain.clock import SystemClock, local_day
from appliance.domain.core import Core
from appliance.domain.state import StateStore
from appliance.sync.push import PushEndpoint
from support.config import secret_file, write_device_config

TOKEN = "bench-push-token-0001"
BODY_BYTES = 1_000_000


def _day_list(day, site: str) -> bytes:
    """As many appointments as fit in about BODY_BYTES (the limit is 2 MiB)."""
    appointments, size, n = [], 100, 0
    while size < BODY_BYTES:
        n += 1
        item = {
            "id": f"apt-{n:06d}",
            "site": site,
            "day": day.isoformat(),
            "slot": f"{7 + n % 11:02d}:{n % 60:02d}",
            "concern": "leave",
            "display_code": f"T{n:04d}",  # about 4,700 fit: four digits do
            "reference": f"REF{n:06d}X",
            "status": "booked",
            "updated_at": "2026-03-09T07:00:00Z",
        }
        appointments.append(item)
        size += len(json.dumps(item)) + 2
    return json.dumps({"site": site, "day": day.isoformat(), "appointments": appointments}).encode()


def _meanwhile(url: str, waited: list[float]) -> None:
    """A request without a token, answered on the event loop while the big body is checked."""
    time.sleep(0.05)
    began = time.perf_counter()
    requests.put(url, data=b"{}", timeout=30)
    waited.append((time.perf_counter() - began) * 1000)


def run(runs: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        token = secret_file(directory / "push.token", TOKEN)
        config = load_config(
            write_device_config(
                directory,
                device={"site": "bench-office"},
                concerns={"leave": {"title_de": "Urlaub beantragen", "prefix": "A"}},
                push={"token_file": token},
            )
        )
        store = StateStore(config.state.database)
        core = Core(config, store, SystemClock())
        core.start()
        endpoint = PushEndpoint(core, config, SystemClock(), TOKEN, port=0)
        endpoint.start()
        try:
            day = local_day(SystemClock().now(), config.device.timezone) + timedelta(days=1)
            body = _day_list(day, "bench-office")
            url = f"{endpoint.url}/v1/push/appointments/{day.isoformat()}"
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            answered, waited = [], []
            for _ in range(runs):
                other = threading.Thread(target=_meanwhile, args=(url, waited))
                began = time.perf_counter()
                other.start()
                answer = requests.put(url, data=body, headers=headers, timeout=30)
                answered.append((time.perf_counter() - began) * 1000)
                other.join(30)
                assert answer.status_code == 200, answer.text
        finally:
            endpoint.stop()
            core.stop()
            store.close()
    return {
        "push_1mb_ms": round(statistics.median(answered), 1),
        "push_1mb_body_kb": round(len(body) / 1024),
        "push_small_request_meanwhile_ms": round(max(waited), 1),
    }


if __name__ == "__main__":
    print(run())
