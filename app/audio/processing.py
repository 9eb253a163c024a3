"""Room sound to numbers: 16-bit mono samples in, one LevelReading (level in dBFS, speech or not) per 0.1 s out.

    samples --(resampled to 16 kHz if the device records at another rate)--> 30 ms frames
        -> voiced: webrtcvad says so, AND the frame's speech band stands out of the room's noise floor
        -> SpeechGate: speech starts after 2 voiced frames out of 4 and holds 210 ms after the last one
    samples --(0.1 s windows)--> RMS level in dBFS; speech if the gate was open in a frame ending in it

webrtcvad alone calls any loud sound "voiced" (at -26 dBFS, white or pink noise is voiced in 98-100 % of
frames). So a frame counts only when its 250-3500 Hz band is ENERGY_MARGIN_DB above the (nearly) quietest
frame of the last half second and above ABSOLUTE_FLOOR_DBFS: a quiet room, or a noise that holds steady, never
reads as speech, whatever the classifier says; a noise that suddenly gets louder reads as speech for at
most about 0.7 s.

Pure computation on numpy arrays: no threads, no clock, no I/O. The microphone meter and the tests feed it
the same way, and nothing but the readings ever leaves it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import webrtcvad

SAMPLE_RATE = 16000
READING_INTERVAL_S = 0.1
FRAME_S = 0.03
LEVEL_FLOOR_DBFS = -100.0
# webrtcvad's aggressiveness (0-3); 2 keeps most quiet syllables while the energy test rejects loud noise.
VAD_MODE = 2
# A voiced frame must be this far above the noise floor, and above this absolute level.
ENERGY_MARGIN_DB = 4.0
ABSOLUTE_FLOOR_DBFS = -65.0
# The energy test measures the speech band only (a Hann-windowed FFT of the frame, 250-3500 Hz): rumble
# and pink noise swing widely below it, hiss piles up above it, and syllables live in it.
BAND_HZ = (250.0, 3500.0)
# The noise floor is the second-quietest frame of the last NOISE_WINDOW frames (0.5 s): a room that gets
# louder (a fan, the dishwasher) is the new floor within that time, speech dips between syllables that
# often, and one unusually quiet frame of a noise does not drag the floor down (pink noise's band level
# swings by +-3 dB from frame to frame).
NOISE_WINDOW = 17
NOISE_RANK = 1
_WARM_UP_FRAMES = 10  # no speech in the first 0.3 s: the floor is not known yet
# Speech starts when ONSET_VOICED of the last ONSET_WINDOW frames are voiced; it ends HANGOVER_FRAMES after
# the last voiced frame (bridges the gaps between words and stop consonants).
ONSET_WINDOW = 4
ONSET_VOICED = 2
HANGOVER_FRAMES = 7
# The stream's clock is re-anchored to the caller's when they disagree by more than this (a clock jump);
# smaller differences are followed slowly, so block jitter does not shake the readings' times.
_REANCHOR_S = 0.5
_ANCHOR_GAIN = 0.02
_FULL_SCALE = 32768.0

FRAME_SAMPLES = round(SAMPLE_RATE * FRAME_S)  # 480
READING_SAMPLES = round(SAMPLE_RATE * READING_INTERVAL_S)  # 1600
_WINDOW = np.hanning(FRAME_SAMPLES)
_FREQUENCIES = np.fft.rfftfreq(FRAME_SAMPLES, 1.0 / SAMPLE_RATE)
_BAND = (_FREQUENCIES >= BAND_HZ[0]) & (_FREQUENCIES <= BAND_HZ[1])
# Parseval with the window's power: a band sum of |X|^2 times this is the band's mean square per sample.
_BAND_SCALE = 2.0 / (FRAME_SAMPLES * float(np.sum(_WINDOW ** 2)))


@dataclass(frozen=True)
class LevelReading:
    """The room over one 0.1-s window.

    Attributes:
        time: epoch seconds at the end of the window.
        level_dbfs: RMS level in dB below full scale (LEVEL_FLOOR_DBFS for digital silence).
        speech: someone was speaking during the window.
    """

    time: float
    level_dbfs: float
    speech: bool


def dbfs(mean_square: float) -> float:
    """The level in dBFS of a mean square of int16 samples, never below LEVEL_FLOOR_DBFS."""
    if mean_square <= 0.0:
        return LEVEL_FLOOR_DBFS
    return max(LEVEL_FLOOR_DBFS, 10.0 * math.log10(mean_square / (_FULL_SCALE * _FULL_SCALE)))


def to_int16_mono(block: np.ndarray) -> np.ndarray:
    """int16 or float32 samples, shaped (n,) or (n, channels) like PortAudio's indata, as int16 mono."""
    samples = np.asarray(block)
    if samples.ndim == 2:
        samples = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)
    if samples.dtype == np.int16:
        return samples
    if np.issubdtype(samples.dtype, np.floating):
        return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    if np.issubdtype(samples.dtype, np.integer):
        return np.clip(samples, -32768, 32767).astype(np.int16)
    raise TypeError(f"samples of type {samples.dtype} are not audio")


