"""The control socket as a specification: one JSON line in, one JSON line out, on a real Unix socket."""

import json
import os
import socket
import stat
import threading
import time
from datetime import UTC

import pytest

from appliance.app.control import ControlServer
from appliance.domain.errors import ApplianceError
from appliance.protocol.control import ControlError, DaemonNotRunning, request
from support import ANSWER_S

STATUS = {"device": "kiosk-7", "snapshot": {"waiting": [{"code": "A001", "concern": "leave"}]}}


@pytest.fixture
def socket_path(tmp_path):
    return tmp_path / "run" / "control.sock"


@pytest.fixture
def server(socket_path):
    server = ControlServer(socket_path, {"status": lambda request: STATUS})
    server.start()
    yield server
    server.close()


def exchange(path, data: bytes) -> bytes:
    """Send raw bytes as a client would, half-close, and read the whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(ANSWER_S)
        client.connect(str(path))
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer


def test_status_request_gets_the_handlers_answer_back_unchanged(server, socket_path):
    assert request(socket_path, "status", timeout=ANSWER_S) == STATUS


def test_each_request_is_one_json_line_and_each_answer_is_one_json_line(server, socket_path):
    answer = exchange(socket_path, b'{"request": "status"}\n')

    assert answer.endswith(b"\n") and answer.count(b"\n") == 1
    assert json.loads(answer) == {"ok": STATUS}


def test_unknown_request_gets_an_error_naming_the_known_requests(server, socket_path):
    assert json.loads(exchange(socket_path, b'{"request": "reboot"}\n')) == {"error": "unknown request; known: status"}
    with pytest.raises(ControlError, match="answered: unknown request; known: status"):
        request(socket_path, "reboot", timeout=ANSWER_S)


@pytest.mark.parametrize(
    "garbage",
    [b"not json\n", b"[1, 2]\n", b'{"no": "request"}\n', b"\xff\xfe\n", b"\n"],
    ids=["text", "json-list", "json-without-request", "invalid-utf8", "empty-line"],
)
def test_a_malformed_line_gets_an_error_answer(server, socket_path, garbage):
    assert "unknown request" in json.loads(exchange(socket_path, garbage))["error"]


def test_garbage_and_clients_hanging_up_early_do_not_stop_the_server(server, socket_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(socket_path))
        client.sendall(b"\xff" * 10_240)  # 10 KB, no newline, then gone without reading
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(socket_path))  # connects and leaves without a word
    exchange(socket_path, b"not json\n")

    assert request(socket_path, "status", timeout=ANSWER_S) == STATUS


def test_a_client_hanging_up_early_leaves_no_unprefixed_traceback_on_stderr(server, socket_path, capfd):
    # journald takes every stderr line as one entry; a multi-line traceback from the server
    # thread would arrive as a dozen entries without a priority.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(socket_path))
        client.sendall(b"\xff" * 10_240)
    assert request(socket_path, "status", timeout=ANSWER_S) == STATUS
    time.sleep(0.2)  # the first connection's thread writes its answer into the void by now

    assert capfd.readouterr().err == ""


def test_a_handler_that_fails_gives_an_error_answer_and_the_server_goes_on(socket_path):
    def broken(request):
        raise RuntimeError("database is locked")

    server = ControlServer(socket_path, {"status": lambda request: STATUS, "broken": broken})
    server.start()
    try:
        with pytest.raises(ControlError, match="database is locked"):
            request(socket_path, "broken", timeout=ANSWER_S)
        assert request(socket_path, "status", timeout=ANSWER_S) == STATUS
    finally:
        server.close()


def test_stale_socket_file_left_by_a_killed_daemon_is_replaced_on_start(socket_path):
    socket_path.parent.mkdir(parents=True)
    killed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    killed.bind(str(socket_path))  # bound, then the process "dies" without unlinking
    killed.close()
    assert socket_path.is_socket()
    with pytest.raises(DaemonNotRunning):
        request(socket_path, "status")

    server = ControlServer(socket_path, {"status": lambda request: STATUS})
    server.start()
    try:
        assert request(socket_path, "status", timeout=ANSWER_S) == STATUS
    finally:
        server.close()


def test_socket_file_is_mode_0660_so_only_the_service_user_and_group_connect(server, socket_path):
    info = os.stat(socket_path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660


def test_closing_the_server_removes_the_socket_file_and_clients_hear_it_is_not_running(socket_path):
    server = ControlServer(socket_path, {"status": lambda request: STATUS})
    server.start()
    server.close()

    assert not socket_path.exists()
    with pytest.raises(DaemonNotRunning, match=f"no daemon answers at {socket_path}"):
        request(socket_path, "status")


def test_a_second_server_refuses_to_take_over_a_live_socket(tmp_path):
    path = tmp_path / "control.sock"
    first = ControlServer(path, {"status": lambda request: "first"})
    first.start()
    try:
        with pytest.raises(ApplianceError, match="already answers"):
            ControlServer(path, {"status": lambda request: "second"})
        assert request(path, "status", timeout=ANSWER_S) == "first"
    finally:
        first.close()


def test_a_subscriber_gets_the_view_at_once_and_again_after_every_change_and_does_not_hold_up_the_stop(
    device_config,
):
    from datetime import datetime

    from appliance.app.daemon import Appliance
    from appliance.domain.clock import FakeClock
    from appliance.domain.commands import IssueTicket

    appliance = Appliance(device_config, clock=FakeClock(datetime(2026, 11, 25, 8, tzinfo=UTC)))
    appliance.start()
    stopping = threading.Thread(target=appliance.stop, name="stop", daemon=True)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(ANSWER_S)
            client.connect(str(device_config.core.control_socket))
            client.sendall(b'{"request": "subscribe"}\n')
            lines = client.makefile("rb")
            first = json.loads(lines.readline())
            assert first["device"] == "kiosk-1" and first["snapshot"]["waiting"] == []
            assert [c["prefix"] for c in first["concerns"]] == ["A", "C"]
            appliance.core.submit(IssueTicket("leave")).result(ANSWER_S)
            # Other changes (a component's health at start) may come first: each is a view of its own.
            views = [json.loads(lines.readline())]
            while not views[-1]["snapshot"]["waiting"] and len(views) < 20:
                views.append(json.loads(lines.readline()))
            assert [entry["code"] for entry in views[-1]["snapshot"]["waiting"]] == ["A001"]
            serials = [first["snapshot"]["serial"]] + [view["snapshot"]["serial"] for view in views]
            assert serials == sorted(set(serials))  # one view per change, in order

            # Stopped while the monitor still listens: the stop ends the subscription rather than waiting for it.
            stopping.start()
            stopping.join(ANSWER_S)
            assert not stopping.is_alive(), "the stop waited for the open subscription"
            lines.read()  # to its end: the daemon closed the subscription, the monitor hears it is gone
    finally:
        if stopping.ident is None:  # the test failed before the stop
            appliance.stop()
