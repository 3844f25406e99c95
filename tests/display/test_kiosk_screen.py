"""The kiosk layout of the monitor process: welcome, touch → press, the answer, out of order.

The process runs in a thread under SDL's dummy video driver against the fake daemon on a real Unix
socket; touches are posted into SDL's event queue as a touchscreen would deliver them.
"""

import os
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day

from support import ANSWER_S, wait_for

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.app.config import load_config  # noqa: E402
from appliance.app.monitor_process import build_parser, main, monitor_options  # noqa: E402
from appliance.display.kiosk import ANSWER_S as KIOSK_ANSWER_S  # noqa: E402
from appliance.display.kiosk import KioskScreen, PressSender  # noqa: E402
from appliance.display.kiosk_render import KioskTicket, OneMoment, OutOfOrder, render_kiosk  # noqa: E402
from appliance.display.monitor import MonitorOptions, run_monitor  # noqa: E402
from appliance.display.rotation import to_panel  # noqa: E402
from appliance.display.view import WaitRange, parse_view  # noqa: E402
from appliance.domain.checkin import CheckInVerdict, Judgement, LatePolicy  # noqa: E402
from appliance.domain.screen import KioskAnswer  # noqa: E402
from appliance.domain.wording import VisitorMessage, check_in_message, ticket_message  # noqa: E402
from support.ocr import read_text  # noqa: E402
from support.samples import sample_view  # noqa: E402
from support.view_server import ViewServer  # noqa: E402

CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
PANEL = (800, 480)
TOO_EARLY = check_in_message(Judgement(CheckInVerdict.TOO_EARLY, time_of_day(10, 15)), "T-4821", LatePolicy.INFORMATION)


def kiosk_view(now=None, *, answer=None, out_of_order=None, waiting_extra=()) -> dict:
    view = sample_view(now or datetime.now(UTC), kiosk={"answer": answer, "out_of_order": out_of_order})
    view["snapshot"]["waiting"] += list(waiting_extra)
    return view


class Kiosk:
    """A running kiosk screen: the frames it presented (with the pixels), and a finger to touch it."""

    def __init__(self, server: ViewServer, rotation: int):
        self.server = server
        self.rotation = rotation
        self.frames: list = []
        self.presented: list = []  # (frame, time.monotonic() once presented), every frame in order

    def keep(self, frame):  # on the monitor's thread, right after the frame was presented
        self.presented.append((frame, time.monotonic()))
        self.frames.append((frame, pygame.display.get_surface().copy()))

    def shows(self, predicate, what: str):
        """The newest frame once it matches ``predicate``, and its pixels as on the panel."""

        def newest():
            shown = self.frames[-1] if self.frames else None  # once: the monitor's thread may add the next
            return shown if shown and predicate(shown[0]) else None

        return wait_for(newest, what=what)

    def showed(self, predicate, what: str):
        """The first frame presented that matches ``predicate``, and its pixels: for a screen that lasts only
        seconds, which a loaded machine may not let the test see while it does."""
        return wait_for(lambda: next((shown for shown in list(self.frames) if predicate(shown[0])), None), what=what)

    def welcome(self):
        return self.shows(lambda frame: frame.buttons, "the welcome screen with buttons")[0]

    def panel_point(self, picture_point, picture_size) -> tuple[int, int]:
        """Where a finger lands on the panel to touch ``picture_point``: found by turning a marked picture."""
        marked = pygame.Surface(picture_size)
        marked.set_at(picture_point, (255, 0, 0))
        panel = to_panel(marked, self.rotation)
        return next(
            (x, y)
            for x in range(panel.get_width())
            for y in range(panel.get_height())
            if panel.get_at((x, y))[:3] == (255, 0, 0)
        )

    def click(self, point):
        assert pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=point, button=1))

    def finger(self, point):
        assert pygame.event.post(
            pygame.event.Event(
                pygame.FINGERDOWN,
                touch_id=1,
                finger_id=0,
                pressure=1.0,
                x=(point[0] + 0.5) / PANEL[0],
                y=(point[1] + 0.5) / PANEL[1],
                dx=0.0,
                dy=0.0,
            )
        )

    def presses(self) -> list[str]:
        return [r.get("concern") for r in self.server.requests if r.get("request") == "press"]


