"""The device's push endpoint: the central system puts a whole day's appointments (off by default).

``PUT /v1/push/appointments/{day}`` exactly as the protocol's document says: its own bearer token,
the document's body limit and schema (checked once, off the event loop), then site, day and the
device's concerns, and one atomic ApplyDayList; a refused body changes nothing; wrong tokens are
throttled per source address. Served by uvicorn in a background thread, beside the core.
"""

# Plain HTTP for now: BackgroundServer does not pass uvicorn's ssl_certfile/ssl_keyfile on. Until it
# does, bind it to a trusted network (or behind a TLS proxy); the token is compared in constant time.
import hmac
import logging
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from appliance.domain.clock import local_day
from appliance.domain.commands import ApplyDayList
from appliance.domain.component import ComponentName
from appliance.protocol.contract import Contract, RequestRejected, read_body
from appliance.protocol.http_server import BackgroundServer
from appliance.protocol.throttle import WrongTokens
from appliance.sync.wire import DayListRejected, appointments_of, check_site_and_day

log = logging.getLogger(__name__)

OPERATION = "pushAppointments"
APPLY_WAIT_S = 30.0
RETRY_CLOCK_S = 30  # Retry-After while the clock is not trusted yet
MAX_REQUESTS = 16  # at once; one central system pushes, a few at a time at most


class PushEndpoint:
    """Receives pushed day lists and hands each, checked, to the core as one ApplyDayList."""

    name = ComponentName.PUSH

    def __init__(
        self,
        core,
        config,
        clock,
        token: str,
        clock_trust=None,
        contract: Contract | None = None,
        port: int | None = None,
    ):
        """``port``: where to listen instead of the config's (0: a free port, see ``url``)."""
        self.core, self.clock, self.clock_trust = core, clock, clock_trust
        self.site, self.zone = config.device.site, config.device.timezone
        self.contract = contract or Contract.load()
        self._token = token.encode()
        self._wrong_tokens = WrongTokens()
        self.concerns = frozenset(concern.name for concern in config.concerns)
        self._host, self._port = config.push.bind, config.push.port if port is None else port
        self._server: BackgroundServer | None = None
        self.url: str | None = None

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1/push/appointments/{day}", self.push, methods=["PUT"])],
            exception_handlers={RequestRejected: _rejected, HTTPException: _http_error, Exception: _crashed},
        )

    def start(self) -> None:
        self._server = BackgroundServer(self.app(), self._host, self._port, limit_concurrency=MAX_REQUESTS)
        self._server.start()
        self.url = self._server.url
        log.info("push endpoint listening on %s", self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=3)
            self._server = None

    def failure(self) -> str | None:
        if self._server is not None and not self._server.running:
            return "its HTTP server stopped"
        return None

    async def push(self, request: Request) -> Response:
        operation = self.contract.operations[OPERATION]
        self._authenticate(request)
        params = self.contract.parameters(OPERATION, request.path_params, request.query_params, request.headers)
        raw = await read_body(request, operation.max_body_bytes)
        # Checked once, on a worker thread: a megabyte of appointments takes the schema a while, and the
        # event loop serves every other connection meanwhile.
        day, appointments = await run_in_threadpool(self._checked, params, raw, request.headers.get("content-type"))
        held = await run_in_threadpool(self._apply, day, appointments)
        log.info("pushed day list %s applied: %d appointments", day, held)
        return JSONResponse({"site": self.site, "day": day.isoformat(), "appointments": held})

    def _checked(self, params: dict, raw: bytes, content_type: str | None) -> tuple[date, tuple]:
        """The pushed day and its appointments, or RequestRejected saying why not."""
        body = self.contract.body(OPERATION, raw, content_type)
        if self.clock_trust is not None and not self.clock_trust.trusted:
            raise RequestRejected(
                503,
                "clock_not_trusted",
                "the device's clock is not synchronised yet, so it cannot tell today from tomorrow: try again later",
                headers={"Retry-After": str(RETRY_CLOCK_S)},
            )
        day = date.fromisoformat(params["day"])
        today = local_day(self.clock.now(), self.zone)
        if day not in (today, today + timedelta(days=1)):
            raise RequestRejected(
                409,
                "wrong_day",
                f"{day} is neither today ({today}) nor tomorrow on the device's clock; nothing was changed",
            )
        try:
            if body["day"] != params["day"]:
                raise DayListRejected(
                    f"the body is for {body['day']}, the path for {day}",
                    [("body.day", f"must be {day}, as in the path")],
                )
            check_site_and_day(body, self.site, day)
            appointments = appointments_of(body["appointments"], self.site, day, self.concerns)
        except DayListRejected as error:
            raise RequestRejected(422, "invalid_body", f"{error}; nothing was changed", error.details) from None
        return day, appointments

    def _apply(self, day: date, appointments) -> int:
        try:
            return self.core.submit(ApplyDayList(day, appointments)).result(APPLY_WAIT_S)
        except FutureTimeout:
            raise RequestRejected(
                503,
                "busy",
                "the device is busy: push again (the same list changes nothing twice)",
                headers={"Retry-After": "5"},
            ) from None

    def _authenticate(self, request: Request) -> None:
        source = request.client.host if request.client else "unknown"
        self._wrong_tokens.check(source)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self._wrong_tokens.wrong(source)
            raise _unauthorized("a bearer token is required: send 'Authorization: Bearer <push token>'")
        if not hmac.compare_digest(token.strip().encode(), self._token):
            self._wrong_tokens.wrong(source)
            raise _unauthorized("the token is not this device's push token")


def _unauthorized(message: str) -> RequestRejected:
    return RequestRejected(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="push"'})


async def _rejected(request, error: RequestRejected) -> Response:
    # Only where the problem is: the messages may quote the pushed values.
    where = ", ".join(where for where, _ in error.details[:3])
    log.warning("push refused: %d %s%s", error.status, error.error, f" at {where}" if where else "")
    return JSONResponse(error.to_json(), status_code=error.status, headers=error.headers)


async def _http_error(request, error: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    message = {
        404: "no such path: this device serves only PUT /v1/push/appointments/{day}",
        405: f"{request.method} is not allowed here; allowed: PUT",
    }
    return JSONResponse(
        {"error": code, "message": message.get(error.status_code, str(error.detail))},
        status_code=error.status_code,
        headers=error.headers,
    )


async def _crashed(request, error: Exception) -> Response:
    log.error("push failed", exc_info=error)
    return JSONResponse({"error": "internal_error", "message": "the device failed; it was logged"}, status_code=500)
