"""The reference backend's Prometheus metrics at /metrics: requests by route and status, long polls open,
events applied and when each device was last seen.

prometheus_client (the Prometheus project's own library) keeps the counters and writes the text format.
"""

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from appliance.protocol.contract import parse_timestamp
from entrance_backend.store import BackendStore

# The routes whose GET with ?after= waits for a change.
LONG_POLL_ROUTES = {"/v1/sites/{site}/calls", "/v1/sites/{site}/office", "/counter/{site}/{number}/live"}


class Metrics:
    """One registry per backend (tests run several in a process); ``middleware`` counts each request."""

    def __init__(self, store: BackendStore):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "entrance_backend_requests",
            "HTTP requests answered, by route (its template), method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.long_polls = Gauge(
            "entrance_backend_long_polls_open",
            "long polls waiting for a change now (calls feed, office state, counter pages)",
            registry=self.registry,
        )
        self.registry.register(_StoreFacts(store))

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def middleware(self, app, routes):
        """``app`` (an ASGI app with these Starlette ``routes``), counting its HTTP requests."""

        async def counted(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            route = next((r.path for r in routes if r.matches(scope)[0] is Match.FULL), "other")
            long_poll = route in LONG_POLL_ROUTES and b"after=" in scope.get("query_string", b"")
            status = 500

            async def send_counted(message):
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            if long_poll:
                self.long_polls.inc()
            try:
                await app(scope, receive, send_counted)
            finally:
                if long_poll:
                    self.long_polls.dec()
                self.requests.labels(route, scope["method"], str(status)).inc()

        return counted


class _StoreFacts:
    """What the database knows, read at each scrape: nothing to keep in step."""

    def __init__(self, store: BackendStore):
        self.store = store

    def describe(self):
        return []  # no database read at registration

    def collect(self):
        yield CounterMetricFamily(
            "entrance_backend_events_applied",
            "events devices sent, each applied once",
            value=self.store.events_applied(),
        )
        seen = GaugeMetricFamily(
            "entrance_backend_device_last_seen_timestamp_seconds",
            "when each device's latest heartbeat arrived (Unix time)",
            labels=["device", "site"],
        )
        for device, site, received_at in self.store.devices_last_seen():
            seen.add_metric([device, site], parse_timestamp(received_at).timestamp())
        yield seen
