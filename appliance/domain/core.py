"""The core: the one owner of the appliance's state.

Drivers, sync and the display hand commands in from any thread; the core applies them one at a
time on its own thread, and after each change publishes a new immutable Snapshot to readers.
Its loop also wakes every tick, so the day rolls over at local midnight without any input and
the systemd watchdog is fed only while the loop really runs. It also watches the wall clock against
the monotonic one: a jump back or forward (beyond a correction) withdraws its trust.
"""

import dataclasses
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta

from appliance.domain.checkin import AppointmentFacts, CheckInRules, CheckInVerdict, Judgement, LatePolicy, judge
from appliance.domain.clock import JUMP_SLACK, describe_jump, local_day, wall_jump
from appliance.domain.codes import PREFIX as SIGNED_PREFIX
from appliance.domain.codes import CodeError, ForgedCode
from appliance.domain.codes import decode as decode_code
from appliance.domain.commands import (
    ApplyDayList,
    ApplyOfficeState,
    CallNext,
    CheckIn,
    Command,
    Health,
    IssueTicket,
    JudgeScan,
    KeepFallbackLease,
    MarkDelivered,
    NoteClockOffset,
    RecordEvent,
    ReportHealth,
    SetClockTrusted,
    StaffCall,
    TakeDayList,
    TakeFallbackLease,
    TakeHighestNumber,
    TakeOutbox,
    VoidTicket,
)
from appliance.domain.component import ComponentName, end_thread
from appliance.domain.config import AppConfig
from appliance.domain.errors import ApplianceError, CallsByBackend, ClockNotTrusted, DiskFull, NoNumberHere
from appliance.domain.journal import short_hash
from appliance.domain.numbering import FallbackLease, fallback_block
from appliance.domain.office import OfficeState, Queue, appointment_order, merged_queue, office_waits
from appliance.domain.snapshot import AppointmentEntry, CallEntry, ComponentHealth, EventSummary, QueueEntry, Snapshot
from appliance.domain.state import Appointment, StateStore, Ticket
from appliance.domain.wording import VisitorMessage, check_in_message
from appliance.forecast.waits import WaitEstimator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckInResult:
    """What the kiosk shows and signals after a scan."""

    verdict: CheckInVerdict
    display_code: str | None
    message: VisitorMessage


_STOP = object()
MAX_PAYLOAD = 512  # longer scans are not codes of ours (a signed code has about 170 characters)
RECENT_CALLS = 10  # calls kept in the snapshot for the monitor's "recently called" list
WAITS_FRESH = timedelta(seconds=1)
NEEDS_TRUSTED_CLOCK = (IssueTicket, CheckIn)  # bound to a day: a wrong clock would put them on the wrong one
STORING = (IssueTicket, CheckIn, RecordEvent)
UNSYNCHRONISED = "not synchronised"  # their success shows the disk takes writes again


