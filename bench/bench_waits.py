"""Wait estimates: the device's estimator against the office's (the backend's pace model, which every
screen shows once a backend is reached), the ZMS method and the last-30-waits average.

The same simulated office days (appliance/simulation.py, seeds 1-8: 4 to 8 counters, a morning
rush, over half with appointments, breaks) feed each estimator what the device would see; every
walk-in ticket's printed estimate is scored against the wait that followed. The estimator's
constants were tuned on other seeds (101-124). ``python bench/bench_waits.py`` prints the table.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.domain.simulation import DaySpec, simulate  # noqa: E402
from appliance.domain.waits import (  # noqa: E402
    FixedServiceEstimator,
    LastNWaitsEstimator,
    WaitEstimate,
    WaitEstimator,
)
from entrance_backend.waits import DEFAULT_PACE_S, pace_s, wait_minutes  # noqa: E402

SEEDS = range(1, 9)
# What a technician would configure: plausible, not measured (first applications take longer).
DEFAULT_SERVICE_MIN = {"leave": 7.0, "first-application": 10.0, "documents": 5.0}
DEFAULT_COUNTERS = 5


class OfficePaceEstimator:
    """The backend's estimate as a ticket prints it (entrance_backend.store's office state): the visitors of
    the concern waiting before it × the seconds between the concern's latest calls."""

    def __init__(self, concerns: list[str], default_pace_s: int = DEFAULT_PACE_S):
        self.default_pace_s = default_pace_s
        self._waiting: dict[str, str] = {}  # code -> concern, tickets and checked-in appointments
        self._called_at: dict[str, list[str]] = {concern: [] for concern in concerns}

    def ticket_issued(self, code: str, concern: str, at) -> None:
        self._waiting[code] = concern

    def appointment_checked_in(self, code: str, concern: str, slot, at) -> None:
        self._waiting[code] = concern

    def appointments_upcoming(self, appointments) -> None:
        pass  # the office's model does not look ahead to appointments still to come

    def called(self, code: str, counter: int, at) -> None:
        concern = self._waiting.pop(code, None)
        if concern is not None:
            self._called_at[concern].append(at.isoformat())

    def estimate_for_new_ticket(self, concern: str, at) -> WaitEstimate:
        # simulate() feeds the ticket before asking: the newest of the concern is the ticket itself.
        ahead = sum(1 for waiting in self._waiting.values() if waiting == concern) - 1
        low, high = wait_minutes(ahead, pace_s(self._called_at[concern], self.default_pace_s))
        return WaitEstimate(ahead, low, high)


def estimators() -> dict:
    defaults = dict(default_service_min=DEFAULT_SERVICE_MIN, default_counters=DEFAULT_COUNTERS)
    return {
        "ours": lambda concerns: WaitEstimator(concerns, **defaults),
        "office": OfficePaceEstimator,
        "fixed": lambda concerns: FixedServiceEstimator(concerns, **defaults),
        "last30": lambda concerns: LastNWaitsEstimator(concerns, n=30, **defaults),
    }


def score(factory, seeds=SEEDS) -> dict:
    """MAE of the range's midpoint, coverage and widths over every walk-in ticket of the days."""
    printed = [p for seed in seeds for p in simulate(DaySpec(seed=seed), factory).printed]
    with_queue = [p for p in printed if p.people_ahead > 0]
    return {
        "tickets": len(printed),
        "mae_min": statistics.mean(abs(p.point_min - p.actual_min) for p in printed),
        "coverage_pct": 100 * statistics.mean(p.covered for p in printed),
        "coverage_with_queue_pct": 100 * statistics.mean(p.covered for p in with_queue),
        "median_width_min": statistics.median(p.high_min - p.low_min for p in printed),
        "median_width_with_queue_min": statistics.median(p.high_min - p.low_min for p in with_queue),
        "mean_wait_min": statistics.mean(p.actual_min for p in printed),
    }


def run() -> dict:
    scores = {name: score(factory) for name, factory in estimators().items()}
    ours = scores["ours"]
    return {
        "wait_estimate_mae_min": round(ours["mae_min"], 2),
        "wait_range_coverage_pct": round(ours["coverage_pct"], 1),
        "wait_range_coverage_with_queue_pct": round(ours["coverage_with_queue_pct"], 1),
        "wait_range_median_width_min": ours["median_width_min"],
        "wait_office_pace_mae_min": round(scores["office"]["mae_min"], 2),
        "wait_office_pace_coverage_pct": round(scores["office"]["coverage_pct"], 1),
        "wait_baseline_fixed_mae_min": round(scores["fixed"]["mae_min"], 2),
        "wait_baseline_last30_mae_min": round(scores["last30"]["mae_min"], 2),
    }


def main() -> None:
    started = time.perf_counter()
    print(
        f"{'estimator':<10} {'tickets':>7} {'MAE min':>8} {'in range':>9} {'in range, queue':>16} "
        f"{'median width':>13} {'width, queue':>13}"
    )
    for name, factory in estimators().items():
        s = score(factory)
        print(
            f"{name:<10} {s['tickets']:>7} {s['mae_min']:>8.2f} {s['coverage_pct']:>8.1f}% "
            f"{s['coverage_with_queue_pct']:>15.1f}% {s['median_width_min']:>13} "
            f"{s['median_width_with_queue_min']:>13}"
        )
    print(f"(mean actual wait {s['mean_wait_min']:.1f} min; {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
