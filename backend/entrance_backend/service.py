"""The whole reference backend as one ASGI app: the protocol's operations (http.py), the counter and wait
pages (pages.py) and /metrics, with the access file read again as it changes.
"""

from dataclasses import replace

from starlette.routing import Route

from entrance_backend.access import Access, AccessFile, CounterAccess
from entrance_backend.counter_sessions import CounterSessions
from entrance_backend.http import Backend, create_app
from entrance_backend.metrics import Metrics
from entrance_backend.pages import WAIT_PAGE_REFRESH_S, Pages


class BackendService:
    """``access_file``: devices, counters and the staff token, followed as the file changes; without it, the
    backend's settings and ``counters`` stay as given (tests, the benchmark)."""

    def __init__(
        self,
        backend: Backend,
        access_file: AccessFile | None = None,
        counters: tuple[CounterAccess, ...] = (),
        wait_page_refresh_s: int = WAIT_PAGE_REFRESH_S,
    ):
        self.backend, self.access_file = backend, access_file
        settings = backend.settings
        access = access_file.access if access_file else Access(settings.devices, tuple(counters), settings.staff_token)
        self.pages = Pages(backend, access, CounterSessions(backend.store), wait_page_refresh_s)
        self.metrics = Metrics(backend.store)
        app = create_app(backend)
        app.router.routes.extend([*self.pages.routes(), Route("/metrics", self.metrics.endpoint, methods=["GET"])])
        self._app = self.metrics.middleware(app, app.router.routes)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.access_file is not None and (access := self.access_file.refresh()):
            self.apply(access)
        await self._app(scope, receive, send)

    def apply(self, access: Access) -> None:
        """New devices, counters and staff token from now on: requests read them each time, so none is restarted."""
        settings = self.backend.settings
        # A staff token printed at start (none in the file or the environment) stays valid.
        staff_token = access.staff_token or settings.staff_token
        self.backend.settings = replace(settings, devices=access.devices, staff_token=staff_token)
        self.pages.access = access
