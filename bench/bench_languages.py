"""Language figures: how many languages are complete (on the devices and the backend's pages), what a ticket
in German and Arabic, Ukrainian or Turkish costs on paper (Arabic lines go as images of shaped text, Cyrillic
and Turkish ones through a code page), how long the kiosk takes to draw an Arabic answer, and from an answer
to the first sound of its speech (espeak-ng).
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

CONCERN = {"ar": "طلب إجازة", "uk": "Оформити відпустку", "tr": "İzin başvurusu"}


def ticket_bytes_in(language: str, profile: str = "TM-T88V") -> int:
    """A ticket in German and ``language`` with native QR, as the layout sends it to the profile's printer."""
    languages = ("de", language)
    ticket = TicketContent(
        code="A042",
        issued_local=datetime(2026, 11, 25, 9, 14, tzinfo=ZoneInfo("Europe/Berlin")),
        heading=in_languages("ticket.number", languages),
        concern=("Urlaub beantragen", CONCERN[language]),
        queue=tuple(in_languages(line, languages) for line in ticket_queue(3, (10, 20))),
        url="https://jobcenter.example/wartezeit/A042?d=2026-11-25",
        url_label=in_languages("ticket.online", languages),
        footer=in_languages("ticket.footer", languages),
    )
    return len(ticket_bytes(ticket, profile=profile, paper_width_mm=80, native_qr=True))


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
        "ticket_bytes_de_ar": ticket_bytes_in("ar"),
        "ticket_bytes_de_uk": ticket_bytes_in("uk"),
        # python-escpos' simple profile has CP437 only: the Ukrainian lines go as images of the text.
        "ticket_bytes_de_uk_no_cyrillic_page": ticket_bytes_in("uk", "simple"),
        "ticket_bytes_de_tr": ticket_bytes_in("tr"),
        # TM-T88IV has no Turkish page: the lines with ğ, ı or ş go as images, those with only ç, ö, ü as text.
        "ticket_bytes_de_tr_no_turkish_page": ticket_bytes_in("tr", "TM-T88IV"),
        "kiosk_answer_render_ms_ar": arabic_answer_ms(),
    }


if __name__ == "__main__":
    print(run())
