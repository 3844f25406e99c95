"""The kiosk usable without sight (EN 301 549 5.1.3, 5.1.6): the screen spoken again on request (a key,
a touch target, the daemon's repeat button), louder on request and back to the default for the next
visitor, the language button heard in its own language, and no other sound longer than 3 s."""

import io
import os
import shutil
import wave
from array import array
from datetime import UTC, datetime

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.display.announcer import Espeak, FilePlayer, chime_wav  # noqa: E402
from appliance.display.kiosk import KioskScreen  # noqa: E402
from appliance.display.kiosk_render import OneMoment  # noqa: E402
from appliance.display.kiosk_voice import DEFAULT_VOLUME, KioskVoice, spoken_answer  # noqa: E402
from appliance.display.view import parse_view  # noqa: E402
from appliance.domain.screen import KioskAnswer  # noqa: E402
from appliance.domain.wording import OUT_OF_ORDER, text, ticket_message  # noqa: E402
from appliance.drivers.gpio import BEEPS  # noqa: E402
from support import wait_for  # noqa: E402
from support.samples import sample_view  # noqa: E402

NOW = datetime(2026, 11, 25, 9, 10, tzinfo=UTC)
OFFERED = ["de", "en", "uk", "ar"]
OUT_OF_ORDER_ANSWER = KioskAnswer(OUT_OF_ORDER, None, NOW)
TICKET = KioskAnswer(ticket_message("A042", 3, (10, 20)), "A042", NOW, ahead=3, wait=(10, 20))


