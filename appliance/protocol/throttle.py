"""Slows down guessing tokens: each source address may send a few wrong tokens, then one now and then.

Every HTTP server that checks bearer tokens uses it (the reference backend, a device's push endpoint);
while a source is throttled, even a right token from it waits, or guessing would go on unslowed.
"""

import threading
import time

from appliance.protocol.contract import RequestRejected

WRONG_TOKENS_BURST = 10  # a technician's typos and a device with an old token get through at once
WRONG_TOKENS_PER_S = 0.1  # then one try every 10 s: a 16-character token takes longer than the universe
MAX_SOURCES = 10_000  # sources remembered; beyond it those whose budget is full again are forgotten


class WrongTokens:
    """A budget of wrong tokens per source address, refilled at ``per_s`` up to ``burst``."""

    def __init__(self, burst: float = WRONG_TOKENS_BURST, per_s: float = WRONG_TOKENS_PER_S, clock=time.monotonic):
        self.burst, self.per_s, self._clock = burst, per_s, clock
        self._budgets: dict[str, tuple[float, float]] = {}  # source: (budget left, when)
        self._lock = threading.Lock()

    def retry_after(self, source: str) -> float:
        """0 when ``source`` may try a token now, else the seconds until it may."""
        with self._lock:
            left = self._left(source, self._clock())
        return 0.0 if left >= 1 else (1 - left) / self.per_s

    def check(self, source: str) -> None:
        """Raises RequestRejected (429, with Retry-After) while ``source`` may not try a token."""
        if wait := self.retry_after(source):
            raise RequestRejected(
                429,
                "rate_limited",
                f"too many wrong tokens from {source}: retry in {wait:.0f} s",
                headers={"Retry-After": str(int(wait) + 1)},
            )

    def wrong(self, source: str) -> None:
        """``source`` sent a wrong (or no) token."""
        with self._lock:
            now = self._clock()
            if len(self._budgets) >= MAX_SOURCES:
                self._budgets = {s: v for s, v in self._budgets.items() if self._left(s, now) < self.burst}
            self._budgets[source] = (self._left(source, now) - 1, now)

    def _left(self, source: str, now: float) -> float:
        left, when = self._budgets.get(source, (self.burst, now))
        return min(self.burst, left + (now - when) * self.per_s)
