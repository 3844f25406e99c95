"""The device's side of the sync: outbox up, calls, office state and day lists down, heartbeats, each on its
own thread.

It talks to the core only through commands and snapshots, so a slow or absent backend never holds up
a ticket, a check-in or the monitor; the component "backend" says what is wrong and since when.
"""

import logging
import re
import secrets
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from appliance import __version__
from appliance.domain.backoff import Backoff
from appliance.domain.clock import local_day
from appliance.domain.commands import (
    ApplyDayList,
    ApplyOfficeState,
    Health,
    MarkDelivered,
    ReportHealth,
    StaffCall,
    TakeOutbox,
)
from appliance.domain.component import ComponentName, WorkerThread, end_thread
from appliance.protocol.contract import Contract, parse_timestamp, timestamp
from appliance.sync.client import BackendClient, BackendError, BackendRefused, BackendUnavailable, BadAnswer
from appliance.sync.numbers import OfficeNumbers
from appliance.sync.wire import (
    DayListRejected,
    OfficeStateRejected,
    OutboxEncoder,
    alarm_text,
    appointments_of,
    check_day,
    component_name,
    concern_titles,
    merge_changes,
    office_state_of,
)

log = logging.getLogger(__name__)

CORE_WAIT_S = 10.0  # a core that does not answer a command in this time is busy: try later
CALLS_WAIT_S = 25  # the long poll's wait; the document allows up to 30
CALLS_LIMIT = 100
OUTBOX_IDLE_S = 0.1  # how often an empty outbox is looked at again
ALARM_CLEARS_AT = 0.9  # the outbox alarm ends below 90 % of its limit, so it does not flap
UNREACHABLE = "unreachable"
ALARMS_SHOWN = 3  # the backend's alarms named in the health; the log has each of them
_DETAIL = 200
_REFUSED_TIME = re.compile(r"body\.events\[(\d+)\]\.created_at")


@dataclass
class _Day:
    """What the device holds of one day's list: the backend's cursor and the list it applied."""

    cursor: str | None = None
    appointments: dict = field(default_factory=dict)  # id -> appointment, as the protocol has it
    asked_since: str | None = None  # the `since` of the last answer, and its ETag
    etag: str | None = None


class LinkHealth:
    """The component "backend": degraded while a channel fails or a problem stands, with since when.

    Details stay the same for the whole of an outage (each change is an event in the outbox)."""

    def __init__(self, core, clock, zone):
        self._core, self._clock, self._zone = core, clock, zone
        self._lock = threading.Lock()
        self._down: dict[str, tuple[datetime, str, str]] = {}  # channel -> (since, label, first reason)
        self._problems: dict[str, str] = {}
        self._reported: tuple | None = None

    def down_since(self, channel: str) -> datetime | None:
        with self._lock:
            known = self._down.get(channel)
        return known[0] if known else None

    def failed(self, channel: str, error: Exception) -> None:
        label = _label(error)
        with self._lock:
            known = self._down.get(channel)
            if known is not None and known[1] == label:
                return
            self._down[channel] = (known[0] if known else self._clock.now(), label, _reason(error))
        log.warning("backend %s (%s): %s", label, channel, error)
        self._report()

    def succeeded(self, channel: str) -> None:
        """``channel`` got its answer: it is up again, and so is every channel that had no answer at all
        (the backend is reachable); one that got 5xx or refusals stays down until it gets its own."""
        with self._lock:
            known = self._down.pop(channel, None)
            for other, (_, label, _) in list(self._down.items()):
                if label == UNREACHABLE:
                    known = known or self._down[other]
                    del self._down[other]
        if known is not None:
            log.info("backend answers again (%s), after %s", channel, _since(known[0], self._clock.now()))
        if known is not None or self._reported is None:  # the first answer shows the link in the status
            self._report()

    def problem(self, key: str, detail: str | None) -> None:
        with self._lock:
            if self._problems.get(key) == detail:
                return
            if detail is None:
                self._problems.pop(key, None)
            else:
                self._problems[key] = detail
        self._report()

    def report_again(self) -> None:
        """Says how the link is once more, changed or not: a restarted sync must not stay silent
        about an outage that the supervisor's reports covered meanwhile."""
        with self._lock:
            self._reported = None
            known = bool(self._down or self._problems)
        if known:
            self._report()

    def _report(self) -> None:
        with self._lock:
            parts: dict[str, str] = {}
            for since, label, reason in sorted(self._down.values()):
                parts.setdefault(label, f"{label} since {since.astimezone(self._zone):%H:%M} ({reason})")
            parts.update(self._problems)
            state = Health.DEGRADED if parts else Health.OK
            report = (state, "; ".join(parts.values()))
            if report == self._reported:
                return
            self._reported = report
        self._core.submit(ReportHealth(ComponentName.BACKEND, *report))


