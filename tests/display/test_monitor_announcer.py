"""Announcements: each call once, in order, never cut off or mixed; offline speech; silent when it must be."""

import array
import io
import logging
import math
import os
import shutil
import threading
import time
import wave
from datetime import timedelta
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import pygame  # noqa: E402
import pytest  # noqa: E402

from appliance.display import announcer as announcer_module  # noqa: E402
from appliance.display.announcer import (  # noqa: E402
    Announcement,
    Announcer,
    Espeak,
    FilePlayer,
    MixerPlayer,
    chime_wav,
    spoken_code,
    spoken_text,
)
from appliance.display.view import parse_view  # noqa: E402
from appliance.domain.catalogs import LANGUAGES  # noqa: E402
from support import ANSWER_S  # noqa: E402
from support.samples import NOW, call, sample_view  # noqa: E402


def calls(*entries):
    """View calls (newest first) from (code, counter, seconds before NOW) tuples."""
    return parse_view(
        sample_view(calls=[call(code, counter, NOW - timedelta(seconds=ago)) for code, counter, ago in entries])
    ).recent_calls


class RecordingSpeech:
    """Wraps a synthesizer and records what it was asked to say, in order."""

    def __init__(self, inner=None):
        self.inner = inner
        self.texts: list[str] = []

    def synthesize(self, text, voice=None):
        self.texts.append(text)
        return self.inner.synthesize(text, voice) if self.inner else chime_wav()


def wav_facts(path: Path) -> tuple[float, float]:
    """Duration in seconds and RMS level (0..1) of a 16-bit WAV file, read with the stdlib."""
    with wave.open(str(path)) as reader:
        assert reader.getsampwidth() == 2
        samples = array.array("h", reader.readframes(reader.getnframes()))
        duration = reader.getnframes() / reader.getframerate()
    return duration, math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768


def test_codes_are_spoken_as_letters_and_a_number_and_counters_as_numbers():
    assert spoken_code("A042") == "A 42"
    assert spoken_code("AB007") == "A B 7"
    assert spoken_code("T-4821") == "T 4821"
    assert spoken_text(Announcement("A042", "3", NOW)) == "Wartenummer A 42, bitte zu Schalter 3."
    assert spoken_text(Announcement("C100", "07", NOW), "en") == "Number C 100, please go to counter 7."


def test_three_back_to_back_calls_are_announced_each_once_in_call_order(tmp_path):
    speech = RecordingSpeech()
    announcer = Announcer(FilePlayer(tmp_path), speech=speech, pause_s=0)
    try:
        new = announcer.offer(calls(("A003", 3, 1), ("A002", 2, 2), ("A001", 1, 3)), NOW)
        assert announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()

    assert [a.code for a in new] == [a.code for a in announcer.announced] == ["A001", "A002", "A003"]
    assert speech.texts == [
        "Wartenummer A 1, bitte zu Schalter 1.",
        "Wartenummer A 2, bitte zu Schalter 2.",
        "Wartenummer A 3, bitte zu Schalter 3.",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "0001-chime.wav",
        "0002-speech-de.wav",
        "0003-chime.wav",
        "0004-speech-de.wav",
        "0005-chime.wav",
        "0006-speech-de.wav",
    ]


def test_calls_arriving_in_quick_views_while_one_plays_queue_behind_it(tmp_path):
    release = threading.Event()

    class SlowPlayer(FilePlayer):
        def play(self, name, wav):
            release.wait()  # the first announcement is still "playing" while the next views arrive
            super().play(name, wav)

    announcer = Announcer(SlowPlayer(tmp_path), speech=RecordingSpeech(), pause_s=0)
    try:
        announcer.offer(calls(("A001", 1, 3)), NOW)
        announcer.offer(calls(("A002", 2, 2), ("A001", 1, 3)), NOW)
        announcer.offer(calls(("A003", 3, 1), ("A002", 2, 2), ("A001", 1, 3)), NOW)
        release.set()
        assert announcer.wait_idle(ANSWER_S)
    finally:
        release.set()
        announcer.close()

    assert [a.code for a in announcer.announced] == ["A001", "A002", "A003"]
    assert len(list(tmp_path.iterdir())) == 6


def test_the_same_calls_after_a_reconnect_are_not_announced_again(tmp_path):
    announcer = Announcer(FilePlayer(tmp_path), pause_s=0)
    view_calls = calls(("A002", 2, 2), ("A001", 1, 3))
    try:
        first = announcer.offer(view_calls, NOW)
        again = announcer.offer(view_calls, NOW + timedelta(seconds=1))
        recalled = announcer.offer(calls(("A001", 4, 0), ("A002", 2, 2)), NOW)  # called again, to counter 4
        assert announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()

    assert [a.code for a in first] == ["A001", "A002"] and again == []
    assert [(a.code, a.counter) for a in recalled] == [("A001", "4")]
    assert len(announcer.announced) == 3


def test_calls_already_old_when_the_monitor_first_sees_them_stay_silent(tmp_path):
    announcer = Announcer(FilePlayer(tmp_path), pause_s=0, fresh_s=20)
    try:
        new = announcer.offer(calls(("A010", 1, 5), ("A009", 2, 300), ("A008", 3, 3600)), NOW)
        announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()

    assert [a.code for a in new] == ["A010"]


