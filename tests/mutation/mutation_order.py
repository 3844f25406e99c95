"""A pytest plugin for ``make mutants`` only: each mutant's tests run fastest first, by the durations mutmut
measured in its clean run. mutmut stops a mutant at its first failing test and hands them over unordered."""

import json
from pathlib import Path


def pytest_collection_modifyitems(items):
    stats = Path("mutmut-stats.json")  # mutmut runs the tests in its copy of the tree, beside this file
    durations = json.loads(stats.read_text())["duration_by_test"] if stats.exists() else {}
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