@pytest.fixture
def kiosk(tmp_path):
    """Starts the kiosk layout (touch on, a window on the dummy driver) against a fake daemon. On the snapshot's
    clock: an answer made with the view's time is new when it arrives, however long a loaded machine takes to
    deliver it (on the wall clock, one older than ``answer_s`` by then is taken as the last visitor's)."""
    running = []

    def start(view: dict, *, rotation=0, answer_s=15.0, monitor_options=None, **server_options) -> Kiosk:
        server = ViewServer(tmp_path / "control.sock", view, keepalive_s=0.5, **server_options)
        screen, stop, result = Kiosk(server, rotation), threading.Event(), []
        thread = threading.Thread(
            target=lambda: result.append(
                run_monitor(
                    server.path,
                    MonitorOptions(
                        fullscreen=False,
                        size=PANEL,
                        rotation=rotation,
                        layout="kiosk",
                        touch=True,
                        answer_s=answer_s,
                        **({"clock": "snapshot"} | (monitor_options or {})),
                    ),
                    on_frame=screen.keep,
                    stop=stop,
                )
            ),
            daemon=True,
        )
        thread.start()
        running.append((server, stop, thread, result))
        return screen

    yield start
    for server, stop, thread, result in running:
        stop.set()
        thread.join(ANSWER_S)
        server.close()
        assert result == [0]


def test_the_kiosk_layout_says_what_to_do_with_a_button_per_concern(kiosk):
    screen = kiosk(kiosk_view())
    frame = screen.welcome()

    assert frame.texts("instruction")[:4] == [
        "Termin? QR-Code scannen",
        "Appointment? Scan your QR code",
        "Ohne Termin? Anliegen wählen",
        "No appointment? Choose your concern",
    ]
    assert [b.concern for b in frame.buttons] == ["first-application", "leave", "documents", "other"]


def test_a_touch_on_a_button_sends_its_concern_shows_one_moment_and_then_the_printed_ticket(kiosk):
    now = datetime.now(UTC)
    screen = kiosk(kiosk_view(now))
    leave = next(b for b in screen.welcome().buttons if b.concern == "leave")

    screen.click(leave.rect.center)
    screen.click(leave.rect.center)  # a double tap
    wait_for(lambda: screen.presses() == ["leave"], what="the press")
    assert screen.server.requests[0] == {"request": "press", "concern": "leave"}
    screen.showed(
        lambda frame: frame.texts("one_moment") == ["Einen Moment bitte…", "One moment please…"], "immediate feedback"
    )

    # The daemon issued U043 (12 walk-ins and 2 appointments before it) and says so in its next view.
    ticket = {"code": "U043", "concern": "leave", "issued_at": now.isoformat()}
    answer = KioskAnswer(ticket_message("U043", 14, (10, 20)), "U043", now, ahead=14, wait=(10, 20)).to_json()
    screen.server.publish(kiosk_view(now, answer=answer, waiting_extra=[ticket]))
    frame, pixels = screen.showed(lambda frame: frame.texts("ticket_code"), "the ticket")

    code = next(d for d in frame.drawn if d.role == "ticket_code")
    assert read_text(pixels, code.rect, charset=CODE_CHARS) == "U043"
    assert frame.texts("facts") == ["Vor Ihnen: 14 Personen · 10–20 Min.", "14 people ahead of you · 10–20 min"]
    assert frame.texts("concern")[0] == "Urlaub beantragen"
    assert screen.presses() == ["leave"]  # one press for the double tap


