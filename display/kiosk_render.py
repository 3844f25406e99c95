"""Draws the kiosk's own small (often touch) screen: what to do, the answer, or out of order.

On a touchscreen the welcome screen lists the concerns as buttons, and the offered languages, each named
in its own script; their hit rectangles come back.
"""

from dataclasses import dataclass, field
from datetime import datetime

import pygame

from appliance.display import theme
from appliance.display.text import Canvas, Drawn, font, size_for_cap, wrap
from appliance.display.view import WaitRange
from appliance.domain.catalogs import language_name
from appliance.domain.screen import ConcernInfo
from appliance.domain.wording import VisitorMessage, both, people_ahead, wait_minutes

# Fingers need about 9 mm; on the 7" Pi touch display (800x480) that is about 75 px.
MIN_BUTTON_PX = 64


@dataclass(frozen=True)
class KioskTicket:
    """The answer to a button press or touch: the number, and what to expect."""

    code: str
    concern: ConcernInfo | None = None
    ahead: int = 0
    wait: WaitRange | None = None


@dataclass(frozen=True)
class OutOfOrder:
    """The kiosk cannot serve (printer broken, core gone): send visitors to the information desk."""


@dataclass(frozen=True)
class OneMoment:
    """A concern was touched and the daemon has not answered yet: the touch was felt."""


@dataclass(frozen=True)
class ConcernButton:
    concern: str
    rect: pygame.Rect


@dataclass(frozen=True)
class LanguageButton:
    language: str
    rect: pygame.Rect


@dataclass
class KioskFrame:
    drawn: list[Drawn]
    buttons: tuple[ConcernButton, ...] = field(default=())
    language_buttons: tuple[LanguageButton, ...] = field(default=())

    def hit(self, point: tuple[int, int]) -> str | None:
        """The concern whose button contains ``point`` (picture coordinates), or None."""
        return next((b.concern for b in self.buttons if b.rect.collidepoint(point)), None)

    def hit_language(self, point: tuple[int, int]) -> str | None:
        """The language whose button contains ``point``, or None."""
        return next((b.language for b in self.language_buttons if b.rect.collidepoint(point)), None)

    def texts(self, role: str | None = None) -> list[str]:
        return [d.text for d in self.drawn if role is None or d.role == role]


def render_kiosk(
    surface: pygame.Surface,
    screen: KioskTicket | VisitorMessage | OutOfOrder | OneMoment | None,
    now: datetime,
    *,
    concerns: tuple[ConcernInfo, ...] = (),
    touch: bool = False,
    language: str = "de",
    second_language: str | None = "en",
    languages: tuple[str, ...] = (),
    language_returning: bool = False,
) -> KioskFrame:
    """Draws the kiosk screen; ``screen`` None is the welcome screen (on touch with concern buttons, and
    a button for each of ``languages`` when there are several; ``language_returning`` adds the notice
    that the visitor's language is about to give way to German)."""
    painter = _KioskPainter(surface, language, second_language if second_language != language else None)
    if isinstance(screen, KioskTicket):
        painter.ticket(screen)
    elif isinstance(screen, VisitorMessage):
        painter.message(screen)
    elif isinstance(screen, OutOfOrder):
        painter.out_of_order()
    elif isinstance(screen, OneMoment):
        painter.one_moment()
    else:
        painter.welcome(
            concerns if touch else (), languages if touch and len(languages) > 1 else (), language_returning
        )
    return KioskFrame(painter.canvas.drawn, tuple(painter.buttons), tuple(painter.language_buttons))