class SpeechGate:
    """Turns per-frame voiced/unvoiced decisions into a steady speech on/off.

    A single voiced frame (a click, a cough) does not start speech; once started, speech holds through
    short pauses.
    """

    def __init__(self) -> None:
        self._recent: deque[bool] = deque(maxlen=ONSET_WINDOW)
        self._hold = 0
        self.speaking = False

    def update(self, voiced: bool) -> bool:
        self._recent.append(voiced)
        if voiced and (self.speaking or sum(self._recent) >= ONSET_VOICED):
            self.speaking = True
            self._hold = HANGOVER_FRAMES
        elif self.speaking:
            self._hold -= 1
            self.speaking = self._hold > 0
        return self.speaking


class Resampler:
    """Streaming sample-rate conversion to 16 kHz for devices that cannot record at 16 kHz.

    A windowed-sinc low-pass (so nothing above 7.2 kHz folds back) and linear interpolation between the
    filtered samples; the filter's history and the fractional position carry over between blocks.
    """

    TAPS = 63

    def __init__(self, rate_in: int, rate_out: int = SAMPLE_RATE) -> None:
        self.step = rate_in / rate_out
        cutoff = 0.45 * min(1.0, rate_out / rate_in)  # cycles per input sample
        n = np.arange(self.TAPS) - (self.TAPS - 1) / 2
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(self.TAPS)
        self._taps = taps / taps.sum()
        self._history = np.zeros(self.TAPS - 1)
        self._last = 0.0  # the previous block's last filtered sample: index 0 of this block's grid
        self._pos = 1.0  # where the next output sample falls on that grid

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        if len(samples) == 0:
            return samples
        padded = np.concatenate((self._history, samples.astype(np.float64)))
        self._history = padded[-(self.TAPS - 1):]
        filtered = np.convolve(padded, self._taps, mode="valid")  # one per input sample
        grid = np.concatenate(([self._last], filtered))
        count = max(0, math.floor((len(grid) - 1 - self._pos) / self.step) + 1)
        positions = self._pos + self.step * np.arange(count)
        out = np.interp(positions, np.arange(len(grid)), grid)
        self._pos = (positions[-1] + self.step if count else self._pos) - len(filtered)
        self._last = float(filtered[-1])
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class AudioProcessor:
    """Samples in, LevelReadings out: one per READING_INTERVAL_S of audio, stamped on the caller's clock.

    Feed it blocks of any length; it keeps the remainder for the next block. `sample_rate` is the rate the
    blocks come at (converted to 16 kHz when it differs).

    Attributes:
        sample_rate: the input rate.
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.sample_rate = int(sample_rate)
        self._resample = Resampler(self.sample_rate) if self.sample_rate != SAMPLE_RATE else None
        self._vad = webrtcvad.Vad(VAD_MODE)
        self._gate = SpeechGate()
        self._pending = np.zeros(0, dtype=np.int16)  # 16 kHz samples not yet in a whole frame
        self._consumed = 0  # 16 kHz samples in whole frames so far
        self._recent_db: deque[float] = deque(maxlen=NOISE_WINDOW)  # band levels of the last frames
        self._reading_square = 0.0  # sum of squares of the current reading window so far
        self._reading_speech = False
        self._anchor: float | None = None  # epoch time of 16 kHz sample 0
        self._total = 0  # 16 kHz samples received

    def feed(self, block: np.ndarray, end_time: float | None = None) -> list[LevelReading]:
        """Take a block of samples and return the readings it completes, oldest first.

        `end_time`: the epoch time of the block's last sample (a caller's clock when it drained the block);
        readings are stamped from the sample count on that clock. Without it (and no earlier one),
        times count from 0.
        """
        samples = to_int16_mono(block)
        if self._resample is not None:
            samples = self._resample(samples)
        self._total += len(samples)
        if end_time is not None:
            self._follow_clock(end_time)
        if len(self._pending):
            samples = np.concatenate((self._pending, samples))
        whole = len(samples) - len(samples) % FRAME_SAMPLES
        self._pending = samples[whole:].copy()
        readings: list[LevelReading] = []
        for start in range(0, whole, FRAME_SAMPLES):
            self._frame(samples[start:start + FRAME_SAMPLES], readings)
        return readings

    def _follow_clock(self, end_time: float) -> None:
        anchor = end_time - self._total / SAMPLE_RATE
        if self._anchor is None or abs(anchor - self._anchor) > _REANCHOR_S:
            self._anchor = anchor
        else:
            self._anchor += _ANCHOR_GAIN * (anchor - self._anchor)

    def _frame(self, frame: np.ndarray, readings: list[LevelReading]) -> None:
        wide = frame.astype(np.int64)
        squares = wide * wide
        spectrum = np.fft.rfft(frame * _WINDOW)
        band = spectrum[_BAND]
        frame_db = dbfs(float(np.vdot(band, band).real) * _BAND_SCALE)
        voiced = self._vad.is_speech(frame.tobytes(), SAMPLE_RATE)
        self._recent_db.append(frame_db)
        noise_db = sorted(self._recent_db)[min(NOISE_RANK, len(self._recent_db) - 1)]
        loud_enough = (len(self._recent_db) >= _WARM_UP_FRAMES and frame_db >= ABSOLUTE_FLOOR_DBFS
                       and frame_db >= noise_db + ENERGY_MARGIN_DB)
        speaking = self._gate.update(voiced and loud_enough)
        start = self._consumed
        self._consumed += FRAME_SAMPLES
        boundary = (start // READING_SAMPLES + 1) * READING_SAMPLES
        if boundary < self._consumed:
            # The frame straddles the end of a reading window: its first part belongs to that window, its
            # decision to the next (a window's speech is that of the frames that ended in it).
            split = boundary - start
            self._reading_square += float(squares[:split].sum())
            readings.append(self._reading(boundary))
            self._reading_square = float(squares[split:].sum())
            self._reading_speech = speaking
            return
        self._reading_square += float(squares.sum())
        self._reading_speech |= speaking
        if boundary == self._consumed:
            readings.append(self._reading(boundary))
            self._reading_square = 0.0
            self._reading_speech = False

    def _reading(self, end_sample: int) -> LevelReading:
        anchor = self._anchor if self._anchor is not None else 0.0
        return LevelReading(
            time=round(anchor + end_sample / SAMPLE_RATE, 3),
            level_dbfs=round(dbfs(self._reading_square / READING_SAMPLES), 1),
            speech=self._reading_speech,
        )
