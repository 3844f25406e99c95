"""Draws the kiosk's own small (often touch) screen: what to do, the answer, or out of order.

On a touchscreen the welcome screen lists the concerns as buttons, and the offered languages, each named
in its own script, and an answer has a button to hear it again; their hit rectangles come back.
"""

from dataclasses import dataclass, field
from datetime import datetime

import pygame

from appliance.display import theme
from appliance.display.text import Canvas, Drawn, font, size_for_cap, wrap
from appliance.display.view import WaitRange
from appliance.domain.catalogs import language_name
from appliance.domain.screen import ConcernInfo
from appliance.domain.wording import VisitorMessage, both, people_ahead, text, wait_minutes

# Fingers need about 9 mm; on the 7" Pi touch display (800x480) that is about 75 px.
MIN_BUTTON_PX = 64
# Large-text mode (EN 301 549 5.1.4): every text this much larger, and none below WCAG's large text
# (18 pt, 24 px at the 800x480 design size), so that it reads at arm's length and from a wheelchair.
LARGE_TEXT_SCALE = 1.4
LARGE_TEXT_MIN_PX = 24


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
    repeat_button: pygame.Rect | None = None

    def hit(self, point: tuple[int, int]) -> str | None:
        """The concern whose button contains ``point`` (picture coordinates), or None."""
        return next((b.concern for b in self.buttons if b.rect.collidepoint(point)), None)

    def hit_language(self, point: tuple[int, int]) -> str | None:
        """The language whose button contains ``point``, or None."""
        return next((b.language for b in self.language_buttons if b.rect.collidepoint(point)), None)

    def hit_repeat(self, point: tuple[int, int]) -> bool:
        """Whether ``point`` is on the button that speaks the answer again."""
        return self.repeat_button is not None and self.repeat_button.collidepoint(point)

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
    large_text: bool = False,
) -> KioskFrame:
    """Draws the kiosk screen; ``screen`` None is the welcome screen (on touch with concern buttons, and
    a button for each of ``languages`` when there are several; ``language_returning`` adds the notice
    that the visitor's language is about to give way to German). On touch every other screen has a button
    to hear it again. ``large_text``: the large-text mode."""
    painter = _KioskPainter(
        surface, language, second_language if second_language != language else None, large_text=large_text
    )
    if touch and screen is not None:
        painter.repeat_button()
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
            concerns if touch else (),
            languages if touch and len(languages) > 1 else (),
            returning_notice(touch) if language_returning else None,
        )
    return KioskFrame(painter.canvas.drawn, tuple(painter.buttons), tuple(painter.language_buttons), painter.repeat)


def returning_notice(touch: bool) -> str:
    """The key of the notice that German comes back soon: a touch keeps the visitor's language, and on a
    kiosk with buttons the repeat button does."""
    return "language_returning" if touch else "language_returning_button"


