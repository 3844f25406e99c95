"""The office's numbers for this kiosk: each ticket's number drawn from the backend within a short
deadline, and the kiosk's fallback block leased from it for when it does not answer in time.

``draw`` runs on the thread of the press (the dispenser's), never on the core's; health "numbering" says
where the numbers come from and, when none can be given, why.
"""

import logging
import threading
import time
import uuid

from appliance.domain.commands import Health, KeepFallbackLease, ReportHealth, TakeFallbackLease, TakeHighestNumber
from appliance.domain.component import ComponentName
from appliance.domain.errors import NoNumberHere
from appliance.domain.numbering import FallbackLease, OfficeNumber, office_range
from appliance.protocol.contract import Contract
from appliance.sync.client import BackendClient, BackendError, BackendRefused, BackendUnreachable, BadAnswer

log = logging.getLogger(__name__)

# After a draw the office did not answer, presses go straight to the fallback block for this long: an
# outage must not cost every visitor the deadline.
OFFICE_RETRY_S = 10.0
CORE_WAIT_S = 5.0


class OfficeNumbers:
    """Draws office numbers as device ``config.device.id`` (run ``instance``) and keeps its fallback lease."""

    def __init__(self, core, config, instance: str, *, contract: Contract | None = None, monotonic=time.monotonic):
        self._core, self._config, self.instance = core, config, instance
        self._monotonic = monotonic
        contract = contract or Contract.load()
        self._drawn_schema = contract.schema_validator("DrawnNumber")
        self._lease_schema = contract.schema_validator("BlockLease")
        numbering, backend, device = config.numbering, config.backend, config.device
        self.deadline = numbering.office_deadline.total_seconds()
        self._blocks = numbering.fallback_blocks, numbering.fallback_size
        self._paths = {
            "numbers": f"/v1/sites/{device.site}/numbers",
            "block": f"/v1/devices/{device.id}/fallback-block",
        }
        self._client = BackendClient(
            backend.url,
            backend.token_file.value if backend.token_file else None,
            timeout=self.deadline,
            verify_tls=backend.verify_tls,
            ca_bundle=backend.ca_bundle,
        )
        self._office_away_until = 0.0
        self._refused: str | None = None  # the backend's refusal of this device's lease, standing until granted
        self._reported: tuple | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def office_answers(self) -> None:
        """Another channel of the sync got its answer: the next press asks the office again at once."""
        self._office_away_until = 0.0

    # --- the press's thread --------------------------------------------------------------------------

    def draw(self, concern_name: str) -> OfficeNumber | None:
        """The office's number for a ticket of ``concern_name``; None: the kiosk numbers it from its fallback
        block. Raises NoNumberHere when the office refuses this device any number."""
        if not self._core.clock_trusted:
            return None  # the core refuses any day-bound number: no draw to waste
        if self._monotonic() < self._office_away_until:
            self._fall_back("the office did not answer a moment ago")
            return None
        concern = self._config.concern(concern_name)
        first, last = office_range(concern.first, concern.last, *self._blocks)
        key = uuid.uuid4().hex  # also the key of the ticket_issued event that confirms the number
        above = self._core.submit(TakeHighestNumber(concern.name, first, last)).result(CORE_WAIT_S)
        body = {
            "key": key,
            "day": self._core.snapshot.day.isoformat(),
            "concern": concern.name,
            "first": first,
            "last": last,
            "instance": self.instance,
        } | ({"above": above} if above is not None else {})
        until = self._monotonic() + self.deadline
        for attempt in (1, 2):
            try:
                answer = self._client.call(
                    "POST", self._paths["numbers"], json_body=body, timeout=max(0.001, until - self._monotonic())
                )
                break
            except BackendUnreachable as error:
                if attempt == 1 and self._monotonic() < until:
                    continue  # the answer was lost: the same key gets the same number, never a second one
                return self._office_away(error)
            except BackendRefused as error:
                if error.code == "shared_device_id":
                    self._report(Health.FAILED, f"no numbers: {error}")
                    raise NoNumberHere(str(error)) from None
                return self._office_away(error)
            except BackendError as error:
                return self._office_away(error)
        if not self._drawn_schema.is_valid(answer.body) or answer.body["key"] != key:
            return self._office_away(BadAnswer("POST numbers: the answer is not a DrawnNumber of this key"))
        self._report(Health.OK, self._refused or "")
        return OfficeNumber(key, answer.body["number"])

    def _office_away(self, error: Exception) -> None:
        self._office_away_until = self._monotonic() + OFFICE_RETRY_S
        log.warning("no office number: %s", error)
        self._fall_back(f"the office did not answer within {self.deadline * 1000:g} ms ({error})")

    def _fall_back(self, why: str) -> None:
        lease = self._core.submit(TakeFallbackLease()).result(CORE_WAIT_S)
        if lease is None:
            self._report(Health.FAILED, f"no number of its own: no fallback block leased yet; {why}")
        else:
            self._report(Health.DEGRADED, f"numbers from fallback block {lease.slot}: {why}")

    # --- the sync's routine thread ---------------------------------------------------------------------

    def lease(self, client: BackendClient) -> FallbackLease | None:
        """Asks the backend for this device's fallback block (keeping the one held) and keeps it in the state."""
        held = self._core.submit(TakeFallbackLease()).result(CORE_WAIT_S)
        blocks, size = self._blocks
        body = {"blocks": blocks, "size": size, "instance": self.instance} | ({"slot": held.slot} if held else {})
        try:
            answer = client.call("POST", self._paths["block"], json_body=body)
        except BackendRefused as error:
            self._refused = f"fallback block refused: {error}"
            # A shared id gets no number at all; otherwise the block held is still this device's alone.
            failed = held is None or error.code == "shared_device_id"
            self._report(Health.FAILED if failed else Health.DEGRADED, self._refused)
            return held
        if not self._lease_schema.is_valid(answer.body) or (answer.body["blocks"], answer.body["size"]) != (
            blocks,
            size,
        ):
            raise BadAnswer("POST fallback-block: the answer is not a BlockLease of these blocks")
        lease = FallbackLease(answer.body["slot"], blocks, size)
        self._core.submit(KeepFallbackLease(lease)).result(CORE_WAIT_S)
        if self._refused is not None:
            self._refused = None
            self._report(Health.OK, "")
        elif self._reported is None:
            self._report(Health.OK, "")
        return lease

    def _report(self, state: Health, detail: str) -> None:
        with self._lock:
            if (state, detail) == self._reported:
                return
            self._reported = (state, detail)
        self._core.submit(ReportHealth(ComponentName.NUMBERING, state, detail))
