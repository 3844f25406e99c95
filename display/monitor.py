"""The call-up monitor's run loop: takes the daemon's views from the control socket and shows them.

With the kiosk layout it is the kiosk's own screen instead, touch included. appliance.app.monitor_process starts it.
"""

import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from appliance.display.feed import ViewFeed
from appliance.display.rotation import ROTATIONS, logical_size, to_panel, to_picture

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1920, 1080)
KIOSK_SIZE = (800, 480)  # the 7" Raspberry Pi touch display
LAYOUTS = ("monitor", "kiosk")
WINDOW_SIZE = (1280, 720)
# With a window the loop wakes this often to hand SDL its events (window manager pings,
# resizes); pygame's own event wait would poll every millisecond on KMSDRM instead.
PUMP_S = 0.5
# A touch must be answered at once ("Einen Moment bitte…"); twenty looks a second cost next to nothing.
TOUCH_PUMP_S = 0.05
IDLE_WAKE_S = 1.0
# What time alone changes that frame files record too: the screen's state ("nicht aktuell", a call no longer
# highlighted), not its clock, slides or ticker, which only a screen follows.
RECORDED_CHANGES = ("stale", "highlight ended")
EXIT_NO_DAEMON, EXIT_NO_DISPLAY = 4, 5


@dataclass(frozen=True)
class MonitorOptions:
    """How the monitor, or the kiosk's own screen, looks and sounds: [monitor] in the device's config, each
    value replaced by the command line where it gives one (appliance.app.monitor_process).

    ``screenshot``: write one frame of the current state as PNG and return (4 if no daemon answered within
    ``screenshot_wait_s``). ``headless_out``: no window; a PNG into this folder after every change (and
    ``current.png``), at most ``keep_frames`` of them. ``clock`` "snapshot" draws the time of the view's
    snapshot (the demo's simulated clock).
    ``layout`` "kiosk": the kiosk's own screen; with ``touch`` (and a window) its concerns are buttons that
    send a press to the daemon, and its welcome screen offers the view's languages (a choice lasts
    ``language_idle_s`` after the last touch or answer); an answer stays ``answer_s``; ``large_text`` draws
    it larger; speech starts at ``volume`` (0..1) for every visitor. ``audio_device``: SDL's name of the
    sound output, None for the default.
    """

    fullscreen: bool = True
    size: tuple[int, int] | None = None
    rotation: int = 0
    slides_dir: Path | None = None
    screenshot: Path | None = None
    screenshot_wait_s: float = 5.0
    headless_out: Path | None = None
    keep_frames: int = 2000
    highlight_s: float = 20.0
    recent: int = 5
    slide_s: float = 10.0
    stale_after_s: float = 120.0
    language: str = "de"
    sound: bool = True
    speech: bool = False
    speech_languages: tuple[str, ...] = ("de",)
    sound_out: Path | None = None
    clock: str = "wall"
    layout: str = "monitor"
    touch: bool = False
    answer_s: float = 15.0
    language_idle_s: float = 60.0
    large_text: bool = False
    volume: float = 0.75
    audio_device: str | None = None

    def __post_init__(self):
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, not {self.rotation}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, not {self.layout!r}")


