"""Language figures: how many languages are complete (on the devices and the backend's pages), what a
ticket in German and Arabic costs on paper (its Arabic lines go as images of shaped text), how long the
kiosk takes to draw an Arabic answer, and from an answer to the first sound of its speech (espeak-ng here).
"""

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.domain.wording import OUT_OF_ORDER, in_languages, ticket_queue
from appliance.printer.layout import TicketContent, ticket_bytes
from support.page_catalogs import languages_complete_everywhere

LANGUAGES = ("de", "ar")


def arabic_ticket_bytes() -> int:
    ticket = TicketContent(
        code="A042",
        issued_local=datetime(2026, 11, 25, 9, 14, tzinfo=ZoneInfo("Europe/Berlin")),
        heading=in_languages("ticket.number", LANGUAGES),
        concern=("Urlaub beantragen", "طلب إجازة"),
        queue=tuple(in_languages(line, LANGUAGES) for line in ticket_queue(3, (10, 20))),
        url="https://jobcenter.example/wartezeit/A042?d=2026-11-25",
        url_label=in_languages("ticket.online", LANGUAGES),
        footer=in_languages("ticket.footer", LANGUAGES),
    )
    return len(ticket_bytes(ticket, profile="TM-T88V", paper_width_mm=80, native_qr=True))


def arabic_answer_ms(rounds: int = 20) -> float:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from appliance.display.kiosk_render import render_kiosk

    pygame.font.init()
    surface = pygame.Surface((800, 480))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        render_kiosk(surface, OUT_OF_ORDER, datetime.now(), language="ar", second_language="de")
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def answer_to_speech_ms(rounds: int = 10) -> float:
    """An answer handed to the kiosk's voice -> its speech written to the player (a file here)."""
    from appliance.display.announcer import Espeak, FilePlayer
    from appliance.display.kiosk_voice import KioskVoice

    with tempfile.TemporaryDirectory() as folder:
        voice = KioskVoice(FilePlayer(Path(folder)), Espeak())
        try:
            for index in range(rounds):
                voice.say(OUT_OF_ORDER, ("de", "ar")[index % 2])
                deadline = time.monotonic() + 30
                while len(voice.spoken) <= index and time.monotonic() < deadline:
                    time.sleep(0.005)
        finally:
            voice.close()
        return round(statistics.median(ms for _, _, ms in voice.spoken), 1)


def run() -> dict:
    return {
        "kiosk_answer_to_speech_ms": answer_to_speech_ms(),
        "languages_complete": len(languages_complete_everywhere()),
        "ticket_bytes_de_ar": arabic_ticket_bytes(),
        "kiosk_answer_render_ms_ar": arabic_answer_ms(),
    }


if __name__ == "__main__":
    print(run())
