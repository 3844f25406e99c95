"""End-to-end latencies on real paths: a scanned code to its committed check-in, a button press on
a (mock) GPIO pin to the last byte of the ticket at the printer emulator."""

import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")

from appliance.app.config import load_config  # noqa: E402
from appliance.app.daemon import Appliance  # noqa: E402
from appliance.domain.codes import AppointmentCode, Ed25519PrivateKey, encode, public_key_text  # noqa: E402
from appliance.drivers.keymap import KeyDecoder, type_events  # noqa: E402
from appliance.printer.emulator import PrinterEmulator  # noqa: E402
from support.config import write_device_config  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _p99(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=100)[98], 2)


def _appliance(directory: Path, printer_uri: str, key) -> Appliance:
    (directory / "site.pub").write_text(public_key_text(key) + "\n")
    path = write_device_config(
        directory,
        device={"id": "bench-kiosk", "site": "bench-office", "roles": "kiosk"},
        core={"tick": "1s"},
        concerns={"leave": {"title_de": "Urlaub beantragen", "prefix": "A", "last": 9999, "button": "GPIO17"}},
        checkin={"modes": "signed", "public_key_file": directory / "site.pub", "late": "4h", "early": "4h"},
        printer={"uri": printer_uri},
        gpio={"min_gap": "0s", "ready_led": "GPIO22"},
    )
    appliance = Appliance(load_config(path))
    appliance.start()
    return appliance


def scan_to_checkin_p99_ms(scans: int = 1000) -> float:
    """Last key event decoded → check-in committed and the snapshot published (per scan)."""
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory(dir=REPO / "bench") as tmp, PrinterEmulator() as printer:
        appliance = _appliance(Path(tmp), printer.uri, key)
        tz = appliance.config.device.timezone
        now = datetime.now(tz)
        samples = []
        decoder = KeyDecoder("us")
        for number in range(1, scans + 1):
            code = encode(
                AppointmentCode(
                    number,
                    "bench-office",
                    now.date(),
                    now.time().replace(second=0, microsecond=0),
                    "leave",
                    f"T{number:04d}",
                ),
                key,
            )
            for event in type_events(code, start=number * 10.0):
                started = time.perf_counter()
                text = decoder.feed(event)
                if text is not None:  # Enter: the last key event of the code
                    break
            serial = appliance.core.snapshot.serial
            appliance.kiosk.scan(text, "bench").result(10)
            while appliance.core.snapshot.serial == serial:  # published after the commit
                time.sleep(0)
            samples.append((time.perf_counter() - started) * 1000)
        appliance.stop()
    return _p99(samples)


def button_to_printed_p99_ms(tickets: int = 500) -> float:
    """Press on the mock pin → the emulator has the ticket's last byte (status query, number,
    commit, layout, write, status query again, all included)."""
    from gpiozero import Device

    with tempfile.TemporaryDirectory(dir=REPO / "bench") as tmp, PrinterEmulator() as printer:
        appliance = _appliance(Path(tmp), printer.uri, Ed25519PrivateKey.generate())
        pin = Device.pin_factory.pin(17)
        samples = []
        for number in range(1, tickets + 1):
            started = time.perf_counter()
            pin.drive_low()
            printer.wait_for_jobs(number, timeout_s=10)
            samples.append((time.perf_counter() - started) * 1000)
            pin.drive_high()
            time.sleep(0.06)  # released longer than a contact bounce: the next press is a new one
        appliance.stop()
        Device.pin_factory.reset()
        assert len(printer.jobs) == tickets, f"{len(printer.jobs)} of {tickets} tickets printed"
    return _p99(samples)


def run() -> dict:
    return {"scan_to_checkin_p99_ms": scan_to_checkin_p99_ms(), "button_to_printed_p99_ms": button_to_printed_p99_ms()}


if __name__ == "__main__":
    print(run())