def run_monitor(
    socket_path: Path,
    options: MonitorOptions = MonitorOptions(),
    *,
    on_frame=None,
    stop: threading.Event | None = None,
) -> int:
    """Runs until ``stop`` is set, the window is closed or SIGTERM; returns the exit code.

    ``on_frame``: called with each presented frame (MonitorFrame or KioskFrame), for tests.
    """
    import pygame  # here, not at import time: `entrance-appliance --help` must not need SDL

    from appliance.display.announcer import Announcer, Espeak, FilePlayer, MixerPlayer
    from appliance.display.kiosk import KioskScreen, PressSender
    from appliance.display.kiosk_voice import KioskVoice
    from appliance.display.monitor_render import render_monitor
    from appliance.display.slides import Slides

    stop = stop or threading.Event()
    headless = options.screenshot is not None or options.headless_out is not None
    kiosk_layout = options.layout == "kiosk"
    touch = options.touch and kiosk_layout  # a monitor has nothing to touch
    pygame.font.init()
    try:
        screen = (
            _OffscreenScreen(options.size or (KIOSK_SIZE if kiosk_layout else DEFAULT_SIZE), options.rotation)
            if headless
            else _WindowScreen(options.size, options.rotation, options.fullscreen, touch=touch)
        )
    except pygame.error as error:
        log.error("no display to draw on (%s); set SDL_VIDEODRIVER, or use --out DIR for PNG files", error)
        return EXIT_NO_DISPLAY
    events: queue.Queue = queue.Queue()
    # Files show the buttons but have no fingers to press them.
    presses = (
        PressSender(socket_path, lambda concern, error: events.put(("pressed", (concern, error))))
        if touch and screen.window
        else None
    )
    player = None
    if options.sound and options.screenshot is None:
        player = (
            FilePlayer(options.sound_out)
            if options.sound_out
            else None
            if headless
            else MixerPlayer(options.audio_device)
        )
    # The kiosk's screen does not chime for calls; with speech on it speaks each answer.
    voice = (
        KioskVoice(player, Espeak(), volume=options.volume, visitor_idle_s=options.language_idle_s)
        if kiosk_layout and options.speech and player is not None
        else None
    )
    kiosk = (
        KioskScreen(
            presses.send if presses else None,
            touch=touch,
            answer_s=options.answer_s,
            language=options.language,
            language_idle_s=options.language_idle_s,
            voice=voice,
            large_text=options.large_text,
        )
        if kiosk_layout
        else None
    )
    slides = Slides(options.slides_dir, options.slide_s) if options.slides_dir and not kiosk_layout else None
    announcer = None
    if player is not None and not kiosk_layout:
        announcer = Announcer(player, speech=Espeak() if options.speech else None, languages=options.speech_languages)
    feed = ViewFeed(socket_path, lambda kind, value: events.put((kind, value))).start()
    frames = _FrameFiles(options.headless_out, options.keep_frames) if options.headless_out else None
    view, connected, drawn_once, next_change, next_reason = None, False, False, None, ""
    try:
        if options.screenshot is not None:
            view, connected = _first_view(events, options.screenshot_wait_s)
            now = _now(view, options.clock)
            if kiosk is not None:
                if view is not None:
                    kiosk.offer(view, now)
                kiosk.set_connected(connected)
                kiosk.render(screen.picture, now)
            else:
                render_monitor(
                    screen.picture,
                    view,
                    now,
                    language=options.language,
                    highlight_s=options.highlight_s,
                    recent=options.recent,
                    stale_after_s=options.stale_after_s,
                    slides=slides,
                    connected=connected,
                )
            _save_png(screen.picture, Path(options.screenshot))
            if view is None:
                log.error(
                    "no daemon answered at %s within %.0f s; the screenshot shows the waiting screen",
                    socket_path,
                    options.screenshot_wait_s,
                )
                return EXIT_NO_DAEMON
            return 0
        while not stop.is_set():
            now = _now(view, options.clock)
            wake = (TOUCH_PUMP_S if presses else PUMP_S) if screen.window else IDLE_WAKE_S
            if kiosk is not None:
                until = kiosk.seconds_to_next_change()
            else:
                until = (next_change - now).total_seconds() if next_change is not None else None
            if until is not None:
                wake = max(0.0, min(wake, until))
            reasons: list[str] = []  # why this frame is drawn: logged, so a redraw without a cause shows
            # A change files do not record (the clock's minute, a slide) is drawn unseen all the same, to learn the
            # one after it: else the loop would wake at once, again and again, until the view changed.
            unseen = False
            try:
                item = events.get(timeout=wake)
                while item is not None:  # a burst of views is drawn once, as its last state
                    kind, value = item
                    if kind == "view":
                        if announcer:
                            announcer.offer(value.recent_calls, _now(value, options.clock))
                        if kiosk:
                            kiosk.offer(value, _now(value, options.clock))
                        if value != view:
                            reasons.append("view changed")
                        view = value
                    elif kind == "connected":
                        if value != connected:
                            reasons.append("connection changed")
                        connected = value
                        if kiosk:
                            kiosk.set_connected(value)
                    elif kind == "pressed":
                        kiosk.press_answered(*value)
                        reasons.append("press answered")
                    item = events.get_nowait() if not events.empty() else None
            except queue.Empty:
                pass
            if screen.window and screen.pump(
                stop, kiosk.touched if presses else None, kiosk.key_pressed if kiosk is not None else None
            ):
                reasons.append("window")
            now = _now(view, options.clock)
            if kiosk is not None:
                if kiosk.due():  # an answer ending changes the screen: files record it too
                    reasons.append("kiosk screen due")
            elif next_change is not None and now >= next_change:
                if screen.window or next_reason in RECORDED_CHANGES:
                    reasons.append(next_reason)
                else:
                    unseen = True
            if not drawn_once:
                reasons.append("first frame")
            if not reasons and not unseen:
                continue
            if kiosk is not None:
                frame = kiosk.render(screen.picture, now)
            else:
                frame = render_monitor(
                    screen.picture,
                    view,
                    now,
                    language=options.language,
                    highlight_s=options.highlight_s,
                    recent=options.recent,
                    stale_after_s=options.stale_after_s,
                    slides=slides,
                    connected=connected,
                )
                next_change, next_reason = frame.next_change, frame.next_change_reason
            if not reasons:
                continue
            screen.present()
            current = view.current_call if view else None
            log.debug(
                "frame presented (%s): serial %s, calling %s",
                ", ".join(reasons),
                view.serial if view else "-",
                current.code if current else "-",
            )
            if on_frame is not None:
                on_frame(frame)
            if frames is not None:
                frames.write(screen.picture)
            drawn_once = True
        return 0
    finally:
        feed.stop()
        if presses:
            presses.close()
        if announcer:
            announcer.close()
        if voice:
            voice.close()
        pygame.display.quit()


