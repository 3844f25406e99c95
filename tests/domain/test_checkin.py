"""Check-in by appointment code: signed codes verified offline, plain references, and the rules."""

import base64
import sqlite3
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from appliance.app.config import load_config
from appliance.domain.checkin import AppointmentFacts, CheckInRules, CheckInVerdict, judge
from appliance.domain.clock import FakeClock
from appliance.domain.codes import (
    AppointmentCode,
    CodeError,
    Ed25519PrivateKey,
    ForgedCode,
    decode,
    encode,
    load_private_key,
    load_public_key,
    private_key_text,
    public_key_text,
)
from appliance.domain.commands import CallNext, CheckIn, IssueTicket
from appliance.domain.core import Core
from appliance.domain.state import Appointment, StateStore

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 25)
SITE_KEY = Ed25519PrivateKey.generate()
SLOT = time(9, 30)


def local(hour, minute=0, day=DAY):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def code(appointment_id=4821, site="test-office", day=DAY, slot=SLOT, concern="leave", display="T021", key=SITE_KEY):
    return encode(AppointmentCode(appointment_id, site, day, slot, concern, display), key)


# --- the code format --------------------------------------------------------------------------


def test_a_signed_code_round_trips_and_fits_a_small_qr_code():
    text = code()
    assert decode(text, [SITE_KEY.public_key()]) == AppointmentCode(4821, "test-office", DAY, SLOT, "leave", "T021")
    assert len(text) < 200 and text == text.upper()  # QR alphanumeric mode; typed alike by every wedge scanner


def test_a_code_signed_with_another_key_is_forged():
    with pytest.raises(ForgedCode):
        decode(code(key=Ed25519PrivateKey.generate()), [SITE_KEY.public_key()])


def test_a_hand_edited_code_is_forged_not_accepted():
    text = code()
    raw = bytearray(base64.b32decode(text[3:] + "=" * (-len(text[3:]) % 8)))
    raw[6] ^= 0x01  # move the day by one: the signature no longer matches
    forged = "EA1" + base64.b32encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(ForgedCode):
        decode(forged, [SITE_KEY.public_key()])


@pytest.mark.parametrize("text", ["EA1", "EA1!!!!", "EA1AAAA", "hello", "EA1" + "A" * 300])
def test_damaged_codes_are_unreadable_not_a_crash(text):
    with pytest.raises(CodeError):
        decode(text, [SITE_KEY.public_key()])


def signed_bytes(text):
    data = text[3:]
    return bytearray(base64.b32decode(data + "=" * (-len(data) % 8)))


def as_code(raw):
    return "EA1" + base64.b32encode(bytes(raw)).decode().rstrip("=")


@pytest.mark.parametrize(
    "field, original, changed",
    [("site", "test-office", "test-offiXe"), ("concern", "leave", "leavX"), ("display code", "T021", "T022")],
)
def test_the_signature_covers_site_concern_and_display_code(field, original, changed):
    raw = signed_bytes(code())
    at = raw.index(original.encode())
    raw[at : at + len(original)] = changed.encode()  # the same length: still a well-formed code
    with pytest.raises(ForgedCode):
        decode(as_code(raw), [SITE_KEY.public_key()])


def test_changing_any_byte_of_a_signed_code_makes_it_forged():
    raw = signed_bytes(code())
    for index in range(len(raw)):
        changed = bytearray(raw)
        changed[index] ^= 0x20
        with pytest.raises(ForgedCode):
            decode(as_code(changed), [SITE_KEY.public_key()])


def test_during_a_key_rollover_both_keys_verify():
    new_key = Ed25519PrivateKey.generate()
    keys = [new_key.public_key(), SITE_KEY.public_key()]
    assert decode(code(key=SITE_KEY), keys).display_code == "T021"
    assert decode(code(key=new_key), keys).display_code == "T021"


# --- the rules, without I/O -------------------------------------------------------------------

RULES = CheckInRules(early=timedelta(minutes=30), late=timedelta(minutes=15))


def facts(**changes):
    values = {"site": "test-office", "day": DAY, "slot": SLOT, "status": "booked"} | changes
    return AppointmentFacts(**values)


@pytest.mark.parametrize(
    "now, verdict",
    [
        (local(8, 59), CheckInVerdict.TOO_EARLY),
        (local(9, 0), CheckInVerdict.ACCEPTED),
        (local(9, 30), CheckInVerdict.ACCEPTED),
        (local(9, 45), CheckInVerdict.ACCEPTED),
        (local(9, 46), CheckInVerdict.TOO_LATE),
    ],
)
def test_the_check_in_window_opens_early_and_closes_late(now, verdict):
    assert judge(facts(), site="test-office", now_local=now, rules=RULES).verdict is verdict