def test_months_of_calls_keep_the_announcers_memory_bounded():
    class Silent:
        def play(self, name, wav):
            pass

    announcer = Announcer(Silent(), chime=False, pause_s=0)
    try:
        for index in range(3000):
            now = NOW + timedelta(seconds=index)
            view = parse_view(sample_view(now, calls=[call(f"A{index % 1000:03d}", index % 9 + 1, now)]))
            announcer.offer(view.recent_calls, now)
        assert announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()

    assert len(announcer.announced) <= 100 and len(announcer._seen) <= announcer_module.REMEMBER
    assert announcer.announced[-1].code == "A999"


def test_the_chime_is_two_tones_of_about_a_second_and_clearly_audible(tmp_path):
    path = tmp_path / "chime.wav"
    path.write_bytes(chime_wav())

    duration, level = wav_facts(path)

    assert 1.0 <= duration <= 1.5 and level > 0.05


def test_espeak_ng_writes_non_silent_speech_for_each_call_into_files(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    speech = RecordingSpeech(Espeak())
    announcer = Announcer(FilePlayer(tmp_path), speech=speech, pause_s=0)
    try:
        announcer.offer(calls(("A003", 3, 1), ("A002", 2, 2), ("A001", 1, 3)), NOW)
        assert announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()

    spoken = sorted(tmp_path.glob("*-speech-de.wav"))
    assert len(spoken) == 3
    for path in spoken:
        duration, level = wav_facts(path)
        assert duration > 1.5 and level > 0.02, (path.name, duration, level)


def test_a_missing_espeak_ng_leaves_the_chime_and_warns_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(announcer_module.shutil, "which", lambda name: None)
    announcer = Announcer(FilePlayer(tmp_path), speech=Espeak(), pause_s=0)
    with caplog.at_level(logging.WARNING):
        try:
            announcer.offer(calls(("A002", 2, 2), ("A001", 1, 3)), NOW)
            assert announcer.wait_idle(ANSWER_S)
        finally:
            announcer.close()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001-chime.wav", "0002-chime.wav"]
    assert len([r for r in caplog.records if "espeak-ng" in r.message]) == 1


def test_with_sdls_dummy_audio_each_sound_plays_to_its_end_before_the_next_starts():
    played: list[tuple[str, float, float, float]] = []

    class TimedMixer(MixerPlayer):
        def play(self, name, wav):
            started = time.monotonic()
            super().play(name, wav)
            with wave.open(io.BytesIO(wav)) as reader:
                length = reader.getnframes() / reader.getframerate()
            played.append((name, started, time.monotonic(), length))

    announcer = Announcer(TimedMixer(), pause_s=0.05)
    try:
        announcer.offer(calls(("A003", 3, 1), ("A002", 2, 2), ("A001", 1, 3)), NOW)
        assert announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()
        pygame.mixer.quit()

    assert [a.code for a in announcer.announced] == ["A001", "A002", "A003"]
    assert len(played) == 3
    for (_, start, end, length), following in zip(played, played[1:] + [None]):
        assert end - start >= length * 0.9  # not cut off
        if following:
            assert following[1] >= end  # never two at once


def test_without_a_usable_mixer_calls_are_logged_once_and_the_announcer_keeps_going(monkeypatch, caplog):
    def no_audio():
        raise pygame.error("No available audio device")

    monkeypatch.setattr(pygame.mixer, "init", no_audio)
    announcer = Announcer(MixerPlayer(), pause_s=0)
    with caplog.at_level(logging.WARNING):
        try:
            announcer.offer(calls(("A002", 2, 2), ("A001", 1, 3)), NOW)
            assert announcer.wait_idle(ANSWER_S)
            announcer.offer(calls(("A003", 3, 1), ("A002", 2, 2)), NOW)
            assert announcer.wait_idle(ANSWER_S)
        finally:
            announcer.close()

    assert [a.code for a in announcer.announced] == ["A001", "A002", "A003"]
    assert len([r for r in caplog.records if "no sound" in r.message]) == 1


def test_nothing_is_sent_anywhere_speech_runs_as_a_local_program():
    # The only way out of the announcer is a subprocess of espeak-ng writing a local file.
    source = Path(announcer_module.__file__).read_text()
    assert "socket" not in source and "http" not in source and "urllib" not in source


def test_each_call_is_spoken_in_german_then_in_the_offices_second_language(tmp_path):
    speech = RecordingSpeech()
    announcer = Announcer(FilePlayer(tmp_path), speech=speech, languages=("de", "ar"), pause_s=0)
    try:
        announcer.offer(calls(("A001", 3, 1)), NOW)
        assert announcer.wait_idle(ANSWER_S)
    finally:
        announcer.close()

    assert speech.texts == ["Wartenummer A 1, bitte zu Schalter 3.", "الرقم A 1، يرجى التوجه إلى الشباك 3."]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001-chime.wav", "0002-speech-de.wav", "0003-speech-ar.wav"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_espeak_ng_has_a_voice_for_every_shipped_language(language, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    wav = Espeak().synthesize(spoken_text(Announcement("A042", "3", NOW), language), voice=language)

    assert wav is not None
    (tmp_path / "voice.wav").write_bytes(wav)
    duration, level = wav_facts(tmp_path / "voice.wav")
    assert duration > 1.0 and level > 0.02
