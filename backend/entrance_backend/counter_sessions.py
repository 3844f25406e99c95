"""Counter staff's logins to the counter page: a random session id in a cookie, the session and the counter's
desk (concerns served, paused) in the backend's database, so every backend process knows them.

A session ends after a working day, when its counter leaves the access file or gets a new token.
"""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from entrance_backend.access import Access, CounterAccess
from entrance_backend.store import BackendStore

SESSION_COOKIE = "counter_session"
SESSION_S = 12 * 3600  # one working day, then the staff sign in again


@dataclass(frozen=True)
class CounterSession:
    id: str  # the cookie's; the database holds only its digest
    site: str
    number: int


@dataclass(frozen=True)
class Desk:
    """What a counter's staff chose: the concerns served (empty: all) and whether they pause."""

    concerns: tuple[str, ...] = ()
    paused: bool = False


class CounterSessions:
    def __init__(self, store: BackendStore, clock=time.time):
        self._store, self._clock = store, clock  # the wall clock: every process reads the same

    def start(self, counter: CounterAccess) -> str:
        session_id = secrets.token_urlsafe(32)
        self._store.start_counter_session(
            _digest(session_id),
            (counter.site, counter.number),
            _digest(counter.token),
            self._clock(),
            SESSION_S,
            list(counter.concerns),
        )
        return session_id

    def find(self, session_id: str | None, access: Access) -> CounterSession | None:
        """The session, while it lasts and its counter's token is still the one it began with."""
        held = self._store.counter_session(_digest(session_id or ""))
        if held is None:
            return None
        site, number, token_digest, started = held
        counter = next((c for c in access.counters if (c.site, c.number) == (site, number)), None)
        if (
            self._clock() - started >= SESSION_S
            or counter is None
            or not secrets.compare_digest(_digest(counter.token), token_digest)
        ):
            self.end(session_id)
            return None
        return CounterSession(session_id, site, number)

    def end(self, session_id: str | None) -> None:
        self._store.end_counter_session(_digest(session_id or ""))

    def tell(self, session: CounterSession, message: tuple[str, str]) -> None:
        """What the last action did, for the page after its redirect (whichever process serves it)."""
        self._store.set_counter_message(_digest(session.id), json.dumps(message))

    def told(self, session: CounterSession) -> tuple[str, str] | None:
        """The message told, once."""
        message = self._store.take_counter_message(_digest(session.id))
        return tuple(json.loads(message)) if message else None

    def desk(self, site: str, number: int) -> Desk:
        concerns, paused = self._store.counter_desk((site, number)) or ([], False)
        return Desk(tuple(concerns), bool(paused))

    def set_desk(self, site: str, number: int, desk: Desk) -> None:
        self._store.set_counter_desk((site, number), list(desk.concerns), desk.paused)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
