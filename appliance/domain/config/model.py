"""What the checked configuration can do beyond holding values: the base classes of the models
a ``Schema`` derives (their fields come from the schema's keys, never from here).
"""

from appliance.domain.errors import UnknownConcern
from appliance.domain.screen import ConcernInfo


class AppConfig:
    """The whole checked configuration: ``config.device``, ``config.printer``, ``config.concerns``, ..."""

    def concern(self, name: str):
        for concern in self.concerns:
            if concern.name == name:
                return concern
        raise UnknownConcern(f"no concern named {name!r}; configured: {', '.join(c.name for c in self.concerns)}")

    def where(self, header: str, written: str) -> tuple[str, int] | None:
        """The file and line that set ``[header] written`` (``title_uk``), for a warning after loading;
        None for a default."""
        return self.origins.get((header, written))


class Concern:
    """A visitor's reason to come ('Anliegen'), with its own ticket prefix and number range."""

    @property
    def info(self) -> ConcernInfo:
        """The concern as visitors see it (titles per language), on screen and on the ticket."""
        return ConcernInfo(self.name, self.prefix, self.title.texts)
