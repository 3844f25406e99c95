"""The one retry rule: exponential backoff with jitter, used by every part that tries again."""

from appliance.domain.backoff import Backoff


def test_backoff_grows_exponentially_with_jitter_up_to_its_most_and_honours_retry_after():
    backoff = Backoff(first=0.5, most=8.0)
    delays = [backoff.next_delay() for _ in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not in lockstep
    assert backoff.next_delay(retry_after=30) >= 30
    backoff.reset()
    assert backoff.next_delay() <= 0.5
