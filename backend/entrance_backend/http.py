"""The reference backend's HTTP layer: each operation of the sync protocol as a Starlette endpoint.

A request is checked against the OpenAPI document (contract.py) before it reaches the store.
"""

# Why Starlette on uvicorn: ASGI, so a monitor waiting in a long poll is a suspended coroutine,
# not a blocked thread (hundreds of monitors cost nothing); a call wakes them through an
# asyncio.Event at once. Both are pure Python (they run on a Pi too), small, widely deployed and
# well kept; uvicorn (with h11) is a production server with graceful shutdown. Database work runs in
# Starlette's thread pool so a slow fsync or query never stalls the event loop.
import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appliance.protocol.contract import Contract, RequestRejected, parse_timestamp, read_body, timestamp
from appliance.protocol.throttle import WrongTokens
from entrance_backend.database import unavailable_errors
from entrance_backend.store import (
    BackendRefusal,
    BackendStore,
    CursorGone,
    KeyConflict,
    NobodyWaiting,
    NotCallable,
    NumberingConflict,
    Sender,
    UnknownCode,
    UnknownConcern,
    site_day,
)

log = logging.getLogger("entrance-backend")

DEFAULT_SITE = "mitte"
# An event's created_at is the device's clock: taken when it lies within these of the backend's own,
# so a month offline still delivers as it was; year 1 or 9999 is a clock gone wrong.
PLAUSIBLE_PAST = timedelta(days=31)
PLAUSIBLE_FUTURE = timedelta(days=1)
_REFUSALS = {
    CursorGone: (410, "cursor_gone"),
    KeyConflict: (409, "key_conflict"),
    UnknownCode: (404, "not_found"),
    UnknownConcern: (404, "not_found"),
    NotCallable: (409, "not_callable"),
    NobodyWaiting: (409, "nobody_waiting"),
}


@dataclass(frozen=True)
class DeviceAccess:
    device: str
    site: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    database: Path | str  # a SQLite file or a postgresql:// URL (database.py)
    devices: tuple[DeviceAccess, ...] = ()
    staff_token: str | None = field(default=None, repr=False)
    site: str = DEFAULT_SITE
    timezone: str = "Europe/Berlin"
    rate_limit: float = 50.0  # requests per second and caller, bursts of twice that; 0: no limit (nor on wrong tokens)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # Both asked at every request: worked out once per Settings (a new access file makes new Settings), so a
    # request costs the same with 10 devices or 2,000.
    @cached_property
    def sites(self) -> frozenset[str]:
        return frozenset({self.site} | {device.site for device in self.devices})

    @cached_property
    def devices_by_token(self) -> dict[bytes, DeviceAccess]:
        """Each device under its token's SHA-256: found in one look-up whose timing tells nothing about how
        much of a guessed token was right (a dict of the tokens themselves would)."""
        return {_token_digest(device.token): device for device in self.devices}


@dataclass(frozen=True)
class Caller:
    kind: str  # device, staff or public
    device: DeviceAccess | None = None


class CallFeed:
    """Wakes the long polls of a site (calls feed, office state) when its calls or its office state
    change. Used on the event loop only."""

    def __init__(self):
        self._wakers: dict[str, asyncio.Event] = {}
        self._told: dict[str, int] = {}  # changes told per site, so far
        self.closing = False

    def waker(self, site: str) -> asyncio.Event:
        return self._wakers.setdefault(site, asyncio.Event())

    def told(self, site: str) -> int:
        """How many changes of ``site`` were told so far: unchanged, nothing of the site changed since."""
        return self._told.get(site, 0)

    def notify(self, site: str) -> None:
        self._told[site] = self.told(site) + 1
        if waker := self._wakers.pop(site, None):
            waker.set()

    def close(self) -> None:
        """Answers every waiting poll now, so a shutdown does not wait for them."""
        self.closing = True
        for waker in self._wakers.values():
            waker.set()
        self._wakers.clear()

    @staticmethod
    async def wait(waker: asyncio.Event, timeout: float) -> None:
        try:
            await asyncio.wait_for(waker.wait(), timeout)
        except TimeoutError:
            pass


