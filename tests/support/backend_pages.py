"""An office on the reference backend for the page tests: a kiosk that issues tickets and publishes waits,
counters whose staff sign in to the counter page, all over real HTTP on loopback at a fixed moment."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import requests

from entrance_backend.main import BackgroundBackend, CounterAccess, DeviceAccess, Settings
from support import ANSWER_S

NOW = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
DAY = "2026-03-09"
SITE = "mitte"
KIOSK_TOKEN = "token-kiosk-1-pages"
COUNTERS = (
    CounterAccess(SITE, 1, "counter-1-key-mitte"),
    CounterAccess(SITE, 2, "counter-2-key-mitte"),
    CounterAccess(SITE, 3, "counter-3-key-mitte"),
    CounterAccess("nord", 1, "counter-1-key-nord"),
)
MONITOR_TOKEN = "token-monitor-1-pages"
DEVICES = (
    DeviceAccess("kiosk-1", SITE, KIOSK_TOKEN),
    DeviceAccess("monitor-1", SITE, MONITOR_TOKEN),  # the waiting room's monitor (the browser test's)
    DeviceAccess("kiosk-nord", "nord", "token-kiosk-nord"),
)


class PagesOffice:
    """``with PagesOffice(tmp_path) as office``: the backend serving its pages at office.url (its database a
    SQLite file in tmp_path unless given)."""

    def __init__(
        self, tmp_path, wait_page_refresh_s: int = 20, clock=lambda: NOW, rate_limit: float = 0, database=None
    ):
        settings = Settings(
            database or tmp_path / "backend.db", DEVICES, "staff-secret", SITE, rate_limit=rate_limit, clock=clock
        )
        self.backend = BackgroundBackend(settings, counters=COUNTERS, wait_page_refresh_s=wait_page_refresh_s)
        self.url, self.store = self.backend.url, self.backend.store

    def __enter__(self) -> "PagesOffice":
        self.backend.start()
        return self

    def __exit__(self, *exc_info):
        self.backend.stop()

    def issue(self, *codes: str, concern: str = "leave", day: str = DAY) -> None:
        """The kiosk issues these tickets, in this order."""
        self._upload(
            [
                _event("ticket_issued", {"day": day, "concern": concern, "number": int(code[1:]), "code": code})
                for code in codes
            ]
        )

    def void(self, code: str) -> None:
        self._upload([_event("ticket_void", {"day": DAY, "code": code, "reason": "not_printed"})])

    def heartbeat(self, concerns: dict[str, dict[str, str]] | None = None) -> None:
        """The kiosk's heartbeat, telling ``concerns``' titles (name -> language -> title) if given."""
        body = {"version": "0.1.0", "roles": ["kiosk"], "outbox_pending": 0, "clock_ok": True, "components": []}
        if concerns is not None:
            body["concerns"] = [{"name": name, "titles": titles} for name, titles in concerns.items()]
        answer = requests.post(
            f"{self.url}/v1/devices/kiosk-1/heartbeat",
            json=body,
            headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
            timeout=ANSWER_S,
        )
        assert answer.status_code == 200, answer.text

    def sign_in(self, number: int, site: str = SITE) -> requests.Session:
        """A browser-like session signed in to that counter's page."""
        token = next(c.token for c in COUNTERS if (c.site, c.number) == (site, number))
        session = requests.Session()
        answer = session.post(f"{self.url}/counter", data={"token": token}, timeout=ANSWER_S)
        assert answer.status_code == 200 and answer.url.endswith(f"/counter/{site}/{number}"), answer.text
        return session

    def act(self, session: requests.Session, number: int, site: str = SITE, **form) -> requests.Response:
        """Posts the counter page's form; answers the page it redirects to."""
        return session.post(f"{self.url}/counter/{site}/{number}", data=form, timeout=ANSWER_S)

    def office_state(self) -> dict:
        return self.store.office_state(SITE, DAY)

    def wait_page(self, code: str, accept_language: str | None = None, **query) -> requests.Response:
        """The wait page as a phone asks for it (with its Accept-Language header, if given)."""
        headers = {"Accept-Language": accept_language} if accept_language else {}
        return requests.get(f"{self.url}/w/{SITE}/{code}", params=query, headers=headers, timeout=ANSWER_S)

    def office_page(self, **query) -> requests.Response:
        return requests.get(f"{self.url}/w/{SITE}", params=query, timeout=ANSWER_S)

    def _upload(self, events: list[dict]) -> None:
        answer = requests.post(
            f"{self.url}/v1/devices/kiosk-1/events",
            json={"events": events},
            headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
            timeout=ANSWER_S,
        )
        assert answer.status_code == 200, answer.text


def long_polls_open(url: str) -> int:
    """How many long polls the backend at ``url`` holds open now (its /metrics gauge): a test waits for its
    poll to be waiting before it makes the change that must wake it, instead of sleeping a guess."""
    metrics = requests.get(f"{url}/metrics", timeout=ANSWER_S).text
    return int(float(re.search(r"^entrance_backend_long_polls_open (\S+)$", metrics, re.MULTILINE).group(1)))


def _event(kind: str, body: dict) -> dict:
    return {
        "key": uuid.uuid4().hex,
        "kind": kind,
        "body": body,
        "created_at": (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
    }