class _KioskPainter:
    def __init__(self, surface, first, second, *, large_text: bool = False):
        self.canvas = Canvas(surface)
        self.width, self.height = surface.get_size()
        self.first, self.second = first, second
        # Designed for the 800x480 touch display; scales with the short side.
        self.u = min(self.width, self.height) / 480
        self.margin = round(20 * self.u)
        self.scale = LARGE_TEXT_SCALE if large_text else 1.0
        self.smallest = round(LARGE_TEXT_MIN_PX * self.u) if large_text else 0
        self.buttons: list[ConcernButton] = []
        self.language_buttons: list[LanguageButton] = []
        self.repeat: pygame.Rect | None = None
        self.bottom = self.height  # what is drawn stays above this (the repeat button)
        surface.fill(theme.BACKGROUND)

    def px(self, design: float) -> int:
        """A text size given at the 800x480 design size, scaled to this screen and the text mode."""
        return max(round(design * self.u * self.scale), self.smallest)

    def write(self, role: str, text: str, face: str, size: int, colour, *, min_size: int | None = None, **anchor):
        """Canvas.text, never shrinking below the large-text mode's smallest size."""
        if self.smallest:
            min_size = max(min_size or 0, self.smallest)
        return self.canvas.text(role, text, face, size, colour, min_size=min_size, **anchor)

    def repeat_button(self) -> None:
        """The touch target that speaks the screen again, at the foot; what else is drawn stays above it."""
        u, m = self.u, self.margin
        size = self.px(20)
        height = max(MIN_BUTTON_PX, round(font("bold", size).get_linesize() * 1.6))
        width = min(self.width - 2 * m, round(360 * u * self.scale))
        rect = pygame.Rect(0, 0, width, height)
        rect.midbottom = (self.width // 2, self.height - m)
        pygame.draw.rect(self.canvas.surface, theme.PANEL, rect, border_radius=round(12 * u))
        pygame.draw.rect(self.canvas.surface, theme.RULE, rect, width=max(1, round(2 * u)), border_radius=round(12 * u))
        self.write(
            "repeat_button",
            text("kiosk_repeat", self.first),
            "bold",
            size,
            theme.TEXT,
            max_width=width - round(16 * u),
            center=rect.center,
        )
        self.repeat, self.bottom = rect, rect.top - round(8 * u)

    def _pair(
        self, key_or_pair, y: int, first_size: int, role: str, colour=theme.TEXT, *, rect=None, with_second=True
    ) -> int:
        """German line, English line below it (unless not ``with_second``), centred; returns the bottom."""
        first, second = both(key_or_pair, self.first, self.second) if isinstance(key_or_pair, str) else key_or_pair
        box = rect or pygame.Rect(self.margin, 0, self.width - 2 * self.margin, self.height)
        drawn = self.write(role, first, "bold", first_size, colour, max_width=box.width, midtop=(box.centerx, y))
        y = drawn.bottom
        if second and with_second:
            y = self.write(
                role,
                second,
                "regular",
                self._second_size(first_size),
                theme.MUTED,
                max_width=box.width,
                midtop=(box.centerx, y + round(2 * self.u)),
            ).bottom
        return y

    def _second_size(self, first_size: int) -> int:
        return max(round(first_size * 0.66), self.smallest)

    def _pair_height(self, first_size: int, with_second: bool) -> int:
        """At most how tall ``_pair`` draws at ``first_size``."""
        height = font("bold", first_size).get_linesize()
        if with_second and self.second:
            height += round(2 * self.u) + font("regular", self._second_size(first_size)).get_linesize()
        return height

    def welcome(self, concerns: tuple[ConcernInfo, ...], languages: tuple[str, ...], returning: str | None = None):
        """``returning``: the key of the notice that German comes back soon, if it does."""
        u, m = self.u, self.margin
        bottom = self._language_row(languages) if languages else self.height - m
        if returning:
            bottom = self._returning_notice(bottom, returning)
        if not concerns:
            half = bottom // 2 + (m // 2 if languages else 0)
            self._pair("kiosk_appointment", half - round(110 * u * self.scale), self.px(40), "instruction")
            pygame.draw.line(self.canvas.surface, theme.RULE, (m, half), (self.width - m, half), max(1, round(2 * u)))
            self._pair("kiosk_walk_in", half + round(30 * u), self.px(40), "instruction")
            return
        size, gap = self.px(30), round(12 * u)
        # Buttons a finger can hit come first: when two columns of them would be too low, the instructions
        # lose their second language (large text, a long list of concerns, the returning notice).
        rows = -(-len(concerns) // 2)
        room = bottom - m - 2 * self._pair_height(size, True) - round(28 * u) - (rows - 1) * gap
        with_second = room // rows >= MIN_BUTTON_PX
        y = self._pair("kiosk_appointment", m, size, "instruction", with_second=with_second)
        y = self._pair("kiosk_choose", y + round(14 * u), size, "instruction", with_second=with_second)
        y += round(14 * u)
        area = pygame.Rect(m, y, self.width - 2 * m, bottom - y)
        columns = 1 if self.width < 560 * u else 2
        while True:
            rows = -(-len(concerns) // columns)
            button_h = min((area.height - (rows - 1) * gap) // rows, round(130 * u))
            if button_h >= MIN_BUTTON_PX or columns >= 3:
                break
            columns += 1
        button_w = (area.width - (columns - 1) * gap) // columns
        title_size = max(size_for_cap("bold", min(button_h * 0.16, 19 * u) * self.scale), self.smallest)
        second_size = max(round(title_size * 0.78), self.smallest)
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
            for words, face, size, colour in lines:
                y = self.write(
                    "concern_button",
                    words,
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
        size = max(size_for_cap("bold", 15 * u * self.scale), self.smallest)
        for index, language in enumerate(languages):
            rect = pygame.Rect(m + index * (width + gap), top, width, height)
            shown = language == self.first
            pygame.draw.rect(
                self.canvas.surface, theme.HIGHLIGHT if shown else theme.PANEL, rect, border_radius=round(10 * u)
            )
            pygame.draw.rect(
                self.canvas.surface, theme.RULE, rect, width=max(1, round(2 * u)), border_radius=round(10 * u)
            )
            self.write(
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

    def _returning_notice(self, bottom: int, key: str) -> int:
        """The notice that German comes back soon, on a band just above ``bottom``; returns the band's top."""
        u, m = self.u, self.margin
        first, second = both(key, self.first, self.second)
        width = self.width - 2 * m - round(16 * u)
        lines = [(line, "bold", self.px(20)) for line in wrap(first, "bold", self.px(20), width)]
        # It shows only while a visitor's own language is chosen: in large text that line alone, whole.
        if second and not self.smallest:
            lines.append((second, "regular", self.px(16)))
        height = sum(font(face, size).get_linesize() for _, face, size in lines) + round(8 * u)
        band = pygame.Rect(m, bottom - height, self.width - 2 * m, height)
        pygame.draw.rect(self.canvas.surface, theme.WARNING, band, border_radius=round(8 * u))
        top = band.top + round(4 * u)
        for words, face, size in lines:
            top = self.write(
                "language_returning",
                words,
                face,
                size,
                theme.HIGHLIGHT_TEXT,
                max_width=width,
                midtop=(band.centerx, top),
            ).bottom
        return band.top - round(10 * u)

    def ticket(self, ticket: KioskTicket):
        u, m = self.u, self.margin
        y = self._pair("ticket.number", m, self.px(28), "label", theme.MUTED)
        # The number is as large as the lines below it (the repeat button, larger text) leave room for.
        below = sum(
            font("bold", size).get_linesize() + font("regular", max(round(size * 0.66), self.smallest)).get_linesize()
            for size in ((self.px(26),) if ticket.concern else ()) + (self.px(30),)
        ) + round(30 * u)
        code_size = size_for_cap("mono", self.height * 0.2)
        while code_size > self.px(40) and y + font("mono", code_size).get_linesize() + below > self.bottom:
            code_size -= 2
        code = self.write(
            "ticket_code",
            ticket.code,
            "mono",
            code_size,
            theme.HIGHLIGHT,
            max_width=self.width - 2 * m,
            midtop=(self.width // 2, y + round(6 * u)),
        )
        y = code.bottom + round(10 * u)
        if ticket.concern:
            first = ticket.concern.title(self.first)
            second = ticket.concern.title(self.second) if self.second else None
            y = self._pair((first, second if second != first else None), y, self.px(26), "concern") + round(14 * u)
        facts = [people_ahead(ticket.ahead)] + (
            [wait_minutes(ticket.wait.low_min, ticket.wait.high_min)] if ticket.wait else []
        )
        first, second = (" · ".join(fact.render(language) for fact in facts) for language in (self.first, self.second))
        self._pair((first, second if self.second and second != first else None), y, self.px(30), "facts")

    def message(self, message: VisitorMessage):
        u, m = self.u, self.margin
        colour = {"ok": theme.OK, "warn": theme.WARNING, "error": theme.ERROR}.get(message.kind, theme.PANEL)
        band = pygame.Rect(0, 0, self.width, round(self.height * 0.42))
        pygame.draw.rect(self.canvas.surface, colour, band)
        text_colour = theme.BACKGROUND if message.kind == "warn" else theme.TEXT
        first_title, second_title = both(message.title, self.first, self.second)
        title = self.write(
            "message_title",
            first_title,
            "bold",
            self.px(44),
            text_colour,
            max_width=self.width - 2 * m,
            midbottom=(band.centerx, band.centery + round(6 * u)),
        )
        if second_title:
            self.write(
                "message_title",
                second_title,
                "regular",
                self.px(28),
                text_colour,
                max_width=self.width - 2 * m,
                midtop=(band.centerx, title.bottom + round(4 * u)),
            )
        y = band.bottom + m
        for body, size, colour in zip(both(message.body, self.first, self.second), (28, 22), (theme.TEXT, theme.MUTED)):
            if body is None:
                continue
            for line in wrap(body, "regular", self.px(size), self.width - 2 * m):
                if y + font("regular", self.px(size)).get_linesize() > self.bottom:
                    break  # the rest would run under the repeat button: it is spoken, and it is on the ticket
                y = self.write(
                    "message_body",
                    line,
                    "regular",
                    self.px(size),
                    colour,
                    max_width=self.width - 2 * m,
                    midtop=(self.width // 2, y),
                ).bottom
            y += round(12 * u)

    def out_of_order(self):
        u = self.u
        y = self._pair("out_of_order.title", round(self.height * 0.25), self.px(56), "out_of_order", theme.WARNING)
        self._pair("ask_information", y + round(30 * u), self.px(30), "out_of_order")

    def one_moment(self):
        self._pair("one_moment", round(self.height * 0.4), self.px(48), "one_moment")
