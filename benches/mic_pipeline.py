"""Microphone metering: CPU per second of 16 kHz audio (target < 1 % of one core).

    python benches/mic_pipeline.py [--minutes 10] [--realtime 20]

1. The processing path alone (app.audio.AudioProcessor: level, webrtcvad on 30 ms frames, the noise
   floor, the speech gate), fed `--minutes` of audio in the meter's blocks (0.1 s) as fast as it goes: room noise with
   sentences in it (espeak-ng's, when it is installed; else bursts of modulated noise). Also from a
   device that records at 48 kHz (converted to 16 kHz first).
2. The whole meter in real time for `--realtime` seconds: MicrophoneMeter on a stand-in PortAudio device
   whose thread calls the meter's callback with a block every 0.1 s (the meter's blocksize), as PortAudio does; the CPU
   time of the meter's worker thread and of the callback thread (per thread, from Linux's schedstat) per
   second of audio.
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from app.audio import SAMPLE_RATE, AudioProcessor, MicrophoneMeter, MicState  # noqa: E402
from app.audio.meter import BLOCK_S  # noqa: E402

TARGET_PERCENT = 1.0


def room_audio(seconds: float, rate: int = SAMPLE_RATE, seed: int = 1) -> np.ndarray:
    """`seconds` of quiet room noise (-55 dBFS) with a sentence about every 6 s (-26 dBFS), as int16."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = rng.standard_normal(n) * 10 ** (-55 / 20) * 32768
    speech = _sentence(rate, rng)
    for start in range(int(2 * rate), n - len(speech), int(6 * rate)):
        out[start:start + len(speech)] += speech
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _sentence(rate: int, rng: np.random.Generator) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    if espeak is not None:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "s.wav"
            subprocess.run([espeak, "-w", str(path), "Alexa, what is the weather like tomorrow?"], check=True,
                           capture_output=True)
            with wave.open(str(path)) as file:
                spoken = np.frombuffer(file.readframes(file.getnframes()), np.int16).astype(np.float64)
                source_rate = file.getframerate()
        spoken = np.interp(np.arange(0, len(spoken), source_rate / rate), np.arange(len(spoken)), spoken)
    else:  # syllable-like bursts: noise modulated at 4 Hz
        t = np.arange(int(2.5 * rate)) / rate
        spoken = rng.standard_normal(len(t)) * np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    return spoken / np.sqrt(np.mean(spoken[np.abs(spoken) > 1e-3] ** 2)) * 10 ** (-26 / 20) * 32768


def processor_cpu(minutes: float, rate: int = SAMPLE_RATE) -> dict:
    """CPU of AudioProcessor alone per second of audio at `rate`: {"percent", "cpu_s", "audio_s", "speech"}."""
    audio = room_audio(minutes * 60, rate)
    block = int(rate * BLOCK_S)
    processor = AudioProcessor(rate)
    readings = 0
    speech = 0
    start = time.thread_time()
    for i in range(0, len(audio), block):
        out = processor.feed(audio[i:i + block].reshape(-1, 1))
        readings += len(out)
        speech += sum(r.speech for r in out)
    cpu_s = time.thread_time() - start
    audio_s = len(audio) / rate
    return {"percent": 100 * cpu_s / audio_s, "cpu_s": cpu_s, "audio_s": audio_s, "speech": speech / readings}


class _Stream:
    """A stand-in PortAudio input stream: a thread that calls the callback with a block every BLOCK_S."""

    def __init__(self, audio: np.ndarray, *, blocksize: int, callback, finished_callback, **_options) -> None:
        self._audio = audio
        self._blocksize = blocksize
        self._callback = callback
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-portaudio", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self, ignore_errors: bool = True) -> None:
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(5)

    def _run(self) -> None:
        flags = SimpleNamespace(input_overflow=False)
        position, due = 0, time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due += BLOCK_S
            block = self._audio[position:position + self._blocksize]
            position = (position + self._blocksize) % (len(self._audio) - self._blocksize)
            self._callback(block.reshape(-1, 1), len(block), None, flags)


def meter_cpu(seconds: float) -> dict:
    """CPU of a running MicrophoneMeter per second of real-time 16 kHz audio, by thread."""
    audio = room_audio(60.0)
    streams: list[_Stream] = []

    def open_stream(**options) -> _Stream:
        streams.append(_Stream(audio, **options))
        return streams[-1]

    api = SimpleNamespace(
        query_devices=lambda: [{"name": "bench mic", "max_input_channels": 1, "default_samplerate": 16000.0,
                                "hostapi": 0}],
        default=SimpleNamespace(device=[0, -1], hostapi=0),
        check_input_settings=lambda **_: None,
        InputStream=open_stream,
    )
    readings = []
    running = threading.Event()
    meter = MicrophoneMeter(on_reading=readings.extend,
                            on_status=lambda s: s.state is MicState.RUNNING and running.set(),
                            audio_api=lambda: api)
    meter.start()
    try:
        if not running.wait(10):
            raise RuntimeError(f"the meter did not start: {meter.status.message}")
        worker = next(t for t in threading.enumerate() if t.name == "earmuff-mic-meter")
        callback = streams[0].thread
        before = _thread_cpu()
        wall = time.monotonic()
        threading.Event().wait(seconds)
        after = _thread_cpu()
        wall = time.monotonic() - wall
    finally:
        meter.stop()

    def used(thread: threading.Thread) -> float:
        return after.get(thread.native_id, 0.0) - before.get(thread.native_id, 0.0)

    return {"worker_percent": 100 * used(worker) / wall, "callback_percent": 100 * used(callback) / wall,
            "seconds": wall, "readings": len(readings), "dropped": meter.dropped}


def _thread_cpu() -> dict[int, float]:
    """CPU seconds of each thread of this process by native id. Linux's schedstat counts nanoseconds; the
    tick-based times psutil reads charge a whole 10 ms tick to whoever runs when it fires, which overcharges
    threads that wake on timers, like these, several times over."""
    found = {}
    for thread in psutil.Process().threads():
        try:
            found[thread.id] = int(Path(f"/proc/self/task/{thread.id}/schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            found[thread.id] = thread.user_time + thread.system_time
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="audio for the processing path (default 10)")
    parser.add_argument("--realtime", type=float, default=20.0, help="seconds of the live meter (default 20)")
    args = parser.parse_args()
    print(f"== microphone pipeline CPU, % of one core per second of audio (target < {TARGET_PERCENT:g} %) ==")
    for rate in (SAMPLE_RATE, 48000):
        result = processor_cpu(args.minutes, rate)
        print(f"AudioProcessor, {rate / 1000:g} kHz input, {result['audio_s']:.0f} s of audio: "
              f"{result['percent']:.3f} % ({result['cpu_s'] * 1000 / result['audio_s']:.2f} ms CPU per second; "
              f"{result['speech']:.0%} of readings speech)")
    live = meter_cpu(args.realtime)
    print(f"MicrophoneMeter live for {live['seconds']:.0f} s: worker thread {live['worker_percent']:.3f} %, "
          f"callback thread {live['callback_percent']:.3f} % (stand-in PortAudio pacing included); "
          f"{live['readings']} readings, {live['dropped']} samples dropped")


if __name__ == "__main__":
    main()
