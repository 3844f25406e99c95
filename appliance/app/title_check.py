"""check-config's look at the waiting room's screen: each concern title drawn as the monitor draws it at the
configured size, so a technician learns of a title cut short with "…" before the visitors do.
"""

from datetime import UTC, datetime

from appliance.domain.config.ini import Problem

# A busy morning's estimate: two-digit minutes take the wait column's usual width beside the titles.
BUSY_WAIT = (45, 60)
# Any moment will do: the waits panel is laid out the same all day.
MOMENT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def titles_cut_on_monitor(config) -> list[Problem]:
    """A warning at the line of each title the monitor shows shortened; none without a monitor layout."""
    if "monitor" not in config.device.roles or config.monitor.layout != "monitor" or not config.concerns:
        return []
    import pygame

    from appliance.display.monitor import DEFAULT_SIZE
    from appliance.display.monitor_render import render_monitor
    from appliance.display.rotation import logical_size
    from appliance.display.slides import Slides
    from appliance.display.text import ELLIPSIS
    from appliance.display.view import MonitorView, WaitRange

    monitor = config.monitor
    panel = tuple(int(n) for n in monitor.size.split("x")) if monitor.size else DEFAULT_SIZE
    size = logical_size(panel, monitor.rotation)
    concerns = tuple(concern.info for concern in config.concerns)
    view = MonitorView(
        languages=tuple(config.device.languages),
        concerns=concerns,
        waits=tuple((concern.name, WaitRange(*BUSY_WAIT)) for concern in concerns),
        ticker=monitor.ticker or "",
    )
    frame = render_monitor(pygame.Surface(size), view, MOMENT, language=monitor.language, slides=Slides(monitor.slides))
    first = monitor.language
    second = next((language for language in view.languages if language != first), None)
    # Each row: the title in the screen's language; under it the second language's, where that differs and
    # the rows are high enough for two lines.
    rows = [(concern, first) for concern in concerns]
    rows += [(c, second) for c in concerns if second and c.title(second) != c.title(first)]
    drawn = [d for role in ("concern", "concern_second") for d in frame.drawn if d.role == role]
    where = f"{panel[0]}x{panel[1]}" + (f", turned {monitor.rotation}°" if monitor.rotation else "")
    warnings = []
    for (concern, language), shown in zip(rows, drawn):
        if shown.text.endswith(ELLIPSIS) and shown.text != concern.title(language):
            warnings.append(_warning(config, concern.name, language, where, shown.text))
    return warnings


def _warning(config, concern: str, language: str, where: str, shown: str) -> Problem:
    header = f"concern:{concern}"
    written = f"title_{language}" if config.where(header, f"title_{language}") else "title_de"
    file, line = config.where(header, written) or (config.files[-1], 0)
    message = f"the monitor ({where}) shows it cut short as {shown!r}: shorten it so visitors read it whole"
    return Problem(file, line, message, header, written)
