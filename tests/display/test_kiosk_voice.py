"""The kiosk's answers spoken: in the screen's language, offline, the next answer cutting off the last,
and nothing but codes and counts."""

import os
import shutil
import threading

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pytest  # noqa: E402

from appliance.display.announcer import Espeak, FilePlayer, chime_wav  # noqa: E402
from appliance.display.kiosk import KioskScreen  # noqa: E402
from appliance.display.kiosk_render import KioskTicket  # noqa: E402
from appliance.display.kiosk_voice import KioskVoice, spoken_answer  # noqa: E402
from appliance.display.view import WaitRange, parse_view  # noqa: E402
from appliance.domain.screen import KioskAnswer  # noqa: E402
from appliance.domain.wording import OUT_OF_ORDER  # noqa: E402
from support import ANSWER_S, TEST_START, wait_for  # noqa: E402
from support.samples import sample_view  # noqa: E402


class Speech:
    def __init__(self):
        self.voices = []

    def synthesize(self, text, voice=None, volume=1.0):
        self.voices.append(voice)
        return chime_wav()


class HeldPlayer(FilePlayer):
    """Plays until stopped, like a long answer still being spoken."""

    def __init__(self, folder):
        super().__init__(folder)
        self.playing, self._stopped, self.stops = threading.Event(), threading.Event(), 0

    def play(self, name, wav):
        super().play(name, wav)
        self.playing.set()
        self._stopped.wait()  # as long as the test takes: only a cut-off (or the voice's close) ends it
        self._stopped.clear()

    def stop(self):
        self.stops += 1
        self._stopped.set()


def test_a_ticket_is_spoken_with_its_number_letter_by_letter_and_its_place_in_the_queue():
    ticket = KioskTicket("A042", ahead=3, wait=WaitRange(10, 20))

    assert spoken_answer(ticket, "de") == (
        "Ihre Wartenummer: A 42. Bitte nehmen Sie Ihren Zettel. Vor Ihnen: 3 Personen. Wartezeit ca. 10–20 Min."
    )
    assert spoken_answer(OUT_OF_ORDER, "tr").startswith("Hizmet dışı. Şu anda burada sıra numarası verilmiyor.")


def test_each_answer_is_spoken_in_the_language_the_screen_shows_first(tmp_path):
    speech = Speech()
    voice = KioskVoice(FilePlayer(tmp_path), speech)
    screen = KioskScreen(lambda concern, language: None, touch=True, voice=voice)
    screen.set_connected(True)
    now = TEST_START
    offered = ["de", "en", "ar"]
    screen.offer(parse_view(sample_view(now, languages=offered, kiosk={"answer": None})), now)
    screen.choose_language("ar")
    try:
        answer = KioskAnswer(OUT_OF_ORDER, None, now).to_json()
        screen.offer(parse_view(sample_view(now, languages=offered, kiosk={"answer": answer})), now)
        wait_for(lambda: voice.spoken, what="the spoken answer")
    finally:
        voice.close()

    language, text, _ = voice.spoken[0]
    assert (language, text) == ("ar", spoken_answer(OUT_OF_ORDER, "ar")) and speech.voices == ["ar"]
    assert [p.name for p in tmp_path.iterdir()] == ["0001-answer-ar.wav"]


def test_the_next_answer_cuts_off_the_one_being_spoken(tmp_path):
    player = HeldPlayer(tmp_path)
    voice = KioskVoice(player, Speech())
    try:
        voice.say(OUT_OF_ORDER, "de")
        assert player.playing.wait(ANSWER_S)
        player.playing.clear()
        voice.say(KioskTicket("C007", ahead=0), "de")
        assert player.playing.wait(ANSWER_S)
    finally:
        voice.close()

    assert player.stops >= 1
    assert [text.split(".")[0] for _, text, _ in voice.spoken] == ["Außer Betrieb", "Ihre Wartenummer: C 7"]


@pytest.mark.parametrize("language", ["de", "uk", "ar", "fa"])
def test_espeak_ng_speaks_the_answer_offline_in_each_language(language, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    voice = KioskVoice(FilePlayer(tmp_path), Espeak())
    try:
        voice.say(OUT_OF_ORDER, language)
        wait_for(lambda: voice.spoken, what="espeak-ng's answer")
    finally:
        voice.close()

    (wav,) = tmp_path.glob(f"*-answer-{language}.wav")
    assert wav.stat().st_size > 20_000  # seconds of speech, not an empty file
