"""The device's push endpoint, as the protocol's document describes it: the central system PUTs a day.

Off by default; when on, a pushed day is checked whole (token, size, schema, site, day, clock) and
applied in one transaction, or refused with nothing changed. schemathesis runs the document's push
operation against it.
"""

import re
from collections import Counter
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest
import requests
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

from appliance.app.config import load_config
from appliance.app.daemon import Appliance
from appliance.domain.commands import TakeDayList
from appliance.domain.core import Core
from appliance.domain.errors import ConfigError
from appliance.domain.state import StateStore
from appliance.protocol import OPENAPI_PATH
from appliance.sync.push import PushEndpoint
from support import ANSWER_S, CLOCK, free_port, run_seed
from support.config import CONCERNS, secret_file, write_device_config
from support.sync import local_now

PUSH_TOKEN = "push-token-3b9e1c-0123456789"


class Trust:
    trusted = True


def config_file(directory, **push):
    """The device's config; ``push`` keys make a [push] section, whose token file is written."""
    token = secret_file(directory / "push.token", PUSH_TOKEN)
    sections = {"push": {"token_file": token} | push} if push else {}
    return write_device_config(directory, device={"site": "mitte"}, concerns={"leave": CONCERNS["leave"]}, **sections)


class PushedDevice:
    def __init__(self, directory):
        self.config = load_config(config_file(directory))
        self.store = StateStore(self.config.state.database)
        self.core = Core(self.config, self.store, CLOCK)
        self.core.start()
        self.trust = Trust()
        self.endpoint = PushEndpoint(self.core, self.config, CLOCK, PUSH_TOKEN, self.trust, port=0)
        self.endpoint.start()
        self.url = self.endpoint.url

    def stop(self):
        self.endpoint.stop()
        self.core.stop()
        self.store.close()

    def day(self, day: date) -> list[str]:
        return [a.display_code for a in self.store.appointments(day)]


@pytest.fixture
def device(tmp_path):
    device = PushedDevice(tmp_path)
    yield device
    device.stop()


def pushed_day(day: date, count: int = 3, site: str = "mitte", first: int = 1) -> dict:
    return {
        "site": site,
        "day": day.isoformat(),
        "appointments": [
            {
                "id": f"apt-{day:%Y%m%d}-{first + i}",
                "site": site,
                "day": day.isoformat(),
                "slot": f"{9 + i:02d}:00",
                "concern": "leave",
                "display_code": f"T{first + i:03d}",
                "reference": f"REF{first + i:03d}X",
                "status": "booked",
                "updated_at": "2026-03-09T07:00:00Z",
            }
            for i in range(count)
        ],
    }


def put(device, day, body=None, token=PUSH_TOKEN, data=None, headers=None):
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return requests.put(
        f"{device.url}/v1/push/appointments/{day}",
        json=body if data is None else None,
        data=data,
        headers=headers,
        timeout=ANSWER_S,
    )


def test_the_push_endpoint_is_off_by_default(tmp_path):
    config = load_config(config_file(tmp_path))
    assert config.push.enabled is False
    appliance = Appliance(config, clock=CLOCK)
    appliance.start()
    try:
        assert PushEndpoint.name not in [component["name"] for component in appliance.supervisor.status()]
    finally:
        appliance.stop()


def test_a_pushed_day_is_applied_whole_and_the_same_push_again_changes_nothing(device):
    today = local_now().date()
    for _ in range(2):
        answer = put(device, today, pushed_day(today))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"site": "mitte", "day": today.isoformat(), "appointments": 3}
        assert device.day(today) == ["T001", "T002", "T003"]
    assert [a.display_code for a in device.core.submit(TakeDayList()).result(ANSWER_S)] == ["T001", "T002", "T003"]
    tomorrow = today + timedelta(days=1)
    assert put(device, tomorrow, pushed_day(tomorrow, 2, first=10)).json()["appointments"] == 2
    assert device.day(tomorrow) == ["T010", "T011"]
    smaller = pushed_day(today, 1)
    assert put(device, today, smaller).json()["appointments"] == 1  # a push replaces the day
    assert device.day(today) == ["T001"]


def spoiled(change):
    def make(today):
        body = pushed_day(today)
        change(body, today)
        return body

    return make


