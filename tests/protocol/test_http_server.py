"""Our HTTP servers under idle and slow clients: a request still gets its answer, descriptors stay
bounded, and the journal gets one line with a count, not one per client."""

import asyncio
import logging
import socket
import threading

import pytest
import requests
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from appliance.protocol import http_server
from appliance.protocol.http_server import CLOSED_SLOW_CLIENTS, MAX_RECEIVING, BackgroundServer
from appliance.protocol.tally import Tally
from support import ANSWER_S, wait_for


async def hello(request):
    return PlainTextResponse("hello")


@pytest.fixture
def server():
    with BackgroundServer(Starlette(routes=[Route("/", hello)])) as server:
        yield server


def slow_client(server: BackgroundServer) -> socket.socket:
    """A client that connected and sent half a request's headers (a slowloris)."""
    client = socket.create_connection((server.host, server.port), timeout=ANSWER_S)
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    return client


def still_open(client: socket.socket) -> bool:
    try:
        return client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True  # nothing to read and not closed
    except OSError:
        return False  # reset


def test_a_request_is_answered_while_1100_slow_clients_hold_connections(server, caplog, monkeypatch):
    # A journal window of its own: a line another test's closed connections wrote a moment ago would hide this one's.
    monkeypatch.setattr(http_server, "_closed", Tally(http_server.log, CLOSED_SLOW_CLIENTS))
    slow = [slow_client(server) for _ in range(1100)]
    try:
        assert requests.get(server.url, timeout=ANSWER_S).text == "hello"
        wait_for(lambda: sum(map(still_open, slow)) <= MAX_RECEIVING, what="the oldest slow clients closed")
    finally:
        for client in slow:
            client.close()
    closed = [record for record in caplog.records if "did not send a request" in record.getMessage()]
    assert len(closed) == 1 and closed[0].levelno == logging.WARNING


def test_a_client_that_does_not_finish_its_request_in_time_is_closed(server, monkeypatch):
    monkeypatch.setattr(http_server, "REQUEST_DEADLINE_S", 0.2)
    client = slow_client(server)
    try:
        wait_for(lambda: not still_open(client), what="the slow client closed")
    finally:
        client.close()


def test_a_long_running_answer_is_not_cut_by_the_request_deadline(monkeypatch):
    """Long polls hold their answer for many seconds; the deadline is for receiving the request only."""
    loop_free, holding = threading.Event(), threading.Event()

    async def hold(request):  # blocks the server's event loop: meanwhile nothing is accepted or read
        holding.set()
        loop_free.wait(ANSWER_S)
        return PlainTextResponse("held")

    async def slow_answer(request):
        await asyncio.sleep(0.6)
        return PlainTextResponse("late")

    with BackgroundServer(Starlette(routes=[Route("/", slow_answer), Route("/hold", hold)])) as server:
        holder = threading.Thread(target=requests.get, args=(f"{server.url}/hold",), kwargs={"timeout": ANSWER_S})
        holder.start()
        wait_for(holding.is_set, what="the server's loop held")
        monkeypatch.setattr(http_server, "REQUEST_DEADLINE_S", 0.2)
        # The whole request is in before the server accepts it, so however slow this machine, it is received
        # within the deadline; its answer then takes three times the deadline.
        client = socket.create_connection((server.host, server.port), timeout=ANSWER_S)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        loop_free.set()
        answer = b"".join(iter(lambda: client.recv(4096), b""))
        client.close()
        holder.join(ANSWER_S)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"late")
