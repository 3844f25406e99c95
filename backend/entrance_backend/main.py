"""The reference central backend: the whole sync protocol over HTTP, on a SQLite file or PostgreSQL.

Integrators and the demo run it as a program; the tests run it in-process (BackgroundBackend).
``main(argv)`` is its command line: serve, call (a counter calls), book and seed (appointments), push,
events (what a device sent). The layers: store.py over database.py, http.py (the operations), and the
protocol's document (appliance.protocol).
"""

import argparse
import functools
import json
import logging
import os
import random
import secrets
import signal
import socket
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.protocol.contract import Contract, timestamp
from appliance.protocol.http_server import BackgroundServer, Server, server_config
from entrance_backend.access import (
    STAFF_TOKEN_VARIABLE,
    AccessFile,
    AccessFileError,
    CounterAccess,
    register_counter,
    register_device,
)
from entrance_backend.database import describe, errors, is_postgresql
from entrance_backend.http import DEFAULT_SITE, Backend, DeviceAccess, Settings
from entrance_backend.pages import WAIT_PAGE_REFRESH_S
from entrance_backend.service import BackendService
from entrance_backend.store import BackendRefusal, BackendStore
from entrance_backend.workers import STOP_SIGNALS, StopAsked, serve_workers, stop_at_once

__all__ = ["BackgroundBackend", "Backend", "CounterAccess", "DeviceAccess", "Settings", "demo_appointments", "main"]

DEFAULT_PORT = 8470
NAME = Contract.load().pattern("Name")  # device and site names: the protocol's, which the devices' config shares


# How long a start or stop may take: the tests' and benchmarks' machines are shared and stall for seconds;
# only a start or stop that fails waits it out.
SERVER_PATIENCE_S = 60.0


class BackgroundBackend:
    """The reference backend in a thread on 127.0.0.1 and a free port: for tests and benchmarks.

    with BackgroundBackend(settings) as backend: requests.get(backend.url + "/openapi.json")
    """

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = 0,
        counters: tuple[CounterAccess, ...] = (),
        wait_page_refresh_s: int = WAIT_PAGE_REFRESH_S,
    ):
        self.backend = Backend(settings)
        self.store = self.backend.store
        self.service = BackendService(self.backend, counters=counters, wait_page_refresh_s=wait_page_refresh_s)
        self._server = BackgroundServer(self.service, host, port, on_stop=self.backend.stopping)
        self.url, self.port = self._server.url, self._server.port

    def start(self) -> "BackgroundBackend":
        self._server.start(timeout=SERVER_PATIENCE_S)
        return self

    def stop(self) -> None:
        self._server.stop(timeout=SERVER_PATIENCE_S)
        self.store.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


# --- demo data ---------------------------------------------------------------------------------

_REFERENCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed


def demo_appointments(
    site: str,
    day: str,
    count: int,
    concerns: list[str],
    rng: random.Random,
    first_code: int = 1,
    cancelled_share: float = 0.1,
) -> list[dict]:
    """``count`` bookings in the morning's slots (07:30-12:00 every 10 min), some cancelled."""
    slots = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(7 * 60 + 30, 12 * 60, 10)]
    appointments = []
    for index, slot in enumerate(sorted(rng.choice(slots) for _ in range(count))):
        appointments.append(
            {
                "id": f"apt-{day.replace('-', '')}-{rng.getrandbits(40):010x}",
                "site": site,
                "day": day,
                "slot": slot,
                "concern": rng.choice(concerns),
                "display_code": f"T{first_code + index:03d}",
                "reference": "".join(rng.choice(_REFERENCE_LETTERS) for _ in range(6)),
                "status": "cancelled" if rng.random() < cancelled_share else "booked",
            }
        )
    return appointments