@pytest.mark.parametrize(
    "request_, status, error, where",
    [
        (dict(token=None), 401, "unauthorized", None),
        (dict(token="not-the-push-token"), 401, "unauthorized", None),
        (dict(path_day="2026-13-01"), 400, "bad_parameter", "day"),
        (dict(data=b"{" + b" " * 2_200_000 + b"}"), 413, "too_large", None),
        (
            dict(data=b"site=mitte", headers={"Content-Type": "application/x-www-form-urlencoded"}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            dict(data=b'{"site": "mitte", "day": "', headers={"Content-Type": "application/json"}),
            422,
            "invalid_body",
            None,
        ),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][1].update(slot=900))),
            422,
            "invalid_body",
            "body.appointments[1].slot",
        ),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][0].update(name="Erika Mustermann"))),
            422,
            "invalid_body",
            "body.appointments[0]",
        ),
        (
            dict(body=spoiled(lambda b, d: b.update(day=(d + timedelta(days=1)).isoformat()))),
            422,
            "invalid_body",
            "body.day",
        ),
        (dict(body=spoiled(lambda b, d: b.update(site="nord"))), 422, "invalid_body", "body.site"),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][2].update(site="nord"))),
            422,
            "invalid_body",
            "body.appointments[2].site",
        ),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][2].update(day="2026-01-01"))),
            422,
            "invalid_body",
            "body.appointments[2].day",
        ),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][2].update(display_code="T001"))),
            422,
            "invalid_body",
            "body.appointments[2].display_code",
        ),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][2].update(id=b["appointments"][0]["id"]))),
            422,
            "invalid_body",
            "body.appointments[2].id",
        ),
        (
            dict(body=spoiled(lambda b, d: b["appointments"][1].update(concern="driving-licence"))),
            422,
            "invalid_body",
            "body.appointments[1].concern",
        ),
        (dict(day_offset=2), 409, "wrong_day", None),
        (dict(day_offset=-1), 409, "wrong_day", None),
        (dict(untrusted=True), 503, "clock_not_trusted", None),
    ],
)
def test_a_refused_push_says_why_and_changes_nothing(device, request_, status, error, where):
    today = local_now().date()
    assert put(device, today, pushed_day(today, 2, first=50)).status_code == 200
    day = today + timedelta(days=request_.get("day_offset", 0))
    body = request_["body"](today) if "body" in request_ else pushed_day(day)
    device.trust.trusted = not request_.get("untrusted")
    answer = put(
        device,
        request_.get("path_day", day),
        body,
        token=request_.get("token", PUSH_TOKEN),
        data=request_.get("data"),
        headers=request_.get("headers"),
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    if where:
        assert answer.json()["details"][0]["where"] == where
    if status == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 503:
        assert int(answer.headers["Retry-After"]) > 0
    assert device.day(today) == ["T050", "T051"]
    assert device.day(today + timedelta(days=1)) == []


def test_guessing_the_push_token_is_throttled_per_source_address(device):
    today = local_now().date()
    answers = [put(device, today, pushed_day(today), token=f"guess-{n:04d}").status_code for n in range(12)]
    assert answers == [401] * 10 + [429] * 2
    refused = put(device, today, pushed_day(today))  # even the right token, from the guessing address
    assert refused.status_code == 429 and "too many wrong tokens" in refused.json()["message"]
    assert device.day(today) == []


def test_the_daemon_serves_the_push_endpoint_when_it_is_switched_on(tmp_path):
    port = free_port()
    config = load_config(config_file(tmp_path, enabled="yes", port=port))
    appliance = Appliance(config, clock=CLOCK)
    appliance.start()
    try:
        today = local_now().date()
        answer = requests.put(
            f"http://127.0.0.1:{port}/v1/push/appointments/{today}",
            json=pushed_day(today),
            headers={"Authorization": f"Bearer {PUSH_TOKEN}"},
            timeout=ANSWER_S,
        )
        assert answer.status_code == 200, answer.text
        assert [a.display_code for a in appliance.core.submit(TakeDayList()).result(ANSWER_S)] == [
            "T001",
            "T002",
            "T003",
        ]
    finally:
        appliance.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=ANSWER_S)  # stopped with the daemon


def test_switching_push_on_without_a_token_is_a_config_problem(tmp_path):
    from appliance.domain.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[push\] token_file: the push endpoint needs a token of its own"):
        load_config(config_file(tmp_path, enabled="yes", token_file=None))


