"""The call-up monitor as plain text, from the same MonitorView the monitor draws: the demo's terminal screen.

German first, English second (the view's first two languages), and nothing but ticket codes and counters.
"""

from appliance.display.view import MonitorView
from appliance.domain.wording import both

WIDTH = 64


def monitor_text(view: MonitorView, next_count: int = 8) -> str:
    first, second = (list(view.languages) + [None])[:2]

    def words(key: str) -> str:
        return " / ".join(filter(None, both(key, first, second)))

    now = view.taken_at.astimezone(view.timezone) if view.taken_at else None
    lines = [f"{words('now_calling'):<{WIDTH - 17}}{f'{now:%d.%m.%Y %H:%M}' if now else ''}", "=" * WIDTH]
    if view.current_call:
        current = view.current_call
        lines.append(f">>> {current.code}  ->  {words('counter')} {current.counter}")
        earlier = "   ".join(f"{c.code} -> {c.counter}" for c in view.earlier_calls[:5])
        if earlier:
            lines.append(f"{words('recent')}: {earlier}")
    else:
        lines.append(words("no_call"))
    lines += ["-" * WIDTH, f"{words('next')}:"]
    # Checked-in appointments go first: that is the promise of booking online.
    upcoming = [entry.code for entry in view.appointments] + [entry.code for entry in view.waiting]
    lines.append("  " + "  ".join(upcoming[:next_count]) if upcoming else "  -")
    lines += ["-" * WIDTH, f"{words('waiting')}:"]
    for concern in view.concerns:
        title = " / ".join(
            filter(None, dict.fromkeys((concern.title(first), concern.title(second) if second else None)))
        )
        lines.append(
            f"  {concern.prefix:<3}{_shorten(title, WIDTH - 12):<{WIDTH - 12}}{view.waiting_count(concern.name):>5}"
        )
    return "\n".join(lines) + "\n"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
