"""What the screens show beyond the queue's entries: each concern's titles and the kiosk's latest answer.

The daemon sends these in its view and the monitor process parses them back into the same classes.
"""

from dataclasses import dataclass
from datetime import datetime

from appliance.domain.wording import DEFAULT_LANGUAGE, VisitorMessage


@dataclass(frozen=True)
class ConcernInfo:
    """A concern as visitors see it: its name, ticket prefix and title in each configured language."""

    name: str
    prefix: str
    titles: tuple[tuple[str, str], ...]  # (language, title), German first

    def title(self, language: str) -> str:
        titles = dict(self.titles)
        return titles.get(language) or titles.get(DEFAULT_LANGUAGE) or self.name

    def to_json(self) -> dict:
        return {"name": self.name, "prefix": self.prefix, "titles": dict(self.titles)}


@dataclass(frozen=True)
class KioskAnswer:
    """What the kiosk screen shows after a press or a scan: the message, and the number it is about."""

    message: VisitorMessage
    code: str | None = None  # the ticket's number, or the appointment's display code
    at: datetime | None = None
    # A ticket's answer says what its paper says: the screen must never count the queue again.
    ahead: int | None = None
    wait: tuple[int, int] | None = None  # minutes, low and high

    def to_json(self) -> dict:
        return {
            "message": self.message.to_json(),
            "code": self.code,
            "at": self.at.isoformat() if self.at else None,
            "ahead": self.ahead,
            "wait": list(self.wait) if self.wait else None,
        }
