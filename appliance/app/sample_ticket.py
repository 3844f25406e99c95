"""The ticket that ``print-test`` prints and the benchmarks measure: a made-up visitor, the real words.

Its words come from the domain's wording, German first and English second, as a kiosk prints them.
"""

from datetime import datetime

from appliance.domain.wording import in_languages, ticket_queue
from appliance.printer.layout import TicketContent

LANGUAGES = ("de", "en")


def sample_ticket(issued_local: datetime) -> TicketContent:
    return TicketContent(
        code="A042",
        issued_local=issued_local,
        heading=in_languages("ticket.number", LANGUAGES),
        concern=("Urlaub beantragen", "Apply for leave"),
        queue=tuple(in_languages(line, LANGUAGES) for line in ticket_queue(3, (10, 20))),
        url=f"https://jobcenter.example/wartezeit/A042?d={issued_local:%Y-%m-%d}",
        url_label=in_languages("ticket.online", LANGUAGES),
        footer=("Bitte achten Sie auf den Monitor.", "Please watch the screen."),
    )
