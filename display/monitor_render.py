"""Draws the call-up monitor from a MonitorView onto any pygame surface, at any size, upright.

Pure drawing: no sockets, no clock of its own (``now`` comes in), no display needed.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pygame

from appliance.display import theme
from appliance.display.slides import Slides
from appliance.display.text import Canvas, Drawn, fit_size, font, size_for_cap, text_width, wrap
from appliance.display.view import DEFAULT_TIMEZONE, MonitorView
from appliance.domain.snapshot import CallEntry
from appliance.domain.wording import both, long_date, text, wait_minutes

# The waiting room reads the current call from across the room: its cap height is at least
# an eighth of the screen height (the figure), with a little margin for rounding.
CALL_CAP_SHARE = 1 / 8 * 1.04
ARROW = "→"


@dataclass
class MonitorFrame:
    """What a render put where, and when the picture would next change with time alone."""

    drawn: list[Drawn]
    regions: dict[str, pygame.Rect]
    next_change: datetime
    next_change_reason: str = "minute"  # what time alone changes then (the clock's minute, a highlight ending...)
    highlighted: bool = False
    marks: tuple[str, ...] = field(default=())

    def texts(self, role: str | None = None) -> list[str]:
        return [d.text for d in self.drawn if role is None or d.role == role]


def render_monitor(
    surface: pygame.Surface,
    view: MonitorView | None,
    now: datetime,
    *,
    layout: str | None = None,
    language: str = "de",
    highlight_s: float = 20.0,
    recent: int = 5,
    stale_after_s: float = 120.0,
    slides: Slides | None = None,
    connected: bool = True,
    ticker_page_s: float = 8.0,
) -> MonitorFrame:
    """Draws the whole monitor picture for ``view`` at instant ``now`` (aware) onto ``surface``.

    ``layout`` is "landscape" or "portrait" (default: from the surface's shape). ``view`` None is
    the screen before the first state arrives. Only codes and counters are drawn, never names.
    """
    painter = _Painter(surface, view, now, layout, language, slides)
    painter.draw(
        highlight_s=highlight_s,
        recent=max(0, recent),
        stale_after_s=stale_after_s,
        connected=connected,
        ticker_page_s=ticker_page_s,
    )
    return MonitorFrame(
        painter.canvas.drawn,
        painter.regions,
        painter.next_change,
        painter.next_change_reason,
        painter.highlighted,
        tuple(painter.marks),
    )


class _Painter:
    def __init__(self, surface, view, now, layout, language, slides):
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.canvas = Canvas(surface)
        self.view = view
        self.width, self.height = surface.get_size()
        self.portrait = layout == "portrait" or (layout is None and self.height > self.width)
        self.local = now.astimezone(view.timezone if view else _default_zone())
        self.now = now
        self.first = language
        others = [code for code in (view.languages if view else ("de", "en")) if code != language]
        self.second = others[0] if others else None
        self.slides = slides
        # Sizes are designed for a short side of 1080 px and scale with the screen.
        self.u = min(self.width, self.height) / 1080
        self.margin = round(24 * self.u)
        self.regions: dict[str, pygame.Rect] = {}
        self.marks: list[str] = []
        self.highlighted = False
        # The clock shows minutes: without any other change, the next picture is due on the minute.
        self.next_change = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.next_change_reason = "minute"

    # -- the whole picture -------------------------------------------------------------------------
    def draw(self, *, highlight_s, recent, stale_after_s, connected, ticker_page_s):
        self.canvas.surface.fill(theme.BACKGROUND)
        view = self.view
        stale = bool(view and view.stale_since and self.now - view.stale_since >= timedelta(seconds=stale_after_s))
        if view and view.stale_since and not stale:
            self._due(view.stale_since + timedelta(seconds=stale_after_s), "stale")
        mark = "reconnecting" if not connected or view is None else "stale" if stale else None
        top = self._header(mark)
        bottom = self.height - self.margin
        if view and view.ticker:
            bottom = self._ticker(view.ticker, ticker_page_s) - self.margin
        body = pygame.Rect(self.margin, top + self.margin, self.width - 2 * self.margin, bottom - top - self.margin)
        if view is None:
            self._message(body, "reconnecting", role="connecting")
        elif not view.open:
            self._closed(body)
        else:
            self._open_screen(body, highlight_s, recent)

    def _open_screen(self, body, highlight_s, recent):
        band = self._call_band(body.top, self.view.current_call, highlight_s)
        rest = pygame.Rect(body.left, band.bottom + self.margin, body.width, body.bottom - band.bottom - self.margin)
        gap = self.margin
        show_waits = bool(self.view.concerns)
        has_slides = self._has_slides()
        panels = (
            self._portrait_panels(rest, gap, show_waits, has_slides)
            if self.portrait
            else self._landscape_panels(rest, gap, show_waits, has_slides)
        )
        self._recent(panels["recent"], recent)
        self._next(panels["next"])
        if "waits" in panels:
            self._waits(panels["waits"])
        if "slide" in panels:
            self._slide(panels["slide"])

    def _landscape_panels(self, rest, gap, show_waits, has_slides) -> dict:
        """Without slides, three columns of full height."""
        if not has_slides:
            shares = (0.25, 0.33) if show_waits else (0.40, 0.60)
            recent_w, next_w = (round(rest.width * share) for share in shares)
            panels = {
                "recent": pygame.Rect(rest.left, rest.top, recent_w - gap, rest.height),
                "next": pygame.Rect(rest.left + recent_w, rest.top, next_w - gap, rest.height),
            }
            if show_waits:
                panels["waits"] = pygame.Rect(
                    rest.left + recent_w + next_w, rest.top, rest.width - recent_w - next_w, rest.height
                )
            return panels
        # With slides: recent, next and the slide side by side, the waits under them across the width.
        lists_h = round(rest.height * 0.58) if show_waits else rest.height
        recent_w, next_w = round(rest.width * 0.23), round(rest.width * 0.37)
        panels = {
            "recent": pygame.Rect(rest.left, rest.top, recent_w - gap, lists_h),
            "next": pygame.Rect(rest.left + recent_w, rest.top, next_w - gap, lists_h),
            "slide": pygame.Rect(rest.left + recent_w + next_w, rest.top, rest.width - recent_w - next_w, lists_h),
        }
        if show_waits:
            panels["waits"] = pygame.Rect(rest.left, rest.top + lists_h + gap, rest.width, rest.height - lists_h - gap)
        return panels

    def _portrait_panels(self, rest, gap, show_waits, has_slides) -> dict:
        """Stacked: recent and next side by side, the waits under them, slides in what is left."""
        waits_h = min(self._waits_height(), round(rest.height * (0.27 if has_slides else 0.4))) if show_waits else 0
        lists_h = round(rest.height * (0.36 if has_slides else 0.6))
        slide_h = rest.height - lists_h - (waits_h + gap if waits_h else 0) - gap
        if slide_h < self.height * 0.12:
            has_slides = False
        if not has_slides:  # the lists take the room the slides would have had
            lists_h = rest.height - (waits_h + gap if waits_h else 0)
        recent_w = round(rest.width * 0.42)
        panels = {
            "recent": pygame.Rect(rest.left, rest.top, recent_w, lists_h),
            "next": pygame.Rect(rest.left + recent_w + gap, rest.top, rest.width - recent_w - gap, lists_h),
        }
        top = rest.top + lists_h + gap
        if waits_h:
            panels["waits"] = pygame.Rect(rest.left, top, rest.width, waits_h)
            top += waits_h + gap
        if has_slides:
            panels["slide"] = pygame.Rect(rest.left, top, rest.width, rest.bottom - top)
        return panels

    # -- header: date, clock, and the discreet marks -----------------------------------------------
    def _header(self, mark: str | None) -> int:
        u, m = self.u, self.margin
        height = round(88 * u)
        clock = self.canvas.text(
            "clock",
            f"{self.local:%H:%M}",
            "bold",
            round(64 * u),
            theme.TEXT,
            midright=(self.width - m, m + height // 2),
        )
        date_first = long_date(self.local, self.first)
        left_room = clock.left - m - round(360 * u)
        self.canvas.text(
            "date", date_first, "bold", round(34 * u), theme.TEXT, max_width=left_room, topleft=(m, m + round(4 * u))
        )
        if self.second:
            self.canvas.text(
                "date",
                long_date(self.local, self.second),
                "regular",
                round(24 * u),
                theme.MUTED,
                max_width=left_room,
                topleft=(m, m + round(50 * u)),
            )
        if mark:
            self.marks.append(mark)
            first, second = both(mark, self.first, self.second)
            x = clock.left - round(28 * u)
            top = self.canvas.text(
                "mark", f"● {first}", "bold", round(24 * u), theme.WARNING, topright=(x, m + round(10 * u))
            )
            if second:
                self.canvas.text(
                    "mark", second, "regular", round(20 * u), theme.WARNING, topright=(x, top.bottom + round(2 * u))
                )
        self.regions["header"] = pygame.Rect(0, 0, self.width, m + height)
        return m + height

    # -- the current call ------------------------------------------------------------------------
    def _call_band(self, top: int, call: CallEntry | None, highlight_s: float) -> pygame.Rect:
        u, m = self.u, self.margin
        cap = self.height * CALL_CAP_SHARE
        pad = round(18 * u)
        label_size = round(26 * u)
        label_h = font("regular", label_size).get_linesize()
        avail = self.width - 2 * m - 2 * pad
        plan = _CallPlan(call, cap, avail, self.first, self.second) if call else None
        rows = plan.rows if plan else 1
        row_h = round(cap * (1.45 if rows == 1 else 1.3))
        band = pygame.Rect(m, top, self.width - 2 * m, pad + label_h + rows * row_h + pad)
        self.highlighted = call is not None and (self.now - call.called_at).total_seconds() < highlight_s
        if self.highlighted:
            self._due(call.called_at + timedelta(seconds=highlight_s), "highlight ended")
        background, colour = (theme.HIGHLIGHT, theme.HIGHLIGHT_TEXT) if self.highlighted else (theme.PANEL, theme.TEXT)
        muted = theme.HIGHLIGHT_TEXT if self.highlighted else theme.MUTED
        pygame.draw.rect(self.canvas.surface, background, band, border_radius=round(12 * u))
        self.regions["call"] = band
        label_first, label_second = both("now_calling", self.first, self.second)
        self.canvas.text(
            "label",
            label_first + (f" · {label_second}" if label_second else ""),
            "regular",
            label_size,
            muted,
            topleft=(band.left + pad, band.top + pad),
        )
        rows_top = band.top + pad + label_h
        if plan is None:
            centre = rows_top + row_h // 2
            first, second = both("no_call", self.first, self.second)
            self.canvas.text(
                "call",
                first,
                "bold",
                round(56 * u),
                colour,
                max_width=avail,
                midbottom=(band.centerx, centre + round(8 * u)),
            )
            if second:
                self.canvas.text(
                    "call",
                    second,
                    "regular",
                    round(40 * u),
                    muted,
                    max_width=avail,
                    midtop=(band.centerx, centre + round(16 * u)),
                )
            return band
        baseline = rows_top + (row_h + round(cap)) // 2
        if rows == 1:
            x = band.centerx - (plan.code_w + plan.gap + plan.tail_w) // 2
            code = self.canvas.text_on_baseline(
                "call_code", call.code, plan.code_face, plan.code_size, colour, x, baseline, ink=True
            )
            x = x + plan.code_w + plan.gap
        else:
            code = self.canvas.text_on_baseline(
                "call_code",
                call.code,
                plan.code_face,
                plan.code_size,
                colour,
                band.centerx,
                baseline,
                align="centre",
                ink=True,
            )
            baseline += row_h
            x = band.centerx - plan.tail_w // 2
        arrow = self.canvas.text_on_baseline(
            "call_arrow",
            ARROW,
            "bold",
            plan.arrow_size,
            colour,
            x,
            baseline - round((plan.number_cap - plan.arrow_cap) / 2),
        )
        words_x = arrow.right + plan.gap
        word_first, word_second = plan.words
        upper = baseline - round(plan.number_cap * 0.48) if word_second else baseline
        self.canvas.text_on_baseline("call_word", word_first, "bold", plan.word_size, colour, words_x, upper)
        if word_second:
            self.canvas.text_on_baseline(
                "call_word", word_second, "regular", plan.word_second_size, muted, words_x, baseline
            )
        number = self.canvas.text_on_baseline(
            "call_counter",
            str(call.counter),
            "mono",
            plan.number_size,
            colour,
            words_x + plan.words_w + plan.gap // 2,
            baseline,
            ink=True,
        )
        self.regions["call_code"], self.regions["call_counter"] = code, number
        return band

    # -- lists -------------------------------------------------------------------------------------
    def _panel(self, rect: pygame.Rect, title_key: str, role: str) -> pygame.Rect:
        """Draws a panel with its bilingual title; returns the room left for its content."""
        u = self.u
        pygame.draw.rect(self.canvas.surface, theme.PANEL, rect, border_radius=round(10 * u))
        self.regions[role] = rect
        pad = round(16 * u)
        first, second = both(title_key, self.first, self.second)
        size, second_size = round(30 * u), round(22 * u)
        baseline = rect.top + pad + font("bold", size).get_ascent()
        title = self.canvas.text(
            "title",
            first,
            "bold",
            size,
            theme.TEXT,
            max_width=rect.width - 2 * pad,
            topleft=(rect.left + pad, rect.top + pad),
        )
        bottom = title.bottom
        if second:
            room = rect.right - pad - title.right - round(14 * u)
            if text_width("regular", second_size, second) <= room:
                self.canvas.text_on_baseline(
                    "title", second, "regular", second_size, theme.MUTED, title.right + round(14 * u), baseline
                )
            else:  # a narrow panel: the English title goes under the German one
                bottom = self.canvas.text(
                    "title",
                    second,
                    "regular",
                    second_size,
                    theme.MUTED,
                    max_width=rect.width - 2 * pad,
                    topleft=(rect.left + pad, bottom),
                ).bottom
        content_top = bottom + round(10 * u)
        return pygame.Rect(rect.left + pad, content_top, rect.width - 2 * pad, rect.bottom - pad - content_top)

    def _recent(self, rect: pygame.Rect, count: int):
        inner = self._panel(rect, "recent", "recent")
        calls = self.view.earlier_calls[:count]
        if not calls:
            self.canvas.text("recent", "–", "bold", round(40 * self.u), theme.MUTED, topleft=inner.topleft)
            return
        row_h = min(inner.height / max(count, 1), 84 * self.u)
        size = size_for_cap("mono", row_h * 0.5)
        arrow_size = round(size * 0.8)
        for index, call in enumerate(calls):
            baseline = round(inner.top + index * row_h + (row_h + row_h * 0.5) / 2)
            self.canvas.text_on_baseline("recent", call.code, "mono", size, theme.TEXT, inner.left, baseline)
            number = self.canvas.text_on_baseline(
                "recent_counter", str(call.counter), "mono", size, theme.TEXT, inner.right, baseline, align="right"
            )
            self.canvas.text_on_baseline(
                "recent_arrow",
                ARROW,
                "regular",
                arrow_size,
                theme.MUTED,
                number.left - round(16 * self.u),
                baseline,
                align="right",
            )

    def _next(self, rect: pygame.Rect):
        inner = self._panel(rect, "next", "next")
        view, u = self.view, self.u
        if not view.appointments and not view.waiting:
            first, second = both("nobody_waiting", self.first, self.second)
            top = self.canvas.text(
                "next", first, "bold", round(34 * u), theme.MUTED, max_width=inner.width, topleft=inner.topleft
            )
            if second:
                self.canvas.text(
                    "next",
                    second,
                    "regular",
                    round(24 * u),
                    theme.MUTED,
                    max_width=inner.width,
                    topleft=(inner.left, top.bottom),
                )
            return
        top = inner.top
        if view.appointments:
            labels = [a.code for a in view.appointments]
            # Appointments come first and take what they need, but leave the walk-ins a row.
            reserve = round(120 * u) if view.waiting else 0
            top = self._grid(inner, top, "with_appointment", labels, theme.APPOINTMENT, "next_appointment", reserve)
        if view.waiting:
            self._grid(
                inner, top, "walk_in" if view.appointments else None, [w.code for w in view.waiting], theme.TEXT, "next"
            )

    def _grid(self, inner, top, heading, labels, colour, role, reserve=0) -> int:
        """Codes in rows and columns; what does not fit ends in '+ N weitere · more'. Returns the bottom."""
        u = self.u
        if heading:
            first, second = both(heading, self.first, self.second)
            top = self.canvas.text(
                "subtitle",
                first + (f" · {second}" if second else ""),
                "regular",
                round(22 * u),
                theme.APPOINTMENT if colour == theme.APPOINTMENT else theme.MUTED,
                max_width=inner.width,
                topleft=(inner.left, top),
            ).bottom + round(4 * u)
        size = size_for_cap("mono", 30 * u)
        cell_h = round(30 * u * 1.9)
        cell_w = max(font("mono", size).size(label)[0] for label in labels) + round(34 * u)
        if cell_w > inner.width:
            size = max(8, int(size * inner.width / cell_w))
            cell_w = inner.width
        columns = max(1, inner.width // cell_w)
        rows = max(1, (inner.bottom - reserve - top) // cell_h)
        capacity = rows * columns
        shown, more = labels, None
        if len(labels) > capacity:
            more_first, more_second = both("more", self.first, self.second)
            for keep in range(capacity - 1, -1, -1):  # the '+ N more' text takes the last cells it needs
                more = f"+ {len(labels) - keep} {more_first}" + (f" · {more_second}" if more_second else "")
                needed = -(-(text_width("bold", round(26 * u), more) + round(10 * u)) // cell_w)
                if keep + min(needed, columns) <= capacity:
                    break
            shown = labels[:keep]
        for index, label in enumerate(shown):
            row, column = divmod(index, columns)
            self.canvas.text(
                role, label, "mono", size, colour, topleft=(inner.left + column * cell_w, top + row * cell_h)
            )
        used = len(shown)
        if more:
            row, column = divmod(used, columns)
            x = inner.left + column * cell_w
            self.canvas.text(
                "next_more",
                more,
                "bold",
                round(26 * u),
                theme.MUTED,
                max_width=inner.right - x,
                midleft=(x, top + row * cell_h + round(size * 0.55)),
            )
            used += 1
        return top + -(-used // columns) * cell_h + round(6 * u)

    # -- waiting times per concern --------------------------------------------------------------------
    def _waits_height(self) -> int:
        return round((70 + 84 * len(self.view.concerns)) * self.u)

    def _waits(self, rect: pygame.Rect):
        inner = self._panel(rect, "waits", "waits")
        view, u = self.view, self.u
        gap = round(16 * u)
        # A wide, low panel (landscape with slides) lists the concerns in two or three columns.
        columns = max(1, min(len(view.concerns), 3, int(inner.width // (640 * u))))
        rows = -(-len(view.concerns) // columns)
        cell_w = (inner.width - (columns - 1) * 2 * gap) // columns
        row_h = min(inner.height / rows, 84 * u)
        two_lines = row_h >= 60 * u and self.second is not None
        title_size = size_for_cap("bold", row_h * (0.28 if two_lines else 0.4))
        second_size = round(title_size * 0.75)
        value_size = size_for_cap("bold", min(row_h * 0.4, 30 * u))
        # Where an estimate exists it is shown; otherwise how many are waiting, which the core always knows.
        values = []
        for concern in view.concerns:
            wait = view.wait_for(concern.name)
            values.append(
                wait_minutes(wait.low_min, wait.high_min).render(self.first)
                if wait
                else text("waiting_count", self.first, count=view.waiting_count(concern.name))
            )
        value_w = min(max(text_width("bold", value_size, v) for v in values), cell_w // 3)
        badge = round(min(row_h * 0.72, 58 * u))
        title_w = cell_w - badge - gap - value_w - gap
        # One size for all rows, so the table reads as a table; titles still too long are shortened.
        title_size = min(
            fit_size("bold", c.title(self.first), title_w, title_size, round(title_size * 0.75)) for c in view.concerns
        )
        if self.second:
            second_size = min(
                fit_size("regular", c.title(self.second), title_w, second_size, round(second_size * 0.8))
                for c in view.concerns
            )
        for index, (concern, value) in enumerate(zip(view.concerns, values)):
            column, row = divmod(index, rows)
            left = inner.left + column * (cell_w + 2 * gap)
            middle = inner.top + round(row * row_h + row_h / 2)
            badge_rect = pygame.Rect(left, middle - badge // 2, badge, badge)
            pygame.draw.rect(self.canvas.surface, theme.RULE, badge_rect, border_radius=round(8 * u))
            self.canvas.text(
                "prefix",
                concern.prefix or "·",
                "bold",
                size_for_cap("bold", badge * 0.45),
                theme.TEXT,
                max_width=badge - 4,
                center=badge_rect.center,
            )
            x = badge_rect.right + gap
            first, second = concern.title(self.first), concern.title(self.second) if self.second else None
            if two_lines:
                self.canvas.text(
                    "concern",
                    first,
                    "bold",
                    title_size,
                    theme.TEXT,
                    max_width=title_w,
                    min_size=title_size,
                    bottomleft=(x, middle + round(2 * u)),
                )
                if second and second != first:
                    self.canvas.text(
                        "concern_second",
                        second,
                        "regular",
                        second_size,
                        theme.MUTED,
                        max_width=title_w,
                        min_size=second_size,
                        topleft=(x, middle + round(2 * u)),
                    )
            else:
                self.canvas.text(
                    "concern",
                    first,
                    "bold",
                    title_size,
                    theme.TEXT,
                    max_width=title_w,
                    min_size=title_size,
                    midleft=(x, middle),
                )
            self.canvas.text(
                "wait", value, "bold", value_size, theme.TEXT, max_width=value_w, midright=(left + cell_w, middle)
            )

    # -- slides, ticker, closed, messages -------------------------------------------------------------
    def _has_slides(self) -> bool:
        return bool(self.slides and self.slides.paths())

    def _slide(self, rect: pygame.Rect):
        pygame.draw.rect(self.canvas.surface, theme.PANEL, rect, border_radius=round(10 * self.u))
        self.regions["slide"] = rect
        image = self.slides.image_at(self.now, (rect.width, rect.height))
        if image is not None:
            self.canvas.surface.blit(image, image.get_rect(center=rect.center))
        wait = self.slides.next_change(self.now)
        if wait is not None:
            self._due(self.now + timedelta(seconds=wait), "slide")

    def _ticker(self, text: str, page_s: float) -> int:
        u = self.u
        size = round(32 * u)
        height = round(64 * u)
        strip = pygame.Rect(0, self.height - height, self.width, height)
        pygame.draw.rect(self.canvas.surface, theme.PANEL, strip)
        self.regions["ticker"] = strip
        # Paged, not scrolled: a page every few seconds costs a frame each, a scroll 30 per second.
        pages = wrap(text, "regular", size, self.width - 2 * self.margin) or [""]
        index = int(self.now.timestamp() // page_s) % len(pages)
        if len(pages) > 1:
            self._due(self.now + timedelta(seconds=page_s - self.now.timestamp() % page_s), "ticker page")
        self.canvas.text(
            "ticker",
            pages[index],
            "regular",
            size,
            theme.TEXT,
            max_width=self.width - 2 * self.margin,
            midleft=(self.margin, strip.centery),
        )
        return strip.top

    def _closed(self, body: pygame.Rect):
        has_slides = self._has_slides()
        message = body.copy()
        if has_slides and self.portrait:
            message.height = round(body.height * 0.4)
            self._slide(
                pygame.Rect(
                    body.left, message.bottom + self.margin, body.width, body.bottom - message.bottom - self.margin
                )
            )
        elif has_slides:
            message.width = round(body.width * 0.5)
            self._slide(
                pygame.Rect(
                    message.right + self.margin, body.top, body.right - message.right - self.margin, body.height
                )
            )
        u = self.u
        first, second = both("closed", self.first, self.second)
        big = size_for_cap("bold", self.height / 10)
        title = self.canvas.text(
            "closed",
            first,
            "bold",
            big,
            theme.TEXT,
            max_width=message.width,
            min_size=8,
            midbottom=(message.centerx, message.centery),
        )
        y = title.bottom + round(8 * u)
        if second:
            y = self.canvas.text(
                "closed",
                second,
                "regular",
                round(big * 0.5),
                theme.MUTED,
                max_width=message.width,
                midtop=(message.centerx, y),
            ).bottom + round(24 * u)
        first, second = both("outside_hours", self.first, self.second)
        y = self.canvas.text(
            "closed", first, "bold", round(40 * u), theme.TEXT, max_width=message.width, midtop=(message.centerx, y)
        ).bottom + round(6 * u)
        if second:
            self.canvas.text(
                "closed",
                second,
                "regular",
                round(30 * u),
                theme.MUTED,
                max_width=message.width,
                midtop=(message.centerx, y),
            )
        self.regions["closed"] = message

    def _message(self, body: pygame.Rect, key: str, role: str):
        first, second = both(key, self.first, self.second)
        self.canvas.text(
            role, first + " …", "bold", round(48 * self.u), theme.MUTED, max_width=body.width, midbottom=body.center
        )
        if second:
            self.canvas.text(
                role,
                second,
                "regular",
                round(34 * self.u),
                theme.MUTED,
                max_width=body.width,
                midtop=(body.centerx, body.centery + round(10 * self.u)),
            )

    def _due(self, moment: datetime, reason: str):
        if self.now < moment < self.next_change:
            self.next_change, self.next_change_reason = moment, reason


class _CallPlan:
    """Sizes for "A042 → Schalter 3": code and counter number at the full cap height, on one row
    when they fit, else the code above "→ Schalter 3"; only a code too long for the width shrinks."""

    def __init__(self, call: CallEntry, cap: float, avail: int, first: str, second: str | None):
        self.code_size = self.number_size = size_for_cap("mono", cap)
        self.number_cap = cap
        self.code_face = "mono"
        self.code_w = font("mono", self.code_size).size(call.code)[0]
        if self.code_w > avail:  # a long appointment code on a narrow screen
            self.code_size = max(8, int(self.code_size * avail / self.code_w))
            self.code_w = font("mono", self.code_size).size(call.code)[0]
        self.words = both("counter", first, second)
        self.gap = round(self.number_size * 0.22)
        self.number_w = font("mono", self.number_size).size(str(call.counter))[0]
        self._size_tail(1.0)
        self.rows = 1 if self.code_w + self.gap + self.tail_w <= avail else 2
        if self.rows == 2:
            # Under the code, the arrow and the word shrink before the counter number does.
            scale = 0.75
            self._size_tail(scale)
            while self.tail_w > avail and scale > 0.4:
                scale -= 0.05
                self._size_tail(scale)
            if self.tail_w > avail:
                self.number_size = max(8, int(self.number_size * avail / self.tail_w))
                self.number_w = font("mono", self.number_size).size(str(call.counter))[0]
                self._size_tail(scale)

    def _size_tail(self, scale: float):
        self.arrow_size = max(8, round(self.number_size * scale))
        self.arrow_cap = self.number_cap * scale
        self.word_size = max(8, round(self.number_size * 0.30 * min(1.0, scale + 0.15)))
        self.word_second_size = max(8, round(self.word_size * 0.7))
        first, second = self.words
        self.words_w = max(
            text_width("bold", self.word_size, first), text_width("regular", self.word_second_size, second or "")
        )
        arrow_w = text_width("bold", self.arrow_size, ARROW)
        self.tail_w = arrow_w + self.gap + self.words_w + self.gap // 2 + self.number_w


def _default_zone() -> ZoneInfo:
    return ZoneInfo(DEFAULT_TIMEZONE)
