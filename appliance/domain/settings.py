"""The config sections the domain reads, with their defaults and checks: the device, its concerns
and numbering, check-in windows, wait estimates, state, the core loop and logging.
"""

from datetime import timedelta

from appliance.domain.config import Checked, Key, Section
from appliance.domain.config.model import Concern
from appliance.domain.config.types import (
    Choice,
    Duration,
    GpioPin,
    Integer,
    Language,
    List,
    Name,
    Path,
    PublicKeyFile,
    String,
    TimeZone,
)
from appliance.domain.numbering import blocks_leave_office_numbers, fallback_block, office_range


def _kiosk_needs_a_concern(config: Checked) -> None:
    if "kiosk" in (config.value("device", "roles") or ()) and not config.instances("concern"):
        config.problem("device", "roles", "a kiosk needs at least one [concern:NAME] section", at=(config.main_file, 0))


DEVICE = Section(
    "device",
    {
        "id": Key(Name(), "this device's name, unique in the job centre; the backend and the logs use it"),
        "site": Key(Name(), "the office (site) the device stands in, spelt as in the backend"),
        "roles": Key(
            List(Choice("kiosk", "monitor")), "kiosk: QR check-in and waiting tickets; monitor: call-up screen"
        ),
        "timezone": Key(
            TimeZone(),
            "the zone of the day's appointments and of the daily restart of numbers",
            default="Europe/Berlin",
        ),
        "languages": Key(
            List(Language()),
            "languages offered to visitors, in this order: any with a catalog (de, en, uk, ar, tr, ru, fa, ...)",
            default="de, en",
        ),
    },
    checks=(_kiosk_needs_a_concern,),
)


def _with_backend(config: Checked) -> bool:
    """Whether the office draws the numbers (a backend is set); the [backend] section is the sync's."""
    return "backend" in config.schema.defaults and bool(config.value("backend", "url"))


def _blocks(config: Checked) -> tuple[int | None, int | None]:
    return config.value("numbering", "fallback_blocks"), config.value("numbering", "fallback_size")


def _number_blocks(config: Checked) -> str:
    """check-config's note of the numbers of each concern: the office's, and the fallback blocks."""
    concerns = config.instances("concern")
    blocks, size = _blocks(config)
    if not concerns or None in (blocks, size):
        return ""
    lines = []
    for header in concerns:
        prefix, first, last = (config.value(header, key) for key in ("prefix", "first", "last"))
        if None in (prefix, first, last) or not blocks_leave_office_numbers(first, last, blocks, size):
            continue  # reported as a problem
        name = header.partition(":")[2]
        if not _with_backend(config):
            lines.append(f"#   {prefix}: {name} {first}-{last}")
            continue
        low, high = office_range(first, last, blocks, size)
        bottom, top = fallback_block(first, last, blocks, size)[0], last
        lines.append(f"#   {prefix}: {name} office {low}-{high}, fallback blocks of {size} in {bottom}-{top}")
    if not _with_backend(config):
        return "# numbers this device issues (no backend: the whole range):\n" + "\n".join(lines) + "\n"
    return (
        f"# numbers (the backend draws the office's; it hands this device one of {blocks} fallback blocks,"
        " block 1 the highest):\n" + "\n".join(lines) + "\n"
    )


NUMBERING = Section(
    "numbering",
    {
        "office_deadline": Key(
            Duration(timedelta(milliseconds=20), timedelta(seconds=5)),
            "how long a kiosk waits for the office's number before it prints one of its fallback block",
            default="300ms",
        ),
        "fallback_blocks": Key(
            Integer(1, 26),
            "how many fallback blocks each concern's range ends in: at least the office's kiosks (the same on all)",
            default="4",
        ),
        "fallback_size": Key(
            Integer(1, 9999), "numbers per fallback block and concern (the same on all kiosks)", default="25"
        ),
    },
    remarks=_number_blocks,
)


# A title names a concern; a sentence belongs elsewhere. 64 characters are two lines of the narrowest ticket
# (58 mm paper, 32 columns), and a heartbeat that carries 32 concerns' titles in every language stays
# well within the backend's body limit even in four-byte characters (the protocol's ConcernTitles allows as many).
TITLE_MAX_LENGTH = 64


