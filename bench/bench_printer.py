"""Printer figures: the bytes one typical ticket with its QR code takes, drawn by the printer or as an image.

80 mm paper, an Epson TM-T88V-class profile; no printer needed (the layout is pure).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.app.sample_ticket import sample_ticket
from appliance.printer.layout import ticket_bytes

PROFILE = "TM-T88V"


def run() -> dict:
    ticket = sample_ticket(datetime(2026, 11, 25, 9, 14, tzinfo=ZoneInfo("Europe/Berlin")))
    native = ticket_bytes(ticket, profile=PROFILE, paper_width_mm=80, native_qr=True)
    raster = ticket_bytes(ticket, profile=PROFILE, paper_width_mm=80, native_qr=False)
    return {"ticket_bytes_native": len(native), "ticket_bytes_raster": len(raster)}


if __name__ == "__main__":
    print(run())
