"""The [monitor] config section: how the call-up monitor (or the kiosk's own screen) looks and sounds."""

from datetime import timedelta

from appliance.domain.config import Key, Section
from appliance.domain.config.types import Boolean, Choice, Duration, Integer, Language, List, Path, String, TimeOfDay

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as date.weekday() counts them

MONITOR = Section(
    "monitor",
    {
        "rotation": Key(
            Choice(0, 90, 180, 270), "degrees the picture is turned, for a screen hung portrait", default="0"
        ),
        "size": Key(
            String(r"\d{3,5}x\d{3,5}", "width x height in pixels, e.g. 1920x1080"),
            "the window's size; without it the whole screen",
            optional=True,
        ),
        "slides": Key(Path(must_exist=True), "a folder of images shown between calls", optional=True),
        "slide_seconds": Key(
            Duration(timedelta(seconds=2), timedelta(minutes=10)), "how long each slide stays", default="10s"
        ),
        "highlight": Key(
            Duration(timedelta(seconds=1), timedelta(minutes=5)), "how long the newest call stands out", default="20s"
        ),
        "recent": Key(Integer(0, 10), "how many earlier calls are listed", default="5"),
        "stale_after": Key(
            Duration(timedelta(seconds=10), timedelta(hours=2)),
            "silence from the daemon after which the screen says it is not up to date",
            default="2min",
        ),
        "language": Key(Language(), "the language the screen speaks first", default="de"),
        "sound": Key(Boolean(), "a chime for each call", default="yes"),
        "speech": Key(
            Boolean(), "calls are spoken; on the kiosk layout, every answer, in the screen's language", default="no"
        ),
        "speech_languages": Key(
            List(Language()),
            "the languages each call is spoken in, one after the other (espeak-ng has a voice for each shipped one)",
            default="de",
        ),
        "layout": Key(
            Choice("monitor", "kiosk"), "monitor: the waiting room's; kiosk: the kiosk's own screen", default="monitor"
        ),
        "touch": Key(Boolean(), "kiosk layout: concerns are buttons on a touchscreen", default="no"),
        "open_from": Key(
            TimeOfDay(), "opening time: before it the screen says it is closed (with open_until)", optional=True
        ),
        "open_until": Key(TimeOfDay(), "closing time: after it the screen says it is closed", optional=True),
        "open_days": Key(
            List(Choice(*WEEKDAYS)),
            "the days the office opens (with open_from and open_until)",
            default="mon, tue, wed, thu, fri",
        ),
        "ticker": Key(
            String(max_length=600),
            "a line for the waiting room at the foot of the screen, e.g. how to book; in plain language",
            optional=True,
        ),
        "answer_seconds": Key(
            Duration(timedelta(seconds=2), timedelta(minutes=5)),
            "kiosk layout: how long an answer stays",
            default="15s",
        ),
        "large_text": Key(
            Boolean(), 'kiosk layout: every text larger (at least 24 px on the 7" display)', default="no"
        ),
        "volume": Key(
            Integer(10, 100),
            "kiosk layout: the speech's loudness in percent that every visitor starts at; a visitor's volume "
            "button or key (+) steps it up, and it returns to this after language_idle",
            default="75",
        ),
        "audio_device": Key(
            String(max_length=200),
            "the sound output by SDL's name (e.g. a headphone jack: 'bcm2835 Headphones'); without it the default "
            "(ALSA's, or AUDIODEV)",
            optional=True,
        ),
        "language_idle": Key(
            Duration(timedelta(seconds=10), timedelta(minutes=10)),
            "kiosk layout: after this long without a touch or an answer, a visitor's chosen language "
            "gives way to German again (also one chosen with [gpio] language_button), and a raised volume "
            "to [monitor] volume",
            default="60s",
        ),
    },
)

SECTIONS = (MONITOR,)
