"""The device's sync when things go wrong: a backend killed mid-batch, slow, answering 500s, garbage or
401, and the device itself killed mid-delivery. Afterwards the backend holds every event exactly once,
in the order the device recorded them, and the device's outbox is empty.
"""

import http.server
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from urllib3.exceptions import InsecureRequestWarning

from appliance.domain.commands import Health, IssueTicket, RecordEvent, ReportHealth
from appliance.domain.component import ComponentName
from appliance.domain.state import StateStore
from appliance.sync.client import BackendClient, BackendUnreachable, retry_after_seconds
from entrance_backend.store import Sender
from support import ANSWER_S, CLOCK, REPO_ROOT, free_port
from support.sync import (
    STAFF,
    TOKEN,
    Central,
    Device,
    answer,
    assert_held_once_in_order,
    cut_after_apply,
    delivered,
    held_back,
    json_mangled,
    local_now,
    slow,
    wait_for,
    write_config,
)

EVENTS = "/events$"


@pytest.fixture
def central(tmp_path, backend_database):
    central = Central(tmp_path, database=backend_database).start()
    yield central
    central.stop()


def test_a_backend_killed_mid_batch_ends_with_every_event_once(tmp_path, central):
    central.stop()
    device = Device(tmp_path, central.url, batch_size=10, numbering={"fallback_size": 100}).holds_block(1).start()
    try:
        for number in range(150):
            device.issue("leave" if number % 2 else "documents")
        central.gate.fault("POST", EVENTS, slow(0.02), times=None)  # a batch takes a moment: room to kill
        central.gate.fault("POST", EVENTS, cut_after_apply(), times=2)
        for held in (40, 90):
            central.start()
            wait_for(lambda: central.count() >= held, what=f"{held} events at the backend")  # noqa: B023 (waited on before the loop moves on)
            central.stop()  # in the middle of the stream of batches
            time.sleep(0.2)
        central.gate.clear()
        central.start()
        delivered(device)
        sent = device.delivered_events()
    finally:
        device.stop()
    assert_held_once_in_order(central, device, sent)
    assert len([kind for _, kind in sent if kind == "ticket_issued"]) == 150


def test_the_outbox_marks_delivered_only_what_the_backend_confirmed(tmp_path, central):
    central.stop()
    device = Device(tmp_path, central.url).holds_block(1).start()
    try:
        for _ in range(3):
            device.issue("leave")
        recorded = device.events()

        def confirm_the_first_only(document):
            document["accepted"], document["duplicates"] = document["accepted"][:1], []

        central.gate.fault("POST", EVENTS, json_mangled(confirm_the_first_only), times=1)
        central.gate.fault("POST", EVENTS, answer(503), times=None)
        central.start()
        wait_for(lambda: central.gate.arrived("POST", EVENTS) >= 2, what="the batch, then its unconfirmed part again")
        assert len(recorded) >= 3 and device.delivered_events() == recorded[:1]
        central.gate.clear()
        delivered(device)
        sent = device.delivered_events()
    finally:
        device.stop()
    assert_held_once_in_order(central, device, sent)


def test_a_slow_backend_times_out_and_the_retry_changes_nothing_twice(tmp_path, central, caplog):
    late = threading.Event()
    central.gate.fault("POST", EVENTS, held_back(late), times=2)  # it does the work, then answers too late
    device = Device(tmp_path, central.url, timeout="1s").start()
    try:
        for _ in range(5):
            device.issue("leave")
        # A third upload comes only after the device gave up on the second: both held answers came too late.
        wait_for(lambda: central.gate.arrived("POST", EVENTS) >= 3, what="two uploads given up, then a third")
        late.set()
        delivered(device)
        sent = device.delivered_events()
    finally:
        late.set()
        device.stop()
    assert_held_once_in_order(central, device, sent)
    assert "no answer within 1 s" in caplog.text


def test_500s_are_retried_and_a_retry_after_is_waited(tmp_path, central):
    central.gate.fault("POST", EVENTS, answer(500), times=3)
    central.gate.fault("POST", EVENTS, answer(503, headers=[(b"retry-after", b"2")]), times=1)
    device = Device(tmp_path, central.url).start()
    try:
        device.issue("leave")
        delivered(device)
        sent = device.delivered_events()
    finally:
        device.stop()
    assert_held_once_in_order(central, device, sent)
    uploads = [e for e in central.gate.exchanges if e[0] == "POST" and e[1].endswith("/events")]
    assert [e[3] for e in uploads[:5]] == [500, 500, 500, 503, 200]
    assert uploads[4][4] - uploads[3][4] >= 2.0  # Retry-After: 2


