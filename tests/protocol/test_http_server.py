"""Our HTTP servers under idle and slow clients: a request still gets its answer, descriptors stay
bounded, and the journal gets one line with a count, not one per client."""

import logging
import socket

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from appliance.protocol import http_server
from appliance.protocol.http_server import MAX_RECEIVING, BackgroundServer
from support import wait_for


async def hello(request):
    return PlainTextResponse("hello")


@pytest.fixture
def server():
    with BackgroundServer(Starlette(routes=[Route("/", hello)])) as server:
        yield server


def slow_client(server: BackgroundServer) -> socket.socket:
    """A client that connected and sent half a request's headers (a slowloris)."""
    client = socket.create_connection((server.host, server.port), timeout=5)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    return client


def still_open(client: socket.socket) -> bool:
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True  # nothing to read and not closed
    except OSError:
        return False  # reset


def test_a_request_is_answered_while_1100_slow_clients_hold_connections(server, caplog):
    slow = [slow_client(server) for _ in range(1100)]
    try:
        assert requests.get(server.url, timeout=5).text == "hello"
        wait_for(lambda: sum(map(still_open, slow)) <= MAX_RECEIVING, timeout=10)
    finally:
        for client in slow:
            client.close()
    closed = [record for record in caplog.records if "did not send a request" in record.getMessage()]
    assert len(closed) == 1 and closed[0].levelno == logging.WARNING


def test_a_client_that_does_not_finish_its_request_in_time_is_closed(server, monkeypatch):
    monkeypatch.setattr(http_server, "REQUEST_DEADLINE_S", 0.2)
    client = slow_client(server)
    try:
        wait_for(lambda: not still_open(client), timeout=10)
    finally:
        client.close()


def test_a_long_running_answer_is_not_cut_by_the_request_deadline(monkeypatch):
    """Long polls hold their answer for many seconds; the deadline is for receiving the request only."""
    import asyncio

    async def slow_answer(request):
        await asyncio.sleep(0.6)
        return PlainTextResponse("late")

    monkeypatch.setattr(http_server, "REQUEST_DEADLINE_S", 0.2)
    with BackgroundServer(Starlette(routes=[Route("/", slow_answer)])) as server:
        assert requests.get(server.url, timeout=5).text == "late"
