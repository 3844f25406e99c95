"""Running the reference backend: tokens from an access file or the environment (never the command line),
devices and counters registered by changing that file without a restart, HTTPS when given a certificate."""

import os
import subprocess
import sys

import pytest
import requests

from entrance_backend.access import AccessFile, AccessFileError, read_access
from support import ANSWER_S, free_port, serves, stop_process, wait_for

HEARTBEAT = {"version": "0.1.0", "roles": ["kiosk"], "outbox_pending": 0, "clock_ok": True, "components": []}


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_the_access_file_gives_devices_counters_and_tokens_also_from_token_files(tmp_path):
    write(tmp_path / "kiosk-1.token", "token-from-a-file-1\n")
    access = read_access(
        write(
            tmp_path / "access.toml",
            'staff_token = "staff-token-0001"\n[[device]]\nid = "kiosk-1"\ntoken_file = "kiosk-1.token"\n'
            '[[device]]\nid = "kiosk-nord"\nsite = "nord"\ntoken = "token-nord-00001"\n'
            '[[counter]]\nnumber = 3\ntoken = "counter-3-key-01"\nconcerns = ["leave"]\n',
        ),
        "mitte",
        environ={},
    )
    assert [(d.device, d.site, d.token) for d in access.devices] == [
        ("kiosk-1", "mitte", "token-from-a-file-1"),
        ("kiosk-nord", "nord", "token-nord-00001"),
    ]
    assert access.counter("counter-3-key-01").concerns == ("leave",) and access.counter("guess") is None
    assert access.staff_token == "staff-token-0001"
    assert "token" not in repr(access.devices[0]) and "counter-3-key" not in repr(access)


def test_the_staff_token_comes_from_the_environment_when_the_file_has_none(tmp_path):
    path = write(tmp_path / "access.toml", "")
    assert read_access(path, "mitte", environ={"ENTRANCE_STAFF_TOKEN": "from-the-env"}).staff_token == "from-the-env"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[[device]]\nid = 'Kiosk 1'\ntoken = 'token-kiosk-0001'\n", "[[device]] 1: id"),
        ("[[device]]\nid = 'kiosk-1'\ntoken = 'short'\n", "[[device]] 1 (kiosk-1): the token must be at least 12"),
        ("[[counter]]\nnumber = 0\ntoken = 'counter-key-0001'\n", "[[counter]] 1: number"),
        (
            "[[counter]]\nnumber = 1\ntoken = 'same-token-0001'\n[[counter]]\nnumber = 2\ntoken = 'same-token-0001'\n",
            "tokens of their own",
        ),
        (
            "[[counter]]\nnumber = 1\ntoken = 'counter-key-0001'\n"
            "[[counter]]\nnumber = 1\ntoken = 'counter-key-0002'\n",
            "counter ('mitte', 1) is listed twice",
        ),
        ("devices = 1\n", "unknown key(s) devices"),
        ("[[device]\n", "not valid TOML"),
        ("[[device]]\nid = 'kiosk-1'\ntoken_file = 'missing.token'\n", "token_file"),
    ],
)
def test_a_wrong_access_file_is_refused_naming_the_file_and_the_entry(tmp_path, text, says):
    path = write(tmp_path / "access.toml", text)
    with pytest.raises(AccessFileError) as refused:
        read_access(path, "mitte", environ={})
    assert str(refused.value).startswith(str(path)) and says in str(refused.value)


def test_a_changed_access_file_is_read_again_and_a_broken_one_keeps_the_access_before(tmp_path):
    path = write(tmp_path / "access.toml", "[[device]]\nid = 'kiosk-1'\ntoken = 'token-kiosk-0001'\n")
    now = [0.0]
    watched = AccessFile(path, "mitte", clock=lambda: now[0])
    write(
        path,
        "[[device]]\nid = 'kiosk-1'\ntoken = 'token-kiosk-0001'\n"
        "[[device]]\nid = 'kiosk-2'\ntoken = 'tk-2-000000001'\n",
    )
    os.utime(path, ns=(1, 2_000_000_000))
    assert watched.refresh() is None  # looked at once a second at most
    now[0] += 1.5
    assert [d.device for d in watched.refresh().devices] == ["kiosk-1", "kiosk-2"]
    write(path, "[[device]\n")
    now[0] += 1.5
    assert watched.refresh() is None and len(watched.access.devices) == 2


