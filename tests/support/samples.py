"""Made-up views and slides for the screenshots, the monitor's tests and its benchmark.

Shaped as appliance.app.view builds them (tests/display/test_view_contract.py holds the real daemon to it);
codes and counters only; the slides are drawn here so no image files are needed.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2025, 11, 25, 8, 42, 10, tzinfo=UTC)  # 09:42 in Berlin, a Tuesday
CONCERNS = [
    {
        "name": "first-application",
        "prefix": "E",
        "titles": {"de": "Bürgergeld beantragen", "en": "Apply for Bürgergeld"},
    },
    {"name": "leave", "prefix": "U", "titles": {"de": "Urlaub beantragen", "en": "Apply for leave"}},
    {"name": "documents", "prefix": "D", "titles": {"de": "Unterlagen abgeben", "en": "Hand in documents"}},
    {"name": "other", "prefix": "S", "titles": {"de": "Sonstiges Anliegen", "en": "Other matters"}},
]
PREFIXES = {concern["name"]: concern["prefix"] for concern in CONCERNS}


def call(code: str, counter: int, called_at: datetime, concern: str = "leave") -> dict:
    return {"code": code, "concern": concern, "counter": counter, "called_at": called_at.isoformat()}


def appointment(code: str, concern: str, slot: str, now: datetime) -> dict:
    return {"code": code, "concern": concern, "slot": slot, "checked_in_at": (now - timedelta(minutes=3)).isoformat()}


def sample_view(now: datetime = NOW, *, waiting: int = 12, calls: list[dict] | None = None, **changes) -> dict:
    """A busy morning: a call 5 s before ``now``, five earlier ones, two appointments, walk-ins."""
    if calls is None:
        calls = [
            call(code, counter, now - timedelta(seconds=5 + 95 * index))
            for index, (code, counter) in enumerate(
                [("U042", 3), ("D017", 1), ("E008", 4), ("U041", 2), ("D016", 1), ("S005", 4)]
            )
        ]
    names = list(PREFIXES)
    queue = [
        {
            "code": f"{PREFIXES[names[i % 4]]}{20 + i:03d}",
            "concern": names[i % 4],
            "issued_at": (now - timedelta(minutes=30 - i)).isoformat(),
        }
        for i in range(waiting)
    ]
    view = {
        "device": "monitor-mitte-1",
        "site": "mitte",
        "languages": ["de", "en"],
        "timezone": "Europe/Berlin",
        "concerns": CONCERNS,
        "snapshot": {
            "serial": 812,
            "taken_at": now.isoformat(),
            "day": now.date().isoformat(),
            "appointments": [
                appointment("T-4821", "leave", "09:30", now),
                appointment("T-4835", "documents", "09:40", now),
            ],
            "waiting": queue,
            "recent_calls": calls,
            "issued_today": [],
            "components": [],
            "outbox_pending": 0,
            "last_events": [],
        },
        "waits": {"first-application": [25, 40], "leave": [10, 20], "documents": [5, 10]},
        "backend": {"stale_since": None},
        "open": True,
        "ticker": "Heute bis 12:00 Uhr geöffnet · Termine online buchen: jobcenter.example/termin",
    }
    view.update(changes)
    return view


def make_slides(folder: Path) -> Path:
    """Two information slides as PNGs in ``folder``."""
    import pygame

    from appliance.display.text import font

    folder.mkdir(parents=True, exist_ok=True)
    for index, (first, second, detail) in enumerate(
        [
            ("Termine online buchen", "Book appointments online", "jobcenter.example/termin"),
            ("Unterlagen? Hier einwerfen", "Documents? Drop them in here", "Briefkasten neben dem Eingang"),
        ]
    ):
        slide = pygame.Surface((1600, 900))
        slide.fill((235, 241, 248))
        pygame.draw.rect(slide, (0, 94, 160), (0, 0, 1600, 140))
        slide.blit(font("bold", 96).render(first, True, (10, 24, 46)), (80, 250))
        slide.blit(font("regular", 72).render(second, True, (60, 70, 90)), (80, 400))
        slide.blit(font("bold", 70).render(detail, True, (0, 94, 160)), (80, 640))
        pygame.image.save(slide, str(folder / f"{index + 1:02d}.png"))
    return folder
