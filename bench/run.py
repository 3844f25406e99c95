"""`make bench`: runs every benchmark module and writes one flat JSON object, figure -> number.

Each capability adds a module here with a ``run() -> dict`` of its figures. Before each module the run
times its yardsticks (bench/reference.py); each cost figure (a time, a rate, a CPU share) is written a
second time as ``<figure>_vs_cpu`` or ``_vs_fsync``: its ratio to the yardstick measured beside it.
"""

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import reference  # noqa: E402

MODULES = [
    "bench.bench_core",
    "bench.bench_printer",
    "bench.bench_scan",
    "bench.bench_monitor",
    "bench.bench_waits",
    "bench.bench_sync",
    "bench.bench_push",
    "bench.bench_numbers",
    "bench.bench_latency",
    "bench.bench_pages",
    "bench.bench_languages",
    "bench.bench_office",
]

# Cost figures -> their yardstick and whether more is better. A time's ratio is figure / yardstick (how
# many yardsticks it takes); a rate's or capacity's is figure * yardstick / 1000 (how many per yardstick).
COSTS: dict[str, tuple[str, bool]] = {
    "startup_to_ready_ms": ("cpu", False),
    "sigterm_to_exit_ms": ("cpu", False),
    "tickets_issued_per_s": ("fsync", True),
    "scan_to_checkin_p99_ms": ("cpu", False),
    "button_to_printed_p99_ms": ("cpu", False),
    "camera_decode_ms_640x480": ("cpu", False),
    "camera_empty_frame_ms_640x480": ("cpu", False),
    "camera_idle_cpu_pct": ("cpu", False),
    "monitor_frame_ms": ("cpu", False),
    "monitor_idle_cpu_pct": ("cpu", False),
    "call_to_pixels_ms": ("cpu", False),
    "appointments_apply_10k_ms": ("fsync", False),
    "outbox_drain_events_per_s": ("fsync", True),
    "call_to_device_p99_ms": ("cpu", False),
    "push_1mb_ms": ("cpu", False),
    "office_ticket_number_ms_p99": ("cpu", False),
    "wait_page_p99_ms": ("cpu", False),
    "kiosk_answer_to_speech_ms": ("cpu", False),
    "kiosk_answer_render_ms_ar": ("cpu", False),
    "office_screens_agree_p99_ms": ("cpu", False),
    "backend_devices_served": ("cpu", True),
    "backend_devices_served_postgresql_2_workers": ("cpu", True),
}


def ratios(figures: dict, yardsticks: dict[str, float]) -> dict[str, float]:
    """Each cost figure among ``figures`` against the yardstick measured before its module."""
    out = {}
    for key, (yardstick, more_is_better) in COSTS.items():
        if key in figures:
            value, against = figures[key], yardsticks[yardstick]
            out[f"{key}_vs_{yardstick}"] = round(value * against / 1000 if more_is_better else value / against, 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument(
        "--only",
        action="append",
        choices=[name.rpartition(".")[2] for name in MODULES],
        help="run just this module (repeatable) and replace its figures in --out, keeping the others",
    )
    args = parser.parse_args()
    modules = [name for name in MODULES if not args.only or name.rpartition(".")[2] in args.only]
    # A partial run keeps the whole run's run_* figures: each module has its own load and minutes.
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.only else {}
    if not args.only:
        results["run_load_1min_at_start"] = round(os.getloadavg()[0], 2)
    began = time.monotonic()
    for name in modules:
        yardsticks = {"cpu": reference.cpu_ms(), "fsync": reference.fsync_ms()}
        module = name.rpartition(".")[2]
        started, load = time.monotonic(), os.getloadavg()[0]
        figures = importlib.import_module(name).run()
        figures |= ratios(figures, yardsticks)
        figures |= {f"{module}_{kind}_yardstick_ms": value for kind, value in yardsticks.items()}
        figures[f"{module}_load_1min"] = round((load + os.getloadavg()[0]) / 2, 2)
        figures[f"{module}_minutes"] = round((time.monotonic() - started) / 60, 1)
        for key, value in figures.items():
            print(f"{key:<48} {value}", flush=True)
        results.update(figures)
        _write(args.out, results)  # a module that fails later leaves the figures before it
    if not args.only:
        results["run_minutes"] = round((time.monotonic() - began) / 60, 1)
        results["run_load_1min_at_end"] = round(os.getloadavg()[0], 2)
    _write(args.out, results)
    print(f"written to {args.out}")
    if missing := sorted(set(COSTS) - set(results)):
        print(f"cost figures no module wrote (renamed? update COSTS): {missing}")
        return 1
    return 0


def _write(path: Path, results: dict) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
