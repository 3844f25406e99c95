"""The log's stand-in for a payload: matches two lines of one device, reveals nothing by brute force."""

import hashlib
import hmac
import io
import logging
import stat

import pytest

from appliance.domain import journal
from appliance.domain.errors import StateError
from appliance.domain.journal import configure_logging, short_hash, use_hash_key

REFERENCE = "BOOKING-4711"  # a booking reference: few enough candidates to try them all


@pytest.fixture(autouse=True)
def own_key():
    before = journal._key
    yield
    journal._key = before


def test_a_hash_is_not_the_plain_sha256_prefix_anyone_could_compute(tmp_path):
    use_hash_key(tmp_path / "log.key")
    assert short_hash(REFERENCE) != hashlib.sha256(REFERENCE.encode()).hexdigest()[:10]


def test_the_same_payload_hashes_alike_on_one_device_across_restarts_and_differently_on_another(tmp_path):
    (tmp_path / "a").mkdir()
    use_hash_key(tmp_path / "a" / "log.key")
    first = short_hash(REFERENCE)
    use_hash_key(tmp_path / "a" / "log.key")  # a restart reads the same key
    assert short_hash(REFERENCE) == first
    (tmp_path / "b").mkdir()
    use_hash_key(tmp_path / "b" / "log.key")
    assert short_hash(REFERENCE) != first


def test_the_key_file_is_readable_by_the_service_only(tmp_path):
    use_hash_key(tmp_path / "log.key")
    mode = (tmp_path / "log.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600 and len((tmp_path / "log.key").read_bytes()) == journal.KEY_BYTES


def test_a_damaged_key_file_is_refused_naming_it_and_left_as_it_was(tmp_path):
    path = tmp_path / "log.key"
    path.write_bytes(b"short")
    with pytest.raises(StateError, match="log.key: the log key is 5 bytes"):
        use_hash_key(path)
    assert path.read_bytes() == b"short"


def test_a_hash_is_ten_hex_digits_of_the_keyed_hmac_of_the_payloads_bytes(tmp_path):
    use_hash_key(tmp_path / "log.key")
    key = (tmp_path / "log.key").read_bytes()
    expected = hmac.new(key, REFERENCE.encode(), hashlib.sha256).hexdigest()[:10]
    assert short_hash(REFERENCE) == short_hash(REFERENCE.encode()) == expected


def test_bytes_a_scanner_sent_that_are_no_text_hash_like_the_bytes_themselves(tmp_path):
    use_hash_key(tmp_path / "log.key")
    raw = b"EA1\xff\xfe"
    assert short_hash(raw.decode("utf-8", "surrogateescape")) == short_hash(raw)


@pytest.mark.parametrize(
    "level, priority", [("debug", "<7>"), ("info", "<6>"), ("warning", "<4>"), ("error", "<3>"), ("critical", "<2>")]
)
def test_each_line_carries_its_syslog_priority_and_logger_for_journald(level, priority):
    stream = io.StringIO()
    configure_logging("debug", stream)
    getattr(logging.getLogger("appliance.test"), level)("scan %s", "ab12")
    assert stream.getvalue() == f"{priority}appliance.test: scan ab12\n"


def test_the_journal_logs_from_info_up_unless_told_otherwise():
    stream = io.StringIO()
    configure_logging(stream=stream)
    logging.getLogger("appliance.test").debug("hidden")
    logging.getLogger("appliance.test").info("shown")
    assert stream.getvalue() == "<6>appliance.test: shown\n"


def test_a_level_of_its_own_is_logged_as_info():
    stream = io.StringIO()
    configure_logging("debug", stream)
    logging.getLogger("appliance.test").log(25, "between info and warning")
    assert stream.getvalue() == "<6>appliance.test: between info and warning\n"


def test_a_traceback_stays_on_the_line_of_its_event_and_the_level_filters():
    stream = io.StringIO()
    configure_logging("warning", stream)
    logging.getLogger("appliance.test").info("not shown")
    try:
        raise RuntimeError("broken")
    except RuntimeError:
        logging.getLogger("appliance.test").exception("failed")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("<3>appliance.test: failed | Traceback") and line.endswith("RuntimeError: broken")