def test_a_visitor_who_chose_a_language_presses_a_concern_and_the_press_names_the_language(kiosk):
    screen = kiosk(kiosk_view())
    frame = screen.welcome()
    english = next(b for b in frame.language_buttons if b.language == "en")

    screen.click(english.rect.center)
    frame = screen.shows(lambda frame: frame.texts("instruction")[:1] == ["Appointment? Scan your QR code"], "English")[
        0
    ]
    screen.click(next(b for b in frame.buttons if b.concern == "leave").rect.center)

    wait_for(lambda: screen.presses() == ["leave"], what="the press")
    assert screen.server.requests[0] == {"request": "press", "concern": "leave", "language": "en"}
    screen.showed(
        lambda frame: frame.texts("one_moment") == ["One moment please…", "Einen Moment bitte…"], "English first"
    )


def test_an_answer_stays_answer_seconds_then_the_welcome_screen_returns(kiosk):
    now = datetime.now(UTC)
    verdict = KioskAnswer(TOO_EARLY, "T-4821", now).to_json()
    screen = kiosk(kiosk_view(now), answer_s=0.6)
    screen.welcome()

    published_at = time.monotonic()
    screen.server.publish(kiosk_view(now, answer=verdict))

    def welcome_after_the_verdict():
        """When the welcome screen came back after the verdict, from the frames in the order presented: a
        loaded machine may show the test neither while it lasts."""
        shown = [(frame, at) for frame, at in list(screen.presented) if at > published_at]
        said = next(
            (n for n, (frame, _) in enumerate(shown) if frame.texts("message_title")[:1] == ["Noch zu früh"]), None
        )
        return said is not None and next((at for frame, at in shown[said:] if frame.buttons), None)

    welcome_at = wait_for(welcome_after_the_verdict, what="the verdict, then the welcome screen again")
    # Its 0.6 s count from the view's arrival, which is after publishing: however loaded the machine, not sooner.
    assert welcome_at - published_at >= 0.6
    # And the option reached the screen: not the kiosk's own 15 s (the wait it cuts, as a long poll's test bounds).
    assert welcome_at - published_at < KIOSK_ANSWER_S


def test_out_of_order_shows_its_screen_as_long_as_it_lasts_and_touches_send_nothing(kiosk):
    now = datetime.now(UTC)
    screen = kiosk(kiosk_view(now, out_of_order="paper out"))
    # Not the screen drawn while it connects (out of order too, in German only): the view's, in its languages.
    frame, _ = screen.shows(
        lambda frame: frame.texts("out_of_order")[:2] == ["Außer Betrieb", "Out of order"], "out of order"
    )
    assert frame.buttons == ()

    welcome = render_kiosk(pygame.Surface(PANEL), None, now, concerns=parse_view(kiosk_view(now)).concerns, touch=True)
    for button in welcome.buttons:  # where the buttons would be
        screen.click(button.rect.center)
        screen.finger(button.rect.center)
    time.sleep(0.4)
    assert screen.server.requests == []

    screen.server.publish(kiosk_view(now))  # a new roll of paper
    screen.welcome()


def test_a_touch_on_a_screen_turned_by_90_degrees_presses_the_button_under_it(kiosk):
    screen = kiosk(kiosk_view(), rotation=90)
    frame = screen.welcome()
    documents = next(b for b in frame.buttons if b.concern == "documents")

    screen.click(screen.panel_point(documents.rect.center, (480, 800)))

    wait_for(lambda: screen.presses() == ["documents"], what="the press for documents")


def test_a_finger_on_a_screen_turned_by_270_degrees_presses_the_button_under_it(kiosk):
    screen = kiosk(kiosk_view(), rotation=270)
    other = next(b for b in screen.welcome().buttons if b.concern == "other")

    screen.finger(screen.panel_point(other.rect.center, (480, 800)))

    wait_for(lambda: screen.presses() == ["other"], what="the press for other")


