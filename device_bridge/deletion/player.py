"""How the bridge says a phrase out loud: the Player seam, a real one on a sound card, and a simulated one.

`Player.play(path)` plays a WAV file to the end and returns, or raises PlaybackError; `status()` says
whether there is an output to play on. The real `SoundDevicePlayer` plays through PortAudio (sounddevice)
on the configured output device (`[deletion] output_device`); `SimulatedPlayer` is what `--simulate` and
the tests use: it plays nothing, records what it was given, and makes the simulated speaker the phrase
was meant for answer with an upload about a second after the phrase, unless that speaker is set to
ignore it.

A loudspeaker reaches every speaker in the room; `speaker_id` only tells the simulation who should answer.
PortAudio lists the sound cards when it starts: one plugged in later is used after the bridge restarts.
"""

from __future__ import annotations

import logging
import threading
import time
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from device_bridge.deletion.phrases import PhraseAudioError, check_wav, pcm_samples

log = logging.getLogger(__name__)

#: How long after the phrase ends a simulated speaker starts its upload.
ANSWER_AFTER_S = 1.0
#: How much longer than the phrase a sound card may take before playback is given up.
PLAY_MARGIN_S = 5.0


class PlaybackError(Exception):
    """The phrase could not be played; `str()` says why, in plain words."""


class Player(Protocol):
    """Plays a phrase's WAV file through the bridge's loudspeaker."""

    def play(self, path: Path, *, speaker_id: str | None = None) -> None:
        """Play the file to its end; PlaybackError if that is not possible."""
        ...

    def status(self) -> tuple[bool, str]:
        """(an output is there to play on, in words)."""
        ...


# --- the real one --------------------------------------------------------------------------------------

class SoundDevicePlayer:
    """Plays through PortAudio (sounddevice) on one output device.

    Attributes:
        device: the configured output device's name or part of it ("" = the system's default output).
    """

    def __init__(self, device: str = "") -> None:
        self.device = device

    def status(self) -> tuple[bool, str]:
        try:
            sd = _sounddevice()
            index, name = self._output(sd)
        except PlaybackError as error:
            return False, str(error)
        return True, f"plays on {name!r}" + (" (the default output)" if index is None else "")

    def play(self, path: Path, *, speaker_id: str | None = None) -> None:
        """Play to the end. A device that stops calling back does not hold the run (and the lifted mute): after
        the phrase's length and PLAY_MARGIN_S, playback is stopped and PlaybackError raised."""
        del speaker_id  # the room hears it; there is nothing to aim
        data, rate = _read_samples(path)
        sd = _sounddevice()
        index, name = self._output(sd)
        seconds = len(data) / rate
        try:
            sd.play(data, rate, device=index)
            deadline = time.monotonic() + seconds + PLAY_MARGIN_S
            try:
                while sd.get_stream().active:
                    if time.monotonic() > deadline:
                        raise PlaybackError(f"the audio output {name!r} did not finish a {seconds:.1f}-second phrase")
                    time.sleep(0.05)
            finally:
                sd.stop()
        except (sd.PortAudioError, ValueError, OSError) as error:
            raise PlaybackError(f"the audio output {name!r} failed: {error}") from None
        log.info("Played %s (%.1f s) on %s", Path(path).name, seconds, name)

    def _output(self, sd: Any) -> tuple[int | None, str]:
        """(device index, or None for the default; its name); PlaybackError when there is no such output."""
        try:
            devices = list(sd.query_devices())
        except sd.PortAudioError as error:
            raise PlaybackError(f"the bridge cannot list its audio outputs: {error}") from None
        outputs = [(i, d["name"]) for i, d in enumerate(devices) if d.get("max_output_channels", 0) > 0]
        if not outputs:
            raise PlaybackError("the bridge has no audio output: plug in a USB sound card or a loudspeaker and "
                                "restart the bridge (or set [deletion] output_device)")
        if self.device:
            wanted = self.device.lower()
            for index, name in outputs:
                if wanted in name.lower():
                    return index, name
            raise PlaybackError(f"no audio output called {self.device!r}; the bridge has "
                                + ", ".join(repr(n) for _, n in outputs))
        try:
            default = sd.query_devices(kind="output")
        except (sd.PortAudioError, ValueError):
            return outputs[0]
        return None, default["name"]


def _sounddevice() -> Any:
    """The sounddevice module (imported late: it needs the PortAudio library, only for playing)."""
    try:
        import sounddevice
    except OSError:
        raise PlaybackError("PortAudio is not installed, so the bridge cannot play sound "
                            "(on the bridge: sudo apt install libportaudio2)") from None
    return sounddevice


def _read_samples(path: Path) -> tuple[np.ndarray, int]:
    """(frames x channels float32 in -1..1, sample rate) of a WAV file; PlaybackError if unreadable."""
    try:
        with wave.open(str(path), "rb") as reader:
            rate, width, channels = reader.getframerate(), reader.getsampwidth(), reader.getnchannels()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, OSError) as error:
        raise PlaybackError(f"{Path(path).name} cannot be read: {error}") from None
    samples = pcm_samples(frames, width)
    return samples[: len(samples) // channels * channels].reshape(-1, channels), rate


# --- the simulated one ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Played:
    """One phrase the SimulatedPlayer played.

    Attributes:
        path: the WAV file.
        duration_s: how long it lasted.
        when: clock time it began.
        speaker_id: whom it was meant for (None if not said).
    """

    path: Path
    duration_s: float
    when: float
    speaker_id: str | None


class SimulatedPlayer:
    """A Player for `--simulate` and tests: takes as long as the phrase lasts (on its `sleep`), plays nothing.

    With a SimulatedTrafficSource, the speaker the phrase is for answers with a voice upload
    `answer_after_s` after the phrase ends (`inject_burst`), unless it is among the ignored ones. A
    muted speaker's upload does not go out: the simulated source already drops it.

    Attributes:
        played: every phrase played, in order.
        failure: when set, `play` raises PlaybackError with this text (a test's broken loudspeaker).
    """

    def __init__(self, source: Any = None, *, ignored: Iterable[str] = (), clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] = time.sleep, answer_after_s: float = ANSWER_AFTER_S) -> None:
        self._source = source
        self._ignored = set(ignored)
        self._clock = clock
        self._sleep = sleep
        self._answer_after_s = answer_after_s
        self._lock = threading.Lock()
        self.played: list[Played] = []
        self.failure: str | None = None

    def ignore(self, speaker_id: str, ignored: bool = True) -> None:
        """Let the speaker ignore phrases from now on (or answer them again)."""
        with self._lock:
            if ignored:
                self._ignored.add(speaker_id)
            else:
                self._ignored.discard(speaker_id)

    def status(self) -> tuple[bool, str]:
        return True, "simulated loudspeaker (--simulate): the simulated speakers hear it"

    def play(self, path: Path, *, speaker_id: str | None = None) -> None:
        with self._lock:
            failure = self.failure
            answers = self._source is not None and speaker_id is not None and speaker_id not in self._ignored
        if failure:
            raise PlaybackError(failure)
        try:
            duration = check_wav(path).duration_s
        except PhraseAudioError as error:
            raise PlaybackError(str(error)) from None
        start = self._clock()
        with self._lock:
            self.played.append(Played(path=Path(path), duration_s=duration, when=start, speaker_id=speaker_id))
        if answers:
            self._source.inject_burst(speaker_id, at=start + duration + self._answer_after_s, kind="voice")
        log.info("simulated loudspeaker: %s (%.1f s) for %s", Path(path).name, duration, speaker_id or "anyone")
        self._sleep(duration)
