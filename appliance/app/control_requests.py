"""What the daemon answers on its control socket: status, judge, print-day-list, and the touchscreen's press.

Each request is one function of the request's JSON; the socket itself is appliance.app.control.
"""

import logging

from appliance.domain.commands import JudgeScan
from appliance.domain.errors import ApplianceError
from appliance.protocol.control import Request

log = logging.getLogger(__name__)


class ControlRequests:
    def __init__(self, config, core, kiosk, status):
        """``status()``: the daemon's status (appliance.app.status.DeviceStatus.status)."""
        self._config = config
        self._core = core
        self._kiosk = kiosk
        self._status = status

    def handlers(self) -> dict:
        """Request name -> function(request dict), as ControlServer takes them."""
        return {
            Request.STATUS: self.status,
            Request.PRINT_DAY_LIST: self.print_day_list,
            Request.JUDGE: self.judge,
            Request.PRESS: self.touch_press,
        }

    def status(self, request: dict) -> dict:
        return self._status()

    def touch_press(self, request: dict) -> str:
        """A visitor chose a concern on the kiosk's touchscreen (the monitor process asks), having chosen a
        language there or not; a language the device does not offer prints the ticket in German."""
        concern = str(request.get("concern", ""))
        self._config.concern(concern)  # an unknown one is refused with the configured names
        language = request.get("language")
        if language is not None and language not in self._config.device.languages:
            log.warning("a press asked for language %r, which this device does not offer: German", language)
            language = None
        return self._kiosk.press(concern, source="touch", language=language)

    def judge(self, request: dict) -> dict:
        result = self._core.submit(JudgeScan(str(request.get("payload", "")))).result(timeout=5)
        return {
            "verdict": result.verdict.value,
            "display_code": result.display_code,
            "message": result.message.to_json(),
        }

    def print_day_list(self, request: dict) -> str:
        if self._kiosk.dispenser is None:
            raise ApplianceError("this device has no printer ([printer] uri)")
        self._kiosk.dispenser.print_day_list()
        return "the day list is being printed"
