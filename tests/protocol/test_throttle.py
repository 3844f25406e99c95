"""Guessing tokens is slowed down per source address, on a plain float clock."""

from appliance.protocol.throttle import WrongTokens


def test_a_source_gets_a_few_wrong_tokens_then_one_every_ten_seconds():
    now = [100.0]
    throttle = WrongTokens(burst=10, per_s=0.1, clock=lambda: now[0])
    for _ in range(10):
        assert throttle.retry_after("192.0.2.7") == 0
        throttle.wrong("192.0.2.7")
    assert round(throttle.retry_after("192.0.2.7")) == 10
    assert throttle.retry_after("192.0.2.8") == 0  # another source is not slowed
    now[0] += 10
    assert throttle.retry_after("192.0.2.7") == 0
    throttle.wrong("192.0.2.7")
    assert throttle.retry_after("192.0.2.7") > 0