class RateLimiter:
    """A token bucket per caller: ``rate`` requests a second on average, bursts of twice that."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate, self.burst, self._clock = rate, max(1.0, 2 * rate), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, caller: str) -> float:
        """0 when the request may go ahead (and counts it), else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            level, last = self._buckets.get(caller, (self.burst, now))
            level = min(self.burst, level + (now - last) * self.rate)
            if len(self._buckets) > 10_000:  # forget callers whose bucket is full again
                self._buckets = {
                    key: value for key, value in self._buckets.items() if now - value[1] < self.burst / self.rate
                }
            if level >= 1:
                self._buckets[caller] = (level - 1, now)
                return 0.0
            self._buckets[caller] = (level, now)
            return (1 - level) / self.rate


class Backend:
    """The protocol's operations on a BackendStore: checks each request, then does it."""

    def __init__(self, settings: Settings, contract: Contract | None = None):
        tokens = [device.token for device in settings.devices] + [settings.staff_token] * bool(settings.staff_token)
        if len(set(tokens)) != len(tokens) or len({d.device for d in settings.devices}) != len(settings.devices):
            raise ValueError("every device needs its own name and token, different from the staff token")
        self.settings = settings
        self.contract = contract or Contract.load()
        self.store = BackendStore(settings.database, on_change=self._changed, zone=ZoneInfo(settings.timezone))
        self.zone = ZoneInfo(settings.timezone)
        self.feed = CallFeed()
        # Per site, on the event loop only: its latest office state encoded; the changes told when a look found
        # which day and version of the office state, and where the calls feed ended.
        self._office_bodies: dict[str, tuple[dict, bytes]] = {}
        self._office_seen: dict[str, tuple[int, str, int]] = {}
        self._calls_seen: dict[str, tuple[int, int]] = {}
        self.limiter = RateLimiter(settings.rate_limit)
        self.wrong_tokens = WrongTokens() if settings.rate_limit > 0 else None  # 0: no limit of either kind
        self.loop: asyncio.AbstractEventLoop | None = None

    def stopping(self) -> None:
        """The server stops: answer the waiting long polls now (callable from any thread)."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.feed.close)

    def _changed(self, site: str) -> None:
        """The store committed a change of ``site``'s state (on any thread): its long polls answer now."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.feed.notify, site)

    def today(self, now: datetime) -> str:
        return site_day(now, self.zone)

    async def admit(self, request: Request, operation_id: str):
        """Authentication (401), rate (429), parameters (400), authorisation (403/404), body (413/415/422)."""
        operation = self.contract.operations[operation_id]
        caller = self._authenticate_throttled(request, operation.security)
        who = (
            caller.device.device
            if caller.device
            else caller.kind
            if caller.kind == "staff"
            else request.client.host
            if request.client
            else "public"
        )
        wait = self.limiter.retry_after(who)
        if wait:
            raise RequestRejected(
                429,
                "rate_limited",
                f"too many requests: retry in {wait:.1f} s",
                headers={"Retry-After": str(int(wait) + 1)},
            )
        params = self.contract.parameters(operation_id, request.path_params, request.query_params, request.headers)
        self._authorize(caller, params)
        body = None
        if operation.body is not None:
            raw = await read_body(request, operation.max_body_bytes)
            body = self.contract.body(operation_id, raw, request.headers.get("content-type"))
        return caller, params, body

    def _authenticate_throttled(self, request: Request, schemes: tuple[str, ...]) -> Caller:
        """Authentication, with guessing slowed down per source address (429 once it sent too many wrong tokens)."""
        if not schemes or self.wrong_tokens is None:
            return self._authenticate(request, schemes)
        source = request.client.host if request.client else "unknown"
        self.wrong_tokens.check(source)
        try:
            return self._authenticate(request, schemes)
        except RequestRejected as refused:
            if refused.status == 401:
                self.wrong_tokens.wrong(source)
                log.warning("a wrong token from %s", source)
            raise

    def _authenticate(self, request: Request, schemes: tuple[str, ...]) -> Caller:
        if not schemes:
            return Caller("public")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("a bearer token is required: send 'Authorization: Bearer <token>'")
        token = token.strip()
        caller = None
        if self.settings.staff_token and hmac.compare_digest(token.encode(), self.settings.staff_token.encode()):
            caller = Caller("staff")
        if device := self.settings.devices_by_token.get(_token_digest(token)):
            caller = Caller("device", device)
        if caller is None:
            raise _unauthorized("the token is not known here")
        if f"{caller.kind}Token" not in schemes:
            raise RequestRejected(403, "forbidden", f"a {caller.kind} token cannot be used for this operation")
        return caller

    def _authorize(self, caller: Caller, params: dict) -> None:
        if caller.device and "device" in params and params["device"] != caller.device.device:
            raise RequestRejected(
                403, "forbidden", f"this token is device {caller.device.device}'s, not {params['device']}'s"
            )
        if "site" in params:
            if caller.device and params["site"] != caller.device.site:
                raise RequestRejected(
                    403,
                    "forbidden",
                    f"device {caller.device.device} belongs to site {caller.device.site}, not {params['site']}",
                )
            if params["site"] not in self.settings.sites:
                raise RequestRejected(404, "not_found", f"no site {params['site']!r} here")

    # --- operations ----------------------------------------------------------------------------

    async def send_heartbeat(self, request: Request) -> Response:
        caller, params, body = await self.admit(request, "sendHeartbeat")
        now = self.settings.clock()
        # Yesterday's conflicts too: a kiosk that was offline over midnight reports them the morning after.
        alarms_from = (date.fromisoformat(self.today(now)) - timedelta(days=1)).isoformat()
        sender = _sender(request, params["device"], body.get("instance"))
        alarms = await run_in_threadpool(
            self.store.record_heartbeat, sender, caller.device.site, body, now, alarms_from
        )
        for alarm in alarms:
            if alarm["kind"] == "shared_device_id":
                log.error("two devices send as %s: %s", sender.device, alarm["devices"])
        answer = {"device": params["device"], "server_time": timestamp(now)}
        return JSONResponse(answer | ({"alarms": alarms} if alarms else {}))

    async def upload_events(self, request: Request) -> Response:
        caller, params, body = await self.admit(request, "uploadEvents")
        now = self.settings.clock()
        if implausible := _implausible_times(body["events"], now):
            raise RequestRejected(
                422,
                "implausible_time",
                f"{len(implausible)} event(s) dated far from the backend's clock ({timestamp(now)}), the first "
                f"{implausible[0][1]}: nothing was applied; send them with the backend's time (the device's "
                "clock is wrong: enable time sync)",
                details=implausible,
            )
        accepted, duplicates, alarms = await run_in_threadpool(
            self.store.apply_events,
            _sender(request, params["device"], body.get("instance")),
            caller.device.site,
            body["events"],
            now,
        )
        for alarm in alarms:
            if alarm["kind"] == "duplicate_appointment_code":
                log.error(
                    "appointment code %s of %s is held by another appointment: the check-in at %s was not added "
                    "to the queue (the booking system gave the code twice)",
                    alarm["code"],
                    alarm["day"],
                    alarm["devices"][0]["device"],
                )
            else:
                log.error("ticket %s of %s issued twice: %s", alarm["code"], alarm["day"], alarm["devices"])
        answer = {"accepted": accepted, "duplicates": duplicates}
        return JSONResponse(answer | ({"alarms": alarms} if alarms else {}))

    async def draw_number(self, request: Request) -> Response:
        caller, params, body = await self.admit(request, "drawNumber")
        now = self.settings.clock()
        sender = _sender(request, caller.device.device, body["instance"])
        drawn = await run_in_threadpool(self.store.draw_number, sender, params["site"], body, self.today(now), now)
        return JSONResponse(drawn)

    async def lease_fallback_block(self, request: Request) -> Response:
        caller, params, body = await self.admit(request, "leaseFallbackBlock")
        sender = _sender(request, params["device"], body["instance"])
        lease = await run_in_threadpool(self.store.lease_block, sender, caller.device.site, body, self.settings.clock())
        log.info("%s holds fallback block %d of %s", lease["device"], lease["slot"], caller.device.site)
        return JSONResponse(lease)

    async def get_appointments(self, request: Request) -> Response:
        _, params, _ = await self.admit(request, "getAppointments")
        site, day, since = params["site"], params["day"], params.get("since")
        since_position = self.store.position(since) if since else None
        current = await run_in_threadpool(self.store.day_position, site, day)
        if _matches(params.get("If-None-Match"), self._etag(day, since_position, current)):
            return Response(status_code=304, headers={"ETag": self._etag(day, since_position, current)})
        if since is None:
            position, appointments = await run_in_threadpool(self.store.appointment_day, site, day)
            answer = {"site": site, "day": day, "cursor": self.store.cursor(position), "appointments": appointments}
        else:
            position, changes = await run_in_threadpool(self.store.appointment_changes, site, day, since_position)
            answer = {
                "site": site,
                "day": day,
                "cursor": self.store.cursor(position),
                "changes": [{"change": change, "appointment": item} for change, item in changes],
            }
        return JSONResponse(answer, headers={"ETag": self._etag(day, since_position, position)})

    async def calls(self, request: Request) -> Response:
        # One route for both methods, so a 405 on this path lists both in Allow.
        return await (self.make_call if request.method == "POST" else self.wait_for_calls)(request)

    async def wait_for_calls(self, request: Request) -> Response:
        _, params, _ = await self.admit(request, "waitForCalls")
        site = params["site"]
        after = self.store.position(params["after"]) if "after" in params else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + params["wait"]
        while True:
            waker = self.feed.waker(site)  # taken before the query, so a call in between is not missed
            told, remaining = self.feed.told(site), deadline - loop.time()
            if self._calls_seen.get(site) == (told, after) and remaining > 0 and not self.feed.closing:
                # A look since the last change told found the feed ending at ``after``: no call since. Most changes
                # are tickets, not calls; one look per change and site is enough, not one per device.
                await self.feed.wait(waker, remaining)
                continue
            position, calls = await run_in_threadpool(self.store.calls_after, site, after, params["limit"])
            if after is None or len(calls) < params["limit"]:  # then the feed ends at ``position``
                self._calls_seen[site] = (told, position)
            remaining = deadline - loop.time()
            if calls or after is None or remaining <= 0 or self.feed.closing:
                return JSONResponse({"cursor": self.store.cursor(position), "calls": calls})
            await self.feed.wait(waker, remaining)

    async def make_call(self, request: Request) -> Response:
        _, params, body = await self.admit(request, "makeCall")
        now = self.settings.clock()
        site, day = params["site"], self.today(now)
        if body.get("not_come"):
            change = await run_in_threadpool(self.store.mark_not_come, site, day, body["code"], now)
            log.info("%s marked not come", change["code"])
            return JSONResponse(change)
        if "transfer" in body:
            to = body["transfer"]
            call = await run_in_threadpool(
                self.store.transfer, site, day, body["code"], now, to.get("concern"), to.get("counter")
            )
            if "state" in call:
                log.info("%s handed to %s, waiting again", call["code"], call["concern"])
                return JSONResponse(call)
        elif body.get("next"):
            call = await run_in_threadpool(self.store.call_next, site, day, body["counter"], now, body.get("concerns"))
        else:
            call = await run_in_threadpool(self.store.call_code, site, day, body["counter"], body["code"], now)
        log.info("counter %s calls %s (%s)", call["counter"], call["code"], call["kind"])
        return JSONResponse(call, status_code=201)

    async def get_office_state(self, request: Request) -> Response:
        caller, params, _ = await self.admit(request, "getOfficeState")
        site, after = params["site"], params.get("after")
        device = caller.device.device if caller.device else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + params["wait"]
        while True:
            waker = self.feed.waker(site)  # taken before the query, so a change in between is not missed
            told, day = self.feed.told(site), self.today(self.settings.clock())
            remaining = deadline - loop.time()
            if self._office_seen.get(site) == (told, day, after) and remaining > 0 and not self.feed.closing:
                # A look since the last change told found version ``after``: the device is up to date, and waits
                # without a query (every device of the site asks again after each change; one look is enough).
                await self.feed.wait(waker, remaining)
                continue
            state, last_event = await run_in_threadpool(self.store.office_poll, site, day, device, after)
            self._office_seen[site] = (told, state["day"], state["version"])
            remaining = deadline - loop.time()
            if after is None or state["version"] != after or remaining <= 0 or self.feed.closing:
                return Response(self._office_body(state, last_event), media_type="application/json")
            await self.feed.wait(waker, remaining)

    def _office_body(self, state: dict, last_event: str | None) -> bytes:
        """The state as JSONResponse writes it, encoded once per version for all of the site's devices (each
        change wakes every one of them), with the device's ``last_event`` added as the last member."""
        held = self._office_bodies.get(state["site"])
        if held is None or held[0] is not state:
            held = self._office_bodies[state["site"]] = (state, JSONResponse(state).body)
        body = held[1]
        if last_event is None:
            return body
        return body[:-1] + b',"last_event":' + JSONResponse(last_event).body + b"}"

    async def get_waits(self, request: Request) -> Response:
        _, params, _ = await self.admit(request, "getWaits")
        now = self.settings.clock()
        waits = await run_in_threadpool(self.store.waits, params["site"], self.today(now), now)
        return JSONResponse(
            {"site": params["site"], "waits": waits},
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=30"},
        )

    async def openapi(self, request: Request) -> Response:
        document = dict(
            self.contract.document,
            servers=[{"url": str(request.base_url).rstrip("/"), "description": "this reference backend"}],
        )
        return Response(json.dumps(document, ensure_ascii=False, indent=1), media_type="application/json")

    def _etag(self, day: str, since: int | None, position: int) -> str:
        return f'"{self.store.epoch}-{day}-{"full" if since is None else since}-{position}"'


