"""The project's exception hierarchy.

Every error carries a message a technician or visitor can act on; callers catch the base class.
"""


class ApplianceError(Exception):
    """Base class of every error the appliance raises on purpose."""


class ConfigError(ApplianceError, ValueError):
    """The configuration has problems; ``problems`` lists every one, each naming file and line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class StateError(ApplianceError):
    """The state database cannot be used safely; it is left untouched for inspection."""


class DiskFull(ApplianceError):
    """The disk holding the state is full: nothing new can be stored, so no number or check-in is given
    until space returns. What was stored before stays."""


class NumbersExhausted(ApplianceError):
    """Every number of a concern's range for this device was issued today."""


class NoNumberHere(ApplianceError):
    """No number may be issued here now without risking one twice (no fallback block yet, or the office
    refused this device); the message says why."""


class UnknownConcern(ApplianceError, KeyError):
    """A button or screen asked for a concern the configuration does not define."""

    def __str__(self):
        return str(self.args[0]) if self.args else "unknown concern"


class ClockNotTrusted(ApplianceError):
    """The wall clock is not known to be right yet, so no day-bound number or check-in is issued."""


class CallsByBackend(ApplianceError):
    """A call made on a device that follows a backend: counters call through the backend."""
