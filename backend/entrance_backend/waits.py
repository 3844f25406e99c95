"""The office's wait estimate per concern, made by the backend over the whole office: from how many wait
and the pace of the concern's latest calls, so every screen and the website say the same.
"""

import math
from datetime import datetime

from appliance.protocol.contract import parse_timestamp

PACE_CALLS = 10  # the latest calls of a concern its pace is taken from
PACE_FEWEST = 3  # fewer calls than this tell nothing yet: the default pace holds
DEFAULT_PACE_S = 300  # a visitor served every 5 minutes, until the day's calls say otherwise
RANGE = (0.75, 1.25)  # the estimate as a range: visitors' service times vary


def pace_s(called_at: list[str], default: int = DEFAULT_PACE_S) -> int:
    """Seconds between calls of a concern from its latest calls' times (any order); ``default`` while
    there are fewer than PACE_FEWEST. Depends on the calls only, never on the time it is asked."""
    times = sorted(parse_timestamp(at) for at in called_at)[-PACE_CALLS:]
    if len(times) < PACE_FEWEST:
        return default
    return max(1, round(_seconds(times[-1], times[0]) / (len(times) - 1)))


def wait_minutes(ahead: int, seconds_per_visitor: int) -> tuple[int, int]:
    """(low, high) minutes for a visitor with ``ahead`` people of their concern before them."""
    minutes = ahead * seconds_per_visitor / 60
    return math.floor(minutes * RANGE[0]), math.ceil(minutes * RANGE[1])


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()
