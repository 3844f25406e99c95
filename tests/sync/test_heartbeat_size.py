"""The heartbeat of the largest config a technician can write still reaches the backend: concern titles are
bounded where they are configured, so no valid config makes a heartbeat bigger than the backend accepts."""

import json
import string

from appliance.domain.catalogs import LANGUAGES
from appliance.domain.commands import Health, ReportHealth
from appliance.domain.settings import CONCERN
from appliance.protocol.contract import Contract
from support import wait_for
from support.sync import Device

WIDEST = "\U0001d538"  # 𝔸: four bytes in UTF-8, the most a character of a title costs on the wire
PREFIXES = list(string.ascii_uppercase) + [f"A{letter}" for letter in string.ascii_uppercase]


def largest_concerns(count: int = 32) -> dict:
    """``count`` concerns with a title of the longest length the config allows in every shipped language."""
    longest = CONCERN.keys["title"].type.max_length
    return {
        f"concern-{index}": {f"title_{language}": WIDEST * longest for language in LANGUAGES}
        | {"prefix": PREFIXES[index], "first": index * 200 + 1, "last": index * 200 + 199}
        for index in range(count)
    }


def test_the_heartbeat_of_the_largest_valid_config_reaches_the_backend(tmp_path, central):
    device = Device(tmp_path, central.url, concerns=largest_concerns()).start()
    try:
        for index in range(32):  # as many components as a heartbeat carries, each with the longest detail
            device.do(ReportHealth(f"part-{index}", Health.DEGRADED, WIDEST * 250))
        beat = wait_for(
            lambda: (b := central.store.heartbeat("kiosk-1")) and len(b.get("components", ())) == 32 and b,
            what="a heartbeat with every component",
        )
    finally:
        device.stop()

    assert len(beat["concerns"]) == 32 and all(len(c["titles"]) == len(LANGUAGES) for c in beat["concerns"])
    size = len(json.dumps(beat, ensure_ascii=False, separators=(",", ":")).encode())
    limit = Contract.load().operations["sendHeartbeat"].max_body_bytes
    print(f"heartbeat of the largest valid config: {size} bytes of {limit}")
    assert size <= limit * 0.8, f"{size} bytes of {limit}: a config change away from being refused"
    assert central.gate.count("POST", "/heartbeat", 413) == 0