class Core:
    def __init__(
        self,
        config: AppConfig,
        store: StateStore,
        clock,
        on_alive=None,
        clock_trusted: bool = True,
        calls_by_backend: bool = False,
    ):
        self.config = config
        # With a backend, counters call through it: a call made here would be one the office never heard of.
        self.calls_by_backend = calls_by_backend
        self._store = store
        self._clock = clock
        self._on_alive = on_alive or (lambda: None)
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._listeners: list = []
        self._components: dict[str, ComponentHealth] = {}
        self._serial = 0
        self.clock_trusted = clock_trusted
        self._clock_why = UNSYNCHRONISED  # why the clock is not trusted
        self._clock_offset = ""  # what the backend's clock says of ours, when they disagree
        self._out_of_space = False  # the last write failed for a full disk; the next success clears it
        self._last_reading: tuple[datetime, float] | None = None  # (wall, monotonic), for jumps
        self._thread: threading.Thread | None = None
        # One handler per command: a new command is one entry here and one method.
        self._handlers = {
            IssueTicket: self._issue_ticket,
            CheckIn: self._check_in,
            JudgeScan: self._judge,
            CallNext: self._call_next,
            StaffCall: self._staff_call,
            VoidTicket: self._void_ticket,
            TakeOutbox: self._take_outbox,
            MarkDelivered: self._mark_delivered,
            ApplyDayList: self._apply_day_list,
            ApplyOfficeState: self._apply_office_state,
            SetClockTrusted: self._set_clock_trusted,
            NoteClockOffset: self._note_clock_offset,
            TakeDayList: self._take_day_list,
            RecordEvent: self._record_event,
            ReportHealth: self._report,
            KeepFallbackLease: self._keep_fallback_lease,
            TakeFallbackLease: self._take_fallback_lease,
            TakeHighestNumber: self._take_highest_number,
        }
        self.last_alive = time.monotonic()
        self._day = local_day(clock.now(), config.device.timezone)
        self._keep_to_the_latest(store.marks.day, store.latest_instant())
        self._office: OfficeState | None = None  # the backend's call-up state of today, once it answered
        self._own_calls: tuple[CallEntry, ...] = ()  # calls this core learned of itself, newest first
        self._unconfirmed: frozenset[str] = frozenset()  # codes of own changes the office state does not cover
        # Then numbers of self._day may be out there: the day never goes back.
        self._trusted_on_day = self.clock_trusted or self._day == store.marks.day
        self._load_day()
        self._report(ReportHealth(ComponentName.CORE, Health.OK))
        if not self.clock_trusted and self._clock_why != UNSYNCHRONISED:
            self._report_clock(None)  # the doubt found at start, for status before anything else runs
        self._snapshot = self._take_snapshot()

    def _keep_to_the_latest(self, day, latest: datetime | None) -> None:
        """Across a restart, the day never goes back before the latest ticket's, and a clock behind the
        latest time recorded (set back while the device was off) is not trusted until confirmed."""
        if day is not None and day > self._day:
            self._day = day
        now = self._clock.now()
        if self.clock_trusted and latest is not None and now < latest - JUMP_SLACK:
            self.clock_trusted = False
            self._clock_why = (
                f"the clock ({now.astimezone(self.config.device.timezone):%Y-%m-%d %H:%M}) is behind the latest "
                f"time recorded here ({latest.astimezone(self.config.device.timezone):%Y-%m-%d %H:%M}): numbering "
                f"stays on {self._day}, no numbers or check-ins until the backend or time sync confirms the clock"
            )
            log.warning("clock NOT trusted: %s", self._clock_why)

    # --- for any thread ------------------------------------------------------------------------

    def submit(self, command: Command) -> Future:
        """Queue ``command``; the Future gets its result (e.g. the Ticket) or its error."""
        future: Future = Future()
        self._inbox.put((command, future))
        return future

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot  # replaced whole, never changed: a plain read is thread-safe

    def subscribe(self, listener) -> None:
        """``listener(snapshot)`` runs on the core thread after every change: keep it quick."""
        self._listeners.append(listener)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="core", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        if self._thread is not None:
            self._inbox.put((_STOP, None))
            end_thread(self._thread, timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the core thread -----------------------------------------------------------------------

    def _run(self) -> None:
        tick = self.config.core.tick.total_seconds()
        while True:
            self.last_alive = time.monotonic()
            self._on_alive()
            try:
                command, future = self._inbox.get(timeout=tick)
            except queue.Empty:
                now = self._clock.now()
                self._watch_for_jumps(now)
                self._roll_over_if_new_day(now)
                continue
            if command is _STOP:
                return
            self.apply(command, future)

    def apply(self, command: Command, future: Future | None = None):
        """Apply one command now, on the calling thread (the core thread, or a test's)."""
        now = self._clock.now()  # one reading: a ticket's day and its time must agree at midnight
        self._watch_for_jumps(now)
        self._roll_over_if_new_day(now)
        try:
            result = self._handle(command, now)
        except DiskFull as error:
            log.error("%s refused: %s", type(command).__name__, error)
            self._out_of_space = True
            self._report(ReportHealth(ComponentName.CORE, Health.DEGRADED, str(error)))
            self._publish()  # before the answer: whoever waits for it sees why in the snapshot
            if future is not None:
                future.set_exception(error)
            return None
        except ApplianceError as error:
            log.warning("%s refused: %s", type(command).__name__, error)
            if future is not None:
                future.set_exception(error)
            self._publish()
            return None
        except Exception as error:  # a bug must not kill the core: report it and carry on
            log.exception("%s failed", type(command).__name__)
            self._report(ReportHealth(ComponentName.CORE, Health.DEGRADED, f"{type(command).__name__} failed: {error}"))
            if future is not None:
                future.set_exception(error)
            self._publish()
            return None
        if self._out_of_space and isinstance(command, STORING):
            self._out_of_space = False  # stored again: space has returned
            self._report(ReportHealth(ComponentName.CORE, Health.OK))
        self._publish()
        if future is not None:
            future.set_result(result)
        return result

    def _handle(self, command: Command, now: datetime):
        if isinstance(command, NEEDS_TRUSTED_CLOCK) and not self.clock_trusted:
            raise ClockNotTrusted(f"the clock is not confirmed ({self._clock_why}): no day-bound number or check-in")
        try:
            handler = self._handlers[type(command)]
        except KeyError:
            raise TypeError(f"the core does not know {command!r}") from None
        return handler(command, now)

    def _judge(self, command: JudgeScan, now: datetime) -> CheckInResult:
        appointment, judgement = self._judge_scan(command.payload.strip(), now)
        return self._check_in_result(appointment, judgement)

    def _call_next(self, command: CallNext, now: datetime) -> Ticket | Appointment | None:
        if self.calls_by_backend:
            raise CallsByBackend(
                "this device follows a backend: counters call through it (its staff operation, e.g. "
                "`entrance-backend call --next`), so every screen of the office shows the call"
            )
        called = self._store.call_next(day=self._day, counter=command.counter, called_at=now, concerns=command.concerns)
        if called is not None:
            self._called(_call_entry(called))
        return called

    def _void_ticket(self, command: VoidTicket, now: datetime) -> Ticket | None:
        ticket = self._store.void_ticket(day=self._day, code=command.code, reason=command.reason, at=now)
        if ticket is not None:
            log.warning("voided %s: %s", ticket.code, command.reason)
            self._estimator.visitor_left(ticket.code, now)
            self._waiting = tuple(entry for entry in self._waiting if entry.code != ticket.code)
            self._settled |= {ticket.code}
            self._unconfirmed |= {ticket.code}
        return ticket

    def _staff_call(self, command: StaffCall, now: datetime) -> Ticket | Appointment | None:
        called_at = command.called_at or now
        called = self._store.call_code(day=self._day, code=command.code, counter=command.counter, called_at=called_at)
        if called is not None:
            self._called(dataclasses.replace(_call_entry(called), call=command.call))
        elif not self._knows_call(command, called_at):
            # Not one of this device's tickets (a monitor-only device holds none, or another
            # kiosk issued it), or a recall: the waiting room must see the call all the same.
            self._called(CallEntry(command.code, "", command.counter, called_at, command.call))
        return called

    def _knows_call(self, command: StaffCall, called_at: datetime) -> bool:
        """Whether the screens show this call already: the same call handed over again (the calls feed
        replays the latest after a restart) must not come back as a new one. A call with the backend's id
        is known by it, so a recall (another id) is new."""
        shown = self._queue().recent_calls
        code, counter = command.code, command.counter
        if any((c.code, c.counter, c.called_at) == (code, counter, called_at) for c in shown):
            return True
        if command.call:
            return any(c.call == command.call for c in shown)
        return bool(shown and (shown[0].code, shown[0].counter) == (code, counter))

    def _apply_office_state(self, command: ApplyOfficeState, now: datetime) -> bool:
        state = command.state
        if state.day != self._day:
            # Around midnight the backend may still be on the other day: keep what the screens show.
            log.info("office state of %s ignored: today is %s here", state.day, self._day)
            return False
        self._office = state
        self._unconfirmed = self._store.codes_changed_after(state.last_event, self._day)
        self._store.keep_office_state(state.day, state.version, state.to_json())
        return True

    def _take_outbox(self, command: TakeOutbox, now: datetime):
        return self._store.undelivered_events(command.limit)

    def _mark_delivered(self, command: MarkDelivered, now: datetime):
        return self._store.mark_delivered(command.keys, now)

    def _apply_day_list(self, command: ApplyDayList, now: datetime) -> int:
        self._store.replace_appointments(command.day, list(command.appointments))
        if command.day == self._day:
            self._load_day()  # checked in at another kiosk of the office: in this queue too
        return len(command.appointments)

    def _set_clock_trusted(self, command: SetClockTrusted, now: datetime) -> ComponentHealth:
        changed = command.trusted != self.clock_trusted
        if changed:
            log.warning(
                "clock %s%s",
                "trusted" if command.trusted else "NOT trusted",
                f": {command.reason}" if command.reason else "",
            )
            self.clock_trusted = command.trusted
            self._roll_over_if_new_day(now)
        if not command.trusted and (changed or self._clock_why == UNSYNCHRONISED):
            self._clock_why = command.reason or UNSYNCHRONISED  # a doubt found at start is more than "waiting"
        return self._report_clock(now)

    def _note_clock_offset(self, command: NoteClockOffset, now: datetime) -> ComponentHealth:
        self._clock_offset = command.detail
        return self._report_clock(now)

    def _report_clock(self, now: datetime) -> ComponentHealth:
        problems = ([] if self.clock_trusted else [self._clock_why]) + [self._clock_offset] * bool(self._clock_offset)
        return self._report(
            ReportHealth(ComponentName.CLOCK, Health.DEGRADED if problems else Health.OK, "; ".join(problems)), now
        )

    def _watch_for_jumps(self, now: datetime) -> None:
        """Compares the wall clock with the monotonic one at every reading. Once trusted, a wall clock
        set back or forward by more than a clock's correction (no time really passed) is no longer
        trusted: the day stays until the backend or time sync confirms it."""
        reading, previous = (now, self._clock.monotonic()), self._last_reading
        self._last_reading = reading
        if previous is None or not self.clock_trusted:
            return
        jump = wall_jump(previous, reading)
        if abs(jump) <= JUMP_SLACK:
            return
        local = now.astimezone(self.config.device.timezone)
        self._set_clock_trusted(
            SetClockTrusted(
                False,
                f"the wall clock jumped {describe_jump(jump)} (to {local:%Y-%m-%d %H:%M}): numbering stays on "
                f"{self._day}, no numbers or check-ins until the backend or time sync confirms the clock",
            ),
            now,
        )
        self._publish()

    def _take_day_list(self, command: TakeDayList, now: datetime) -> list[Appointment] | None:
        if command.scheduled and self._store.has_event("day_list_printed", self._day):
            return None
        return [a for a in self._store.appointments(self._day) if a.status != "cancelled"]

    def _record_event(self, command: RecordEvent, now: datetime):
        return self._store.record_event(command.kind, command.body, now)

    def _called(self, entry: CallEntry) -> None:
        log.info("called %s to counter %d", entry.code, entry.counter)
        self._estimator.called(entry.code, entry.counter, entry.called_at)
        self._waiting = tuple(e for e in self._waiting if e.code != entry.code)
        self._appointments = tuple(e for e in self._appointments if e.code != entry.code)
        self._settled |= {entry.code}
        # In the order they were made: a call handed over late (after a restart) is not the newest.
        self._recent_calls = _newest_first((entry,) + self._recent_calls)
        self._own_calls = _newest_first((entry,) + self._own_calls)

    def _check_in(self, command: CheckIn, now: datetime) -> CheckInResult:
        """Decide a scan. Only ACCEPTED changes state; a repeated scan gives the same answer again."""
        appointment, judgement = self._judge_scan(command.payload.strip(), now)
        if judgement.verdict is CheckInVerdict.ACCEPTED:
            appointment = self._store.check_in(appointment, now)
            self._estimator.appointment_checked_in(
                appointment.display_code, appointment.concern, self._local_slot(appointment), now
            )
            self._appointments = tuple(
                sorted(self._appointments + (_appointment_entry(appointment),), key=appointment_order)
            )
            self._unconfirmed |= {appointment.display_code}
        log.info("scan %s from %s: %s", short_hash(command.payload), command.source, judgement.verdict.value)
        return self._check_in_result(appointment, judgement)

    def _check_in_result(self, appointment: Appointment | None, judgement: Judgement) -> CheckInResult:
        code = appointment.display_code if appointment is not None else None
        policy = LatePolicy(self.config.checkin.late_policy)
        return CheckInResult(judgement.verdict, code, check_in_message(judgement, code, policy))

    def _judge_scan(self, payload: str, now: datetime) -> tuple[Appointment | None, Judgement]:
        checkin = self.config.checkin
        if not payload or len(payload) > MAX_PAYLOAD or not payload.isprintable():
            return None, Judgement(CheckInVerdict.UNREADABLE)
        if payload.startswith(SIGNED_PREFIX) and "signed" in checkin.modes:
            try:
                code = decode_code(payload, list(checkin.public_key_file.keys))
            except ForgedCode:
                return None, Judgement(CheckInVerdict.FORGED)
            except CodeError:
                return None, Judgement(CheckInVerdict.UNREADABLE)
            appointment = self._store.appointment(str(code.appointment_id)) or Appointment(
                str(code.appointment_id), code.site, code.day, code.slot, code.concern, code.display_code
            )
        elif "reference" in checkin.modes:
            appointment = self._store.appointment_by_reference(self._day, payload.upper())
        else:
            appointment = None
        facts = (
            None
            if appointment is None
            else AppointmentFacts(appointment.site, appointment.day, appointment.slot, appointment.status)
        )
        rules = CheckInRules(checkin.early, checkin.late, LatePolicy(checkin.late_policy))
        tz = self.config.device.timezone
        return appointment, judge(facts, site=self.config.device.site, now_local=now.astimezone(tz), rules=rules)

    def _issue_ticket(self, command: IssueTicket, now: datetime) -> Ticket:
        concern = self.config.concern(command.concern)
        office = command.office
        low, high = (office.number, office.number) if office else self._own_numbers(concern)
        ticket = self._store.issue_ticket(
            day=self._day,
            concern=concern.name,
            prefix=concern.prefix,
            low=low,
            high=high,
            last=concern.last,
            issued_at=now,
            key=office.key if office else None,
        )
        log.info("issued %s (%s, from %s)", ticket.code, concern.name, command.source)
        queue = self._queue()
        ahead = queue.total  # the whole office's queue, as the monitors count it
        if self._office is not None:
            wait = office_waits(self._office, queue).get(concern.name, (0, 0))
        else:
            estimate = self._estimator.estimate_for_new_ticket(concern.name, now)
            wait = (estimate.low_min, estimate.high_min)
        self._estimator.ticket_issued(ticket.code, concern.name, now)
        self._waiting += (QueueEntry(ticket.code, ticket.concern, ticket.issued_at),)
        self._unconfirmed |= {ticket.code}
        self._issued[ticket.concern] = self._issued.get(ticket.concern, 0) + 1
        # What the ticket prints: people called before it, and the wait as a range.
        return dataclasses.replace(ticket, people_ahead=ahead, wait_minutes=wait)

    def _own_numbers(self, concern) -> tuple[int, int]:
        """The numbers this device may issue without the office: all of the range on its own; with a
        backend only its leased fallback block, and none before it has one (another kiosk might hold them)."""
        backend = getattr(self.config, "backend", None)
        if backend is None or not backend.url:
            return concern.first, concern.last
        lease = self._take_fallback_lease(TakeFallbackLease(), None)
        if lease is None:
            raise NoNumberHere(
                "no fallback block: the backend has not handed this device one yet (never reached, or the "
                "[numbering] blocks changed), so it issues no number of its own while the backend does not answer"
            )
        return fallback_block(concern.first, concern.last, lease.slot, lease.size)

    def _keep_fallback_lease(self, command: KeepFallbackLease, now: datetime) -> FallbackLease:
        if self._store.fallback_lease(self.config.device.site) != command.lease:
            log.info("fallback block %d of %d leased", command.lease.slot, command.lease.blocks)
            self._store.keep_fallback_lease(self.config.device.site, command.lease, now)
        return command.lease

    def _take_highest_number(self, command: TakeHighestNumber, now: datetime) -> int | None:
        return self._store.highest_number(self._day, command.concern, command.low, command.high)

    def _take_fallback_lease(self, command: TakeFallbackLease, now: datetime | None) -> FallbackLease | None:
        """The lease held, if it still fits the [numbering] blocks (changed blocks would overlap others')."""
        lease = self._store.fallback_lease(self.config.device.site)
        numbering = self.config.numbering
        if lease is None or (lease.blocks, lease.size) != (numbering.fallback_blocks, numbering.fallback_size):
            return None
        return lease

    def _report(self, command: ReportHealth, now: datetime | None = None) -> ComponentHealth:
        previous = self._components.get(command.component)
        if previous and (previous.state, previous.detail) == (command.state, command.detail):
            return previous
        health = ComponentHealth(command.component, command.state, command.detail, now or self._clock.now())
        self._components[command.component] = health
        if previous is not None or health.state != Health.OK:
            # Every change after start-up goes to the backend too, so a central view sees faults.
            try:
                self._store.record_event(
                    "component_health",
                    {"component": health.name, "state": health.state.value, "detail": health.detail},
                    health.since,
                )
            except DiskFull:
                pass  # the heartbeat still carries it; the core must not fail for want of a log line
        level = logging.INFO if command.state in (Health.OK, Health.STARTING, Health.STOPPED) else logging.WARNING
        log.log(
            level, "%s is %s%s", command.component, command.state.value, f": {command.detail}" if command.detail else ""
        )
        return health

    def _current_waits(self, queue: Queue) -> tuple[tuple[str, int, int], ...]:
        """The wait per concern for the screens: the office's estimate (with this device's changes since)
        once the backend told it, else this device's own, worked out at most once a second: a queue of
        hundreds would otherwise cost milliseconds on every command, for a figure in minutes."""
        now = self._clock.now()
        if self._waits is None or not timedelta(0) <= now - self._waits[0] < WAITS_FRESH:
            self._waits = (now, self._estimator.snapshot_waits(now))
        waits = dict(self._waits[1])
        if self._office is not None:
            # The office's pace for each concern it has; this device's own for a concern only it has visitors of.
            counted = dict(queue.counts)
            waits = {c: w if c in counted else (0, 0) for c, w in waits.items()} | office_waits(self._office, queue)
        return tuple((c, low, high) for c, (low, high) in sorted(waits.items()))

    def _roll_over_if_new_day(self, now: datetime) -> None:
        if not self.clock_trusted:
            return  # which day it is is not known: the day stays
        day = local_day(now, self.config.device.timezone)
        if day < self._day and self._trusted_on_day:
            return  # never back to an earlier day: its numbers would be given a second time
        self._trusted_on_day = True
        if day != self._day:
            log.info("new day %s: numbering starts again, yesterday's queue is closed", day)
            self._day = day
            self._office, self._own_calls = None, ()
            self._load_day()
            self._publish()

    def _load_day(self) -> None:
        """The day's queue, from the database; from then on the core keeps it current itself."""
        store, day = self._store, self._day
        self._waiting = tuple(QueueEntry(t.code, t.concern, t.issued_at) for t in store.waiting(day))
        self._appointments = tuple(_appointment_entry(a) for a in store.checked_in(day))
        self._recent_calls = tuple(_call_entry(t) for t in store.recent_calls(day, RECENT_CALLS))
        self._settled = frozenset(t.code for t in store.tickets(day) if t.state != "waiting") | frozenset(
            a.display_code for a in store.appointments(day) if a.called_at
        )
        self._issued = store.issued_counts(day)
        self._estimator = self._replayed_estimator()
        self._waits = None
        # The office as last told, kept across a restart: shown (marked not up to date) until the backend answers.
        held = store.office_state(day)
        self._office = OfficeState.from_json(held) if held else None
        self._unconfirmed = store.codes_changed_after(self._office.last_event, day) if held else frozenset()

    def _replayed_estimator(self) -> WaitEstimator:
        """Today's estimator, fed again with today's history from the database (after a restart
        it knows what it knew before), then kept current by the commands."""
        concerns = self.config.concerns
        estimator = WaitEstimator(
            [c.name for c in concerns],
            default_counters=self.config.waits.counters,
            default_service_min={c.name: c.service.total_seconds() / 60 for c in concerns},
        )
        history = []
        for ticket in self._store.tickets(self._day):
            history.append((ticket.issued_at, 0, estimator.ticket_issued, (ticket.code, ticket.concern)))
            if ticket.called_at:
                history.append((ticket.called_at, 1, estimator.called, (ticket.code, ticket.counter)))
            elif ticket.state == "void":
                history.append((ticket.issued_at + timedelta(seconds=1), 1, estimator.visitor_left, (ticket.code,)))
        for a in self._store.appointments(self._day):
            if a.checked_in_at:
                history.append(
                    (
                        a.checked_in_at,
                        0,
                        estimator.appointment_checked_in,
                        (a.display_code, a.concern, self._local_slot(a)),
                    )
                )
            if a.called_at:
                history.append((a.called_at, 1, estimator.called, (a.display_code, a.counter)))
        for at, _, observe, arguments in sorted(history, key=lambda item: (item[0], item[1])):
            observe(*arguments, at)
        estimator.appointments_upcoming(self._upcoming_appointments())
        return estimator

    def _upcoming_appointments(self) -> list[tuple[datetime, str]]:
        return [(self._local_slot(a), a.concern) for a in self._store.appointments(self._day) if a.status == "booked"]

    def _local_slot(self, appointment: Appointment) -> datetime:
        return datetime.combine(appointment.day, appointment.slot, tzinfo=self.config.device.timezone)

    def _publish(self) -> None:
        self._snapshot = self._take_snapshot()
        for listener in list(self._listeners):
            try:
                listener(self._snapshot)
            except Exception:
                log.exception("a snapshot listener failed")

    def _queue(self) -> Queue:
        """What the screens show: the office's state with this device's changes since; before the
        backend ever answered (or without one), this device's own queue."""
        if self._office is None:
            return Queue.of_lists(self._appointments, self._waiting, self._recent_calls)
        return merged_queue(
            self._office,
            own_appointments=self._appointments,
            own_waiting=self._waiting,
            own_calls=self._own_calls,
            unconfirmed=self._unconfirmed,
            settled=self._settled,
            recent=RECENT_CALLS,
        )

    def _take_snapshot(self) -> Snapshot:
        self._serial += 1
        store = self._store
        queue = self._queue()
        return Snapshot(
            serial=self._serial,
            taken_at=self._clock.now(),
            day=self._day,
            appointments=queue.appointments,
            waiting=queue.waiting,
            waiting_counts=queue.counts,
            waits=self._current_waits(queue),
            recent_calls=queue.recent_calls,
            issued_today=tuple(sorted(self._issued.items())),
            components=tuple(sorted(self._components.values(), key=lambda c: c.name)),
            outbox_pending=store.pending_events(),
            last_events=tuple(EventSummary(e.kind, e.created_at) for e in store.recent_events(10)),
        )


def _call_entry(called: Ticket | Appointment) -> CallEntry:
    code = called.code if isinstance(called, Ticket) else called.display_code
    return CallEntry(code, called.concern, called.counter, called.called_at)


def _appointment_entry(appointment: Appointment) -> AppointmentEntry:
    return AppointmentEntry(
        appointment.display_code, appointment.concern, appointment.slot.strftime("%H:%M"), appointment.checked_in_at
    )


def _newest_first(calls: tuple[CallEntry, ...]) -> tuple[CallEntry, ...]:
    return tuple(sorted(calls, key=lambda call: call.called_at, reverse=True)[:RECENT_CALLS])
