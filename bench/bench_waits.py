"""Wait estimates: the device's estimator against the office's (the backend's forecast over the same
estimator, which every screen shows once a backend is reached), the ZMS method and the last-30-waits average.

The same simulated office days (appliance/simulation.py, seeds 1-8: 4 to 8 counters, a morning
rush, over half with appointments, breaks) feed each estimator what the device would see; every
walk-in ticket's printed estimate is scored against the wait that followed. The estimator's
constants were tuned on other seeds (101-124). ``python bench/bench_waits.py`` prints the table.
"""

import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.domain.simulation import DaySpec, simulate  # noqa: E402
from appliance.forecast.waits import (  # noqa: E402
    FixedServiceEstimator,
    LastNWaitsEstimator,
    WaitEstimate,
    WaitEstimator,
)
from entrance_backend.forecast import Observation, OfficeForecast  # noqa: E402

SEEDS = range(1, 9)
# What a technician would configure: plausible, not measured (first applications take longer).
DEFAULT_SERVICE_MIN = {"leave": 7.0, "first-application": 10.0, "documents": 5.0}
DEFAULT_COUNTERS = 5


class OfficeForecastAdapter:
    """The backend's estimate for a ticket just drawn, as its wait page gives it (and every screen, for
    the number drawn next): the simulator's observations journaled as the store writes them
    (entrance_backend.forecast's Observation, numbered in the order learnt), fed to the forecast that the
    office state and the wait page read, and taken at the latest change."""

    def __init__(self, concerns: list[str]):
        self.forecast = OfficeForecast()
        self._journaled = 0
        self._booked: dict[tuple, list[str]] = {}  # (slot, concern) -> codes the journal booked them under
        self._codes: dict[str, str] = {}  # a checked-in visitor's display code -> its booking's code
        self._newest = ""

    def appointments_upcoming(self, appointments) -> None:
        if self._booked or not appointments:
            return  # later lists only drop who checked in: the journal has that already
        booked_at = min(slot for slot, _ in appointments) - timedelta(hours=2)  # the day list, before opening
        for number, (slot, concern) in enumerate(appointments, 1):
            code = f"T{number:03d}"
            self._booked.setdefault((slot, concern), []).append(code)
            self._journal("booked", code, booked_at, concern=concern, slot=slot)

    def ticket_issued(self, code: str, concern: str, at) -> None:
        self._newest = code
        self._journal("drawn", code, at, concern=concern)

    def appointment_checked_in(self, code: str, concern: str, slot, at) -> None:
        codes = self._booked.get((slot, concern))
        self._codes[code] = codes.pop(0) if codes else code
        self._journal("checked_in", self._codes[code], at, concern=concern, slot=slot)

    def called(self, code: str, counter: int, at) -> None:
        self._journal("called", self._codes.get(code, code), at, counter=counter)

    def estimate_for_new_ticket(self, concern: str, at) -> WaitEstimate:
        return self.forecast.ticket_wait(self._newest)

    def _journal(self, kind: str, code: str, at, **facts) -> None:
        self._journaled += 1
        self.forecast.feed([Observation(self._journaled, kind, code, at, **facts)])


def estimators() -> dict:
    defaults = dict(default_service_min=DEFAULT_SERVICE_MIN, default_counters=DEFAULT_COUNTERS)
    return {
        "ours": lambda concerns: WaitEstimator(concerns, **defaults),
        "office": OfficeForecastAdapter,
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
        "wait_office_mae_min": round(scores["office"]["mae_min"], 2),
        "wait_office_coverage_pct": round(scores["office"]["coverage_pct"], 1),
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
