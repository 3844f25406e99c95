"""What the checked configuration can do beyond holding values: the base classes of the models
a ``Schema`` derives (their fields come from the schema's keys, never from here).
"""

from appliance.domain.errors import UnknownConcern


class AppConfig:
    """The whole checked configuration: ``config.device``, ``config.printer``, ``config.concerns``, ..."""

    def concern(self, name: str):
        for concern in self.concerns:
            if concern.name == name:
                return concern
        raise UnknownConcern(f"no concern named {name!r}; configured: {', '.join(c.name for c in self.concerns)}")


class Concern:
    """A visitor's reason to come ('Anliegen'), with its own ticket prefix and number range."""

    def title(self, language: str) -> str:
        return self.title_en if language == "en" and self.title_en else self.title_de
