"""Speech detection on real speech: espeak-ng sentences with pauses, mixed with white and pink noise at 20,
10, 5 and 0 dB SNR, fed block by block through the meter's PortAudio callback (the path a microphone's
samples take), against the ground truth of the clean signal's energy. The figures go to the run's summary."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import ACCURACY, NOISES, FakeSoundDevice, fft_resample, feed_and_collect, score, usb_mic

from app.audio import MicState

# The least accuracy (share of 0.1-s readings that agree with the truth) each SNR must reach.
ACCURACY_FLOOR = {20: 0.93, 10: 0.93, 5: 0.92, 0: 0.88}
RECALL_FLOOR = {20: 0.95, 10: 0.95, 5: 0.93, 0: 0.85}


def metered(make_meter, audio: FakeSoundDevice, samples: np.ndarray, rate: int = 16000):
    meter, recorder = make_meter(audio_api=lambda: audio)
    meter.start()
    assert audio.opened.wait(10)
    recorder.wait_for(lambda: MicState.RUNNING in recorder.states())
    (stream,) = audio.streams
    readings = feed_and_collect(stream, recorder, samples, rate)
    meter.stop()
    return stream, recorder, readings


@pytest.mark.parametrize("noise", sorted(NOISES))
@pytest.mark.parametrize("snr", sorted(ACCURACY_FLOOR, reverse=True))
def test_speech_is_told_from_noise_at_each_snr(scene, make_meter, fake_audio, noise, snr):
    rng = np.random.default_rng(100 + snr)
    mixed = scene.mixed(NOISES[noise](len(scene.clean), rng), snr)
    stream, recorder, readings = metered(make_meter, fake_audio, mixed)

    assert (stream.samplerate, stream.channels, stream.dtype) == (16000, 1, "int16")
    assert recorder.threads == {"earmuff-mic-meter"}  # computed on the worker, never in the callback
    result = score(np.array([r.speech for r in readings]), scene.truth)
    ACCURACY.append((noise, snr, 16000, result))
    print(f"{noise} noise at {snr} dB SNR: {result}")
    assert result.accuracy >= ACCURACY_FLOOR[snr]
    assert result.recall >= RECALL_FLOOR[snr]
    assert result.far_false_alarm <= 0.01  # noise alone, away from any speech, is not speech


def test_a_microphone_that_records_only_at_48_khz_stereo_reads_the_same(scene, make_meter):
    audio = FakeSoundDevice(usb_mic("Webcam mic", channels=2, rates=(48000,)))
    rng = np.random.default_rng(7)
    mixed = scene.mixed(NOISES["pink"](len(scene.clean), rng), 10).astype(np.float64)
    at_48k = np.clip(np.round(fft_resample(mixed, 16000, 48000)), -32768, 32767).astype(np.int16)
    stream, _recorder, readings = metered(make_meter, audio, at_48k, rate=48000)

    assert (stream.samplerate, stream.channels) == (48000, 2)
    result = score(np.array([r.speech for r in readings]), scene.truth)
    ACCURACY.append(("pink", 10, 48000, result))
    assert result.accuracy >= ACCURACY_FLOOR[10] and result.recall >= RECALL_FLOOR[10]
    levels = np.array([r.level_dbfs for r in readings])
    assert np.median(levels[scene.truth[:len(levels)]]) == pytest.approx(-26, abs=3)