# --- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """entrance-backend {serve, register, call, book, seed, push, events}."""
    parser = argparse.ArgumentParser(
        prog="entrance-backend", description="The reference central backend of the sync protocol."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the protocol over HTTP")
    serve.add_argument("--db", type=_database, required=True, help=DATABASE_HELP)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="backend processes serving the one address (default 1); more than one needs a PostgreSQL --db, "
        "whose notices wake each process's long polls at the others' changes",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--access",
        type=Path,
        metavar="FILE",
        help="the access file (TOML, mode 0600): devices, counters and their tokens, the staff token; read "
        f"again when it changes. Tokens never go on the command line. Staff token else ${STAFF_TOKEN_VARIABLE}, "
        "else a new one is printed",
    )
    serve.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS with this certificate (and --tls-key)")
    serve.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's private key")
    serve.add_argument(
        "--site", type=_name, default=DEFAULT_SITE, help=f"the site devices belong to (default {DEFAULT_SITE})"
    )
    serve.add_argument("--timezone", default="Europe/Berlin", help="the sites' time zone (default Europe/Berlin)")
    serve.add_argument(
        "--rate-limit",
        type=float,
        default=50.0,
        help="requests per second per caller; beyond 10 wrong tokens, one try per 10 s per address (0: both off)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        help="requests served at once, beyond them 503 (default: half the open-files limit, which the backend "
        "raises to its hard limit; each device holds two long polls and sends its events and health on two more)",
    )
    serve.add_argument(
        "--clock-start",
        type=_moment,
        metavar="ISO-TIME",
        help="the backend's clock reads this at start and runs on from there (replays); default: the real time",
    )
    serve.add_argument(
        "--clock-file",
        type=Path,
        metavar="FILE",
        help="the backend's clock reads the ISO time in FILE and runs on from when it was written; another "
        "program moves it (the demo's simulated day, so waits follow the pace of its calls); default: the real time",
    )
    register = commands.add_parser(
        "register", help="add a device or a counter with a new token to the access file (a serving backend follows)"
    )
    register.add_argument(
        "--access", type=Path, required=True, metavar="FILE", help="the access file (created if missing)"
    )
    register.add_argument("--site", type=_name, default=DEFAULT_SITE)
    whom = register.add_mutually_exclusive_group(required=True)
    whom.add_argument("--device", type=_name, help="a device id: its token goes to ID.token beside the access file")
    whom.add_argument("--counter", type=int, metavar="NUMBER", help="a counter: its key is printed once")
    register.add_argument("--concern", action="append", default=[], help="with --counter: a concern it serves")
    call = commands.add_parser(
        "call", help="a counter calls a code (again: a recall) or the next visitor, marks not come, or transfers"
    )
    call.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}")
    call.add_argument("--site", type=_name, default=DEFAULT_SITE)
    call.add_argument("--counter", type=int, help="the calling counter; with --transfer: call them there at once")
    which = call.add_mutually_exclusive_group(required=True)
    which.add_argument("--code", help="the ticket or appointment code, e.g. A042 (called before: a recall)")
    which.add_argument("--next", action="store_true", help="the next one waiting")
    which.add_argument("--not-come", metavar="CODE", help="mark this called or waiting visitor as not come")
    which.add_argument("--transfer", metavar="CODE", help="hand this visitor to --concern and/or --counter")
    call.add_argument(
        "--concern", action="append", help="with --next: only these concerns; with --transfer: the new concern"
    )
    call.add_argument(
        "--token",
        default=os.environ.get("ENTRANCE_STAFF_TOKEN"),
        help="the staff token (default: $ENTRANCE_STAFF_TOKEN)",
    )
    book = commands.add_parser("book", help="book appointments from a JSON file")
    book.add_argument("--db", type=_database, required=True, help=DATABASE_HELP)
    book.add_argument("--site", type=_name, default=DEFAULT_SITE)
    book.add_argument(
        "--file",
        type=Path,
        required=True,
        help="a JSON list of appointments as the protocol writes them (id, day, slot, concern, "
        "display_code, reference; status optional); the site is --site",
    )
    seed = commands.add_parser("seed", help="add demo appointments to a database")
    seed.add_argument("--db", type=_database, required=True, help=DATABASE_HELP)
    seed.add_argument("--site", type=_name, default=DEFAULT_SITE)
    seed.add_argument("--day", default="today", help="YYYY-MM-DD, today or tomorrow")
    seed.add_argument("--count", type=int, default=40)
    seed.add_argument(
        "--concerns",
        default="first-application,leave,documents",
        help="comma-separated concern names, as in the devices' config",
    )
    seed.add_argument("--timezone", default="Europe/Berlin")
    seed.add_argument("--seed", type=int, help="random seed, for the same data every time")
    push = commands.add_parser("push", help="push a day's appointments to a device's push endpoint")
    push.add_argument("--db", type=_database, required=True, help=DATABASE_HELP)
    push.add_argument("--site", type=_name, default=DEFAULT_SITE)
    push.add_argument("--day", default="today", help="YYYY-MM-DD, today or tomorrow")
    push.add_argument("--timezone", default="Europe/Berlin")
    push.add_argument("--url", required=True, help="the device's push endpoint, e.g. https://kiosk-mitte-1:8471")
    push.add_argument(
        "--token",
        default=os.environ.get("ENTRANCE_PUSH_TOKEN"),
        help="the device's push token (default: $ENTRANCE_PUSH_TOKEN)",
    )
    push.add_argument("--ca-bundle", help="CA bundle to verify the device's TLS certificate")
    events = commands.add_parser("events", help="the events a device sent, one JSON object a line, in order")
    events.add_argument("--db", type=_database, required=True, help=DATABASE_HELP)
    events.add_argument("--device", type=_name, required=True)
    options = parser.parse_args(argv)
    try:
        return {
            "serve": _serve,
            "register": _register,
            "call": _call,
            "book": _book,
            "seed": _seed,
            "push": _push,
            "events": _events,
        }[options.command](options)
    except (BackendRefusal, AccessFileError, ValueError, OSError, *errors()) as error:
        print(f"entrance-backend: {error}", file=sys.stderr)
        return 1