def create_app(backend: Backend) -> Starlette:
    @asynccontextmanager
    async def lifespan(app):
        backend.loop = asyncio.get_running_loop()
        yield
        backend.feed.close()

    routes = [
        Route("/openapi.json", backend.openapi, methods=["GET"]),
        Route("/v1/devices/{device}/heartbeat", backend.send_heartbeat, methods=["POST"]),
        Route("/v1/devices/{device}/events", backend.upload_events, methods=["POST"]),
        Route("/v1/sites/{site}/appointments", backend.get_appointments, methods=["GET"]),
        Route("/v1/sites/{site}/calls", backend.calls, methods=["GET", "POST"]),
        Route("/v1/sites/{site}/office", backend.get_office_state, methods=["GET"]),
        Route("/v1/sites/{site}/waits", backend.get_waits, methods=["GET"]),
        Route("/v1/sites/{site}/numbers", backend.draw_number, methods=["POST"]),
        Route("/v1/devices/{device}/fallback-block", backend.lease_fallback_block, methods=["POST"]),
    ]
    handlers = {
        RequestRejected: _rejected,
        BackendRefusal: _refused,
        HTTPException: _http_error,
        **dict.fromkeys(unavailable_errors(), _busy),
        Exception: _crashed,
    }
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


# --- errors as the protocol's JSON -----------------------------------------------------------