def test_too_early_says_when_to_come_back():
    assert judge(facts(), site="test-office", now_local=local(8), rules=RULES).come_back_at == time(9, 0)


@pytest.mark.parametrize(
    "changes, verdict",
    [
        ({"day": DAY + timedelta(days=1)}, CheckInVerdict.WRONG_DAY),
        ({"site": "nord"}, CheckInVerdict.OTHER_SITE),
        ({"status": "cancelled"}, CheckInVerdict.CANCELLED),
        ({"status": "checked_in"}, CheckInVerdict.ALREADY_CHECKED_IN),
        ({"status": "called"}, CheckInVerdict.ALREADY_CHECKED_IN),
    ],
)
def test_each_reason_to_refuse_has_its_own_verdict(changes, verdict):
    assert judge(facts(**changes), site="test-office", now_local=local(9, 20), rules=RULES).verdict is verdict


def test_an_unknown_appointment_is_unknown():
    assert judge(None, site="test-office", now_local=local(9), rules=RULES).verdict is CheckInVerdict.UNKNOWN


# --- the core: state, events, the call-up order ------------------------------------------------


def signed_checkin_config(directory, device_config_file, **checkin):
    """The device config with signed codes accepted, and ``checkin`` keys added to its [checkin]."""
    key_file = directory / "site-key.pub"
    key_file.write_text(public_key_text(SITE_KEY) + "\n")
    keys = {"modes": "signed, reference", "public_key_file": key_file, "late_policy": "walk-in"} | checkin
    lines = "".join(f"{key} = {value}\n" for key, value in keys.items())
    device_config_file.write_text(device_config_file.read_text() + f"\n[checkin]\n{lines}")
    return load_config(device_config_file)


@pytest.fixture
def signed_config(tmp_path, device_config_file):
    return signed_checkin_config(tmp_path, device_config_file)


def core_at(config, now):
    store = StateStore(config.state.database)
    clock = FakeClock(now)
    core = Core(config, store, clock)
    core.clock = clock
    return core


@pytest.fixture
def core(signed_config):
    core = core_at(signed_config, local(9, 10))
    yield core
    core._store.close()


@pytest.mark.parametrize(
    "now, verdict",
    [
        (local(9, 19), CheckInVerdict.TOO_EARLY),
        (local(9, 20), CheckInVerdict.ACCEPTED),
        (local(9, 35), CheckInVerdict.ACCEPTED),
        (local(9, 36), CheckInVerdict.TOO_LATE),
    ],
)
def test_the_configured_check_in_window_decides_the_verdict(tmp_path, device_config_file, now, verdict):
    config = signed_checkin_config(tmp_path, device_config_file, early="10min", late="5min")
    core = core_at(config, now)
    try:
        result = core.apply(CheckIn(code()))  # slot 9:30: the window is 9:20 to 9:35, not the defaults' 9:00 to 9:45
        assert result.verdict is verdict
        assert len(events(core, "check_in")) == (verdict is CheckInVerdict.ACCEPTED)
    finally:
        core._store.close()


def test_too_early_for_the_configured_window_says_when_it_opens(tmp_path, device_config_file):
    config = signed_checkin_config(tmp_path, device_config_file, early="10min")
    core = core_at(config, local(9, 0))
    try:
        assert "09:20" in core.apply(CheckIn(code())).message.body.render("de")
    finally:
        core._store.close()


def events(core, kind):
    return [e for e in core._store.recent_events(1000) if e.kind == kind]


def test_an_accepted_code_goes_before_every_walk_in_number(core):
    core.apply(IssueTicket("leave"))
    result = core.apply(CheckIn(code()))
    assert result.verdict is CheckInVerdict.ACCEPTED and result.display_code == "T021"
    assert "angemeldet" in result.message.title.render("de") and "checked in" in result.message.title.render("en")
    assert [a.code for a in core.snapshot.appointments] == ["T021"]
    assert core.apply(CallNext(2)).display_code == "T021"
    assert core.apply(CallNext(3)).code == "A001"


def test_a_second_scan_gets_the_same_answer_and_no_second_event(core):
    first = core.apply(CheckIn(code()))
    again = core.apply(CheckIn(code()))
    assert again.verdict is CheckInVerdict.ALREADY_CHECKED_IN
    assert again.message == first.message
    assert len(events(core, "check_in")) == 1
    assert len(core.snapshot.appointments) == 1


def test_a_called_appointment_cannot_check_in_again(core):
    core.apply(CheckIn(code()))
    assert core.apply(CallNext(2)).display_code == "T021"
    again = core.apply(CheckIn(code()))
    assert again.verdict is CheckInVerdict.ALREADY_CHECKED_IN
    assert len(events(core, "check_in")) == 1
    assert core.snapshot.appointments == ()  # not back in the queue
    assert core.apply(CallNext(3)) is None  # and no counter calls it a second time


