"""The reference backend's web pages: the counter page (staff call, recall, mark not come, transfer,
pause) and the public pages (one number's wait page, the office's waits), server-rendered HTML.

The counter page works with forms alone; a small script swaps in the live part when the office changes
and binds the F-keys. The wait page is one small response without any script: it reloads itself.
"""

# Why Jinja2: HTML built by hand escapes by discipline; Jinja2 escapes every value by default
# (autoescape), so a code or concern from a URL or a device is never markup. It is small, pure
# Python and the templating library Starlette itself documents; templates need no build step.
import asyncio
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from urllib.parse import parse_qsl, quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from appliance.protocol.contract import Contract, RequestRejected, parse_timestamp, read_body
from entrance_backend.access import Access
from entrance_backend.counter_sessions import SESSION_COOKIE, SESSION_S, CounterSession, CounterSessions
from entrance_backend.http import Backend
from entrance_backend.store import BackendRefusal
from entrance_backend.wording import LANGUAGES, SOURCE_LANGUAGE, is_right_to_left, language_name, page_language, text

CODE = Contract.load().pattern("Code")
NAME = Contract.load().pattern("Name")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
LIVE_WAIT_S = 25.0  # a counter page's long poll answers at least this often, so proxies keep it open
WAIT_PAGE_REFRESH_S = 20  # how often an open wait page reloads itself
FORM_BYTES = 4096
_TEMPLATES = Environment(
    loader=PackageLoader("entrance_backend", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_NO_STORE = {"Cache-Control": "no-store"}
_SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def per_concern(state: dict) -> dict[str, dict]:
    """The office state's figures per concern: waiting, wait_low, wait_high, seconds_per_visitor."""
    return {entry["concern"]: entry for entry in state["waiting_per_concern"]}


def typical_minutes(load: dict | None) -> int | None:
    """The middle of the office's wait range for a newcomer of a concern; None: nobody waits for it."""
    return None if load is None else round((load["wait_low"] + load["wait_high"]) / 2)


@dataclass
class Pages:
    """The pages' routes on a Backend; ``access`` is replaced when the access file changes."""

    backend: Backend
    access: Access
    sessions: CounterSessions
    refresh_s: int = WAIT_PAGE_REFRESH_S

    def routes(self) -> list[Route]:
        return [
            Route("/counter", self.login, methods=["GET", "POST"]),
            Route("/counter/logout", self.logout, methods=["POST"]),
            Route("/counter/{site}/{number}", self.counter, methods=["GET", "POST"]),
            Route("/counter/{site}/{number}/live", self.live, methods=["GET"]),
            Route("/w/{site}", self.office, methods=["GET"]),
            Route("/w/{site}/{code:path}", self.wait, methods=["GET"]),
        ]

    # --- the counter page ------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            session = await run_in_threadpool(self.sessions.find, request.cookies.get(SESSION_COOKIE), self.access)
            if session is not None:
                return _redirect(_counter_path(session.site, session.number))
            expired = request.query_params.get("expired") == "1"
            return _html("counter_login.html", status=200, expired=expired)
        if not _same_origin(request):
            return _html("answer.html", status=403, kind="foreign_form")
        if refusal := self._too_fast(request):  # also slows down guessing keys
            return refusal
        form = await _form(request)
        counter = self.access.counter(str(form.get("token", "")).strip()) if form is not None else None
        if counter is None:
            return _html("counter_login.html", status=401, wrong=True)
        response = _redirect(_counter_path(counter.site, counter.number))
        response.set_cookie(
            SESSION_COOKIE,
            await run_in_threadpool(self.sessions.start, counter),
            max_age=SESSION_S,
            path="/counter",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        if _same_origin(request):
            await run_in_threadpool(self.sessions.end, request.cookies.get(SESSION_COOKIE))
        response = _redirect("/counter")
        response.delete_cookie(SESSION_COOKIE, path="/counter")
        return response

    async def counter(self, request: Request) -> Response:
        session, refusal = await run_in_threadpool(self._session, request)
        if refusal is not None:
            return refusal
        site, number = session.site, session.number
        if request.method == "POST":
            if not _same_origin(request):
                return _html("answer.html", status=403, kind="foreign_form")
            form = await _form(request)
            message = await run_in_threadpool(self._act, site, number, form) if form is not None else ("bad_form", "")
            await run_in_threadpool(self.sessions.tell, session, message)
            return _redirect(_counter_path(site, number))
        message = await run_in_threadpool(self.sessions.told, session)
        return _html("counter.html", **await run_in_threadpool(self._counter_view, site, number), message=message)

    async def live(self, request: Request) -> Response:
        """The page's live part once the office's state is other than version ``after`` (or after a while)."""
        session, refusal = await run_in_threadpool(self._session, request)
        if refusal is not None:
            return Response(status_code=401, headers=_NO_STORE)  # the script then reloads: the login shows
        after = request.query_params.get("after", "")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LIVE_WAIT_S
        feed = self.backend.feed
        while True:
            waker = feed.waker(session.site)  # taken before the query, so a change in between is not missed
            view = await run_in_threadpool(self._counter_view, session.site, session.number)
            remaining = deadline - loop.time()
            if str(view["version"]) != after or remaining <= 0 or feed.closing:
                return _html("counter_live.html", headers={"X-Office-Version": str(view["version"])}, **view)
            await feed.wait(waker, remaining)

    def _session(self, request: Request) -> tuple[CounterSession | None, Response | None]:
        session = self.sessions.find(request.cookies.get(SESSION_COOKIE), self.access)
        if session is None:
            return None, _redirect("/counter?expired=1" if request.cookies.get(SESSION_COOKIE) else "/counter")
        wanted = (request.path_params["site"], request.path_params["number"])
        if wanted != (session.site, str(session.number)):
            return None, _html("answer.html", status=403, kind="other_counter", session=session)
        return session, None

    def _counter_view(self, site: str, number: int) -> dict:
        store, now = self.backend.store, self.backend.settings.clock()
        day = self.backend.today(now)
        state = store.office_state(site, day)
        desk = self.sessions.desk(site, number)
        loads = per_concern(state)
        concerns = sorted(set(store.concerns(site)) | set(desk.concerns))
        told = store.concern_titles(site)
        return {
            "site": site,
            # Staff read a concern by its German title, as the waiting room's screens show it; forms send its name.
            "titles": {
                concern: _concern_title(told.get(concern, {}), concern, SOURCE_LANGUAGE)["title"]
                for concern in concerns
            },
            "number": number,
            "version": state["version"],
            "current": store.counter_current(site, day, number),
            "waiting": [
                entry | {"minutes": _minutes_since(entry["since"], now), "mine": _serves(desk.concerns, entry)}
                for entry in state["waiting"]
            ],
            "concerns": concerns,
            "desk": desk,
            "waits": [
                {
                    "concern": concern,
                    "waiting": loads[concern]["waiting"] if concern in loads else 0,
                    "minutes": typical_minutes(loads.get(concern)),
                }
                for concern in concerns
            ],
        }

    def _act(self, site: str, number: int, form) -> tuple[str, str]:
        """Does what the staff asked; answers what the page then says: (a message of counter.html's, the code)."""
        store, now = self.backend.store, self.backend.settings.clock()
        day = self.backend.today(now)
        desk = self.sessions.desk(site, number)
        action = form.get("action")
        code = str(form.get("code") or "").strip().upper()
        if code and not CODE.fullmatch(code):
            return "bad_code", ""
        current = store.counter_current(site, day, number)
        code = code or (current["code"] if current else "")
        try:
            if action == "next":
                if desk.paused:
                    return "paused", ""
                call = store.call_next(site, day, number, now, list(desk.concerns) or None)
                return "called", call["code"]
            if action == "pause":
                self.sessions.set_desk(site, number, replace(desk, paused=not desk.paused))
                return ("pause_off" if desk.paused else "pause_on"), ""
            if action == "concerns":
                known = set(store.concerns(site)) | set(desk.concerns)
                chosen = tuple(sorted(c for c in form.getlist("concern") if c in known))
                self.sessions.set_desk(site, number, replace(desk, concerns=chosen))
                return "concerns", ""
            if action not in ("recall", "not_come", "transfer"):
                return "bad_form", ""
            if not code:
                return "no_visitor", ""
            if action in ("recall", "not_come") and not store.has_called(site, day, number, code):
                return "not_called_here", code
            if action == "recall":
                store.call_code(site, day, number, code, now)
                return "recalled", code
            if action == "not_come":
                store.mark_not_come(site, day, code, now)
                return "not_come", code
            return self._transfer(site, day, code, now, form)
        except BackendRefusal as refusal:
            return "refused_" + type(refusal).__name__, code

    def _transfer(self, site: str, day: str, code: str, now: datetime, form) -> tuple[str, str]:
        concern = str(form.get("concern") or "").strip() or None
        to_counter = str(form.get("counter") or "").strip()
        if concern is not None and not NAME.fullmatch(concern):
            return "refused_UnknownConcern", code
        if to_counter and not (to_counter.isdigit() and 1 <= int(to_counter) <= 999):
            return "bad_counter", ""
        if concern is None and not to_counter:
            return "transfer_where", ""
        self.backend.store.transfer(site, day, code, now, concern, int(to_counter) if to_counter else None)
        return "transferred", code

    # --- the public pages ----------------------------------------------------------------------

    async def wait(self, request: Request) -> Response:
        site, code = request.path_params["site"], request.path_params["code"]
        if refusal := self._public_refusal(request, site):
            return refusal
        now = self.backend.settings.clock()
        today = self.backend.today(now)
        asked_day = request.query_params.get("day")
        valid_day = asked_day is not None and DAY.fullmatch(asked_day) is not None
        visitor = _visitor(request, {"day": asked_day} if valid_day else {})
        office_href = f"/w/{quote(site)}?{urlencode({'lang': visitor['lang']})}"
        if not CODE.fullmatch(code):
            return _html("wait.html", status=404, kind="malformed", office_href=office_href, **visitor)
        if asked_day is not None and (not valid_day or asked_day != today):
            day = _day(asked_day)
            return _html(
                "wait.html", status=404, code=code, kind="other_day", day=day, office_href=office_href, **visitor
            )
        view = await run_in_threadpool(self._wait_view, site, today, code)
        status = 404 if view["kind"] == "unknown" else 200
        refresh = self.refresh_s if view["kind"] in ("waiting", "booked", "called") else None
        at = now.astimezone(self.backend.zone)  # written as the page's language writes a time
        return _html(
            "wait.html", status=status, code=code, refresh=refresh, at=at, office_href=office_href, **visitor, **view
        )

    def _wait_view(self, site: str, day: str, code: str) -> dict:
        store = self.backend.store
        visitor = store.visitor_state(site, day, code)
        if visitor is None:
            return {"kind": "unknown"}
        if visitor["state"] != "waiting":
            return {"kind": visitor["state"], "counter": visitor.get("counter")}
        position = store.waiting_position(site, day, code)
        if position is None:  # called or handed on between the two reads: the next reload tells
            return {"kind": "waiting", "ahead": None, "range": None}
        # The office's forecast for this number (an appointment's turn comes by its slot: no range).
        return {"kind": "waiting", "ahead": position - 1, "range": store.ticket_wait(site, day, code)}

    async def office(self, request: Request) -> Response:
        site = request.path_params["site"]
        if refusal := self._public_refusal(request, site):
            return refusal
        day = self.backend.today(self.backend.settings.clock())
        state = await run_in_threadpool(self.backend.store.office_state, site, day)
        titles = await run_in_threadpool(self.backend.store.concern_titles, site)
        visitor = _visitor(request)
        concerns = sorted(
            (
                {"waiting": load["waiting"], "minutes": typical_minutes(load)}
                | _concern_title(titles.get(concern, {}), concern, visitor["lang"])
                for concern, load in per_concern(state).items()
            ),
            key=lambda row: row["title"].casefold(),
        )
        return _html("office.html", concerns=concerns, refresh=self.refresh_s * 3, **visitor)

    def _public_refusal(self, request: Request, site: str) -> Response | None:
        if refusal := self._too_fast(request):
            return refusal
        if site not in self.backend.settings.sites and all(c.site != site for c in self.access.counters):
            return _html("answer.html", status=404, kind="no_site", **_visitor(request))
        return None

    def _too_fast(self, request: Request) -> Response | None:
        """The backend's rate limit, per address, as for the protocol's public operations."""
        who = request.client.host if request.client else "public"
        if wait := self.backend.limiter.retry_after(who):
            headers = {"Retry-After": str(int(wait) + 1)}
            return _html("answer.html", status=429, kind="too_fast", headers=headers, **_visitor(request))
        return None


def _html(template: str, status: int = 200, headers: dict | None = None, **values) -> HTMLResponse:
    """A page; in German unless ``values`` say the visitor's language (``_visitor``)."""
    body = _TEMPLATES.get_template(template).render({"lang": SOURCE_LANGUAGE, "words": text} | values)
    return HTMLResponse(body, status_code=status, headers=_NO_STORE | _SECURITY | (headers or {}))


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=_NO_STORE)


def _counter_path(site: str, number: int) -> str:
    return f"/counter/{quote(site)}/{number}"


async def _form(request: Request) -> FormData | None:
    """The posted form (URL-encoded, as the pages send it), or None when it is too large or not one."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        body = await read_body(request, FORM_BYTES)
        return FormData(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=64))
    except (RequestRejected, UnicodeDecodeError, ValueError):
        return None


def _same_origin(request: Request) -> bool:
    """A form from another site is refused: the cookie is SameSite=Strict, and this holds without it too."""
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def _serves(concerns: tuple[str, ...], entry: dict) -> bool:
    return not concerns or entry["concern"] in concerns


def _minutes_since(moment: str, now: datetime) -> int:
    try:
        return max(0, int((now - parse_timestamp(moment)).total_seconds() // 60))
    except ValueError:
        return 0


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _visitor(request: Request, keep: dict | None = None) -> dict:
    """A public page's language (the visitor's choice, else their phone's, else German), its direction,
    and a link to the same page in each language, named in its own script (keeping ``keep``'s parameters)."""
    lang = page_language(request.query_params.get("lang"), request.headers.get("accept-language"))
    links = [(code, language_name(code), "?" + urlencode((keep or {}) | {"lang": code})) for code in LANGUAGES]
    return {"lang": lang, "rtl": is_right_to_left(lang), "languages": links}


def _concern_title(titles: dict[str, str], concern: str, lang: str) -> dict:
    """A concern's title in ``lang`` (German where it has none) and the German beside it when that differs.
    Until a device has told the titles (an older appliance), the name is shown with spaces."""
    german = titles.get(SOURCE_LANGUAGE) or concern.replace("-", " ")
    title = titles.get(lang) or german
    return {"title": title, "german": german if german != title else None}