def test_garbage_answers_are_not_taken_for_delivery(tmp_path, central, caplog):
    central.gate.fault("POST", EVENTS, answer(200, b'{"accepted": "all of them"}'), times=1)
    central.gate.fault("POST", EVENTS, answer(200, b'["A001", "A002"]'), times=1)
    central.gate.fault(
        "POST", EVENTS, answer(200, b"<html>Service Unavailable</html>", content_type=b"text/html"), times=2
    )
    central.gate.fault("GET", "/calls$", answer(200, b'{"cursor": 5, "calls": "none"}'), times=3)
    device = Device(tmp_path, central.url).start()
    try:
        for _ in range(3):
            device.issue("leave")
        delivered(device)
        sent = device.delivered_events()
        wait_for(lambda: central.gate.arrived("GET", "/calls$", "after=") >= 1, what="the calls feed going on")
        assert central.call(counter=7, code="A002").status_code == 201
        wait_for(lambda: "A002" in {c.code for c in device.core.snapshot.recent_calls}, what="A002 called")
    finally:
        device.stop()
    assert_held_once_in_order(central, device, sent)
    assert (
        "backend answers malformed data (outbox): POST events: the answer has no 'accepted' and 'duplicates' lists"
    ) in caplog.text
    assert "backend answers malformed data (calls)" in caplog.text
    assert "sync outbox failed" not in caplog.text  # each is malformed data, none a crash of the sync


def test_a_wrong_token_is_reported_and_never_logged_and_nothing_counts_as_delivered(tmp_path, central, caplog):
    wrong = "wrong-token-6f1d2e-SHOULD-NEVER-BE-LOGGED"
    device = Device(tmp_path, central.url, token=wrong).holds_block(1).start()
    try:
        assert device.issue("leave").code == "A975"  # the kiosk works all the same, from its fallback block
        health = wait_for(lambda: (h := device.health()) and h.state == Health.DEGRADED and h)
        assert health.detail.startswith("refuses this device's token since"), health.detail
        assert "401 unauthorized" in health.detail
        time.sleep(0.3)
        assert device.core.snapshot.outbox_pending >= 1
        assert central.events() == []
    finally:
        device.stop()
    assert wrong not in caplog.text and TOKEN not in caplog.text and STAFF not in caplog.text
    assert repr(device.sync._clients["outbox"].session.auth) == "_BearerAuth('********')"


def test_a_key_the_backend_holds_with_other_content_is_found_and_the_rest_delivered(tmp_path, central, caplog):
    device = Device(tmp_path, central.url).holds_block(1)
    for _ in range(6):
        device.core.apply(IssueTicket("leave"))
    keys = [key for key, _ in device.events()]
    central.store.apply_events(
        Sender("kiosk-1"),
        "mitte",
        [  # an older version of the device sent key 3 differently
            {
                "key": keys[3],
                "kind": "ticket_issued",
                "created_at": CLOCK.now().isoformat(),
                "body": {"day": local_now().date().isoformat(), "concern": "leave", "number": 99, "code": "A099"},
            }
        ],
        CLOCK.now(),
    )
    device.start()
    try:
        delivered(device)
    finally:
        device.stop()
    held = [e["key"] for e in central.events()]
    assert len(held) == len(set(held)) and set(keys) <= set(held)
    assert f"the backend holds event {keys[3]} with other content" in caplog.text


def test_an_event_the_document_would_refuse_goes_as_invalid_event_with_its_original(tmp_path, central, caplog):
    device = Device(tmp_path, central.url).start()
    try:
        device.do(RecordEvent("ticket_issued", {"code": "A001", "note": "a device bug"}))
        device.issue("leave")
        delivered(device)
    finally:
        device.stop()
    kinds = [(e["kind"], e["body"].get("original_kind")) for e in central.events()]
    assert kinds[:2] == [("invalid_event", "ticket_issued"), ("ticket_issued", None)]
    assert central.events()[0]["body"]["original_body"] == {"code": "A001", "note": "a device bug"}
    assert "does not fit the protocol" in caplog.text