class _KioskPainter:
    def __init__(self, surface, first, second):
        self.canvas = Canvas(surface)
        self.width, self.height = surface.get_size()
        self.first, self.second = first, second
        # Designed for the 800x480 touch display; scales with the short side.
        self.u = min(self.width, self.height) / 480
        self.margin = round(20 * self.u)
        self.buttons: list[ConcernButton] = []
        self.language_buttons: list[LanguageButton] = []
        surface.fill(theme.BACKGROUND)

    def _pair(self, key_or_pair, y: int, first_size: int, role: str, colour=theme.TEXT, *, rect=None) -> int:
        """German line, English line below it, centred; returns the bottom."""
        first, second = both(key_or_pair, self.first, self.second) if isinstance(key_or_pair, str) else key_or_pair
        box = rect or pygame.Rect(self.margin, 0, self.width - 2 * self.margin, self.height)
        drawn = self.canvas.text(role, first, "bold", first_size, colour, max_width=box.width, midtop=(box.centerx, y))
        y = drawn.bottom
        if second:
            y = self.canvas.text(
                role,
                second,
                "regular",
                round(first_size * 0.66),
                theme.MUTED,
                max_width=box.width,
                midtop=(box.centerx, y + round(2 * self.u)),
            ).bottom
        return y

    def welcome(self, concerns: tuple[ConcernInfo, ...], languages: tuple[str, ...], returning: bool = False):
        u, m = self.u, self.margin
        bottom = self._language_row(languages) if languages else self.height - m
        if returning:
            bottom = self._returning_notice(bottom)
        if not concerns:
            half = bottom // 2 + (m // 2 if languages else 0)
            self._pair("kiosk_appointment", half - round(110 * u), round(40 * u), "instruction")
            pygame.draw.line(self.canvas.surface, theme.RULE, (m, half), (self.width - m, half), max(1, round(2 * u)))
            self._pair("kiosk_walk_in", half + round(30 * u), round(40 * u), "instruction")
            return
        y = self._pair("kiosk_appointment", m, round(30 * u), "instruction")
        y = self._pair("kiosk_choose", y + round(14 * u), round(30 * u), "instruction") + round(14 * u)
        area = pygame.Rect(m, y, self.width - 2 * m, bottom - y)
        gap = round(12 * u)
        columns = 1 if self.width < 560 * u else 2
        while True:
            rows = -(-len(concerns) // columns)
            button_h = min((area.height - (rows - 1) * gap) // rows, round(130 * u))
            if button_h >= MIN_BUTTON_PX or columns >= 3:
                break
            columns += 1
        button_w = (area.width - (columns - 1) * gap) // columns
        title_size = size_for_cap("bold", min(button_h * 0.16, 19 * u))
        second_size = round(title_size * 0.78)
        inner_w = button_w - round(24 * u)
        for index, concern in enumerate(concerns):
            row, column = divmod(index, columns)
            rect = pygame.Rect(
                area.left + column * (button_w + gap), area.top + row * (button_h + gap), button_w, button_h
            )
            pygame.draw.rect(self.canvas.surface, theme.PANEL, rect, border_radius=round(12 * u))
            pygame.draw.rect(
                self.canvas.surface, theme.RULE, rect, width=max(1, round(2 * u)), border_radius=round(12 * u)
            )
            first = concern.title(self.first)
            second = concern.title(self.second) if self.second else None
            # A long title wraps to a second line rather than shrinking: all buttons keep one size.
            lines = [(line, "bold", title_size, theme.TEXT) for line in wrap(first, "bold", title_size, inner_w)]
            if second and second != first:
                lines.append((second, "regular", second_size, theme.MUTED))
            while len(lines) > 1 and sum(font(f, z).get_linesize() for _, f, z, _ in lines) > button_h - 8 * u:
                lines.pop(-1 if len(lines) > 2 or lines[-1][1] == "regular" else 1)
            y = rect.centery - sum(font(f, z).get_linesize() for _, f, z, _ in lines) // 2
            for text, face, size, colour in lines:
                y = self.canvas.text(
                    "concern_button",
                    text,
                    face,
                    size,
                    colour,
                    max_width=inner_w,
                    min_size=size,
                    midtop=(rect.centerx, y),
                ).bottom
            self.buttons.append(ConcernButton(concern.name, rect))

    def _language_row(self, languages: tuple[str, ...]) -> int:
        """One button per language along the foot, the shown one highlighted; returns the row's top less a gap."""
        u, m = self.u, self.margin
        gap = round(8 * u)
        height = max(MIN_BUTTON_PX, round(64 * u))
        top = self.height - m - height
        width = (self.width - 2 * m - (len(languages) - 1) * gap) // len(languages)
        size = size_for_cap("bold", 15 * u)
        for index, language in enumerate(languages):
            rect = pygame.Rect(m + index * (width + gap), top, width, height)
            shown = language == self.first
            pygame.draw.rect(
                self.canvas.surface, theme.HIGHLIGHT if shown else theme.PANEL, rect, border_radius=round(10 * u)
            )
            pygame.draw.rect(
                self.canvas.surface, theme.RULE, rect, width=max(1, round(2 * u)), border_radius=round(10 * u)
            )
            self.canvas.text(
                "language_button",
                language_name(language),
                "bold",
                size,
                theme.HIGHLIGHT_TEXT if shown else theme.TEXT,
                max_width=width - round(12 * u),
                min_size=round(size * 0.6),
                center=rect.center,
            )
            self.language_buttons.append(LanguageButton(language, rect))
        return top - round(12 * u)

    def _returning_notice(self, bottom: int) -> int:
        """The notice that German comes back soon, on a band just above ``bottom``; returns the band's top."""
        u, m = self.u, self.margin
        band = pygame.Rect(m, bottom - round(56 * u), self.width - 2 * m, round(56 * u))
        pygame.draw.rect(self.canvas.surface, theme.WARNING, band, border_radius=round(8 * u))
        first, second = both("language_returning", self.first, self.second)
        for text, top, size in ((first, band.top + round(4 * u), 20), (second, band.top + round(30 * u), 16)):
            if text:
                self.canvas.text(
                    "language_returning",
                    text,
                    "bold" if text == first else "regular",
                    round(size * u),
                    theme.HIGHLIGHT_TEXT,
                    max_width=band.width - round(16 * u),
                    midtop=(band.centerx, top),
                )
        return band.top - round(10 * u)

    def ticket(self, ticket: KioskTicket):
        u, m = self.u, self.margin
        y = self._pair("ticket.number", m, round(28 * u), "label", theme.MUTED)
        code = self.canvas.text(
            "ticket_code",
            ticket.code,
            "mono",
            size_for_cap("mono", self.height * 0.2),
            theme.HIGHLIGHT,
            max_width=self.width - 2 * m,
            midtop=(self.width // 2, y + round(6 * u)),
        )
        y = code.bottom + round(10 * u)
        if ticket.concern:
            first = ticket.concern.title(self.first)
            second = ticket.concern.title(self.second) if self.second else None
            y = self._pair((first, second if second != first else None), y, round(26 * u), "concern") + round(14 * u)
        facts = [people_ahead(ticket.ahead)] + (
            [wait_minutes(ticket.wait.low_min, ticket.wait.high_min)] if ticket.wait else []
        )
        first, second = (" · ".join(fact.render(language) for fact in facts) for language in (self.first, self.second))
        self._pair((first, second if self.second and second != first else None), y, round(30 * u), "facts")

    def message(self, message: VisitorMessage):
        u, m = self.u, self.margin
        colour = {"ok": theme.OK, "warn": theme.WARNING, "error": theme.ERROR}.get(message.kind, theme.PANEL)
        band = pygame.Rect(0, 0, self.width, round(self.height * 0.42))
        pygame.draw.rect(self.canvas.surface, colour, band)
        text_colour = theme.BACKGROUND if message.kind == "warn" else theme.TEXT
        first_title, second_title = both(message.title, self.first, self.second)
        title = self.canvas.text(
            "message_title",
            first_title,
            "bold",
            round(44 * u),
            text_colour,
            max_width=self.width - 2 * m,
            midbottom=(band.centerx, band.centery + round(6 * u)),
        )
        if second_title:
            self.canvas.text(
                "message_title",
                second_title,
                "regular",
                round(28 * u),
                text_colour,
                max_width=self.width - 2 * m,
                midtop=(band.centerx, title.bottom + round(4 * u)),
            )
        y = band.bottom + m
        for body, size, colour in zip(both(message.body, self.first, self.second), (28, 22), (theme.TEXT, theme.MUTED)):
            if body is None:
                continue
            for line in wrap(body, "regular", round(size * u), self.width - 2 * m):
                y = self.canvas.text(
                    "message_body",
                    line,
                    "regular",
                    round(size * u),
                    colour,
                    max_width=self.width - 2 * m,
                    midtop=(self.width // 2, y),
                ).bottom
            y += round(12 * u)

    def out_of_order(self):
        u = self.u
        y = self._pair("out_of_order.title", round(self.height * 0.25), round(56 * u), "out_of_order", theme.WARNING)
        self._pair("ask_information", y + round(30 * u), round(30 * u), "out_of_order")

    def one_moment(self):
        self._pair("one_moment", round(self.height * 0.4), round(48 * self.u), "one_moment")
