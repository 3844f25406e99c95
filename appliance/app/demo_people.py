"""The demo's people: visitors at the kiosks and counters at the central system. After each thing one
of them does, the office's screens are followed until all of them show it (app.demo_office)."""

import itertools
from time import monotonic

from appliance.domain.simulation import AppointmentArrival

# Which calls the counters follow with another operation: a recall (the visitor did not come up
# at once), a not come (nor after the recall), a transfer to another concern (the wrong queue).
RECALL_EVERY, NOT_COME_EVERY, TRANSFER_EVERY = 5, 11, 7


class Counters:
    """The office's counters, through the backend's staff operations (makeCall)."""

    def __init__(self, backend, screens, output, tz, concerns: list[str]):
        self.backend, self.screens, self.output, self.tz, self.concerns = backend, screens, output, tz, concerns
        self.tally = dict.fromkeys(("calls", "recalls", "not come", "transfers"), 0)

    def call_next(self, counter: int, at) -> str | None:
        """``counter`` calls the next visitor; the concern it serves then (None: nobody waits)."""
        call = self._operate(
            at,
            lambda: self.backend.call_next(counter),
            lambda call: lambda shown: shown[0][:1] and shown[0][0][:2] == (call["code"], call["counter"]),
        )
        if call is None:
            return None
        tally, code = self.tally, call["code"]
        tally["calls"] += 1
        concern = next(c.concern for c in self.screens.any_view().recent_calls if c.code == code)
        if tally["calls"] % RECALL_EVERY == 0:
            self._operate(
                at,
                lambda: self.backend.recall(code, counter),
                lambda recall: lambda shown: shown[0][0][2] == recall["id"],
            )
            tally["recalls"] += 1
        if tally["calls"] % NOT_COME_EVERY == 0:
            self._operate(
                at,
                lambda: self.backend.not_come(code),
                lambda _: lambda shown: code not in {entry[0] for entry in shown[0]},
                "{code} nicht erschienen / not come",
            )
            tally["not come"] += 1
        elif tally["calls"] >= TRANSFER_EVERY * (tally["transfers"] + 1) and call["kind"] == "ticket":
            to = next(name for name in self.concerns if name != concern)
            self._operate(
                at,
                lambda: self.backend.transfer(code, to),
                lambda _: lambda shown: code in shown[2],
                "{code} weitergeleitet / transferred: " + to,
            )
            tally["transfers"] += 1
        return concern

    def _operate(self, at, operation, check, what: str = "") -> dict | None:
        """One operation at the backend, then until every screen passes ``check(its answer)``."""
        started = monotonic()
        answer = operation()
        if answer is not None:
            line = what.format(**answer)
            self.screens.agree(started, line or f"{answer['code']} called", check(answer))
            self.output.call(at.astimezone(self.tz), answer, line)
        return answer


class Visitors:
    """The visitors at the kiosks, which they use in turn: a button for a ticket, the scanner for a
    booked appointment's QR code."""

    def __init__(self, devices: dict, scanners: dict, screens, output, codes: dict, tz):
        self.devices, self.scanners, self.screens, self.output = devices, scanners, screens, output
        self.codes, self.tz = codes, tz
        self.tally = {"tickets": 0, "check-ins": 0}
        self.tickets_at = dict.fromkeys(scanners, 0)
        self._next_kiosk = itertools.cycle(scanners)

    def come(self, event) -> None:
        """``event``: a simulation.WalkIn or AppointmentArrival."""
        name = next(self._next_kiosk)
        kiosk, local = self.devices[name], event.at.astimezone(self.tz)
        started = monotonic()
        if isinstance(event, AppointmentArrival):
            self.scanners[name].hold_up(self.codes[event.booking.id])
            answer = kiosk.answer("a scan")
            self.tally["check-ins"] += answer["kind"] == "ok"
            self.output.answer("checkins.log", local, name, answer)
        else:
            kiosk.do("press", concern=event.concern)
            answer = kiosk.answer("a button press")
            self.tally["tickets"] += answer["code"] is not None
            self.tickets_at[name] += answer["code"] is not None
            self.output.answer("tickets.log", local, name, answer)
        code = answer["code"]
        if code is not None and answer["kind"] == "ok":  # a new ticket, a visitor checked in
            self.screens.agree(started, f"{code} from {name}", lambda shown: code in shown[1] + shown[2])