CHILD = """
import sys, time
from datetime import datetime
from support import RunningClock
from appliance.app.config import load_config
from appliance.domain.core import Core
from appliance.domain.state import StateStore
from appliance.sync.device_sync import DeviceSync

config = load_config(sys.argv[1])
store = StateStore(config.state.database)
clock = RunningClock(datetime.fromisoformat(sys.argv[2]))  # the parent's test clock, running on
core = Core(config, store, clock)
core.start()
sync = DeviceSync(core, config, clock, retry_first_s=0.05, retry_most_s=0.5)
sync.start()
while core.snapshot.outbox_pending:
    time.sleep(0.01)
sync.stop()
core.stop()
store.close()
print("delivered", flush=True)
"""


@pytest.mark.slow
def test_a_device_killed_mid_delivery_delivers_every_event_once_after_restarts(tmp_path, central):
    blocks = {"fallback_size": 200}
    config = write_config(tmp_path, central.url, batch_size=20, numbering=blocks)
    device = Device(tmp_path, central.url, batch_size=20, numbering=blocks).holds_block(1)  # filled while offline
    for number in range(300):
        device.core.apply(IssueTicket("leave" if number % 2 else "documents"))
    sent = device.events()
    device.store.close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "tests")]))
    for held in (60, 150, 240):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(config), CLOCK.now().isoformat()], env=env, stdout=subprocess.PIPE
        )
        try:
            wait_for(lambda: central.count() >= held, what=f"{held} events delivered")  # noqa: B023 (waited on before the loop moves on)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, str(config), CLOCK.now().isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0 and finished.stdout.strip() == "delivered", finished.stderr
    assert_held_once_in_order(central, device, sent)
    store = StateStore(tmp_path / "state.db")
    try:
        assert store.integrity_check() == "ok"
        # Only a wait estimate recorded in the child's last moment may still wait for the next start.
        assert {e.kind for e in store.undelivered_events(100)} <= {"wait_estimate"}
    finally:
        store.close()


# --- the client's timing rules -------------------------------------------------------------------


def test_a_sync_restarted_during_an_outage_reports_the_outage_again(tmp_path):
    device = Device(tmp_path, f"http://127.0.0.1:{free_port()}").start()  # nothing listens there
    try:
        channels = ["outbox", "calls", "office", "heartbeat", "appointments"]
        channels += ["block"] if "kiosk" in device.config.device.roles else []
        wait_for(lambda: all(device.sync.health.down_since(c) for c in channels), what="every channel down")
        outage = device.health().detail
        assert device.health().state is Health.DEGRADED and "unreachable since" in outage
        device.sync.stop()
        # What the supervisor reports while a sync thread died of a bug and waits to be started again.
        device.do(ReportHealth(ComponentName.BACKEND, Health.FAILED, "sync-outbox: RuntimeError: a bug"))
        device.sync.start()
        # The outage is the same one, so no new failure would report it: the restart says it at once.
        wait_for(lambda: device.health_is(Health.DEGRADED), what="the outage reported again")
        assert device.health().detail == outage
    finally:
        device.stop()


def test_retry_after_is_read_as_seconds_or_as_a_date_on_the_servers_clock():
    server_now = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120
    assert (
        retry_after_seconds(format_datetime(server_now + timedelta(seconds=90), usegmt=True), server_date=server_now)
        == 90
    )  # the device's own clock may be years off
    assert retry_after_seconds("999999") == 3600
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_is_verified_against_the_configured_ca_bundle(tmp_path):
    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.now(UTC)  # the certificate is checked against the real clock by the TLS library
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Jobcenter CA"))
        .issuer_name(name("Jobcenter CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(name("backend"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"cursor": "x-1", "calls": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        trusting = BackendClient(url, TOKEN, timeout=ANSWER_S, ca_bundle=tmp_path / "ca.pem")
        assert trusting.call("GET", "/v1/sites/mitte/calls").body == {"cursor": "x-1", "calls": []}
        with pytest.raises(BackendUnreachable, match=r"TLS failed .*: check \[backend\] ca_bundle"):
            BackendClient(url, TOKEN, timeout=ANSWER_S).call("GET", "/v1/sites/mitte/calls")
        with pytest.warns(InsecureRequestWarning):
            assert (
                BackendClient(url, TOKEN, timeout=ANSWER_S, verify_tls=False)
                .call("GET", "/v1/sites/mitte/calls")
                .status
                == 200
            )
    finally:
        server.shutdown()
