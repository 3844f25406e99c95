"""The office's wait forecast (entrance_backend.forecast): the same estimate whether a worker followed the
day change by change or rebuilt it from the database (a restart, another worker), taken at the latest change."""

from datetime import date, datetime, timedelta

import pytest

import entrance_backend.store
from appliance.domain.simulation import BERLIN, AppointmentArrival, Call, DaySpec, OfficeDay, WalkIn
from entrance_backend.store import BackendStore, Sender

SITE = "mitte"
KIOSK = Sender("kiosk-1")
DAY = "2026-03-09"


class OfficeOnStore:
    """A simulated office day (appliance.domain.simulation) played on a BackendStore as devices and staff
    would: the day list booked early, tickets and check-ins as device events, calls by the staff; every
    fifth ticket voided, a few visitors marked not come, handed to another concern or recalled."""

    def __init__(self, store: BackendStore, seed: int, **spec):
        self.store = store
        self.office = OfficeDay(DaySpec(seed=seed, **spec))
        self.day = self.office.spec.day.isoformat()
        self.codes: dict[int, str] = {}
        self.ids: dict[int, str] = {}
        self.steps = 0

    def play(self, after_each_change=lambda: None):
        bookings = self.office.bookings
        booked = self.store.add_appointments(
            [
                {
                    "site": SITE,
                    "day": self.day,
                    "slot": b.slot.astimezone(BERLIN).strftime("%H:%M"),
                    "concern": b.concern,
                    "display_code": b.display_code,
                    "reference": f"R{b.id}",
                }
                for b in bookings
            ],
            bookings[0].slot - timedelta(hours=3),
        )
        ids = {b.id: a["id"] for b, a in zip(bookings, booked, strict=True)}
        tickets = 0
        for event in self.office.events():
            if isinstance(event, WalkIn):
                tickets += 1
                code = self.codes[event.visitor] = f"A{tickets:03d}"
                self._device_event("ticket_issued", {"concern": event.concern, "number": tickets, "code": code}, event)
                if tickets % 5 == 0:  # drawn by mistake: the kiosk voids it and prints another
                    self._device_event("ticket_void", {"code": code}, event)
            elif isinstance(event, AppointmentArrival) and event.accepted:
                self.codes[event.visitor] = event.booking.display_code
                self._device_event("check_in", {"appointment": ids[event.booking.id]}, event)
            elif isinstance(event, Call) and event.visitor in self.codes:
                self._call(self.codes.pop(event.visitor), event.counter, event.at)
            else:
                continue
            after_each_change()

    def _device_event(self, kind: str, body: dict, event) -> None:
        created = event.at.isoformat()
        self.steps += 1
        self.store.apply_events(
            KIOSK,
            SITE,
            [
                {
                    "key": f"{self.day}-{self.steps}",
                    "kind": kind,
                    "body": body | {"day": self.day},
                    "created_at": created,
                }
            ],
            event.at,
        )

    def _call(self, code: str, counter: int, at) -> None:
        store, self.steps = self.store, self.steps + 1
        try:
            store.call_code(SITE, self.day, counter, code, at)
        except Exception:  # voided or not come: the counter calls the next instead
            return
        if self.steps % 37 == 0:  # called again: the visitor did not hear it
            store.call_code(SITE, self.day, counter, code, at + timedelta(seconds=30))
        if self.steps % 41 == 0:
            store.mark_not_come(SITE, self.day, code, at + timedelta(seconds=60))
        if self.steps % 43 == 0:  # wrong concern: back into the queue, in their old place
            store.transfer(SITE, self.day, code, at + timedelta(seconds=60), concern="documents")


def forecast_of(store: BackendStore, day: str) -> tuple:
    state = store.office_state(SITE, day)
    waiting = [entry["code"] for entry in state["waiting"] if entry["kind"] == "ticket"]
    return state["waiting_per_concern"], [store.ticket_wait(SITE, day, code) for code in waiting]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_worker_rebuilding_the_day_from_the_database_gives_the_estimate_the_following_worker_gave(tmp_path, seed):
    following = BackendStore(tmp_path / "backend.db")
    day = OfficeOnStore(following, seed)
    seen, rebuilt_at = [], {}

    def after_each_change():
        seen.append(forecast_of(following, day.day))
        if len(seen) % 97 == 0:  # a worker started now, and one that has been away since the start
            rebuilt_at[len(seen) - 1] = forecast_of(BackendStore(tmp_path / "backend.db"), day.day)

    day.play(after_each_change)
    assert len(seen) > 300 and any(load for load, _ in seen) and any(w for _, w in seen)
    for index, rebuilt in rebuilt_at.items():
        assert rebuilt == seen[index]
    restarted = BackendStore(tmp_path / "backend.db")
    assert forecast_of(restarted, day.day) == seen[-1]


