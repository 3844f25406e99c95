"""Announcements: a chime and offline speech for every new call, each once, in order, never cut off.

One worker thread plays them one after the other; speech comes from espeak-ng on this device only.
"""

import io
import logging
import math
import queue
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import wave
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from appliance.domain.snapshot import CallEntry
from appliance.domain.wording import text

log = logging.getLogger(__name__)

RATE = 22050
# A call older than this when the monitor first sees it is history, not news: after a monitor
# restart the last calls arrive again and must not be called out a second time.
FRESH_S = 20.0
# Enough keys to cover a day's calls on one monitor; older keys cannot come back in recent_calls.
REMEMBER = 2000


@dataclass(frozen=True)
class Announcement:
    code: str
    counter: str
    called_at: datetime
    call: str = ""  # the backend's id: a recall is another call, announced once more

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.code, self.counter, self.called_at.isoformat(), self.call)


def spoken_code(code: str) -> str:
    """'A042' -> 'A 42', 'AB007' -> 'A B 7': letters one by one, the number as a number."""
    letters = "".join(ch for ch in code if ch.isalpha())
    digits = "".join(ch for ch in code if ch.isdigit())
    parts = list(letters) + ([str(int(digits))] if digits else [])
    return " ".join(parts) or code


def spoken_text(call: Announcement, language: str = "de") -> str:
    counter = str(int(call.counter)) if call.counter.isdigit() else " ".join(call.counter)
    return text("announce", language, code=spoken_code(call.code), counter=counter)