# --- schemathesis: the document's push operation against the device ----------------------------------

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
ANSWERS: Counter = Counter()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]
# Schema-valid pushes for another site or day, or with duplicates, are refused as the document says.
CONFIG_ST = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "seed": run_seed(),
        "generation": {"mode": "all"},
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "409", "422", "429", "503"]}},
    }
)
schema = schemathesis.openapi.from_path(OPENAPI_PATH, config=CONFIG_ST).include(tag="device-push")


@pytest.fixture(scope="module")
def push_endpoint(tmp_path_factory):
    device = PushedDevice(tmp_path_factory.mktemp("push"))
    yield device
    device.stop()
    print("\nstatuses answered:", dict(sorted(ANSWERS.items())))
    assert any(200 <= status < 300 for status in ANSWERS), "no generated push was ever applied"


@schema.parametrize()
# No example database: a run's cases come from TEST_SEED alone, never from earlier runs on this machine.
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_push_endpoint_answers_as_the_document_says(case, push_endpoint):
    aim_at_the_device(case)
    # A generated body may be the document's largest (5,000 appointments, 0.9 MB): checking it takes seconds
    # on a loaded machine. The bound only decides how long a hung server takes to fail the test.
    response = case.call_and_validate(base_url=push_endpoint.url, checks=CHECKS, timeout=60)
    ANSWERS[response.status_code] += 1


def aim_at_the_device(case) -> None:
    """Valid days, sites and tokens become the device's (today, mitte, its push token) so some pushes are
    applied; invalid values stay as generated, so what must be refused still is."""
    today = local_now().date().isoformat()
    if _is_day(case.path_parameters.get("day")):
        case.path_parameters["day"] = today
    if "Authorization" in (case.headers or {}):
        case.headers["Authorization"] = f"Bearer {PUSH_TOKEN}"
    body = case.body
    if isinstance(body, dict):
        _aim(body, today)
        for item in body.get("appointments") if isinstance(body.get("appointments"), list) else []:
            if isinstance(item, dict):
                _aim(item, today)


def _aim(item: dict, today: str) -> None:
    if _is_day(item.get("day")):
        item["day"] = today
    if isinstance(item.get("site"), str) and NAME.fullmatch(item["site"]):
        item["site"] = "mitte"


def _is_day(value) -> bool:
    try:
        return (
            isinstance(value, str)
            and len(value) == 10
            and bool(date.fromisoformat(value))
            and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
        )
    except ValueError:
        return False


def self_signed(directory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as an office's own CA would issue the device."""
    import ipaddress
    from datetime import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiosk-1")])
    start = datetime(2026, 1, 1, tzinfo=UTC)  # fixed: the test does not read the date
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=36500))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "push.crt", directory / "push.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_with_a_certificate_and_key_the_push_endpoint_speaks_https_only(tmp_path):
    cert, key = self_signed(tmp_path)
    config = load_config(config_file(tmp_path, enabled="yes", tls_cert=cert, tls_key=key))
    store = StateStore(config.state.database)
    core = Core(config, store, CLOCK)
    core.start()
    endpoint = PushEndpoint(core, config, CLOCK, PUSH_TOKEN, Trust(), port=0)
    endpoint.start()
    try:
        assert endpoint.url.startswith("https://")
        day = local_now().date()
        answer = requests.put(
            f"{endpoint.url}/v1/push/appointments/{day.isoformat()}",
            json=pushed_day(day),
            headers={"Authorization": f"Bearer {PUSH_TOKEN}"},
            verify=str(cert),
            timeout=ANSWER_S,
        )
        assert answer.status_code == 200, answer.text
        with pytest.raises(requests.ConnectionError):
            requests.put(endpoint.url.replace("https", "http") + f"/v1/push/appointments/{day}", timeout=ANSWER_S)
    finally:
        endpoint.stop()
        core.stop()
        store.close()


def test_a_certificate_without_its_key_is_a_config_problem_naming_the_line(tmp_path):
    cert, _ = self_signed(tmp_path)
    path = config_file(tmp_path, enabled="yes", tls_cert=cert)
    with pytest.raises(ConfigError, match=r"appliance\.conf:\d+: \[push\] tls_key: HTTPS needs both"):
        load_config(path)