class _OffscreenScreen:
    window = False

    def __init__(self, panel: tuple[int, int], rotation: int):
        import pygame

        # Files show the picture upright, as a person in front of the turned monitor sees it.
        self.picture = pygame.Surface(logical_size(panel, rotation))

    def present(self):
        pass


class _WindowScreen:
    window = True

    def __init__(self, size, rotation: int, fullscreen: bool, touch: bool = False):
        import pygame

        # No SDL_VIDEODRIVER is set here: SDL picks KMSDRM on a console, X11 or Wayland on a desktop.
        pygame.display.init()
        self.rotation = rotation
        if fullscreen:
            self.display = pygame.display.set_mode(size or (0, 0), pygame.FULLSCREEN)
            pygame.mouse.set_visible(False)
        else:
            self.display = pygame.display.set_mode(size or WINDOW_SIZE, pygame.RESIZABLE)
        pygame.display.set_caption("entrance-appliance monitor")
        # Everything else (mouse motion above all) is dropped before it reaches the queue.
        pygame.event.set_blocked(None)
        pygame.event.set_allowed(
            [pygame.QUIT, pygame.VIDEORESIZE, pygame.WINDOWEXPOSED, pygame.WINDOWSIZECHANGED, pygame.KEYDOWN]
        )
        if touch:
            pygame.event.set_allowed([pygame.MOUSEBUTTONDOWN, pygame.FINGERDOWN])
        log.info("drawing on %s at %dx%d, rotation %d", pygame.display.get_driver(), *self.display.get_size(), rotation)
        self._picture_for_display()

    def _picture_for_display(self):
        import pygame

        if self.rotation == 0:
            self.picture = self.display  # drawn straight into the display, no copy
        else:
            self.picture = pygame.Surface(logical_size(self.display.get_size(), self.rotation))

    def pump(self, stop: threading.Event, on_touch=None, on_key=None) -> bool:
        """Handles SDL's events; True when the picture must be drawn again.

        ``on_touch(point)`` gets each touch or click in picture coordinates and says whether it
        changed the picture; ``on_key(name)`` each other key pressed, by pygame's name.
        """
        import pygame

        redraw = False
        for event in pygame.event.get():
            point = self._touch_point(event) if on_touch else None
            if point is not None:
                redraw |= bool(on_touch(to_picture(point, self.display.get_size(), self.rotation)))
            elif event.type == pygame.QUIT or (
                event.type == pygame.KEYDOWN
                and event.key == pygame.K_ESCAPE
                and not self.display.get_flags() & pygame.FULLSCREEN
            ):
                stop.set()
            elif event.type == pygame.KEYDOWN and on_key is not None:
                on_key(pygame.key.name(event.key))
            elif event.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
                self.display = pygame.display.get_surface()
                self._picture_for_display()
                redraw = True
            elif event.type == pygame.WINDOWEXPOSED:
                redraw = True
        return redraw

    def _touch_point(self, event) -> tuple[int, int] | None:
        """Where on the panel a finger (or a mouse, on a desk) came down, in pixels; else None."""
        import pygame

        width, height = self.display.get_size()
        if event.type == pygame.FINGERDOWN:  # SDL gives fingers as 0..1 of the panel
            return (min(width - 1, max(0, int(event.x * width))), min(height - 1, max(0, int(event.y * height))))
        # SDL also sends a made-up mouse click for every touch; the finger event already counted.
        if event.type == pygame.MOUSEBUTTONDOWN and event.dict.get("button") == 1 and not event.dict.get("touch"):
            return event.pos
        return None

    def present(self):
        import pygame

        if self.picture is not self.display:
            self.display.blit(to_panel(self.picture, self.rotation), (0, 0))
        pygame.display.flip()


class _FrameFiles:
    """Numbered PNGs of every changed frame, plus current.png; only the newest ``keep`` are kept."""

    def __init__(self, folder: Path, keep: int):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        existing = sorted(self.folder.glob("frame-*.png"))
        self.written = deque(existing)
        self.count = max((int(p.stem.split("-")[1]) for p in existing if p.stem.split("-")[1].isdigit()), default=0)
        self.keep = max(1, keep)

    def write(self, picture) -> Path:
        self.count += 1
        path = self.folder / f"frame-{self.count:06d}.png"
        _save_png(picture, path)
        _save_png(picture, self.folder / "current.png")
        self.written.append(path)
        while len(self.written) > self.keep:
            self.written.popleft().unlink(missing_ok=True)
        return path


def _save_png(picture, path: Path) -> None:
    import pygame

    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a reader (the demo, a browser) never sees half a PNG.
    temporary = path.with_name(f".{path.stem}.tmp.png")
    pygame.image.save(picture, str(temporary))
    os.replace(temporary, path)


def _first_view(events: queue.Queue, wait_s: float):
    connected = False
    deadline = time.monotonic() + wait_s
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            kind, value = events.get(timeout=remaining)
        except queue.Empty:
            break
        if kind == "connected":
            connected = value
        elif kind == "view":
            return value, True
    return None, connected


def _now(view, clock: str) -> datetime:
    if clock == "snapshot" and view is not None and view.taken_at is not None:
        return view.taken_at
    return datetime.now(UTC)