def _concern_numbers_and_prefixes(config: Checked) -> None:
    blocks, size = _blocks(config)
    prefixes: dict[str, str] = {}
    for header in config.instances("concern"):
        title, prefix, first, last = (config.value(header, key) for key in ("title_de", "prefix", "first", "last"))
        if None in (title, prefix, first, last):
            continue  # already reported
        if first >= last:
            # Point at the line the technician wrote, not at an inherited value.
            own = "last" if config.is_set(header, "last") or not config.is_set(header, "first") else "first"
            config.problem(header, own, f"first ({first}) must be below last ({last})")
        elif _with_backend(config) and None not in (blocks, size):
            if not blocks_leave_office_numbers(first, last, blocks, size):
                config.problem(
                    header,
                    "last",
                    f"the range {first}-{last} is too small for {blocks} fallback blocks of {size} numbers "
                    "([numbering]): widen it or make the blocks smaller",
                )
        if prefix in prefixes:
            config.problem(
                header,
                "prefix",
                f"'{prefix}' is already the prefix of [{prefixes[prefix]}]: ticket numbers would be ambiguous",
            )
        prefixes.setdefault(prefix, header)


CONCERN = Section(
    "concern",
    {
        "title": Key(
            String(
                max_length=TITLE_MAX_LENGTH,
                why_short="a title names the concern in a row of the monitor and two lines of a ticket; shorten it",
            ),
            "the title visitors read, per language: title_de in plain German (required), title_en, title_uk, ...; "
            f"a language without one shows the German title; at most {TITLE_MAX_LENGTH} characters",
            per_language=True,
        ),
        "prefix": Key(
            String(r"[A-Z]{1,2}", "use one or two capital letters, e.g. A"),
            "one or two capital letters before the ticket number; different per concern",
        ),
        "first": Key(Integer(0, 9998), "the lowest ticket number of the day", default="1"),
        "last": Key(Integer(1, 9999), "the highest ticket number of the day", default="999"),
        "button": Key(GpioPin(), "the BCM pin of the concern's ticket button, if it has one", optional=True),
        "service": Key(
            Duration(timedelta(minutes=1), timedelta(hours=2)),
            "a visit's usual length: the wait estimate's cold start",
            default="8min",
        ),
    },
    checks=(_concern_numbers_and_prefixes,),
    template=True,
    example="first-application",
    model=Concern,
)

WAITS = Section(
    "waits",
    {
        "counters": Key(Integer(1, 50), "counters usually open: the wait estimate's cold start", default="4"),
    },
)


def _signed_codes_need_a_key(config: Checked) -> None:
    if (
        "kiosk" in (config.value("device", "roles") or ())
        and "signed" in (config.value("checkin", "modes") or ())
        and config.value("checkin", "public_key_file") is None
    ):
        config.problem(
            "checkin", "modes", "signed codes need the site's public key: set public_key_file, or use modes = reference"
        )


CHECKIN = Section(
    "checkin",
    {
        "modes": Key(List(Choice("signed", "reference")), "which appointment codes are accepted", default="reference"),
        "public_key_file": Key(
            PublicKeyFile(), "the site's Ed25519 public keys that signed codes are checked with", optional=True
        ),
        "early": Key(
            Duration(timedelta(0), timedelta(hours=4)),
            "how long before the slot a check-in is accepted",
            default="30min",
        ),
        "late": Key(
            Duration(timedelta(0), timedelta(hours=4)),
            "how long after the slot a check-in is accepted",
            default="15min",
        ),
        "late_policy": Key(
            Choice("information", "walk-in"), "what a visitor who is later than that is told", default="information"
        ),
    },
    checks=(_signed_codes_need_a_key,),
)

STATE = Section(
    "state",
    {
        "database": Key(
            Path(),
            "the SQLite file of numbers, check-ins and the outbox",
            default="/var/lib/entrance-appliance/state.db",
        ),
    },
)

CORE = Section(
    "core",
    {
        "control_socket": Key(
            Path(),
            "the socket the CLI and the monitor process talk to the daemon on",
            default="/run/entrance-appliance/control.sock",
        ),
        "tick": Key(
            Duration(timedelta(milliseconds=10), timedelta(seconds=10)),
            "how often the core loop looks at the clock (day rollover, watchdog)",
            default="1s",
        ),
    },
)

LOGGING = Section(
    "logging",
    {
        "level": Key(
            Choice("debug", "info", "warning", "error"), "the least important journal lines kept", default="info"
        ),
    },
)

SECTIONS = (DEVICE, NUMBERING, CONCERN, WAITS, CHECKIN, STATE, CORE, LOGGING)