DATABASE_HELP = (
    "a SQLite file (created if missing) or a PostgreSQL URL, postgresql://USER@HOST/DATABASE (its password from "
    "PGPASSWORD or ~/.pgpass, never the command line)"
)


def _database(text: str) -> Path | str:
    return text if is_postgresql(text) else Path(text)


def _name(text: str) -> str:
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use 1 to 32 lower-case letters, digits and dashes, as in the devices' config"
        )
    return text


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: write a time with its offset, e.g. 2026-03-09T07:30:00+01:00")
    return moment


def _clock_from(start: datetime):
    """A clock that reads ``start`` now and then runs on in real time."""
    offset = start - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


def _clock_in(path: Path):
    """A clock set by the moment written in ``path`` and running on in real time from when it was written,
    as the demo's devices' clocks do."""

    def now() -> datetime:
        with open(path, encoding="ascii") as file:
            written = os.fstat(file.fileno()).st_mtime
            moment = _moment(file.read().strip())
        return moment + timedelta(seconds=max(0.0, time.time() - written))

    return now


def _day(text: str, zone: str) -> date:
    today = datetime.now(ZoneInfo(zone)).date()
    return {"today": today, "tomorrow": today + timedelta(days=1)}.get(text) or date.fromisoformat(text)


def _serve(options) -> int:
    # The backend's own lines (calls, access file read again, alarms) beside uvicorn's, as uvicorn writes them.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    if bool(options.tls_cert) != bool(options.tls_key):
        raise ValueError("give --tls-cert and --tls-key together")
    if options.workers < 1 or (options.workers > 1 and not is_postgresql(options.db)):
        raise ValueError("--workers above 1 needs a PostgreSQL --db: a SQLite file has one writing process")
    access_file = AccessFile(options.access, options.site) if options.access else None
    staff_token = access_file.access.staff_token if access_file else os.environ.get(STAFF_TOKEN_VARIABLE)
    if not staff_token:
        staff_token = secrets.token_urlsafe(24)  # before the workers start: one for all of them
        print(f"staff token (for 'call'): {staff_token}", file=sys.stderr)
    devices = access_file.access.devices if access_file else ()
    counters = len(access_file.access.counters) if access_file else 0
    tls = {"ssl_certfile": str(options.tls_cert), "ssl_keyfile": str(options.tls_key)} if options.tls_cert else {}
    print(
        f"reference backend on http{'s' * bool(tls)}://{options.host}:{options.port} (document: /openapi.json, "
        f"counter page: /counter, wait pages: /w/{options.site}), site {options.site}, {len(devices)} device(s), "
        f"{counters} counter(s), database {describe(options.db)}"
        + (f", {options.workers} worker processes" if options.workers > 1 else ""),
        file=sys.stderr,
    )
    # An asked-for stop ends with exit code 0, as the appliance's daemon does: at once while the backend still
    # starts (e.g. waits for its database), gracefully once uvicorn serves.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, stop_at_once)
    try:
        if options.workers == 1:
            _serve_worker(options, staff_token, tls, host=options.host, port=options.port)
        else:
            listening = socket.create_server((options.host, options.port))
            listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as BackgroundServer says why
            serve_one = functools.partial(_serve_worker, options, staff_token, tls, sockets=[listening])
            serve_workers(listening, options.workers, serve_one)
    except StopAsked:
        pass
    print("reference backend stopped", file=sys.stderr)
    return 0


