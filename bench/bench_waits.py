"""Wait estimates: the project's estimator against the ZMS method and the last-30-waits average.

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
from appliance.domain.waits import FixedServiceEstimator, LastNWaitsEstimator, WaitEstimator  # noqa: E402

SEEDS = range(1, 9)
# What a technician would configure: plausible, not measured (first applications take longer).
DEFAULT_SERVICE_MIN = {"leave": 7.0, "first-application": 10.0, "documents": 5.0}
DEFAULT_COUNTERS = 5


def estimators() -> dict:
    defaults = dict(default_service_min=DEFAULT_SERVICE_MIN, default_counters=DEFAULT_COUNTERS)
    return {
        "ours": lambda concerns: WaitEstimator(concerns, **defaults),
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