class MiddayReached(Exception):
    """Stops playing a day while people wait."""


def observations_per_day(store: BackendStore) -> dict[str, int]:
    with store._reading():
        return dict(store._db.execute("SELECT day, COUNT(*) FROM office_observations GROUP BY day").fetchall())


def test_heartbeats_forget_the_observations_of_ended_days_and_todays_estimate_stays(backend_database, monkeypatch):
    # A day's journal then takes a few heartbeats (not raising: on a backend that never forgets, the test says so).
    monkeypatch.setattr(entrance_backend.store, "FORGET_AT_ONCE", 100, raising=False)
    store = BackendStore(backend_database)
    OfficeOnStore(store, 1, day=date(2026, 11, 20)).play()
    today = OfficeOnStore(store, 2, day=date(2026, 11, 24))
    changes = []

    def until_midday():
        changes.append(1)
        if len(changes) == 200:
            raise MiddayReached

    with pytest.raises(MiddayReached):
        today.play(until_midday)
    estimate = forecast_of(store, today.day)
    kept = observations_per_day(store)
    assert estimate[1] and kept.keys() == {"2026-11-20", "2026-11-24"} and kept["2026-11-20"] > 100

    noon = datetime(2026, 11, 24, 12, 0, tzinfo=BERLIN)
    beat = {"version": "1.0", "roles": ["kiosk"], "components": [], "outbox_pending": 0, "clock_ok": True}
    store.record_heartbeat(KIOSK, SITE, beat, noon, alarms_from="2026-11-23")  # yesterday's alarms, and on
    assert observations_per_day(store)["2026-11-20"] == kept["2026-11-20"] - 100  # a bounded step
    while "2026-11-20" in observations_per_day(store):
        store.record_heartbeat(KIOSK, SITE, beat, noon, alarms_from="2026-11-23")

    assert observations_per_day(store) == {"2026-11-24": kept["2026-11-24"]}
    assert forecast_of(BackendStore(backend_database), today.day) == estimate  # a new worker's replay


def test_the_estimate_is_taken_at_the_latest_change_not_when_it_is_asked(tmp_path):
    store = BackendStore(tmp_path / "backend.db")
    day = OfficeOnStore(store, 3)
    day.play()
    state = store.office_state(SITE, day.day)
    later = BackendStore(tmp_path / "backend.db")  # asked hours after the day's last change
    assert later.office_state(SITE, day.day)["waiting_per_concern"] == state["waiting_per_concern"]


def test_a_visitor_not_come_leaves_the_queue_and_one_handed_on_keeps_their_place(tmp_path):
    store = BackendStore(tmp_path / "backend.db")
    nine = datetime(2026, 3, 9, 9, 0, tzinfo=BERLIN)
    store.apply_events(
        KIOSK,
        SITE,
        [
            {
                "key": f"k{n}",
                "kind": "ticket_issued",
                "body": {"day": DAY, "concern": concern, "number": n, "code": f"{concern[0].upper()}{n:03d}"},
                "created_at": nine.isoformat(),
            }
            for n, concern in enumerate(["leave"] * 5 + ["documents"], 1)
        ],
        nine,
    )
    # 4 counters and 8 minutes a visit before calls tell more: D006 waits for the first counter free again.
    assert store.ticket_wait(SITE, DAY, "D006") == (1, 15)
    store.transfer(SITE, DAY, "L002", nine + timedelta(minutes=1), concern="documents")
    assert store.ticket_wait(SITE, DAY, "D006") == (1, 15)
    store.mark_not_come(SITE, DAY, "L001", nine + timedelta(minutes=2))
    assert store.ticket_wait(SITE, DAY, "D006") == (0, 1)  # now one of the 4 counters takes it at once
    assert store.ticket_wait(SITE, DAY, "L001") is None
