"""Real speech for the microphone tests (espeak-ng), noise at a chosen SNR, the ground truth, and a stand-in
for PortAudio that feeds the meter through its own callback."""

from __future__ import annotations

import math
import shutil
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from app.audio import SAMPLE_RATE

READING = 1600  # samples per 0.1-s reading at 16 kHz
SPEECH_DBFS = -26.0  # the active speech level the scene is set to
# (voice, sentence): several voices and pitches, the kind of things said near a smart speaker.
SENTENCES = (
    ("en-us", "Alexa, what is the weather like in Berlin tomorrow morning?"),
    ("en-gb", "Turn off the kitchen lights and set a timer for ten minutes."),
    ("en-us+f3", "Hey Google, play some quiet music in the living room."),
    ("en-gb+m3", "Did you remember to buy milk on the way home?"),
    ("en-us+f2", "I think the train leaves at half past seven."),
    ("en-us", "Remind me to call my sister on Sunday afternoon."),
    ("en-gb+f4", "How many grams of flour go into a loaf of bread?"),
    ("en-us+m2", "Okay, let's go. We are already late."),
)
ESPEAK = shutil.which("espeak-ng")
# (noise, SNR dB, rate, Score) rows the accuracy tests measured; conftest prints them at the end of the run.
ACCURACY: list[tuple[str, float, int, Score]] = []