def test_an_appointment_the_day_list_says_was_called_is_not_checked_in_here(core):
    core._store.replace_appointments(
        DAY, [Appointment("4821", "test-office", DAY, SLOT, "leave", "T021", status="called")]
    )
    assert core.apply(CheckIn(code())).verdict is CheckInVerdict.ALREADY_CHECKED_IN
    assert events(core, "check_in") == [] and core.snapshot.appointments == ()


def test_a_forged_code_changes_nothing(core):
    result = core.apply(CheckIn(code(key=Ed25519PrivateKey.generate())))
    assert result.verdict is CheckInVerdict.FORGED and result.message.kind == "error"
    assert events(core, "check_in") == [] and core.snapshot.appointments == ()


def test_too_late_offers_a_walk_in_ticket_when_configured(core):
    core.clock.set(local(10))
    result = core.apply(CheckIn(code()))
    assert result.verdict is CheckInVerdict.TOO_LATE
    assert "Wartenummer" in result.message.body.render("de")


def test_a_cancelled_appointment_from_the_day_list_is_refused_even_with_a_genuine_code(core):
    core._store.replace_appointments(
        DAY, [Appointment("4821", "test-office", DAY, SLOT, "leave", "T021", status="cancelled")]
    )
    assert core.apply(CheckIn(code())).verdict is CheckInVerdict.CANCELLED


def test_a_plain_booking_reference_is_looked_up_in_the_day_list(core):
    core._store.replace_appointments(
        DAY, [Appointment("77", "test-office", DAY, time(9, 15), "documents", "T077", reference="K7Q2M4")]
    )
    assert core.apply(CheckIn("k7q2m4\n")).verdict is CheckInVerdict.ACCEPTED
    assert core.apply(CheckIn("NOPE42")).verdict is CheckInVerdict.UNKNOWN


@pytest.mark.parametrize("payload", ["", "\x00\x01\x1b[2J", "A" * 10_000, "EA1" + "\u00e4" * 50, "EA1\tX"])
def test_garbage_from_a_scanner_is_unreadable_and_never_logged(core, caplog, payload):
    caplog.set_level("DEBUG")
    result = core.apply(CheckIn(payload))
    assert result.verdict in (CheckInVerdict.UNREADABLE, CheckInVerdict.UNKNOWN)
    if payload:
        assert payload not in caplog.text


@pytest.mark.parametrize("how", ["another key", "an edited byte"])
def test_a_forged_codes_payload_is_never_in_the_log(core, caplog, how):
    caplog.set_level("DEBUG")
    if how == "another key":
        text = code(key=Ed25519PrivateKey.generate())
    else:
        raw = signed_bytes(code())
        raw[6] ^= 0x01
        text = as_code(raw)
    assert core.apply(CheckIn(text)).verdict is CheckInVerdict.FORGED
    assert "forged" in caplog.text
    assert text not in caplog.text and text[3:20] not in caplog.text and text[-20:] not in caplog.text


def test_a_scanned_payload_appears_in_logs_only_as_a_short_hash(core, caplog):
    caplog.set_level("INFO")
    text = code()
    core.apply(CheckIn(text))
    assert text not in caplog.text and text[3:20] not in caplog.text
    assert "scan " in caplog.text


def test_check_ins_survive_a_restart_in_call_order(core, signed_config):
    core.apply(CheckIn(code(appointment_id=2, slot=time(9, 30), display="T002")))
    core.apply(CheckIn(code(appointment_id=1, slot=time(9, 15), display="T001")))
    core._store.close()
    store = StateStore(signed_config.state.database)
    restarted = Core(signed_config, store, FakeClock(local(9, 12)))
    assert [a.code for a in restarted.snapshot.appointments] == ["T001", "T002"]
    store.close()
    rows = (
        sqlite3.connect(signed_config.state.database)
        .execute("SELECT COUNT(*) FROM events WHERE kind='check_in'")
        .fetchone()
    )
    assert rows == (2,)


# --- keys and the code's limits -------------------------------------------------------------------


def signed_raw(body: bytes) -> str:
    """What the site would send if its signing program packed ``body`` wrongly: genuine, but not a code."""
    return "EA1" + base64.b32encode(body + SITE_KEY.sign(body)).decode().rstrip("=")


def test_keys_written_as_one_line_of_base64_or_as_pem_load_as_the_same_keys():
    private = load_private_key(private_key_text(SITE_KEY))
    assert public_key_text(private) == public_key_text(SITE_KEY)
    public = load_public_key(public_key_text(SITE_KEY))
    assert decode(code(key=private), [public]).display_code == "T021"
    pem_private = SITE_KEY.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    pem_public = SITE_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    assert public_key_text(load_private_key(pem_private)) == public_key_text(SITE_KEY)
    assert decode(code(), [load_public_key("\n" + pem_public + "\n")]).display_code == "T021"


