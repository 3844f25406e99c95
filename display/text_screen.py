"""The call-up monitor as plain text: what the demo shows in a terminal and writes headless.

German first, English second, and nothing but ticket codes and counters: no names.
"""
from zoneinfo import ZoneInfo

from appliance.domain.config import Concern
from appliance.domain.snapshot import Snapshot

WIDTH = 64


def render_monitor(snapshot: Snapshot, concerns: tuple[Concern, ...], tz: ZoneInfo, next_count: int = 8) -> str:
    now = snapshot.taken_at.astimezone(tz)
    lines = [f"{'Aufruf / Now calling':<{WIDTH - 17}}{now:%d.%m.%Y %H:%M}", "=" * WIDTH]
    if snapshot.recent_calls:
        current = snapshot.recent_calls[0]
        lines.append(f">>> {current.code}  ->  Schalter / Counter {current.counter}")
        earlier = "   ".join(f"{c.code} -> {c.counter}" for c in snapshot.recent_calls[1:6])
        if earlier:
            lines.append(f"Zuletzt / Recently: {earlier}")
    else:
        lines.append("Noch kein Aufruf / No calls yet")
    lines += ["-" * WIDTH, "Als Nächstes / Next:"]
    # Checked-in appointments go first: that is the promise of booking online.
    upcoming = [entry.code for entry in snapshot.appointments] + [entry.code for entry in snapshot.waiting]
    lines.append("  " + "  ".join(upcoming[:next_count]) if upcoming else "  -")
    lines += ["-" * WIDTH, "Wartende / Waiting:"]
    for concern in concerns:
        waiting = snapshot.waiting_count(concern.name)
        title = concern.title("de") + (f" / {concern.title_en}" if concern.title_en else "")
        lines.append(f"  {concern.prefix:<3}{_shorten(title, WIDTH - 12):<{WIDTH - 12}}{waiting:>5}")
    return "\n".join(lines) + "\n"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