class DeviceSync:
    """Outbox delivery, the calls feed, day lists and heartbeats against the backend in ``config``.

    Each on a thread of its own; should a bug end one, the supervisor restarts the whole sync."""

    name = ComponentName.BACKEND

    def __init__(
        self,
        core,
        config,
        clock,
        clock_trust=None,
        *,
        contract: Contract | None = None,
        calls_wait_s: int = CALLS_WAIT_S,
        retry_first_s: float = 0.5,
        retry_most_s: float = 60.0,
    ):
        self.core, self.config, self.clock = core, config, clock
        self.clock_trust = clock_trust
        self.contract = contract or Contract.load()
        backend, device = config.backend, config.device
        self.site, self.zone = device.site, device.timezone
        self.timeout = backend.timeout.total_seconds()
        self.batch_size, self.outbox_alarm = backend.batch_size, backend.outbox_alarm
        self.heartbeat_s = backend.heartbeat_interval.total_seconds()
        self.appointments_s = backend.appointments_interval.total_seconds()
        self.calls_wait_s, self.retry_first_s, self.retry_most_s = calls_wait_s, retry_first_s, retry_most_s
        self.health = LinkHealth(core, clock, self.zone)
        self.encoder = OutboxEncoder(self.contract)
        self._paths = {
            "events": f"/v1/devices/{device.id}/events",
            "heartbeat": f"/v1/devices/{device.id}/heartbeat",
            "appointments": f"/v1/sites/{device.site}/appointments",
            "calls": f"/v1/sites/{device.site}/calls",
            "office": f"/v1/sites/{device.site}/office",
        }
        self._days: dict[date, _Day] = {}
        self._alarmed = False
        # Tells this device apart from another one provisioned with the same id (a copied config).
        self.instance = secrets.token_hex(8)
        # The press path draws through it; the routine thread keeps its fallback block leased.
        self.numbers = OfficeNumbers(core, config, self.instance, contract=self.contract)
        self._alarm_schema = self.contract.schema_validator("Alarm")
        self._office_alarms: dict[str, None] = {}  # the backend's alarms about this device, as texts
        self._office_alarms_lock = threading.Lock()
        self._stopping = threading.Event()
        self._clients: dict[str, BackendClient] = {}
        self._threads: list[WorkerThread] = []

    def _client(self) -> BackendClient:
        backend = self.config.backend
        return BackendClient(
            backend.url,
            backend.token_file.value if backend.token_file else None,
            timeout=self.timeout,
            verify_tls=backend.verify_tls,
            ca_bundle=backend.ca_bundle,
            on_answer=self._on_answer,
        )

    @property
    def stale_since(self) -> datetime | None:
        """Since when the calls feed or the office state (what the monitor shows) has not been live;
        None while both are."""
        return min(filter(None, (self.health.down_since("calls"), self.health.down_since("office"))), default=None)

    def start(self) -> None:
        self._stopping.clear()
        self.health.report_again()
        # One session per thread: the long poll holds its connection, uploads never wait for it.
        self._clients = {name: self._client() for name in ("outbox", "calls", "office", "routine")}
        self._threads = [
            WorkerThread(loop, f"sync-{name}")
            for name, loop in (
                ("outbox", self._outbox_loop),
                ("calls", self._calls_loop),
                ("office", self._office_loop),
                ("routine", self._routine_loop),
            )
        ]
        for thread in self._threads:
            thread.start()
        log.info(
            "syncing with %s every %g s (heartbeat), day lists every %g s, calls live",
            self._clients["outbox"].where,
            self.heartbeat_s,
            self.appointments_s,
        )
        if not self.config.backend.verify_tls:
            log.warning("the backend's TLS certificate is NOT verified ([backend] verify_tls = no)")

    def failure(self) -> str | None:
        return next((f"{thread.name}: {thread.failure}" for thread in self._threads if thread.failure), None)

    def stop(self, timeout: float = 1.0) -> None:
        self._stopping.set()
        for client in self._clients.values():
            client.close()
        self.numbers.close()
        deadline = time.monotonic() + timeout  # closing the clients cut their calls in flight
        for thread in self._threads:
            if thread.is_alive():
                end_thread(thread, max(0.0, deadline - time.monotonic()))

    def _on_answer(self, answer, sent_at: float, received_at: float) -> None:
        if self.clock_trust is not None:
            self.clock_trust.observe_server_date(answer.server_date, received_at - sent_at)

    def _clock_trusted(self) -> bool:
        return self.clock_trust is None or self.clock_trust.trusted

    def _failed(self, channel: str, error: Exception, backoff: Backoff) -> float:
        """Reports a failed attempt; the seconds to wait before the next."""
        if self._stopping.is_set():
            return 0.0  # our own stop cut the call: nothing to report
        if isinstance(error, FutureTimeout):
            return 1.0  # the core is busy; it reports that itself
        if not isinstance(error, BackendError):
            log.exception("sync %s failed", channel)
        self.health.failed(channel, error)
        if isinstance(error, BackendError) and error.transient:
            return backoff.next_delay(error.retry_after)
        return self.retry_most_s

    def _answered(self, channel: str, backoff: Backoff) -> None:
        backoff.reset()
        self.health.succeeded(channel)
        self.numbers.office_answers()

    # --- outbox -----------------------------------------------------------------------------------

    def _outbox_loop(self) -> None:
        client, backoff = self._clients["outbox"], Backoff(self.retry_first_s, self.retry_most_s)
        while not self._stopping.is_set():
            pending = self.core.snapshot.outbox_pending
            self._check_alarm(pending)
            if pending == 0:
                self._stopping.wait(OUTBOX_IDLE_S)
                continue
            try:
                records = self.core.submit(TakeOutbox(self.batch_size)).result(CORE_WAIT_S)
                if records:
                    self._upload(client, [self.encoder.encode(record) for record in records])
            except Exception as error:
                self._stopping.wait(self._failed("outbox", error, backoff))
                continue
            if records:
                self._answered("outbox", backoff)
            else:
                self._stopping.wait(OUTBOX_IDLE_S)

    def _upload(self, client: BackendClient, events: list[dict], restamped: frozenset[int] = frozenset()) -> None:
        """Send ``events`` in order and mark what the backend holds. A batch refused as a whole for one
        event's sake (409: a key it holds with other content; 413: too large) is sent in halves; events
        dated where the backend cannot believe them are sent once more with the backend's time."""
        try:
            answer = client.call("POST", self._paths["events"], json_body={"events": events, "instance": self.instance})
        except BackendRefused as error:
            if error.code == "implausible_time" and (again := _restamped(events, error, restamped)):
                self._upload(client, *again)
                return
            if error.status in (409, 413) and len(events) > 1:
                half = len(events) // 2
                self._upload(client, events[:half])
                self._upload(client, events[half:])
                return
            if error.status == 409:
                # The backend holds this key already, so the event's effect happened once: it is delivered.
                log.error(
                    "the backend holds event %s with other content (%s): counted as delivered", events[0]["key"], error
                )
                self._mark([events[0]["key"]])
                return
            raise
        self._mark(_confirmed(answer.body, events))
        self._take_alarms(answer.body, standing=False)

    def _mark(self, keys: list[str]) -> None:
        if keys:
            self.core.submit(MarkDelivered(tuple(keys))).result(CORE_WAIT_S)

    def _check_alarm(self, pending: int) -> None:
        alarm = pending > self.outbox_alarm or (self._alarmed and pending > self.outbox_alarm * ALARM_CLEARS_AT)
        if alarm == self._alarmed:
            return
        self._alarmed = alarm
        if alarm:
            log.error(
                "outbox alarm: %d events not delivered, more than [backend] outbox_alarm = %d; none is "
                "dropped, they wait in the state database",
                pending,
                self.outbox_alarm,
            )
        else:
            log.info("outbox alarm over: %d events not delivered", pending)
        self.health.problem(
            "outbox",
            f"outbox alarm: more than {self.outbox_alarm} events not delivered (none is dropped)" if alarm else None,
        )

    # --- calls --------------------------------------------------------------------------------------

    def _calls_loop(self) -> None:
        client, backoff = self._clients["calls"], Backoff(self.retry_first_s, self.retry_most_s)
        feed_schema = self.contract.schema_validator("CallFeed")
        cursor = None  # kept across reconnects; without one, the backend answers its latest calls
        while not self._stopping.is_set():
            asked = time.monotonic()
            params = {"limit": CALLS_LIMIT}
            if cursor is not None:
                params.update(after=cursor, wait=self.calls_wait_s)
            try:
                answer = client.call(
                    "GET",
                    self._paths["calls"],
                    params=params,
                    timeout=self.calls_wait_s + self.timeout if cursor else None,
                )
                feed = answer.body
                if not feed_schema.is_valid(feed):
                    raise BadAnswer("GET calls: the answer does not match the protocol's CallFeed", answer.status)
            except Exception as error:
                if isinstance(error, BackendRefused) and error.status == 410:
                    log.warning("the backend does not know the calls cursor (it was reset): taking its latest calls")
                    cursor = None
                    continue
                self._stopping.wait(self._failed("calls", error, backoff))
                continue
            self._answered("calls", backoff)
            if not self._stopping.is_set():
                self._hand_over(feed["calls"])
            cursor = feed["cursor"]
            if cursor is not None and not feed["calls"] and time.monotonic() - asked < 0.5 and "after" in params:
                self._stopping.wait(1.0)  # a backend that does not hold the poll must not be asked in a loop

    def _hand_over(self, calls: list[dict]) -> None:
        """Each call of today to the core; the latest calls after a restart are handed over again, which
        changes nothing for a number already called, and yesterday's never call today's same number."""
        today = self.core.snapshot.day
        for call in calls:
            called_at = parse_timestamp(call["called_at"])
            if local_day(called_at, self.zone) == today:
                self.core.submit(StaffCall(call["counter"], call["code"], called_at, call["id"]))

    # --- the office's state ---------------------------------------------------------------------------

    def _office_loop(self) -> None:
        """Follows the office's call-up state; each new one goes to the core whole. A refused answer
        changes nothing: the screens keep the last good state and are marked not up to date."""
        client, backoff = self._clients["office"], Backoff(self.retry_first_s, self.retry_most_s)
        held = None  # (version, day) of the state the core has
        while not self._stopping.is_set():
            asked = time.monotonic()
            params = {} if held is None else {"after": held[0], "wait": self.calls_wait_s}
            try:
                answer = client.call(
                    "GET",
                    self._paths["office"],
                    params=params,
                    timeout=self.calls_wait_s + self.timeout if held else None,
                )
                state = office_state_of(self.contract, answer.body, self.site)
                if held is not None and state.day == held[1] and state.version < held[0]:
                    raise OfficeStateRejected(f"its version {state.version} goes back from {held[0]} within the day")
            except OfficeStateRejected as error:
                log.warning("the office state from the backend is refused, the last one stays: %s", error)
                self._stopping.wait(
                    self._failed(
                        "office", BadAnswer(f"GET office: state refused, the last one stays ({error})"), backoff
                    )
                )
                continue
            except Exception as error:
                if isinstance(error, BackendRefused) and error.status == 410:
                    log.warning("the backend never issued office version %s (it was reset): taking its state", held[0])
                    held = None  # its state now, whatever its version
                    continue
                self._stopping.wait(self._failed("office", error, backoff))
                continue
            self._answered("office", backoff)
            if (state.version, state.day) != held and not self._stopping.is_set():
                self.core.submit(ApplyOfficeState(state))
            elif time.monotonic() - asked < 0.5 and held is not None:
                self._stopping.wait(1.0)  # a backend that does not hold the poll must not be asked in a loop
            held = (state.version, state.day)

    # --- heartbeat and day lists --------------------------------------------------------------------

    def _routine_loop(self) -> None:
        client = self._clients["routine"]
        beats, days, blocks = (Backoff(self.retry_first_s, self.retry_most_s) for _ in range(3))
        next_beat = next_days = time.monotonic()
        next_block = next_beat if "kiosk" in self.config.device.roles else float("inf")  # only kiosks number
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_beat:
                next_beat = now + self._step("heartbeat", lambda: self._heartbeat(client), beats, self.heartbeat_s)
            if now >= next_days:
                next_days = now + self._step("appointments", lambda: self._sync_days(client), days, self.appointments_s)
            if now >= next_block:
                next_block = now + self._step("block", lambda: self.numbers.lease(client), blocks, self.appointments_s)
            self._stopping.wait(max(0.05, min(next_beat, next_days, next_block) - time.monotonic()))

    def _step(self, channel: str, work, backoff: Backoff, interval: float) -> float:
        """Does ``work``; the seconds until the next time: the interval, or sooner after a failure."""
        try:
            work()
        except Exception as error:
            return min(interval, self._failed(channel, error, backoff))
        self._answered(channel, backoff)
        self.health.succeeded("routine")
        return interval

    def _heartbeat(self, client: BackendClient) -> None:
        snapshot = self.core.snapshot
        components = [
            {
                "name": component_name(c.name),
                "state": c.state.value,
                **({"detail": c.detail[:_DETAIL]} if c.detail else {}),
            }
            for c in snapshot.components
        ][:32]
        asked = time.monotonic()
        answer = client.call(
            "POST",
            self._paths["heartbeat"],
            json_body={
                "version": __version__,
                "roles": list(self.config.device.roles),
                "components": components,
                "outbox_pending": min(snapshot.outbox_pending, 100_000_000),
                "clock_ok": self._clock_trusted(),
                "sent_at": timestamp(self.clock.now()),
                "instance": self.instance,
                "concerns": concern_titles(self.config.concerns),
            },
        )
        server_time = answer.body.get("server_time") if isinstance(answer.body, dict) else None
        if self.clock_trust is not None and isinstance(server_time, str):
            try:
                self.clock_trust.observe_server_time(parse_timestamp(server_time), time.monotonic() - asked)
            except ValueError:
                raise BadAnswer("POST heartbeat: server_time is not a timestamp", answer.status) from None
        self._take_alarms(answer.body, standing=True)

    def _take_alarms(self, answer, standing: bool) -> None:
        """The backend's alarms about this device into the health "backend": an events answer adds those
        the batch raised, a heartbeat answer holds all that stand (none: those shown are over)."""
        alarms = answer.get("alarms", []) if isinstance(answer, dict) else None
        if not isinstance(alarms, list):
            return
        texts = dict.fromkeys(alarm_text(alarm) for alarm in alarms if self._alarm_schema.is_valid(alarm))
        with self._office_alarms_lock:
            new = [text for text in texts if text not in self._office_alarms]
            self._office_alarms = texts if standing else self._office_alarms | texts
            shown = list(self._office_alarms)
        more = f" (and {len(shown) - ALARMS_SHOWN} more)" if len(shown) > ALARMS_SHOWN else ""
        detail = "; ".join(shown[:ALARMS_SHOWN]) + more or None
        for text in new:
            log.error("the backend reports: %s", text)
        self.health.problem("office alarms", detail)

    def _sync_days(self, client: BackendClient) -> None:
        if not self._clock_trusted():
            return  # which day is today is not known yet
        today = self.core.snapshot.day
        for day in (today, today + timedelta(days=1)):  # bookings for tomorrow are made until midnight
            self._sync_day(client, day)
        for day in [d for d in self._days if d < today]:
            del self._days[day]
            self.health.problem(f"day {day}", None)  # a refusal of yesterday's list no longer matters

    def _sync_day(self, client: BackendClient, day: date) -> None:
        known = self._days.setdefault(day, _Day())
        params = {"day": day.isoformat()}
        if known.cursor:
            params["since"] = known.cursor
        headers = {"If-None-Match": known.etag} if known.etag and known.asked_since == known.cursor else {}
        try:
            answer = client.call("GET", self._paths["appointments"], params=params, headers=headers)
        except BackendRefused as error:
            if error.status != 410 or not known.cursor:
                raise
            log.warning("the backend does not know the cursor of %s (it was reset): fetching the whole day", day)
            self._days[day] = _Day()
            return self._sync_day(client, day)
        if answer.status == 304:
            self.health.problem(f"day {day}", None)
            return
        try:
            if known.cursor:
                body = check_day(self.contract, "AppointmentChanges", answer.body, self.site, day)
                merged = merge_changes(known.appointments, body["changes"]) if body["changes"] else None
            else:
                body = check_day(self.contract, "AppointmentDay", answer.body, self.site, day)
                appointments_of(body["appointments"], self.site, day)  # ids and codes once, before a dict
                merged = {item["id"]: item for item in body["appointments"]}
            if merged is not None:
                appointments = appointments_of(list(merged.values()), self.site, day)
        except DayListRejected as error:
            log.warning("the day list of %s from the backend is refused, nothing of it applied: %s", day, error)
            self.health.problem(f"day {day}", f"day list {day} refused: {str(error)[:120]}")
            return
        if merged is not None:
            self.core.submit(ApplyDayList(day, appointments)).result(CORE_WAIT_S * 3)
            log.info("day list %s applied: %d appointments", day, len(appointments))
            known.appointments = merged
        known.cursor, known.asked_since, known.etag = body["cursor"], params.get("since"), answer.headers.get("ETag")
        self.health.problem(f"day {day}", None)


