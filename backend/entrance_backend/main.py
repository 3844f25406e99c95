"""The reference central backend: the whole sync protocol over HTTP, on its own SQLite database.

Integrators and the demo run it as a program; the tests run it in-process (BackgroundBackend).
``main(argv)`` is its command line: serve, call (a counter calls), book and seed (appointments), push,
events (what a device sent). The layers: store.py (SQLite), http.py (the operations), and the
protocol's document (appliance.protocol).
"""

import argparse
import json
import os
import random
import resource
import secrets
import signal
import sqlite3
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.protocol.contract import Contract, timestamp
from appliance.protocol.http_server import BackgroundServer, Server, server_config
from entrance_backend.http import DEFAULT_SITE, Backend, DeviceAccess, Settings, create_app
from entrance_backend.store import BackendRefusal, BackendStore

__all__ = ["BackgroundBackend", "Backend", "DeviceAccess", "Settings", "demo_appointments", "main"]

DEFAULT_PORT = 8470
MAX_CONNECTIONS = 4096  # about 1,000 devices, each with its long polls and uploads
NAME = Contract.load().pattern("Name")  # device and site names: the protocol's, which the devices' config shares


class BackgroundBackend:
    """The reference backend in a thread on 127.0.0.1 and a free port: for tests and benchmarks.

    with BackgroundBackend(settings) as backend: requests.get(backend.url + "/openapi.json")
    """

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0):
        self.backend = Backend(settings)
        self.store = self.backend.store
        self._server = BackgroundServer(create_app(self.backend), host, port, on_stop=self.backend.stopping)
        self.url, self.port = self._server.url, self._server.port

    def start(self) -> "BackgroundBackend":
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
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
    """entrance-backend {serve, call, book, seed, push, events}."""
    parser = argparse.ArgumentParser(
        prog="entrance-backend", description="The reference central backend of the sync protocol."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the protocol over HTTP")
    serve.add_argument("--db", type=Path, required=True, help="SQLite file (created if missing)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="ID[@SITE]:TOKEN",
        type=_device_option,
        help="a device and its token (site: --site); repeat for each device",
    )
    serve.add_argument(
        "--staff-token",
        default=os.environ.get("ENTRANCE_STAFF_TOKEN"),
        help="token for staff calls (default: $ENTRANCE_STAFF_TOKEN, else a new one is printed)",
    )
    serve.add_argument(
        "--site", type=_name, default=DEFAULT_SITE, help=f"the site devices belong to (default {DEFAULT_SITE})"
    )
    serve.add_argument("--timezone", default="Europe/Berlin", help="the sites' time zone (default Europe/Berlin)")
    serve.add_argument("--rate-limit", type=float, default=50.0, help="requests per second per caller (0: off)")
    serve.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help=f"connections served at once, beyond them 503 (default {MAX_CONNECTIONS}: each device holds "
        "two long polls and sends its events and health on two more)",
    )
    serve.add_argument(
        "--clock-start",
        type=_moment,
        metavar="ISO-TIME",
        help="the backend's clock reads this at start and runs on from there (replays, the demo's "
        "simulated day); default: the real time",
    )
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
    book.add_argument("--db", type=Path, required=True)
    book.add_argument("--site", type=_name, default=DEFAULT_SITE)
    book.add_argument(
        "--file",
        type=Path,
        required=True,
        help="a JSON list of appointments as the protocol writes them (id, day, slot, concern, "
        "display_code, reference; status optional); the site is --site",
    )
    seed = commands.add_parser("seed", help="add demo appointments to a database")
    seed.add_argument("--db", type=Path, required=True)
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
    push.add_argument("--db", type=Path, required=True)
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
    events.add_argument("--db", type=Path, required=True)
    events.add_argument("--device", type=_name, required=True)
    options = parser.parse_args(argv)
    try:
        return {"serve": _serve, "call": _call, "book": _book, "seed": _seed, "push": _push, "events": _events}[
            options.command
        ](options)
    except (BackendRefusal, ValueError, OSError, sqlite3.Error) as error:
        print(f"entrance-backend: {error}", file=sys.stderr)
        return 1


def _device_option(text: str) -> DeviceAccess:
    name, colon, token = text.partition(":")
    device, _, site = name.partition("@")
    if not colon or not token or not NAME.fullmatch(device) or (site and not NAME.fullmatch(site)):
        raise argparse.ArgumentTypeError(
            "expected ID:TOKEN or ID@SITE:TOKEN, names of 1 to 32 lower-case letters, "
            "digits and dashes as in the devices' config, e.g. kiosk-1:s3cret"
        )
    return DeviceAccess(device, site, token)


def _name(text: str) -> str:
    if not NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: use 1 to 32 lower-case letters, digits and dashes, as in the devices' config"
        )
    return text


def _allow_open_files(wanted: int) -> None:
    """Raises this process's soft limit of open files towards ``wanted`` (within the hard limit): a
    connection is a file, and Debian's default soft limit of 1024 would refuse them long before."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
        )


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


def _day(text: str, zone: str) -> date:
    today = datetime.now(ZoneInfo(zone)).date()
    return {"today": today, "tomorrow": today + timedelta(days=1)}.get(text) or date.fromisoformat(text)


def _serve(options) -> int:
    staff_token = options.staff_token or secrets.token_urlsafe(24)
    if not options.staff_token:
        print(f"staff token (for 'call'): {staff_token}", file=sys.stderr)
    devices = tuple(DeviceAccess(d.device, d.site or options.site, d.token) for d in options.device)
    settings = Settings(
        options.db,
        devices,
        staff_token,
        options.site,
        options.timezone,
        options.rate_limit,
        **({"clock": _clock_from(options.clock_start)} if options.clock_start else {}),
    )
    backend = Backend(settings)
    _allow_open_files(options.max_connections + 64)  # the database, the log, the listening socket
    config = server_config(
        create_app(backend), host=options.host, port=options.port, limit_concurrency=options.max_connections
    )
    print(
        f"reference backend on http://{options.host}:{options.port} (document: /openapi.json), "
        f"site {options.site}, {len(devices)} device(s), database {options.db}",
        file=sys.stderr,
    )
    # uvicorn stops gracefully on SIGTERM/SIGINT and then raises the signal again against the handlers
    # it found; with these, an asked-for stop ends with exit code 0, as the appliance's daemon does.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda number, frame: None)
    Server(config, on_stop=backend.stopping).run()
    backend.store.close()
    print("reference backend stopped", file=sys.stderr)
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