def fft_resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a whole signal (independent of the product's streaming resampler)."""
    n_out = round(len(samples) * rate_out / rate_in)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins = n_out // 2 + 1
    resized = np.zeros(bins, dtype=complex)
    keep = min(bins, len(spectrum))
    resized[:keep] = spectrum[:keep]
    return np.fft.irfft(resized, n_out) * (n_out / len(samples))


def speak(text: str, voice: str, directory: Path) -> np.ndarray:
    """espeak-ng's rendering of `text` at 16 kHz (float, int16 scale)."""
    path = directory / "speech.wav"
    subprocess.run([ESPEAK, "-v", voice, "-w", str(path), text], check=True, capture_output=True, timeout=60)
    with wave.open(str(path)) as file:
        rate = file.getframerate()
        samples = np.frombuffer(file.readframes(file.getnframes()), dtype=np.int16)
    path.unlink()
    return fft_resample(samples, rate, SAMPLE_RATE)


@dataclass
class Scene:
    """Sentences with pauses of 1-3 s between them, at 16 kHz.

    Attributes:
        clean: the speech alone, scaled to SPEECH_DBFS over its active part.
        truth: one bool per 0.1-s reading: speech in the clean signal (see `ground_truth`).
        active: one bool per sample: inside speech.
    """

    clean: np.ndarray
    truth: np.ndarray
    active: np.ndarray = field(repr=False)

    def mixed(self, noise: np.ndarray, snr_db: float) -> np.ndarray:
        """The scene with `noise` scaled so that active speech power / noise power = snr_db, as int16."""
        speech_power = float(np.mean(self.clean[self.active] ** 2))
        scaled = noise * math.sqrt(speech_power / 10 ** (snr_db / 10) / float(np.mean(noise ** 2)))
        return np.clip(np.round(self.clean + scaled), -32768, 32767).astype(np.int16)


def build_scene(directory: Path, seed: int = 5) -> Scene:
    rng = np.random.default_rng(seed)
    parts = []
    for voice, text in SENTENCES:
        parts.append(np.zeros(int(SAMPLE_RATE * rng.uniform(1.0, 3.0))))
        parts.append(speak(text, voice, directory))
    parts.append(np.zeros(2 * SAMPLE_RATE))
    clean = np.concatenate(parts)
    clean = clean[:len(clean) - len(clean) % READING]
    truth, active = ground_truth(clean)
    clean *= 10 ** (SPEECH_DBFS / 20) * 32768 / math.sqrt(float(np.mean(clean[active] ** 2)))
    return Scene(clean=clean, truth=truth, active=active)


def ground_truth(clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From the clean signal's energy: a 10-ms frame is speech when it is within 45 dB of the loudest one;
    gaps up to 200 ms inside speech (stops, pauses between words) count as speech; a 0.1-s reading is
    speech when at least half of its frames are."""
    frames = clean.reshape(-1, 160)
    energy = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-9)
    voiced = energy > energy.max() - 45.0
    idx = np.flatnonzero(voiced)
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= 20:
            voiced[a:b] = True
    truth = voiced.reshape(-1, 10).mean(axis=1) >= 0.5
    return truth, np.repeat(voiced, 160)


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(n)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f power spectrum (rain, a fan, traffic through a window)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n)


NOISES: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {"white": white_noise, "pink": pink_noise}


@dataclass(frozen=True)
class Score:
    """Speech/no-speech agreement of readings with the ground truth.

    Attributes:
        accuracy: share of readings that agree.
        recall: share of speech readings read as speech.
        false_alarm: share of no-speech readings read as speech.
        far_false_alarm: the same, only for readings more than 0.5 s from any speech (noise alone).
    """

    accuracy: float
    recall: float
    false_alarm: float
    far_false_alarm: float


def score(speech: np.ndarray, truth: np.ndarray) -> Score:
    n = min(len(speech), len(truth))
    speech, truth = np.asarray(speech[:n], dtype=bool), truth[:n]
    near = np.convolve(truth.astype(float), np.ones(11), mode="same") > 0
    return Score(
        accuracy=float(np.mean(speech == truth)),
        recall=float(np.mean(speech[truth])),
        false_alarm=float(np.mean(speech[~truth])),
        far_false_alarm=float(np.mean(speech[~near])),
    )


# --- a stand-in for PortAudio (the sounddevice module's interface the meter uses) ---------------------

def usb_mic(name: str = "USB PnP Sound Device: Audio (hw:1,0)", *, channels: int = 1,
            rates: tuple[int, ...] = (16000, 44100, 48000)) -> dict:
    """A device as query_devices() lists it, plus what the stand-in accepts: only these rates, and only
    `channels` channels (a device whose hardware records stereo cannot open in mono)."""
    return {"name": name, "max_input_channels": channels, "default_samplerate": float(rates[-1]),
            "hostapi": 0, "rates": rates}


class FakeStream:
    """An input stream that delivers what the test `feed`s, through the meter's callback, in blocks shaped
    like PortAudio's indata ((frames, channels) int16)."""

    def __init__(self, api: FakeSoundDevice, *, device: int, channels: int, samplerate: float, dtype: str,
                 blocksize: int, callback: Callable, finished_callback: Callable, **_options: Any) -> None:
        self.api = api
        self.device, self.channels, self.samplerate, self.dtype = device, channels, samplerate, dtype
        self.blocksize = blocksize or 800
        self.callback = callback
        self.finished_callback = finished_callback
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def close(self, ignore_errors: bool = True) -> None:
        self.closed = True

    def feed(self, samples: np.ndarray) -> None:
        """Deliver mono int16 samples (copied to every channel) block by block, as PortAudio would."""
        for start in range(0, len(samples), self.blocksize):
            block = samples[start:start + self.blocksize]
            indata = np.repeat(block.astype(np.int16).reshape(-1, 1), self.channels, axis=1)
            self.callback(indata, len(block), None, SimpleNamespace(input_overflow=False))

    def die(self) -> None:
        """The device went away: PortAudio ends the stream and calls its finished callback."""
        self.finished_callback()


class FakeSoundDevice:
    """Just enough of the sounddevice module for MicrophoneMeter: a device list the test edits, and input
    streams the test feeds. `opened` is set each time a stream starts."""

    class PortAudioError(Exception):
        pass

    def __init__(self, *devices: dict, default: int | None = 0) -> None:
        self.devices = list(devices)
        self.default = SimpleNamespace(device=[-1 if default is None else default, -1], hostapi=0)
        self.streams: list[FakeStream] = []
        self.refreshes = 0
        self.opened = threading.Event()

    def query_devices(self) -> list[dict]:
        return [{k: v for k, v in d.items() if k != "rates"} for d in self.devices]

    def check_input_settings(self, device: int, channels: int, dtype: str, samplerate: float) -> None:
        wanted = self.devices[device]
        if samplerate not in wanted["rates"]:
            raise self.PortAudioError("Invalid sample rate [PaErrorCode -9997]")
        if channels != wanted["max_input_channels"]:
            raise self.PortAudioError("Invalid number of channels [PaErrorCode -9998]")

    def InputStream(self, **options: Any) -> FakeStream:  # noqa: N802 - sounddevice's name
        stream = FakeStream(self, **options)
        self.streams.append(stream)
        self.opened.set()
        return stream

    def _terminate(self) -> None:
        self.refreshes += 1

    def _initialize(self) -> None:
        pass


class Recorder:
    """Collects a meter's callbacks, with the thread each came on, and lets a test wait for them."""

    def __init__(self) -> None:
        self.readings: list = []
        self.statuses: list = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()

    def on_reading(self, readings: list) -> None:
        with self._changed:
            self.readings.extend(readings)
            self.threads.add(threading.current_thread().name)
            self._changed.notify_all()

    def on_status(self, status) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
                self._changed.wait(min(left, 0.02))  # some predicates look at things no callback reports
            return result

    def states(self) -> list:
        return [s.state for s in self.statuses]


def feed_and_collect(stream: FakeStream, recorder: Recorder, samples: np.ndarray, rate: int = SAMPLE_RATE,
                     chunk_s: float = 1.0) -> list:
    """Feed `samples` a chunk at a time, each once the meter has turned the previous one into readings (the
    ring holds a few seconds, and PortAudio would not deliver faster than real time either)."""
    before = len(recorder.readings)
    chunk = int(chunk_s * rate)
    for start in range(0, len(samples), chunk):
        stream.feed(samples[start:start + chunk])
        expected = before + readings_from(min(len(samples), start + chunk), rate)
        recorder.wait_for(lambda expected=expected: len(recorder.readings) >= expected)
    return recorder.readings[before:]


def readings_from(samples: int, rate: int) -> int:
    """How many readings `samples` at `rate` surely complete: a reading is out once the 30-ms frame that
    crosses its end is whole; a converted rate may lag a sample or two behind."""
    at_16k = samples * SAMPLE_RATE // rate - (0 if rate == SAMPLE_RATE else 2)
    return max(0, at_16k // 480 * 480 // READING)
