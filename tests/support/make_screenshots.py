"""Draws the README's screenshots of every screen into this folder, from made-up sample views.

Run: .venv/bin/python tests/support/make_screenshots.py  (no display needed; deterministic output);
it writes display/screenshots/.
"""

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the sample views

import pygame  # noqa: E402

from appliance.display.kiosk_render import KioskTicket, OneMoment, OutOfOrder, render_kiosk  # noqa: E402
from appliance.display.monitor_render import render_monitor  # noqa: E402
from appliance.display.slides import Slides  # noqa: E402
from appliance.display.view import WaitRange, parse_view  # noqa: E402
from appliance.domain.wording import VisitorMessage, phrase  # noqa: E402
from support.samples import CONCERNS, NOW, make_slides, sample_view  # noqa: E402

HERE = Path(__file__).resolve().parents[2] / "display" / "screenshots"


def shoot(name: str, size, view: dict | None, *, slides=None, now=NOW, connected=True):
    surface = pygame.Surface(size)
    render_monitor(surface, parse_view(view) if view is not None else None, now, slides=slides, connected=connected)
    save(surface, name)


def save(surface, name: str):
    path = HERE / f"{name}.png"
    pygame.image.save(surface, str(path))
    print(f"{path.name}: {path.stat().st_size // 1024} KB")


def main():
    pygame.font.init()
    with tempfile.TemporaryDirectory() as folder:
        slides = Slides(make_slides(Path(folder)), interval_s=10)
        for layout, size in (("landscape", (1920, 1080)), ("portrait", (1080, 1920))):
            shoot(f"monitor-{layout}-call", size, sample_view(), slides=slides)
            shoot(f"monitor-{layout}-call-no-slides", size, sample_view())
            shoot(
                f"monitor-{layout}-empty",
                size,
                sample_view(snapshot={"serial": 1, "taken_at": NOW.isoformat()}, waits={}),
            )
            shoot(
                f"monitor-{layout}-closed",
                size,
                sample_view(open=False, ticker="Montag bis Freitag 8–12 Uhr, Donnerstag auch 14–18 Uhr"),
                slides=slides,
            )
            shoot(
                f"monitor-{layout}-stale",
                size,
                sample_view(backend={"stale_since": (NOW - timedelta(minutes=9)).isoformat()}),
                now=NOW + timedelta(minutes=1),
            )
        shoot("monitor-landscape-connecting", (1920, 1080), None, connected=False)
    concerns = parse_view({"concerns": CONCERNS}).concerns
    kiosk = pygame.Surface((800, 480))
    render_kiosk(kiosk, None, NOW)
    save(kiosk, "kiosk-welcome")
    render_kiosk(kiosk, None, NOW, concerns=concerns, touch=True)
    save(kiosk, "kiosk-welcome-touch")
    render_kiosk(kiosk, KioskTicket("U043", concerns[1], ahead=4, wait=WaitRange(10, 20)), NOW)
    save(kiosk, "kiosk-ticket")
    # The daemon's own words for a check-in and a scan too early (appliance.domain.wording).
    render_kiosk(kiosk, VisitorMessage("ok", phrase("checked_in.title"), phrase("checked_in.body", code="T-4821")), NOW)
    save(kiosk, "kiosk-checked-in")
    render_kiosk(kiosk, VisitorMessage("warn", phrase("too_early.title"), phrase("too_early.body", at="10:15")), NOW)
    save(kiosk, "kiosk-too-early")
    render_kiosk(kiosk, OutOfOrder(), NOW)
    save(kiosk, "kiosk-out-of-order")
    render_kiosk(kiosk, OneMoment(), NOW)
    save(kiosk, "kiosk-one-moment")


if __name__ == "__main__":
    main()