async def _rejected(request, error: RequestRejected) -> Response:
    return JSONResponse(error.to_json(), status_code=error.status, headers=error.headers)


async def _refused(request, error: BackendRefusal) -> Response:
    if isinstance(error, NumberingConflict):
        return JSONResponse({"error": error.code, "message": str(error)}, status_code=409)
    status, code = next(value for kind, value in _REFUSALS.items() if isinstance(error, kind))
    return JSONResponse({"error": code, "message": str(error)}, status_code=status)


async def _http_error(request, error: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "bad_request")
    message = {
        404: f"no such path: {request.url.path}",
        405: f"{request.method} is not allowed here; allowed: {(error.headers or {}).get('Allow', '')}",
    }
    return JSONResponse(
        {"error": code, "message": message.get(error.status_code, str(error.detail))},
        status_code=error.status_code,
        headers=error.headers,
    )


async def _busy(request, error: Exception) -> Response:
    log.warning("database busy: %s", error)
    return JSONResponse(
        {"error": "unavailable", "message": "the backend's database is busy: try again"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _crashed(request, error: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return JSONResponse({"error": "internal_error", "message": "the backend failed; it was logged"}, status_code=500)


def _token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _sender(request: Request, device: str, instance: str | None) -> Sender:
    return Sender(device, instance, request.client.host if request.client else None)


def _unauthorized(message: str) -> RequestRejected:
    return RequestRejected(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="entrance"'})


def _implausible_times(events: list[dict], now: datetime) -> list[tuple[str, str]]:
    """(where, which event) for each event whose created_at lies outside the plausible window."""
    found = []
    for index, event in enumerate(events):
        try:
            plausible = now - PLAUSIBLE_PAST <= parse_timestamp(event["created_at"]) <= now + PLAUSIBLE_FUTURE
        except (ValueError, OverflowError):  # year 1 with an offset east of UTC is before datetime.min
            plausible = False
        if not plausible:
            found.append(
                (f"body.events[{index}].created_at", f"event {event['key']} ({event['kind']}) of {event['created_at']}")
            )
    return found


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
