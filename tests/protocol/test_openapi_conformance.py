"""schemathesis runs the protocol's OpenAPI document against a running reference backend.

Every operation the backend serves gets generated requests, valid and invalid; each answer must be
no server error, have a documented status, headers and content type, and match its schema.
Bounded: at most 25 generated examples per operation (plus schemathesis' coverage cases), and
long polls answer at once; the run takes some 10-20 seconds.
"""

import random
import re
from collections import Counter, defaultdict
from datetime import date
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from appliance.protocol import OPENAPI_PATH
from appliance.protocol.contract import parse_timestamp, timestamp
from entrance_backend.main import BackgroundBackend, DeviceAccess, Settings, demo_appointments
from entrance_backend.store import Sender
from support import CLOCK, run_seed

DEVICE = DeviceAccess("kiosk-1", "mitte", "token-kiosk-1")
STAFF = "staff-secret"
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
ANSWERS: dict[str, Counter] = defaultdict(Counter)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]


@pytest.fixture(scope="module")
def running_backend(tmp_path_factory):
    """A backend with a day of appointments, tickets and calls, so answers are not all empty."""
    database = tmp_path_factory.mktemp("backend") / "backend.db"
    settings_ = Settings(database, (DEVICE,), STAFF, "mitte", rate_limit=0, clock=CLOCK.now)
    backend = BackgroundBackend(settings_).start()
    now = CLOCK.now()
    today = backend.backend.today(now)
    backend.store.add_appointments(demo_appointments("mitte", today, 30, ["leave", "documents"], random.Random(1)), now)
    events = [
        {
            "key": f"seed-ticket-{n:04d}",
            "kind": "ticket_issued",
            "created_at": now.isoformat(),
            "body": {"day": today, "concern": "leave", "number": n, "code": f"A{n:03d}"},
        }
        for n in range(1, 40)
    ]
    backend.store.apply_events(Sender("kiosk-1"), "mitte", events, now)
    for counter in range(1, 4):
        backend.store.call_next("mitte", today, counter, now)
    yield backend
    backend.stop()
    print("\nstatuses answered:", {operation: dict(sorted(counts.items())) for operation, counts in ANSWERS.items()})
    # A run where an operation never succeeded would have tested only its refusals.
    assert not [operation for operation, counts in ANSWERS.items() if not any(200 <= s < 300 for s in counts)]


# The document is read from the file (no server needed to collect the tests); each call is sent to
# the running backend. The push endpoint is served by devices, not by this backend.
# A cursor that fits the pattern but was never issued is valid by its schema and still answered
# 410 Gone (fetch the full list again): the one non-2xx answer to schema-valid data besides 401-409.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": run_seed(),
        "generation": {"mode": "all"},  # valid and invalid requests
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "304", "401", "403", "404", "409", "410", "429"]}
        },
    }
)
schema = schemathesis.openapi.from_path(OPENAPI_PATH, config=CONFIG).exclude(tag="device-push")


@schema.parametrize()
# No example database: a run's cases come from TEST_SEED alone, never from earlier runs on this machine.
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_reference_backend_answers_as_its_document_says(case, running_backend):
    aim_at_the_configured_device(case)
    # A generated body may be the document's largest (5,000 appointments, 0.9 MB): checking it takes seconds
    # on a loaded machine. The bound only decides how long a hung server takes to fail the test.
    response = case.call_and_validate(base_url=running_backend.url, checks=CHECKS, timeout=60)
    ANSWERS[f"{case.operation.method.upper()} {case.operation.path}"][response.status_code] += 1


def aim_at_the_configured_device(case) -> None:
    """Valid device and site names become the configured ones and made-up tokens real ones (so the
    answers are not all 401, 403 and 404); invalid values stay as generated. Long polls do not wait."""
    for name, value in {"device": DEVICE.device, "site": DEVICE.site}.items():
        if isinstance((case.path_parameters or {}).get(name), str) and NAME.fullmatch(case.path_parameters[name]):
            case.path_parameters[name] = value
    # schemathesis makes up bearer tokens; a request it sends without one stays without.
    if "Authorization" in (case.headers or {}):
        token = STAFF if "staff" in case.operation.tags else DEVICE.token
        case.headers["Authorization"] = f"Bearer {token}"
    # Events dated far from the backend's clock are refused (422 implausible_time, as the document says):
    # made-up dates that parse become now, so batches are also accepted.
    events = case.body.get("events") if isinstance(case.body, dict) else None
    for event in events if isinstance(events, list) else ():
        if isinstance(event, dict) and isinstance(event.get("created_at"), str):
            try:
                parse_timestamp(event["created_at"])
            except ValueError:
                continue
            event["created_at"] = timestamp(CLOCK.now())
    # Made-up run ids would be many devices sharing kiosk-1's id, refused numbers (409 shared_device_id): one run.
    if isinstance(case.body, dict) and re.fullmatch(r"[A-Za-z0-9_-]{8,64}", str(case.body.get("instance"))):
        case.body["instance"] = "conformance-run"
    # A number is drawn only for the backend's today (409 other_day): a made-up valid day becomes today.
    day = case.body.get("day") if isinstance(case.body, dict) and case.operation.path.endswith("/numbers") else None
    if isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        try:
            date.fromisoformat(day)
            case.body["day"] = CLOCK.now().astimezone(ZoneInfo("Europe/Berlin")).date().isoformat()
        except ValueError:
            pass  # an invalid day stays invalid
    wait = (case.query or {}).get("wait")
    if isinstance(wait, int) and not isinstance(wait, bool) and 0 < wait <= 30:
        case.query["wait"] = 0  # waiting is test_sync_backend's subject; here it would only take time
