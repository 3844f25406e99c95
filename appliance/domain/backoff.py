"""How long to wait before trying again: exponential backoff with jitter.

One rule for everything that retries: the backend client, the supervisor's restarts, the code
readers' and the monitor's reconnects.
"""

import random


class Backoff:
    """Exponential backoff with jitter between failed attempts; a Retry-After is waited at least."""

    def __init__(self, first: float = 0.5, most: float = 60.0, rng: random.Random | None = None):
        self.first, self.most = first, most
        self.failures = 0
        self._random = rng or random.Random()

    def reset(self) -> None:
        """After a success: the next failure waits ``first`` again."""
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """Seconds to wait after one more failure: up to first * 2^n (at most ``most``), at least half
        of it, so devices that failed together do not all come back together."""
        ceiling = min(self.most, self.first * 2 ** min(self.failures, 30))
        self.failures += 1
        delay = self._random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after + self._random.uniform(0, 0.2))
        return delay
