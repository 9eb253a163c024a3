"""The real player: a phrase played through PortAudio (sounddevice) into a private PulseAudio daemon's null sink,
and what reached the sink recorded from its monitor by another process."""

from __future__ import annotations

import shutil
import subprocess
import threading

import numpy as np
import pytest
from deletion_helpers import ALEXA

from app.audio import list_input_devices
from device_bridge.deletion import PhraseSynthesizer, SoundDevicePlayer

NEEDED = ("pulseaudio", "pactl", "parec", "espeak-ng")
MISSING = [tool for tool in NEEDED if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"{', '.join(MISSING)} not installed (apt-get install pulseaudio pulseaudio-utils "
                          "libasound2-plugins espeak-ng): no real loudspeaker to test")

SERVER_CONFIG = """\
load-module module-native-protocol-unix
load-module module-null-sink sink_name=vsink rate=48000 channels=1
set-default-sink vsink
"""
RATE = 16000


@pytest.fixture
def pulse(pulse_daemon) -> dict[str, str]:
    """A PulseAudio daemon of this test's own (tests/conftest.py) with a null sink."""
    env = pulse_daemon(SERVER_CONFIG)
    list_input_devices(refresh=True)  # PortAudio looks for devices again: now it finds "pulse"
    return env


def test_the_phrase_comes_out_of_the_loudspeaker(pulse, tmp_path):
    player = SoundDevicePlayer("pulse")
    ok, detail = player.status()
    assert ok, detail
    assert detail == "plays on 'pulse'"
    phrase = PhraseSynthesizer(tmp_path).synthesize(ALEXA)
    recorder = subprocess.Popen(
        ["parec", "--device=vsink.monitor", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1",
         "--latency-msec=50"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=pulse)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: recorder.stdout.read(4096), b"")),
                              name="test-parec-reader", daemon=True)
    reader.start()
    try:
        threading.Event().wait(0.3)  # parec connected
        player.play(phrase.path)
        threading.Event().wait(0.5)  # the tail reaches the monitor
    finally:
        recorder.terminate()
        recorder.wait(10)
        reader.join(5)
        recorder.stdout.close()
    heard = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(heard) > 0.02)
    assert loud.size, "nothing reached the loudspeaker"
    assert (loud[-1] - loud[0]) / RATE == pytest.approx(phrase.duration_s, abs=0.6)
    assert 20 * np.log10(np.sqrt(np.mean(np.square(heard[loud[0]:loud[-1]])))) > -35