@pytest.mark.parametrize("load, name", [(load_public_key, "public"), (load_private_key, "private")])
def test_a_key_of_the_wrong_size_or_kind_is_refused_saying_which(load, name):
    with pytest.raises(ValueError, match=f"^an Ed25519 {name} key has 32 bytes$"):
        load(base64.b64encode(b"x" * 31).decode())
    other = ec.generate_private_key(ec.SECP256R1())
    pem = (
        other.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        if name == "public"
        else other.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    with pytest.raises(ValueError, match=f"^not an Ed25519 {name} key$"):
        load(pem.decode())
    with pytest.raises(ValueError):
        load("not base64!")


@pytest.mark.parametrize(
    "changes, said",
    [
        ({"site": ""}, "site, concern and display code need 1 to 32 bytes"),
        ({"concern": "x" * 33}, "site, concern and display code need 1 to 32 bytes"),
        ({"display": "Ä" * 17}, "site, concern and display code need 1 to 32 bytes"),
        ({"appointment_id": 2**40}, "appointment id out of range"),
        ({"appointment_id": -1}, "appointment id out of range"),
    ],
)
def test_a_code_that_would_not_fit_is_never_signed(changes, said):
    with pytest.raises(ValueError, match=f"^{said}$"):
        code(**changes)


def test_the_largest_code_fits_and_reads_back():
    text = code(appointment_id=2**40 - 1, site="s" * 32, concern="c" * 32, display="D" * 32, slot=time(23, 59))
    read = decode(text, [SITE_KEY.public_key()])
    assert (read.appointment_id, read.site, read.slot, len(read.display_code)) == (
        2**40 - 1,
        "s" * 32,
        time(23, 59),
        32,
    )


@pytest.mark.parametrize(
    "body",
    [
        bytes(5) + bytes([0, 1, 5, 160]) + b"\x01a\x01b\x01c",  # minute 1440 of the day
        bytes(9) + b"\x01a\x01b\x01c" + b"more",  # bytes after the display code
        bytes(9) + b"\x01a\x01b\x05c",  # a display code longer than the rest
        bytes(9) + b"\x01a\x01b\x01\xff",  # not UTF-8
        bytes(7),  # no room for the slot
    ],
)
def test_a_genuine_signature_over_a_malformed_body_is_unreadable_not_accepted(body):
    with pytest.raises(CodeError) as refused:
        decode(signed_raw(body), [SITE_KEY.public_key()])
    assert not isinstance(refused.value, ForgedCode) and str(refused.value).startswith("damaged: ")


@pytest.mark.parametrize(
    "text, said",
    [
        ("hello", "not an appointment code of this system"),
        ("EA1!!!!", "damaged: not base32"),
        ("EA1AAAA", "damaged: too short"),
        ("EA1" + base64.b32encode(bytes(64)).decode().rstrip("="), "damaged: too short"),  # a signature, no body
        (code(key=Ed25519PrivateKey.generate()), "signature does not match the site's key"),
    ],
)
def test_each_refusal_of_a_code_says_what_is_wrong(text, said):
    with pytest.raises(CodeError, match=f"^{said}$"):
        decode(text, [SITE_KEY.public_key()])


def test_a_code_is_upper_case_letters_and_digits_without_padding_and_id_0_is_an_id():
    text = code(appointment_id=0)
    assert text.isalnum() and text.isupper() and "=" not in text
    assert decode(text, [SITE_KEY.public_key()]).appointment_id == 0


def test_a_code_for_a_day_far_ahead_reads_back_that_day():
    assert decode(code(day=date(2150, 6, 1)), [SITE_KEY.public_key()]).day == date(2150, 6, 1)


def test_a_code_with_lower_case_letters_or_spaces_around_reads_the_same():
    text = code()
    assert decode("  " + text[:3] + text[3:].lower() + "\n", [SITE_KEY.public_key()]).display_code == "T021"


@pytest.mark.parametrize("slot", [time(0, 0), time(10, 0), time(14, 45), time(20, 5)])
def test_a_codes_slot_reads_back_as_the_booked_minute_at_any_hour(slot):
    assert decode(code(slot=slot), [SITE_KEY.public_key()]).slot == slot


@pytest.mark.parametrize("load, key", [(load_public_key, public_key_text), (load_private_key, private_key_text)])
def test_a_key_line_with_a_stray_character_is_refused_not_read_around_it(load, key):
    text = key(SITE_KEY)
    with pytest.raises(ValueError):
        load(text[:10] + "*" + text[10:])  # a typo in the config file: not silently skipped
