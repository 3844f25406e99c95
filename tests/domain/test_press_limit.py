"""The one rate limit for every way to ask for a ticket, on a plain float clock: a gap per concern and a
bounded queue."""

import pytest

from appliance.domain.press_limit import Ask, PressLimit


def test_a_hammered_concern_gives_one_ticket_per_gap():
    limit = PressLimit(min_gap_s=3.0)
    verdicts = [limit.ask("leave", 100 + i / 10, queued=0) for i in range(40)]  # every 100 ms for 4 s
    assert [i for i, v in enumerate(verdicts) if v is Ask.TAKEN] == [0, 30]  # from the last ticket, not press
    assert set(verdicts) == {Ask.TAKEN, Ask.TOO_SOON}


def test_two_concerns_within_the_gap_give_two_tickets():
    limit = PressLimit(min_gap_s=3.0)
    assert limit.ask("leave", 100.0, queued=0) is Ask.TAKEN
    assert limit.ask("documents", 100.5, queued=1) is Ask.TAKEN


def test_a_full_queue_is_busy_and_does_not_use_up_the_gap():
    limit = PressLimit(min_gap_s=3.0, queue_size=4)
    assert limit.ask("leave", 100.0, queued=4) is Ask.BUSY
    assert limit.ask("leave", 100.1, queued=3) is Ask.TAKEN  # the busy one took no ticket: no gap counts


def test_each_answer_is_told_plainly():
    limit = PressLimit(min_gap_s=3.0, queue_size=4)
    assert limit.describe(Ask.TAKEN, "leave") == "pressed"
    assert "too soon: one ticket of 'leave' every 3 s" in limit.describe(Ask.TOO_SOON, "leave")
    assert "busy: 4 tickets are waiting" in limit.describe(Ask.BUSY, "leave")


@pytest.mark.parametrize("kwargs", [{"min_gap_s": -1}, {"queue_size": 0}])
def test_nonsensical_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        PressLimit(**kwargs)
