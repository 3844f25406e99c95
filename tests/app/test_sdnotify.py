"""sd_notify against a real datagram socket bound where systemd would bind it."""

import logging
import os
import socket
import uuid

import pytest

from appliance.app.sdnotify import SystemdNotifier
from support import ANSWER_S


@pytest.fixture
def systemd_socket(tmp_path):
    """A bound datagram socket standing in for systemd; yields (NOTIFY_SOCKET value, socket)."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(ANSWER_S)
        yield str(path), sock


@pytest.fixture
def abstract_systemd_socket():
    name = f"entrance-appliance-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(ANSWER_S)
        yield "@" + name, sock


def received(sock):
    return sock.recv(4096).decode("utf-8")


def nothing_more_arrives(sock):
    sock.settimeout(0.05)
    with pytest.raises(TimeoutError):
        sock.recv(4096)
    return True


def test_ready_sends_ready_and_status_in_one_datagram(systemd_socket):
    address, sock = systemd_socket
    notifier = SystemdNotifier(environ={"NOTIFY_SOCKET": address})

    notifier.ready("Bereit: Drucker ok, Scanner ok")

    assert received(sock) == "READY=1\nSTATUS=Bereit: Drucker ok, Scanner ok"
    assert nothing_more_arrives(sock)


def test_ready_without_status_sends_only_ready(systemd_socket):
    address, sock = systemd_socket
    SystemdNotifier(address).ready()
    assert received(sock) == "READY=1"


def test_watchdog_sends_watchdog_1(systemd_socket):
    address, sock = systemd_socket
    SystemdNotifier(address).watchdog()
    assert received(sock) == "WATCHDOG=1"


def test_stopping_sends_stopping_1_with_optional_status(systemd_socket):
    address, sock = systemd_socket
    notifier = SystemdNotifier(address)

    notifier.stopping()
    notifier.stopping("Wird beendet")

    assert received(sock) == "STOPPING=1"
    assert received(sock) == "STOPPING=1\nSTATUS=Wird beendet"


def test_status_with_newlines_stays_one_status_line(systemd_socket):
    address, sock = systemd_socket
    SystemdNotifier(address).status("Drucker:\nPapier leer\r\nbitte wechseln")
    assert received(sock) == "STATUS=Drucker: Papier leer bitte wechseln"


def test_notify_sends_arbitrary_lines_as_one_datagram(systemd_socket):
    address, sock = systemd_socket
    SystemdNotifier(address).notify("EXTEND_TIMEOUT_USEC=5000000", "STATUS=Warte auf Uhrzeit")
    assert received(sock) == "EXTEND_TIMEOUT_USEC=5000000\nSTATUS=Warte auf Uhrzeit"


def test_status_keeps_umlauts_as_utf8(systemd_socket):
    address, sock = systemd_socket
    SystemdNotifier(address).status("Drucker geöffnet")
    assert sock.recv(4096) == "STATUS=Drucker geöffnet".encode()


def test_abstract_socket_name_with_at_sign_is_reached(abstract_systemd_socket):
    address, sock = abstract_systemd_socket
    notifier = SystemdNotifier(environ={"NOTIFY_SOCKET": address})

    notifier.ready("Bereit")
    notifier.watchdog()

    assert received(sock) == "READY=1\nSTATUS=Bereit"
    assert received(sock) == "WATCHDOG=1"


def test_socket_stays_open_between_notifications(systemd_socket):
    address, sock = systemd_socket
    notifier = SystemdNotifier(address)

    notifier.watchdog()
    first = notifier._socket
    notifier.watchdog()

    assert first is not None and notifier._socket is first
    assert [received(sock), received(sock)] == ["WATCHDOG=1", "WATCHDOG=1"]


def test_socket_is_created_only_when_first_needed(systemd_socket):
    address, _ = systemd_socket
    assert SystemdNotifier(address)._socket is None


def test_notifier_can_be_used_again_after_close(systemd_socket):
    address, sock = systemd_socket
    notifier = SystemdNotifier(address)

    notifier.watchdog()
    notifier.close()
    notifier.close()  # closing twice is harmless
    notifier.watchdog()

    assert [received(sock), received(sock)] == ["WATCHDOG=1", "WATCHDOG=1"]


def test_address_defaults_to_notify_socket_of_the_process(systemd_socket, monkeypatch):
    address, sock = systemd_socket
    monkeypatch.setenv("NOTIFY_SOCKET", address)

    notifier = SystemdNotifier()
    notifier.watchdog()

    assert notifier.enabled
    assert received(sock) == "WATCHDOG=1"


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}], ids=["unset", "empty"])
def test_without_notify_socket_the_notifier_is_disabled_and_every_call_is_a_no_op(environ):
    notifier = SystemdNotifier(environ=environ)

    assert not notifier.enabled
    notifier.ready("Bereit")
    notifier.status("x")
    notifier.watchdog()
    notifier.stopping("y")
    notifier.notify("FOO=1")
    notifier.close()
    assert notifier._socket is None


def test_explicit_none_disables_even_when_notify_socket_is_set(systemd_socket):
    address, sock = systemd_socket
    notifier = SystemdNotifier(None, environ={"NOTIFY_SOCKET": address})

    notifier.ready()

    assert not notifier.enabled
    assert nothing_more_arrives(sock)


def test_relative_notify_socket_is_ignored_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="appliance.app.sdnotify"):
        notifier = SystemdNotifier("notify.sock")
    assert not notifier.enabled
    assert "notify.sock" in caplog.text


def test_vanished_socket_does_not_raise_and_is_logged_once(tmp_path, caplog):
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = SystemdNotifier(str(path))
        notifier.watchdog()
    os.unlink(path)

    with caplog.at_level(logging.WARNING, logger="appliance.app.sdnotify"):
        notifier.watchdog()
        notifier.status("still running")
        notifier.stopping()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()


def test_socket_that_never_existed_does_not_raise(tmp_path):
    notifier = SystemdNotifier(str(tmp_path / "missing.sock"))
    notifier.ready("Bereit")
    notifier.watchdog()
    assert notifier.enabled


def test_warning_comes_again_after_notifications_recovered(tmp_path, caplog):
    path = tmp_path / "notify.sock"
    notifier = SystemdNotifier(str(path))
    with caplog.at_level(logging.WARNING, logger="appliance.app.sdnotify"):
        notifier.watchdog()  # not there yet: warning 1
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            notifier.watchdog()  # works again
        os.unlink(path)
        notifier.watchdog()  # gone again: warning 2
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_watchdog_interval_is_watchdog_usec_in_seconds_when_meant_for_this_process():
    notifier = SystemdNotifier(None, environ={"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())})
    assert notifier.watchdog_interval() == 30.0


def test_watchdog_interval_applies_when_watchdog_pid_is_unset():
    notifier = SystemdNotifier(None, environ={"WATCHDOG_USEC": "1500000"})
    assert notifier.watchdog_interval() == 1.5


def test_watchdog_interval_is_none_when_meant_for_another_process():
    notifier = SystemdNotifier(None, environ={"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert notifier.watchdog_interval() is None


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"WATCHDOG_PID": "1"},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "soon"},
        {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "me"},
    ],
    ids=["unset", "only-pid", "zero", "malformed-usec", "malformed-pid"],
)
def test_watchdog_interval_is_none_without_a_usable_watchdog_usec(environ):
    assert SystemdNotifier(None, environ=environ).watchdog_interval() is None