def _serve_worker(options, staff_token: str, tls: dict, **listen) -> None:
    """One backend process: its own database connections and long polls, on ``listen`` (host and port, or
    the sockets it shares with the other workers)."""
    sockets = listen.pop("sockets", None)
    access_file = AccessFile(options.access, options.site) if options.access else None
    settings = Settings(
        options.db,
        access_file.access.devices if access_file else (),
        staff_token,
        options.site,
        options.timezone,
        options.rate_limit,
        **({"clock": _clock_from(options.clock_start)} if options.clock_start else {}),
        **({"clock": _clock_in(options.clock_file)} if options.clock_file else {}),
    )
    backend = Backend(settings)
    service = BackendService(backend, access_file)
    config = server_config(service, options.max_connections, **listen, **tls)
    try:
        Server(config, on_stop=backend.stopping).run(sockets=sockets)
    finally:
        backend.store.close()


def _register(options) -> int:
    if options.device:
        token_path = register_device(options.access, options.device, options.site)
        print(f"{options.device} ({options.site}) registered; its token is in {token_path}: copy it to the device")
    else:
        key = register_counter(options.access, options.site, options.counter, tuple(options.concern))
        print(f"counter {options.counter} ({options.site}) registered; its key for the counter page: {key}")
    return 0


def _call(options) -> int:
    import requests  # only this subcommand is an HTTP client

    if not options.token:
        print("entrance-backend call: no staff token: give --token or set ENTRANCE_STAFF_TOKEN", file=sys.stderr)
        return 2
    if (options.code or options.next) and options.counter is None:
        print("entrance-backend call: --code and --next need --counter", file=sys.stderr)
        return 2
    if options.not_come:
        body = {"code": options.not_come, "not_come": True}
    elif options.transfer:
        to = {"concern": options.concern[-1]} if options.concern else {}
        body = {"code": options.transfer, "transfer": to | ({"counter": options.counter} if options.counter else {})}
    elif options.next:
        body = {"counter": options.counter, "next": True, **({"concerns": options.concern} if options.concern else {})}
    else:
        body = {"counter": options.counter, "code": options.code}
    try:
        answer = requests.post(
            f"{options.url.rstrip('/')}/v1/sites/{options.site}/calls",
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {options.token}"},
        )
    except requests.RequestException as error:
        print(f"entrance-backend call: {options.url} does not answer: {error}", file=sys.stderr)
        return 1
    if answer.status_code not in (200, 201):
        print(f"entrance-backend call: {answer.status_code}: {_message(answer)}", file=sys.stderr)
        return 1
    call = answer.json()
    if "state" in call:
        print(f"{call['code']}: {call['state'].replace('_', ' ')} ({call['kind']}, {call['concern']})")
    else:
        print(f"{call['code']} -> counter {call['counter']} ({call['kind']})")
    return 0


