"""The config sections of the device's side of the backend protocol: the backend it reports to
and the push endpoint the central system may call, with their token checks.
"""

from datetime import timedelta

from appliance.domain.config import Checked, Key, Section
from appliance.domain.config.types import Boolean, Duration, Integer, Path, SecretFile, String, Url


def _backend_needs_a_token(config: Checked) -> None:
    if config.value("backend", "url") and not config.is_set("backend", "token_file"):
        config.problem(
            "backend",
            "token_file",
            "the backend needs this device's token: set [backend] token_file",
            at=config.where("backend", "url"),
        )


BACKEND = Section(
    "backend",
    {
        "url": Key(Url(), "the central backend; without it the device works on its own", optional=True),
        "token_file": Key(SecretFile(), "the file (mode 600) holding this device's token", optional=True),
        "ca_bundle": Key(
            Path(must_exist=True), "the CA certificates the backend's TLS certificate is checked with", optional=True
        ),
        "timeout": Key(
            Duration(timedelta(seconds=1), timedelta(minutes=2)), "how long one request may take", default="10s"
        ),
        "verify_tls": Key(Boolean(), "check the backend's TLS certificate", default="yes"),
        "heartbeat_interval": Key(
            Duration(timedelta(seconds=5), timedelta(hours=1)), "how often health is reported", default="60s"
        ),
        "appointments_interval": Key(
            Duration(timedelta(seconds=5), timedelta(hours=1)),
            "how often the day's appointments are fetched",
            default="60s",
        ),
        "batch_size": Key(Integer(1, 500), "events per upload", default="200"),
        "outbox_alarm": Key(
            Integer(10, 10_000_000), "undelivered events above which the backend's health is an alarm", default="10000"
        ),
        "clock_tolerance": Key(
            Duration(timedelta(seconds=1), timedelta(hours=1)),
            "how far the backend's Date may be off for an unconfirmed clock to count as right",
            default="60s",
        ),
        "clock_warning": Key(
            Duration(timedelta(seconds=1), timedelta(hours=1)),
            "how far the backend's Date may be off before the clock is reported degraded (time sync missing)",
            default="5s",
        ),
    },
    checks=(_backend_needs_a_token,),
)


def _push_needs_a_token(config: Checked) -> None:
    if config.value("push", "enabled") and not config.is_set("push", "token_file"):
        config.problem(
            "push",
            "token_file",
            "the push endpoint needs a token of its own: set [push] token_file",
            at=config.where("push", "enabled"),
        )


def _tls_needs_both(config: Checked) -> None:
    cert, key = config.is_set("push", "tls_cert"), config.is_set("push", "tls_key")
    if cert != key:
        given, missing = ("tls_cert", "tls_key") if cert else ("tls_key", "tls_cert")
        config.problem(
            "push",
            missing,
            f"HTTPS needs both a certificate and its key: set [push] {missing} too",
            at=config.where("push", given),
        )


PUSH = Section(
    "push",
    {
        "enabled": Key(Boolean(), "let the central system push the day's appointments to this device", default="no"),
        "bind": Key(
            String(r"[0-9A-Za-z.:-]{1,253}", "an address to listen on, e.g. 0.0.0.0 (all) or 127.0.0.1"),
            "the address the push endpoint listens on",
            default="127.0.0.1",
        ),
        "port": Key(Integer(1, 65535), "the push endpoint's port", default="8471"),
        "token_file": Key(SecretFile(), "the file (mode 600) holding the push endpoint's own token", optional=True),
        "tls_cert": Key(
            Path(must_exist=True),
            "the push endpoint's TLS certificate (PEM); with tls_key it speaks HTTPS only",
            optional=True,
        ),
        "tls_key": Key(Path(must_exist=True), "the private key (PEM) of tls_cert", optional=True),
    },
    checks=(_push_needs_a_token, _tls_needs_both),
)

SECTIONS = (BACKEND, PUSH)