def serve(tmp_path, *options: str, env: dict | None = None):
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "entrance_backend.main",
            "serve",
            "--db",
            str(tmp_path / "b.db"),
            "--port",
            str(port),
            *options,
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {}),
    )
    return server, port


def stop(server) -> str:
    stop_process(server)
    return server.stderr.read()


@pytest.mark.slow
def test_a_device_added_to_the_access_file_is_served_without_a_restart_and_no_token_is_on_the_command_line(tmp_path):
    access = write(tmp_path / "access.toml", "[[device]]\nid = 'kiosk-1'\ntoken = 'token-kiosk-0001'\n")
    server, port = serve(tmp_path, "--access", str(access), env={"ENTRANCE_STAFF_TOKEN": "staff-token-0001"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: serves(f"{url}/openapi.json"), what="the backend to answer")
        command_line = open(f"/proc/{server.pid}/cmdline", "rb").read().decode()
        assert "token-kiosk-0001" not in command_line and "staff-token-0001" not in command_line

        def beat(device, token):
            return requests.post(
                f"{url}/v1/devices/{device}/heartbeat", json=HEARTBEAT, headers={"Authorization": f"Bearer {token}"}
            ).status_code

        assert beat("kiosk-1", "token-kiosk-0001") == 200 and beat("kiosk-2", "token-kiosk-0002") == 401
        write(access, access.read_text() + "[[device]]\nid = 'kiosk-2'\ntoken = 'token-kiosk-0002'\n")
        # Asked once a second until the file is read again: ten wrong tokens in a row would have the
        # address throttled, and then even the right one waits.
        wait_for(lambda: beat("kiosk-2", "token-kiosk-0002") == 200, what="kiosk-2 let in", every=1.0)
        assert server.poll() is None
    finally:
        log = stop(server)
    assert "read again: 2 device(s), 0 counter(s)" in log


@pytest.mark.slow
def test_serve_speaks_https_when_given_a_certificate_and_key(tmp_path):
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    access = write(tmp_path / "access.toml", "[[counter]]\nnumber = 3\ntoken = 'counter-3-key-01'\n")
    tls = ("--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))
    server, port = serve(tmp_path, *tls, "--access", str(access))
    url, certificate = f"https://127.0.0.1:{port}", str(tmp_path / "cert.pem")
    try:
        wait_for(lambda: serves(f"{url}/openapi.json", verify=certificate), what="HTTPS")
        assert "Zugangsschlüssel" in requests.get(f"{url}/counter", verify=certificate).text
        signed_in = requests.post(
            f"{url}/counter", data={"token": "counter-3-key-01"}, verify=certificate, allow_redirects=False
        )
        assert signed_in.status_code == 303 and "; secure" in signed_in.headers["set-cookie"].lower()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/counter", timeout=ANSWER_S)
    finally:
        log = stop(server)
    assert f"reference backend on https://127.0.0.1:{port}" in log


def test_serve_refuses_a_certificate_without_its_key(tmp_path, capsys):
    from entrance_backend.main import main

    assert main(["serve", "--db", str(tmp_path / "b.db"), "--tls-cert", str(tmp_path / "cert.pem")]) == 1
    assert "--tls-cert and --tls-key together" in capsys.readouterr().err


def test_register_adds_devices_and_counters_with_new_tokens_and_refuses_a_second_counter_3(tmp_path, capsys):
    from entrance_backend.main import main

    access = tmp_path / "access.toml"
    assert main(["register", "--access", str(access), "--device", "kiosk-3"]) == 0
    assert main(["register", "--access", str(access), "--counter", "3", "--concern", "leave"]) == 0
    key = capsys.readouterr().out.rsplit("its key for the counter page: ", 1)[1].strip()
    registered = read_access(access, "mitte", environ={})
    assert registered.devices[0].token == (tmp_path / "kiosk-3.token").read_text().strip()
    assert registered.counter(key).number == 3 and registered.counter(key).concerns == ("leave",)
    assert access.stat().st_mode & 0o777 == 0o600 and (tmp_path / "kiosk-3.token").stat().st_mode & 0o777 == 0o600
    before = access.read_text()
    assert main(["register", "--access", str(access), "--counter", "3"]) == 1
    assert "counter ('mitte', 3) is listed twice" in capsys.readouterr().err and access.read_text() == before
