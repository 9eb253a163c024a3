"""The pure processing path (samples -> LevelReadings) and the per-second speech history."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import NOISES

from app.audio import AudioProcessor, LevelReading, SpeechHistory


def run(processor: AudioProcessor, samples: np.ndarray, block: int = 800) -> list[LevelReading]:
    readings = []
    for start in range(0, len(samples), block):
        readings += processor.feed(samples[start:start + block])
    return readings


def noise(kind: str, seconds: float, dbfs: float, seed: int = 1) -> np.ndarray:
    x = NOISES[kind](int(seconds * 16000), np.random.default_rng(seed))
    return np.clip(x / x.std() * 10 ** (dbfs / 20) * 32768, -32768, 32767).astype(np.int16)


def test_digital_silence_is_the_floor_and_no_speech():
    readings = run(AudioProcessor(), np.zeros(48000, dtype=np.int16))
    assert len(readings) == 30
    assert {(r.level_dbfs, r.speech) for r in readings} == {(-100.0, False)}


@pytest.mark.parametrize("kind", sorted(NOISES))
@pytest.mark.parametrize("dbfs", [-70, -50, -30, -15])
def test_steady_noise_never_reads_as_speech_at_any_level(kind, dbfs):
    readings = run(AudioProcessor(), noise(kind, 20.0, dbfs))
    assert not any(r.speech for r in readings)
    assert np.median([r.level_dbfs for r in readings]) == pytest.approx(dbfs, abs=1.0)


@pytest.mark.parametrize("kind", sorted(NOISES))
def test_a_noise_that_suddenly_gets_louder_is_the_new_floor_within_a_second(kind):
    quiet, loud = noise(kind, 10.0, -60.0, seed=2), noise(kind, 10.0, -25.0, seed=3)
    readings = run(AudioProcessor(), np.concatenate((quiet, loud)))
    speech = [r for r in readings if r.speech]
    assert len(speech) <= 8  # a fan switched on may pass for speech for under a second, then never again
    assert all(10.0 < r.time <= 10.9 for r in speech)


def test_int16_and_float32_blocks_in_portaudio_shape_read_the_same():
    samples = noise("pink", 3.0, -30.0)
    as_int = run(AudioProcessor(), samples.reshape(-1, 1))
    as_float = run(AudioProcessor(), (samples / 32767.0).astype(np.float32).reshape(-1, 1))
    assert [r.speech for r in as_int] == [r.speech for r in as_float]
    assert [r.level_dbfs for r in as_int] == pytest.approx([r.level_dbfs for r in as_float], abs=0.1)


def test_any_block_size_gives_the_same_readings():
    samples = noise("white", 4.0, -35.0)
    whole = run(AudioProcessor(), samples, block=len(samples))
    for block in (1, 37, 480, 1600, 4099):
        assert run(AudioProcessor(), samples, block=block) == whole


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_other_sample_rates_are_converted_and_keep_the_level(rate):
    t = np.arange(rate * 2) / rate
    sine = (10000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)  # RMS 7071: -13.3 dBFS
    readings = run(AudioProcessor(rate), sine, block=rate // 20)
    assert len(readings) in (19, 20)
    assert all(r.level_dbfs == pytest.approx(-13.3, abs=0.3) for r in readings[1:])


def test_a_tone_above_the_band_does_not_fold_back_into_it():
    rate = 48000
    t = np.arange(rate * 2) / rate
    hiss = (10000 * np.sin(2 * np.pi * 12000 * t)).astype(np.int16)  # beyond 16 kHz audio's 8 kHz
    readings = run(AudioProcessor(rate), hiss, block=2400)
    assert max(r.level_dbfs for r in readings[1:]) < -50


def test_times_follow_the_callers_clock_and_jump_with_it():
    processor = AudioProcessor()
    first = processor.feed(np.zeros(4800, dtype=np.int16), end_time=1000.0)
    assert [r.time for r in first] == pytest.approx([999.8, 999.9, 1000.0])
    # Blocks that arrive a little early or late do not shake the times.
    later = processor.feed(np.zeros(4800, dtype=np.int16), end_time=1000.32)
    assert [r.time for r in later] == pytest.approx([1000.1, 1000.2, 1000.3], abs=0.01)
    # The clock jumped (NTP, a suspended laptop): the readings follow it.
    jumped = processor.feed(np.zeros(4800, dtype=np.int16), end_time=2000.0)
    assert jumped[-1].time == pytest.approx(2000.0)


def readings_at(start: float, seconds: float, speech_from: float | None = None, speech_to: float = 0.0):
    return [LevelReading(time=round(start + i / 10, 3), level_dbfs=-40.0,
                         speech=speech_from is not None and speech_from <= start + i / 10 < speech_to)
            for i in range(1, int(seconds * 10) + 1)]


def test_speech_history_says_whether_anyone_spoke_around_a_moment():
    history = SpeechHistory()
    assert history.speech_of(1000.0) is None  # heard nothing yet
    history.add(readings_at(1000.0, 60.0, speech_from=1020.0, speech_to=1022.0))
    assert history.speech_of(1021.0) is True
    assert history.speech_of(1024.5) is True  # the wake word came just before the upload
    assert history.speech_of(1018.0) is True  # and the upload may be found a bit early
    assert history.speech_of(1040.0) is False  # heard, and nobody spoke
    assert history.speech_of(1059.0) is False  # only the part heard so far counts
    assert history.speech_of(1070.0) is None  # after its newest reading
    assert history.speech_of(990.0) is None  # before the microphone heard anything


def test_speech_history_with_gaps_cannot_tell():
    history = SpeechHistory()
    history.add(readings_at(1000.0, 2.0))
    history.add(readings_at(1008.0, 2.0))
    assert history.speech_of(1004.5) is None  # 4 of its 9 seconds were heard


def test_speech_history_forgets_what_is_older_than_it_keeps():
    history = SpeechHistory(seconds=60)
    history.add(readings_at(1000.0, 10.0, speech_from=1000.0, speech_to=1010.0))
    history.add(readings_at(1100.0, 10.0))
    assert history.speech_of(1005.0) is None
    assert history.speech_of(1105.0) is False
