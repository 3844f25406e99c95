"""The monitor process (``entrance-appliance monitor``, systemd's entrance-appliance-monitor.service):
its options, the device config's [monitor] defaults, logging, then the display's run loop.
"""

import argparse
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

from appliance.display.monitor import LAYOUTS, MonitorOptions, run_monitor
from appliance.display.rotation import ROTATIONS


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, such as 1920x1080, not {text!r}") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"size {text} is out of range")
    return width, height


def _volume(text: str) -> float:
    try:
        percent = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a percentage from 10 to 100, not {text!r}") from None
    if not 10 <= percent <= 100:
        raise argparse.ArgumentTypeError(f"a percentage from 10 to 100, not {percent}")
    return percent / 100


def _languages(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def build_parser() -> argparse.ArgumentParser:
    """The monitor's options; each one given replaces [monitor]'s value (its ``dest`` is MonitorOptions' field),
    and one left out is absent from the parsed arguments, so the config's value stands."""
    parser = argparse.ArgumentParser(
        prog="entrance-appliance monitor",
        description="Show the call-up monitor: full-screen, fed by the daemon.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="take the control socket from this config (default: /etc/entrance-appliance/appliance.conf)",
    )
    parser.add_argument(
        "--socket", type=Path, default=None, help="the daemon's control socket (default: from the config)"
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="write one frame as PNG and exit")
    parser.add_argument(
        "--screenshot-wait",
        dest="screenshot_wait_s",
        type=float,
        metavar="SECONDS",
        help="with --screenshot: how long to wait for the daemon (default 5)",
    )
    parser.add_argument(
        "--out",
        dest="headless_out",
        type=Path,
        metavar="DIR",
        help="no window: write a PNG after every change into DIR",
    )
    parser.add_argument("--windowed", dest="fullscreen", action="store_false", help="a window instead of full screen")
    parser.add_argument(
        "--size",
        type=_size,
        metavar="WxH",
        help="picture size (default: the screen's; for files 1920x1080, 800x480 in the kiosk layout)",
    )
    parser.add_argument(
        "--rotation",
        type=int,
        choices=ROTATIONS,
        help="degrees the picture is turned clockwise, for monitors mounted in portrait",
    )
    parser.add_argument(
        "--slides", dest="slides_dir", type=Path, metavar="DIR", help="folder of information slides (PNG, JPEG)"
    )
    parser.add_argument(
        "--slide-seconds", dest="slide_s", type=float, metavar="SECONDS", help="how long each slide stays (default 10)"
    )
    parser.add_argument(
        "--highlight-seconds",
        dest="highlight_s",
        type=float,
        metavar="SECONDS",
        help="how long a new call stays highlighted (default 20)",
    )
    parser.add_argument("--recent", type=int, metavar="N", help="how many earlier calls are listed (default 5)")
    parser.add_argument(
        "--stale-after",
        dest="stale_after_s",
        type=float,
        metavar="SECONDS",
        help="show 'nicht aktuell' once the backend has been away this long (default 120)",
    )
    parser.add_argument("--language", help="the first language on screen (default de)")
    parser.add_argument("--no-sound", dest="sound", action="store_false", help="no chime, no speech")
    parser.add_argument("--speech", action="store_true", help="speak each call through espeak-ng (offline)")
    parser.add_argument(
        "--speech-languages",
        type=_languages,
        metavar="de,ar",
        help="the languages each call is spoken in, in order (default de)",
    )
    parser.add_argument("--sound-out", type=Path, metavar="DIR", help="write the announcements as WAV files into DIR")
    parser.add_argument(
        "--clock",
        choices=("wall", "snapshot"),
        help="'snapshot' draws the time of the daemon's snapshot (for the demo's simulated clock)",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        help="'kiosk': the kiosk's own screen (what to do, the answer, out of order) instead of the call-up monitor",
    )
    parser.add_argument(
        "--touch",
        action=argparse.BooleanOptionalAction,
        help="kiosk layout: concerns are buttons to touch (default: [monitor] touch, else no)",
    )
    parser.add_argument(
        "--answer-seconds",
        dest="answer_s",
        type=float,
        metavar="SECONDS",
        help="kiosk layout: how long an answer stays before the welcome screen returns (default 15)",
    )
    parser.add_argument(
        "--language-idle-seconds",
        dest="language_idle_s",
        type=float,
        metavar="SECONDS",
        help="kiosk layout: a chosen language returns to German after this long without a touch (default 60)",
    )
    parser.add_argument("--large-text", action=argparse.BooleanOptionalAction, help="kiosk layout: every text larger")
    parser.add_argument(
        "--volume",
        type=_volume,
        metavar="PERCENT",
        help="kiosk layout: the speech's loudness every visitor starts at (default 75)",
    )
    parser.add_argument("--audio-device", metavar="NAME", help="SDL's name of the sound output (default: the system's)")
    return parser


def options_from_config(monitor) -> MonitorOptions:
    """[monitor] of the device's config as the monitor's options."""
    return MonitorOptions(
        rotation=monitor.rotation,
        slides_dir=monitor.slides,
        slide_s=monitor.slide_seconds.total_seconds(),
        highlight_s=monitor.highlight.total_seconds(),
        recent=monitor.recent,
        stale_after_s=monitor.stale_after.total_seconds(),
        language=monitor.language,
        sound=monitor.sound,
        speech=monitor.speech,
        speech_languages=tuple(monitor.speech_languages),
        size=_size(monitor.size) if monitor.size else None,
        layout=monitor.layout,
        touch=monitor.touch,
        answer_s=monitor.answer_seconds.total_seconds(),
        language_idle_s=monitor.language_idle.total_seconds(),
        large_text=monitor.large_text,
        volume=monitor.volume / 100,
        audio_device=monitor.audio_device,
    )


def monitor_options(args: argparse.Namespace, monitor=None) -> MonitorOptions:
    """The config's [monitor] (or the defaults, without a config), with what the command line gave instead."""
    given = {name: value for name, value in vars(args).items() if name not in ("config", "socket", "log_level")}
    return replace(options_from_config(monitor) if monitor is not None else MonitorOptions(), **given)


def main(argv: list[str] | None = None) -> int:
    """``entrance-appliance monitor``; exit codes 0, 2 (config or arguments), 4 (no daemon, screenshot),
    5 (no display)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from appliance.domain.journal import configure_logging

    configure_logging(args.log_level)
    socket_path, monitor = args.socket, None
    if socket_path is None or args.config is not None:
        from appliance.app.config import load_config
        from appliance.domain.errors import ConfigError

        try:
            config = load_config(args.config)
        except ConfigError as error:
            print(f"{len(error.problems)} problem(s) in the configuration:", file=sys.stderr)
            for problem in error.problems:
                print(f"  {problem}", file=sys.stderr)
            return 2
        socket_path, monitor = socket_path or config.core.control_socket, config.monitor
    try:
        options = monitor_options(args, monitor)
    except ValueError as error:
        parser.error(str(error))
    stop = threading.Event()
    # Before SDL starts: SDL only installs its own SIGTERM handler where none is set.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return run_monitor(socket_path, options, stop=stop)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
