"""The monitor process (``entrance-appliance monitor``, systemd's entrance-appliance-monitor.service):
its options, the device config's [monitor] defaults, logging, then the display's run loop.
"""

import argparse
import signal
import sys
import threading
from pathlib import Path

from appliance.display.monitor import LAYOUTS, run_monitor
from appliance.display.rotation import ROTATIONS


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, such as 1920x1080, not {text!r}") from None
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise argparse.ArgumentTypeError(f"size {text} is out of range")
    return width, height


def _percent(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a percentage from 10 to 100, not {text!r}") from None
    if not 10 <= value <= 100:
        raise argparse.ArgumentTypeError(f"a percentage from 10 to 100, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entrance-appliance monitor", description="Show the call-up monitor: full-screen, fed by the daemon."
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="take the control socket from this config (default: /etc/entrance-appliance/appliance.conf)",
    )
    parser.add_argument("--socket", type=Path, help="the daemon's control socket (default: from the config)")
    parser.add_argument("--screenshot", type=Path, metavar="FILE", help="write one frame as PNG and exit")
    parser.add_argument(
        "--screenshot-wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --screenshot: how long to wait for the daemon (default 5)",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="no window: write a PNG after every change into DIR")
    parser.add_argument("--windowed", action="store_true", help="a window instead of full screen")
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
        default=0,
        help="degrees the picture is turned clockwise, for monitors mounted in portrait",
    )
    parser.add_argument("--slides", type=Path, metavar="DIR", help="folder of information slides (PNG, JPEG)")
    parser.add_argument("--slide-seconds", type=float, default=10.0, help="how long each slide stays (default 10)")
    parser.add_argument("--highlight-seconds", type=float, default=20.0, help="how long a new call stays highlighted")
    parser.add_argument("--recent", type=int, default=5, help="how many earlier calls are listed (default 5)")
    parser.add_argument(
        "--stale-after",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="show 'nicht aktuell' once the backend has been away this long (default 120)",
    )
    parser.add_argument("--language", default="de", help="the first language on screen (default de)")
    parser.add_argument("--no-sound", action="store_true", help="no chime, no speech")
    parser.add_argument("--speech", action="store_true", help="speak each call through espeak-ng (offline)")
    parser.add_argument(
        "--speech-languages",
        type=lambda value: tuple(part.strip() for part in value.split(",") if part.strip()),
        default=("de",),
        metavar="de,ar",
        help="the languages each call is spoken in, in order (default de)",
    )
    parser.add_argument("--sound-out", type=Path, metavar="DIR", help="write the announcements as WAV files into DIR")
    parser.add_argument(
        "--clock",
        choices=("wall", "snapshot"),
        default="wall",
        help="'snapshot' draws the time of the daemon's snapshot (for the demo's simulated clock)",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="monitor",
        help="'kiosk': the kiosk's own screen (what to do, the answer, out of order) instead of the call-up monitor",
    )
    parser.add_argument(
        "--touch",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="kiosk layout: concerns are buttons to touch (default: [monitor] touch, else no)",
    )
    parser.add_argument(
        "--answer-seconds",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="kiosk layout: how long an answer stays before the welcome screen returns (default 15)",
    )
    parser.add_argument(
        "--language-idle-seconds",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="kiosk layout: a chosen language returns to German after this long without a touch (default 60)",
    )
    parser.add_argument(
        "--large-text", action=argparse.BooleanOptionalAction, default=None, help="kiosk layout: every text larger"
    )
    parser.add_argument(
        "--volume",
        type=_percent,
        default=75,
        metavar="PERCENT",
        help="kiosk layout: the speech's loudness every visitor starts at (default 75)",
    )
    parser.add_argument("--audio-device", metavar="NAME", help="SDL's name of the sound output (default: the system's)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


def _take_config_defaults(args, parser, monitor) -> None:
    """[monitor] in the device's config sets what the command line leaves at its default."""
    from_config = {
        "rotation": monitor.rotation,
        "slides": monitor.slides,
        "slide_seconds": monitor.slide_seconds.total_seconds(),
        "highlight_seconds": monitor.highlight.total_seconds(),
        "recent": monitor.recent,
        "stale_after": monitor.stale_after.total_seconds(),
        "language": monitor.language,
        "no_sound": not monitor.sound,
        "speech": monitor.speech,
        "speech_languages": monitor.speech_languages,
        "size": _size(monitor.size) if monitor.size else None,
        "layout": monitor.layout,
        "touch": monitor.touch,
        "answer_seconds": monitor.answer_seconds.total_seconds(),
        "language_idle_seconds": monitor.language_idle.total_seconds(),
        "large_text": monitor.large_text,
        "volume": monitor.volume,
        "audio_device": monitor.audio_device,
    }
    for name, value in from_config.items():
        if getattr(args, name) == parser.get_default(name):
            setattr(args, name, value)


def main(argv: list[str] | None = None) -> int:
    """``entrance-appliance monitor``; exit codes 0, 2 (config or arguments), 4 (no daemon, screenshot),
    5 (no display)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from appliance.domain.journal import configure_logging

    configure_logging(args.log_level)
    socket_path = args.socket
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
        socket_path = socket_path or config.core.control_socket
        _take_config_defaults(args, parser, config.monitor)
    stop = threading.Event()
    # Before SDL starts: SDL only installs its own SIGTERM handler where none is set.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return run_monitor(
            socket_path,
            fullscreen=not args.windowed,
            size=args.size,
            rotation=args.rotation,
            slides_dir=args.slides,
            screenshot=args.screenshot,
            headless_out=args.out,
            highlight_s=args.highlight_seconds,
            recent=args.recent,
            slide_s=args.slide_seconds,
            stale_after_s=args.stale_after,
            language=args.language,
            sound=not args.no_sound,
            speech=args.speech,
            speech_languages=args.speech_languages,
            sound_out=args.sound_out,
            clock=args.clock,
            screenshot_wait_s=args.screenshot_wait,
            layout=args.layout,
            touch=bool(args.touch),
            answer_s=args.answer_seconds,
            language_idle_s=args.language_idle_seconds,
            large_text=bool(args.large_text),
            volume=args.volume / 100,
            audio_device=args.audio_device,
            stop=stop,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
