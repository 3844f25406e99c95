"""The view the daemon sends the monitor process: the core's snapshot with the concerns' titles, the waits,
the backend's freshness and the kiosk's answer. Built here only; appliance.display.view parses it back.
"""

from datetime import datetime

from appliance.display.settings import WEEKDAYS
from appliance.domain.screen import KioskAnswer


def monitor_view(
    config,
    snapshot,
    *,
    kiosk_answer: KioskAnswer | None = None,
    kiosk_language: str | None = None,
    kiosk_controls: dict[str, int] | None = None,
    out_of_order: str | None = None,
    stale_since=None,
) -> dict:
    """One view as JSON types. ``out_of_order``: why the kiosk cannot serve (None while it can);
    ``stale_since``: since when the backend has been unreachable (None while it answers);
    ``kiosk_language``: the language button's choice while it holds; ``kiosk_controls``: presses of
    each control button (and, as "ticket", of the ticket buttons) since the daemon started."""
    return {
        "device": config.device.id,
        "site": config.device.site,
        "languages": list(config.device.languages),
        "timezone": config.device.timezone.key,
        "concerns": [concern.info.to_json() for concern in config.concerns],
        # Checked-in appointments, walk-ins and calls travel inside the snapshot, as the core made them.
        "snapshot": snapshot.to_json(),
        "waits": {concern: [low, high] for concern, low, high in snapshot.waits},
        "backend": {"stale_since": stale_since.isoformat() if stale_since is not None else None},
        "kiosk": {
            "answer": kiosk_answer.to_json() if kiosk_answer else None,
            "out_of_order": out_of_order,
            "language": kiosk_language,
            "controls": dict(kiosk_controls or {}),
        },
        "open": is_open(config.monitor, snapshot.taken_at.astimezone(config.device.timezone)),
        "ticker": config.monitor.ticker or "",
    }


def is_open(monitor, local: datetime) -> bool:
    """Whether the office is open at ``local`` time by [monitor] open_from, open_until and open_days;
    always, when no hours are configured."""
    if monitor.open_from is None or monitor.open_until is None:
        return True
    return WEEKDAYS[local.weekday()] in monitor.open_days and monitor.open_from <= local.time() < monitor.open_until