def test_a_press_the_daemon_refuses_says_so_instead_of_waiting(kiosk):
    def refuse(request):
        raise ValueError("unknown concern 'leave'")

    screen = kiosk(kiosk_view(), answers={"press": refuse})
    leave = next(b for b in screen.welcome().buttons if b.concern == "leave")
    screen.click(leave.rect.center)

    frame, _ = screen.showed(lambda frame: frame.texts("message_title"), "the refusal")
    assert frame.texts("message_title") == ["Das hat nicht geklappt", "That did not work"]


@pytest.mark.parametrize("how", ["config", "command line"])
def test_layout_kiosk_from_the_config_file_or_the_command_line_draws_the_kiosk_screen(
    how, tmp_path, device_config_file
):
    now = datetime.now(UTC)
    view = kiosk_view(now)
    if how == "config":
        device_config_file.write_text(device_config_file.read_text() + "\n[monitor]\nlayout = kiosk\ntouch = yes\n")
        arguments = ["--config", str(device_config_file)]
    else:
        arguments = ["--socket", str(tmp_path / "control.sock"), "--layout", "kiosk", "--touch"]
    with ViewServer(tmp_path / "control.sock", view):
        assert main([*arguments, "--screenshot", str(tmp_path / "shot.png")]) == 0

    shot = pygame.image.load(str(tmp_path / "shot.png"))
    expected = pygame.Surface((800, 480))
    render_kiosk(expected, None, now, concerns=parse_view(view).concerns, touch=True, languages=("de", "en"))
    assert shot.get_size() == (800, 480)
    assert pygame.image.tobytes(shot, "RGB") == pygame.image.tobytes(expected, "RGB")


def test_the_config_sets_layout_touch_and_answer_seconds_unless_the_command_line_does(tmp_path, device_config_file):
    device_config_file.write_text(
        device_config_file.read_text()
        + "\n[monitor]\nlayout = kiosk\ntouch = yes\nanswer_seconds = 8s\nlanguage_idle = 90s\n"
        + "speech_languages = de, ar\nrecent = 3\nvolume = 40\n"
    )
    monitor = load_config(device_config_file).monitor
    parser = build_parser()

    options = monitor_options(parser.parse_args([]), monitor)
    assert (options.layout, options.touch, options.answer_s) == ("kiosk", True, 8.0)
    assert (options.language_idle_s, options.speech_languages, options.recent, options.volume) == (
        90.0,
        ("de", "ar"),
        3,
        0.4,
    )
    options = monitor_options(parser.parse_args(["--no-touch", "--answer-seconds", "20"]), monitor)
    assert (options.touch, options.answer_s) == (False, 20.0)


def test_a_command_line_value_equal_to_the_default_still_wins_over_the_config(device_config_file):
    device_config_file.write_text(device_config_file.read_text() + "\n[monitor]\nrecent = 3\nvolume = 40\n")
    monitor = load_config(device_config_file).monitor

    options = monitor_options(build_parser().parse_args(["--recent", "5", "--volume", "75"]), monitor)

    assert (options.recent, options.volume) == (5, 0.75)


def test_without_a_config_the_command_line_sets_the_options_over_the_defaults():
    options = monitor_options(build_parser().parse_args(["--windowed", "--no-sound", "--rotation", "90"]))

    assert (options.fullscreen, options.sound, options.rotation) == (False, False, 90)
    assert (options.recent, options.layout, options.volume) == (5, "monitor", 0.75)


# --- which screen shows when: KioskScreen on a clock the test turns ---------------------------------


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def kiosk_screen(**options):
    clock, sent = Clock(), []
    screen = KioskScreen(lambda concern, language: sent.append(concern), touch=True, monotonic=clock, **options)
    screen.set_connected(True)
    return screen, clock, sent


def draw(screen, now):
    return screen.render(pygame.Surface(PANEL), now)


def test_touches_within_two_seconds_of_a_press_send_nothing_more():
    now = datetime.now(UTC)
    screen, clock, sent = kiosk_screen(pending_s=0.5)
    screen.offer(parse_view(kiosk_view(now)), now)
    centre = draw(screen, now).buttons[0].rect.center

    assert screen.touched(centre) is True and screen.screen() == OneMoment()
    clock.now += 1.0  # no answer came: welcome again, but the finger is still bouncing
    assert screen.screen() is None and draw(screen, now).buttons
    assert screen.touched(centre) is False
    clock.now += 1.1
    assert screen.touched(centre) is True
    assert sent == ["first-application", "first-application"]


