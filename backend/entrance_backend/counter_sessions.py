"""Counter staff's logins to the counter page: a random session id in a cookie, the session on the server.

A session ends after a working day, when its counter leaves the access file or gets a new token.
"""

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field

from entrance_backend.access import Access, CounterAccess

SESSION_COOKIE = "counter_session"
SESSION_S = 12 * 3600  # one working day, then the staff sign in again


@dataclass
class CounterSession:
    site: str
    number: int
    token_digest: str
    started: float
    message: str | None = None  # what the last action did, shown once after its redirect


@dataclass
class Desk:
    """What a counter's staff chose: the concerns served (empty: all) and whether they pause."""

    concerns: tuple[str, ...] = ()
    paused: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class CounterSessions:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._sessions: dict[str, CounterSession] = {}
        self._desks: dict[tuple[str, int], Desk] = {}
        self._lock = threading.Lock()

    def start(self, counter: CounterAccess) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._sessions = {k: s for k, s in self._sessions.items() if now - s.started < SESSION_S}
            self._sessions[session_id] = CounterSession(counter.site, counter.number, _digest(counter.token), now)
            self._desks.setdefault((counter.site, counter.number), Desk(counter.concerns))
        return session_id

    def find(self, session_id: str | None, access: Access) -> CounterSession | None:
        """The session, while it lasts and its counter's token is still the one it began with."""
        with self._lock:
            session = self._sessions.get(session_id or "")
            if session is None:
                return None
            counter = next((c for c in access.counters if (c.site, c.number) == (session.site, session.number)), None)
            if self._clock() - session.started >= SESSION_S or counter is None:
                del self._sessions[session_id]
                return None
            if not secrets.compare_digest(_digest(counter.token), session.token_digest):
                del self._sessions[session_id]
                return None
            return session

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def desk(self, site: str, number: int) -> Desk:
        with self._lock:
            return self._desks.setdefault((site, number), Desk())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