def _book(options) -> int:
    """All of the file's appointments or none: each is checked against the protocol's Appointment first."""
    now = datetime.now(UTC)
    appointments = json.loads(options.file.read_text(encoding="utf-8"))
    if not isinstance(appointments, list):
        raise ValueError(f"{options.file}: expected a JSON list of appointments")
    schema = Contract.load().schema_validator("Appointment")
    booked = [
        {"status": "booked", **item, "site": options.site, "updated_at": timestamp(now)}
        if isinstance(item, dict)
        else item
        for item in appointments
    ]
    for index, item in enumerate(booked):
        problem = next(iter(schema.iter_errors(item)), None)
        if problem is not None:
            raise ValueError(f"{options.file}: appointment {index + 1}: {problem.message}")
    store = BackendStore(options.db)
    try:
        store.add_appointments(booked, now)
    finally:
        store.close()
    print(f"{len(booked)} appointments booked for {options.site}")
    return 0


def _seed(options) -> int:
    day = _day(options.day, options.timezone)
    if not 1 <= options.count <= 5000:
        raise ValueError("--count must be between 1 and 5000")
    store = BackendStore(options.db)
    try:
        _, existing = store.appointment_day(options.site, day.isoformat())
        concerns = [name.strip() for name in options.concerns.split(",") if name.strip()]
        appointments = demo_appointments(
            options.site,
            day.isoformat(),
            options.count,
            concerns,
            random.Random(options.seed),
            first_code=len(existing) + 1,
        )
        store.add_appointments(appointments, datetime.now(UTC))
    finally:
        store.close()
    cancelled = sum(1 for a in appointments if a["status"] == "cancelled")
    print(
        f"{len(appointments)} appointments for {options.site} on {day} "
        f"({appointments[0]['display_code']}-{appointments[-1]['display_code']}, {cancelled} cancelled)"
    )
    return 0


def _push(options) -> int:
    """The whole day list in one PUT: the device applies it whole or not at all."""
    import requests

    if not options.token:
        print("entrance-backend push: no push token: give --token or set ENTRANCE_PUSH_TOKEN", file=sys.stderr)
        return 2
    day = _day(options.day, options.timezone).isoformat()
    store = BackendStore(options.db)
    try:
        _, appointments = store.appointment_day(options.site, day)
    finally:
        store.close()
    try:
        answer = requests.put(
            f"{options.url.rstrip('/')}/v1/push/appointments/{day}",
            timeout=30,
            json={"site": options.site, "day": day, "appointments": appointments},
            headers={"Authorization": f"Bearer {options.token}"},
            verify=options.ca_bundle or True,
        )
    except requests.RequestException as error:
        print(f"entrance-backend push: {options.url} does not answer: {error}", file=sys.stderr)
        return 1
    if answer.status_code != 200:
        print(f"entrance-backend push: {answer.status_code}: {_message(answer)}", file=sys.stderr)
        return 1
    print(
        f"{len(appointments)} appointments of {options.site} on {day} pushed; the device holds "
        f"{answer.json().get('appointments')}"
    )
    return 0


def _events(options) -> int:
    store = BackendStore(options.db)
    try:
        for event in store.events(options.device):
            print(json.dumps(event, ensure_ascii=False, sort_keys=True))
    finally:
        store.close()
    return 0


def _message(answer) -> str:
    """The protocol's error message of an answer, or the start of whatever else it is."""
    try:
        return str(answer.json()["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


if __name__ == "__main__":
    sys.exit(main())