def test_an_answer_from_before_the_monitor_started_is_not_shown_again():
    now = datetime.now(UTC)
    old = KioskAnswer(ticket_message("U043", 0, None), "U043", now - timedelta(minutes=5)).to_json()
    screen, clock, _ = kiosk_screen()
    screen.offer(parse_view(kiosk_view(now, answer=old)), now)

    assert screen.screen() is None


def test_without_the_daemon_the_kiosk_is_out_of_order_and_takes_no_touch():
    now = datetime.now(UTC)
    screen, clock, sent = kiosk_screen()
    screen.offer(parse_view(kiosk_view(now)), now)
    centre = draw(screen, now).buttons[0].rect.center

    screen.set_connected(False)
    assert screen.screen() == OutOfOrder() and screen.due()
    assert screen.touched(centre) is False and sent == []


def test_a_ticket_answer_shows_people_ahead_and_wait_as_printed_and_the_concern_from_the_view():
    """The screen says what the paper says, whatever the queue looks like by the time it draws."""
    now = datetime.now(UTC)
    # D022 stands fifth in the sample view's queue (4 before it); the ticket printed 7 ahead and 5-12 minutes.
    answer = KioskAnswer(ticket_message("D022", 7, (5, 12)), "D022", now, ahead=7, wait=(5, 12)).to_json()
    screen, clock, _ = kiosk_screen()
    screen.offer(parse_view(kiosk_view(now, answer=answer)), now)

    shown = screen.screen()
    assert isinstance(shown, KioskTicket)
    assert (shown.code, shown.concern.name, shown.ahead, shown.wait) == ("D022", "documents", 7, WaitRange(5, 12))
    assert screen.seconds_to_next_change() == 15.0
    clock.now += 15.0
    assert screen.screen() is None and screen.seconds_to_next_change() is None


def test_an_answer_whose_number_is_not_waiting_shows_the_daemons_own_words():
    now = datetime.now(UTC)
    checked_in = KioskAnswer(TOO_EARLY, "T-4821", now).to_json()
    screen, clock, _ = kiosk_screen()
    screen.offer(parse_view(kiosk_view(now, answer=checked_in)), now)

    shown = screen.screen()
    assert shown == TOO_EARLY and isinstance(shown, VisitorMessage) and shown.title.render() == "Noch zu früh"


def test_the_press_sender_reports_the_daemons_refusal_from_its_own_thread(tmp_path):
    answered = []
    done = threading.Event()

    def refuse(request):
        raise ValueError(f"unknown concern {request['concern']!r}")

    with ViewServer(tmp_path / "control.sock", answers={"press": refuse}) as server:
        sender = PressSender(server.path, lambda concern, error: (answered.append((concern, error)), done.set()))
        sender.send("holiday")
        assert done.wait(ANSWER_S)
        sender.close()

    assert answered == [("holiday", f"the daemon at {server.path} answered: unknown concern 'holiday'")]


def test_a_key_on_the_kiosk_speaks_the_screen_again_through_espeak_ng(kiosk, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    sounds = tmp_path / "sounds"
    screen = kiosk(kiosk_view(), monitor_options={"speech": True, "sound_out": sounds})
    screen.welcome()

    for count, key in enumerate((pygame.K_r, pygame.K_KP_PLUS), start=1):  # again; then louder, heard at once
        assert pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        wait_for(lambda n=count: len(list(sounds.glob("*-answer-de.wav"))) == n, what="speech")

    first, louder = sorted(sounds.glob("*-answer-de.wav"))
    assert first.stat().st_size == louder.stat().st_size > 20_000  # the same words, seconds of them
    assert first.read_bytes() != louder.read_bytes()