def _restamped(
    events: list[dict], refusal: BackendRefused, before: frozenset[int]
) -> tuple[list[dict], frozenset[int]] | None:
    """``events`` with each created_at the backend refused as implausible (a clock gone wrong: year 1,
    9999) replaced by the backend's own time from its answer's Date, and the indexes replaced so far.
    The event is kept and delivered, its effect intact; the device's database keeps the time its clock
    gave. An answer names 20 at most, so a longer run takes rounds. None: no new one to replace."""
    if refusal.server_date is None:
        return None
    refused = {int(m[1]) for where in refusal.where if (m := _REFUSED_TIME.fullmatch(where))}
    refused = {index for index in refused if index < len(events)} - before
    if not refused:
        return None
    backend_time = timestamp(refusal.server_date)
    for index in sorted(refused):
        log.warning(
            "event %s (%s) is dated %s by this device's clock, which the backend cannot believe: sent "
            "with the backend's time %s instead (the device keeps its own)",
            events[index]["key"],
            events[index]["kind"],
            events[index]["created_at"],
            backend_time,
        )
    again = [dict(event, created_at=backend_time) if i in refused else event for i, event in enumerate(events)]
    return again, before | refused


def _confirmed(answer, events: list[dict]) -> list[str]:
    """The keys of ``events`` the backend says it holds (accepted now or before), in batch order."""
    if not isinstance(answer, dict) or not all(isinstance(answer.get(k), list) for k in ("accepted", "duplicates")):
        raise BadAnswer("POST events: the answer has no 'accepted' and 'duplicates' lists")
    held = {key for key in answer["accepted"] + answer["duplicates"] if isinstance(key, str)}
    keys = [event["key"] for event in events if event["key"] in held]
    if len(keys) < len(events):
        log.warning("the backend confirmed %d of %d events; the others are sent again", len(keys), len(events))
    return keys


def _label(error: Exception) -> str:
    if isinstance(error, BackendRefused):
        return "refuses this device's token" if error.status in (401, 403) else "refuses requests"
    if isinstance(error, BadAnswer):
        return "answers malformed data"
    if isinstance(error, BackendUnavailable):
        return "unavailable"
    if isinstance(error, BackendError):
        return UNREACHABLE
    return "sync error"


def _reason(error: Exception) -> str:
    """The error without the request it was about: 'Connection refused', '401 unauthorized: ...'."""
    text = str(error)
    if isinstance(error, BackendError) and ": " in text:
        text = text.split(": ", 1)[1]
    return text[:80]


def _since(start: datetime, now: datetime) -> str:
    seconds = max(0, int((now - start).total_seconds()))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 60} min {seconds % 60} s"