def chime_wav() -> bytes:
    """A short two-tone chime (E5 then C5, bell-like decay) as WAV bytes, made with the stdlib."""
    frames = bytearray()
    for frequency, seconds in ((659.25, 0.45), (523.25, 0.75)):
        count = int(RATE * seconds)
        for index in range(count):
            t = index / RATE
            envelope = math.exp(-4.0 * t) * min(1.0, index / (RATE * 0.005))  # 5 ms attack: no click
            sample = (math.sin(2 * math.pi * frequency * t) + 0.3 * math.sin(4 * math.pi * frequency * t)) / 1.3
            frames += struct.pack("<h", int(sample * envelope * 0.6 * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(bytes(frames))
    return out.getvalue()


class Espeak:
    """Speech as WAV bytes from espeak-ng, run on the device; None (logged once) when it is missing."""

    def __init__(self, voice: str = "de", words_per_minute: int = 140):
        self.voice = voice
        # Slower than espeak's 175: numbers in a reverberant waiting room need room between them.
        self.words_per_minute = words_per_minute
        self._warned = False

    def synthesize(self, text: str, voice: str | None = None, volume: float = 1.0) -> bytes | None:
        """``volume`` 1.0 is espeak-ng's own amplitude, the loudest it speaks without clipping."""
        program = shutil.which("espeak-ng")
        if program is None:
            return self._fail("espeak-ng is not installed (Debian package espeak-ng); calls get the chime only")
        with tempfile.TemporaryDirectory(prefix="announce-") as folder:
            target = Path(folder) / "speech.wav"
            try:
                subprocess.run(
                    [
                        program,
                        *("-v", voice or self.voice, "-s", str(self.words_per_minute)),
                        *("-a", str(round(100 * volume)), "-w", str(target), text),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=15,
                )
                return target.read_bytes()
            except (subprocess.SubprocessError, OSError) as error:
                return self._fail(f"espeak-ng failed ({error}); calls get the chime only")

    def _fail(self, message: str) -> None:
        if not self._warned:
            log.warning(message)
            self._warned = True
        return None


class MixerPlayer:
    """Plays WAV bytes through pygame.mixer and returns when they have finished; ``device`` is SDL's name
    of the output (a headphone jack, say), None for the default."""

    def __init__(self, device: str | None = None):
        self.device = device
        self._ready: bool | None = None
        self._channel = None

    def stop(self) -> None:
        """Cuts off what is playing (the kiosk's next answer interrupts the last)."""
        channel = self._channel
        if channel is not None:
            channel.stop()

    def play(self, name: str, wav: bytes) -> None:
        if not self._init():
            return
        import pygame

        sound = pygame.mixer.Sound(file=io.BytesIO(wav))
        channel = sound.play()
        self._channel = channel
        deadline = time.monotonic() + sound.get_length() + 2.0
        while channel is not None and channel.get_busy() and time.monotonic() < deadline:
            time.sleep(0.02)

    def _init(self) -> bool:
        if self._ready is None:
            try:
                import pygame

                pygame.mixer.init(devicename=self.device)
                self._ready = True
            except Exception as error:  # no sound card, no driver: the screen still works
                log.warning("no sound (%s%s); calls are shown but not announced", error, self._devices_hint())
                self._ready = False
        return self._ready

    def _devices_hint(self) -> str:
        """The output devices SDL knows, when a named one could not be opened."""
        if self.device is None:
            return ""
        try:
            from pygame._sdl2.audio import get_audio_device_names

            return f"; output {self.device!r}, known: {', '.join(get_audio_device_names()) or 'none'}"
        except Exception:
            return f"; output {self.device!r}"


class FilePlayer:
    """Writes each sound to a numbered WAV in ``folder`` instead of playing it: headless and tests."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def play(self, name: str, wav: bytes) -> None:
        self.count += 1
        # Whole or not at all: whoever watches the folder may open a file the moment its name appears.
        partial = self.folder / f".{self.count:04d}-{name}.wav.part"
        partial.write_bytes(wav)
        partial.replace(self.folder / f"{self.count:04d}-{name}.wav")

    def stop(self) -> None:
        """A file once written stays whole."""


class Announcer:
    """Takes each view's recent calls; announces the new ones once, oldest first, one at a time."""

    def __init__(
        self,
        player,
        *,
        speech: Espeak | None = None,
        languages: tuple[str, ...] = ("de",),
        chime: bool = True,
        fresh_s: float = FRESH_S,
        pause_s: float = 0.4,
    ):
        self.player = player
        self.speech = speech
        self.languages = languages
        self.chime = chime_wav() if chime else None
        self.fresh_s = fresh_s
        self.pause_s = pause_s
        # The last ones played, in order (for tests and a status line); bounded, as the monitor runs for months.
        self.announced: deque[Announcement] = deque(maxlen=100)
        self._seen: set[tuple] = set()
        self._seen_order: deque = deque()
        self._queue: queue.Queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._work, name="announcer", daemon=True)
        self._thread.start()

    def offer(self, calls: tuple[CallEntry, ...], now: datetime) -> list[Announcement]:
        """Queues the calls not seen before (``calls`` newest first, as in the view); returns them."""
        new = []
        for call in reversed(calls):
            item = Announcement(call.code, str(call.counter), call.called_at, call.call)
            if item.key in self._seen:
                continue
            self._remember(item.key)
            if now - call.called_at > timedelta(seconds=self.fresh_s):
                continue
            new.append(item)
        for item in sorted(new, key=lambda a: a.called_at):  # stable: equal times keep the view's order
            with self._lock:
                self._pending += 1
                self._idle.clear()
            self._queue.put(item)
        return new

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every queued announcement has been played."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _remember(self, key) -> None:
        self._seen.add(key)
        self._seen_order.append(key)
        while len(self._seen_order) > REMEMBER:
            self._seen.discard(self._seen_order.popleft())

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._announce(item)
            except Exception:  # one bad sound must not silence every later call
                log.exception("announcing %s failed", item.code)
            self.announced.append(item)
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()

    def _announce(self, item: Announcement) -> None:
        log.info("announcing %s to counter %s", item.code, item.counter)
        if self.chime:
            self.player.play("chime", self.chime)
        if self.speech:
            for language in self.languages:
                wav = self.speech.synthesize(spoken_text(item, language), voice=language)
                if wav:
                    self.player.play(f"speech-{language}", wav)
        time.sleep(self.pause_s)  # a breath between two calls, so they do not run together