class Speech:
    """espeak-ng's stand-in: one second of a tone at the volume asked for any text, and what it was asked."""

    def __init__(self):
        self.asked: list[tuple[str, str]] = []

    def synthesize(self, words, voice=None, volume=1.0):
        self.asked.append((voice, words))
        level = round(32000 * volume)
        out = io.BytesIO()
        with wave.open(out, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(8000)
            writer.writeframes(array("h", [level, -level] * 4000).tobytes())
        return out.getvalue()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def view(answer=None, *, controls=None, language=None):
    kiosk = {"answer": answer.to_json() if answer else None, "controls": controls or {}, "language": language}
    return parse_view(sample_view(NOW, languages=OFFERED, kiosk=kiosk))


def peak(wav_file) -> int:
    with wave.open(str(wav_file)) as reader:
        return max(abs(sample) for sample in array("h", reader.readframes(reader.getnframes())))


@pytest.fixture
def kiosk(tmp_path):
    """A touch kiosk screen with its voice writing WAV files, on a clock the test moves."""
    clock, speech = Clock(), Speech()
    voice = KioskVoice(FilePlayer(tmp_path), speech, monotonic=clock, visitor_idle_s=60)
    screen = KioskScreen(lambda concern, language: None, touch=True, voice=voice, monotonic=clock)
    screen.set_connected(True)
    screen.clock, screen.speech, screen.wavs = clock, speech, tmp_path
    yield screen
    voice.close()


def heard(kiosk, count):
    wait_for(lambda: len(kiosk.voice.spoken) >= count, what=f"{count} spoken texts")
    return [(language, words) for language, words, _ in kiosk.voice.spoken]


def test_the_repeat_key_speaks_the_answer_on_screen_again(kiosk):
    kiosk.offer(view(), NOW)
    kiosk.offer(view(TICKET), NOW)
    heard(kiosk, 1)

    assert kiosk.key_pressed("r")
    heard(kiosk, 2)
    assert kiosk.key_pressed("[5]")  # the keypad's 5, which carries the tactile dot
    assert not kiosk.key_pressed("a")

    first, again, once_more = heard(kiosk, 3)
    assert first == again == once_more == ("de", spoken_answer(kiosk.screen(), "de"))
    assert "A 42" in first[1] and "3 Personen" in first[1]


def test_on_the_welcome_screen_a_repeat_says_what_to_do(kiosk):
    kiosk.offer(view(), NOW)

    kiosk.repeat()

    ((language, words),) = heard(kiosk, 1)
    assert language == "de"
    assert words == f"{text('kiosk_appointment')}. {text('kiosk_choose')}."


def test_a_touch_on_the_answers_repeat_button_speaks_it_again(kiosk):
    kiosk.offer(view(), NOW)
    kiosk.offer(view(KioskAnswer(OUT_OF_ORDER, None, NOW)), NOW)
    frame = kiosk.render(pygame.Surface((800, 480)), NOW)
    heard(kiosk, 1)

    assert frame.texts("repeat_button") == [text("kiosk_repeat")]
    kiosk.touched(frame.repeat_button.center)

    assert heard(kiosk, 2) == [("de", spoken_answer(OUT_OF_ORDER, "de"))] * 2


def test_the_daemons_repeat_button_speaks_again_but_presses_from_before_the_screen_started_do_not(kiosk):
    kiosk.offer(view(TICKET, controls={"repeat": 4}), NOW)  # pressed before this screen started
    heard(kiosk, 1)

    kiosk.offer(view(TICKET, controls={"repeat": 5}), NOW)

    assert len(heard(kiosk, 2)) == 2
    assert kiosk.speech.asked[0] == kiosk.speech.asked[1]


def test_the_language_button_turns_screen_and_speech_and_says_the_language_in_its_own_words(kiosk):
    kiosk.offer(view(controls={"language": 0}), NOW)

    kiosk.offer(view(controls={"language": 1}, language="uk"), NOW)

    ((language, words),) = heard(kiosk, 1)
    assert kiosk.language == "uk" and language == "uk"
    assert words.startswith("Українська. ") and text("kiosk_appointment", "uk") in words
    kiosk.offer(view(OUT_OF_ORDER_ANSWER, controls={"language": 1}, language="uk"), NOW)
    assert heard(kiosk, 2)[1] == ("uk", spoken_answer(OUT_OF_ORDER, "uk"))


def test_louder_steps_up_for_this_visitor_and_the_next_one_starts_at_the_default(kiosk):
    kiosk.offer(view(), NOW)
    kiosk.offer(view(TICKET), NOW)
    wait_for(lambda: any(kiosk.wavs.glob("0001-*")), what="the first answer's sound")
    quiet = peak(next(kiosk.wavs.glob("0001-*")))

    kiosk.key_pressed("+")  # one step up, heard at once on the answer
    wait_for(lambda: any(kiosk.wavs.glob("0002-*")), what="the louder answer")
    louder = peak(next(kiosk.wavs.glob("0002-*")))
    kiosk.clock.now += 59  # the visitor is still there: it stays louder
    kiosk.repeat()
    wait_for(lambda: any(kiosk.wavs.glob("0003-*")), what="the repeat")
    kiosk.clock.now += 61  # gone: the next visitor hears the configured level
    kiosk.offer(view(OUT_OF_ORDER_ANSWER), NOW)
    wait_for(lambda: any(kiosk.wavs.glob("0004-*")), what="the next visitor's answer")

    assert quiet == pytest.approx(32000 * DEFAULT_VOLUME, abs=2)
    assert louder == pytest.approx(32000, abs=2) and peak(next(kiosk.wavs.glob("0003-*"))) == louder
    assert peak(next(kiosk.wavs.glob("0004-*"))) == quiet


def test_from_the_loudest_a_further_step_is_the_quietest(kiosk):
    levels = [kiosk.voice.louder() for _ in range(5)]
    assert levels == [1.0, 0.25, 0.5, 0.75, 1.0]


def test_no_other_sound_plays_longer_than_3_s_over_speech():
    with wave.open(io.BytesIO(chime_wav())) as chime:
        chime_s = chime.getnframes() / chime.getframerate()
    assert chime_s <= 3.0  # the monitor's chime, played before a call's speech, never over it
    for beep in BEEPS.values():  # the kiosk's buzzer sounds while its answer is spoken
        assert beep.count * (beep.on_s + beep.off_s) <= 3.0


def test_espeak_ng_speaks_louder_when_asked(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    quiet, loud = (Espeak().synthesize("Wartenummer A 42", volume=level) for level in (0.25, 1.0))
    (tmp_path / "quiet.wav").write_bytes(quiet)
    (tmp_path / "loud.wav").write_bytes(loud)

    assert peak(tmp_path / "loud.wav") > 2.5 * peak(tmp_path / "quiet.wav")


def test_before_a_chosen_language_gives_way_the_kiosk_says_so_aloud_once_and_a_repeat_keeps_it(tmp_path):
    clock, speech = Clock(), Speech()
    voice = KioskVoice(FilePlayer(tmp_path), speech, monotonic=clock)
    kiosk = KioskScreen(voice=voice, monotonic=clock, language_idle_s=60)  # buttons only, no touchscreen
    kiosk.set_connected(True)
    surface = pygame.Surface((800, 480))
    try:
        kiosk.offer(view(controls={"language": 0}), NOW)
        kiosk.offer(view(controls={"language": 1}, language="en"), NOW)
        kiosk.render(surface, NOW)
        wait_for(lambda: voice.spoken, what="the language's name")
        clock.now += 51  # ten seconds before German comes back
        for _ in range(2):
            frame = kiosk.render(surface, NOW)
        wait_for(lambda: len(voice.spoken) == 2, what="the warning")
        assert len(speech.asked) == 2  # drawn twice, warned once
        kiosk.repeat()
        clock.now += 50
    finally:
        voice.close()

    assert voice.spoken[1][:2] == ("en", text("language_returning_button", "en"))
    assert frame.texts("language_returning")[0] == text("language_returning_button", "en")
    assert kiosk.language == "en"  # the repeat was the visitor saying they are still there


def test_a_name_that_slipped_into_the_daemons_answer_is_never_spoken(kiosk):
    answer = TICKET.to_json()
    answer["name"] = "Erika Mustermann"
    answer["message"]["body"]["params"]["name"] = "Erika Mustermann"
    kiosk.offer(view(), NOW)

    kiosk.offer(parse_view(sample_view(NOW, languages=OFFERED, kiosk={"answer": answer})), NOW)
    kiosk.repeat()

    spoken = heard(kiosk, 1)
    assert spoken and not any("Erika" in words or "Mustermann" in words for _, words in spoken)
    assert "A 42" in spoken[0][1]


def test_touching_a_concern_cuts_off_the_speech_and_says_one_moment(kiosk):
    kiosk.offer(view(), NOW)
    frame = kiosk.render(pygame.Surface((800, 480)), NOW)

    assert kiosk.touched(frame.buttons[0].rect.center)

    assert heard(kiosk, 1) == [("de", text("one_moment"))]


class StopRecordingPlayer(FilePlayer):
    """Writes WAVs as FilePlayer does and counts the times what was playing was cut off."""

    stops = 0

    def stop(self) -> None:
        self.stops += 1


def test_a_ticket_buttons_press_cuts_off_the_speech_at_once_not_when_its_answer_arrives(kiosk):
    kiosk.voice.player = StopRecordingPlayer(kiosk.wavs)
    kiosk.offer(view(TICKET, controls={"ticket": 2}), NOW)  # the last visitor's ticket, still being spoken
    heard(kiosk, 1)
    stops = kiosk.voice.player.stops

    kiosk.offer(view(TICKET, controls={"ticket": 3}), NOW)  # a ticket button pressed: no answer yet

    assert kiosk.voice.player.stops == stops + 1  # cut off before offer returned
    assert kiosk.screen() == OneMoment()
    assert heard(kiosk, 2)[1] == ("de", text("one_moment"))

    following = KioskAnswer(ticket_message("A043", 4, (15, 25)), "A043", NOW, ahead=4, wait=(15, 25))
    kiosk.offer(view(following, controls={"ticket": 3}), NOW)  # its answer, in a later view

    assert heard(kiosk, 3)[2] == ("de", spoken_answer(kiosk.screen(), "de")) and "A 43" in heard(kiosk, 3)[2][1]


def test_a_press_and_its_answer_in_one_view_leave_the_answer_on_screen_and_in_the_ear(kiosk):
    kiosk.offer(view(controls={"ticket": 0}), NOW)

    kiosk.offer(view(OUT_OF_ORDER_ANSWER, controls={"ticket": 1}), NOW)  # refused at once: no printer

    assert kiosk.screen() == OUT_OF_ORDER
    wait_for(lambda: kiosk.voice.spoken and kiosk.voice.spoken[-1][1] == spoken_answer(OUT_OF_ORDER, "de"))
