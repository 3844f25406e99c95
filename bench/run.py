"""`make bench`: runs every benchmark module and writes one flat JSON object, figure -> number.

Each capability adds a module here with a ``run() -> dict`` of its figures.
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    args = parser.parse_args()
    results: dict[str, float] = {}
    for name in MODULES:
        figures = importlib.import_module(name).run()
        for key, value in figures.items():
            print(f"{key:<32} {value}")
        results.update(figures)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
