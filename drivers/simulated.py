"""Simulated hardware for the demo: a button panel and counters that call the next visitor.

They hand the core the same commands the real GPIO buttons and the backend's staff calls do.
"""
from concurrent.futures import Future

from appliance.commands import CallNext, Health, IssueTicket, ReportHealth


class SimulatedButtons:
    """One button per concern, pressed by the demo's simulated visitors."""

    def __init__(self, core):
        self._core = core
        core.submit(ReportHealth("buttons", Health.OK, "simulated"))

    def press(self, concern: str) -> Future:
        return self._core.submit(IssueTicket(concern, source="simulated button"))


class SimulatedCounter:
    """A staffed counter: calls the longest-waiting visitor when it becomes free."""

    def __init__(self, core, number: int):
        self._core = core
        self.number = number

    def call_next(self) -> Future:
        return self._core.submit(CallNext(self.number))
