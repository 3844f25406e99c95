"""`make bench`: the figures of the README's benchmark table (bench/run.py runs every module).

The benchmarks build their devices with the tests' shared setup (tests/support), so both agree
on what a minimal device is.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
