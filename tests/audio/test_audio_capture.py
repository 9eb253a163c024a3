"""Real capture: a private PulseAudio daemon with a null sink, PortAudio (sounddevice) recording its monitor
through the ALSA "pulse" device, and espeak-ng speech played into it with paplay from another process."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.audio import MicState, list_input_devices

NEEDED = ("pulseaudio", "pactl", "paplay", "espeak-ng")
MISSING = [tool for tool in NEEDED if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"{', '.join(MISSING)} not installed (apt-get install pulseaudio pulseaudio-utils "
                          "libasound2-plugins espeak-ng; ./dev test installs them): no real capture to test")

SERVER_CONFIG = """\
load-module module-native-protocol-unix
load-module module-null-sink sink_name=vsink rate=48000 channels=1
set-default-source vsink.monitor
"""


@pytest.fixture
def pulse(tmp_path, monkeypatch) -> Iterator[dict[str, str]]:
    """A PulseAudio daemon of this test's own (its socket, config and cookie in tmp); the environment that
    reaches it, set for this process too (PortAudio's ALSA "pulse" device reads it when it connects)."""
    env = {name: str(tmp_path / name.lower()) for name in ("HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME")}
    for path in env.values():
        Path(path).mkdir(mode=0o700)
    (tmp_path / "pa.pa").write_text(SERVER_CONFIG)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(tmp_path / "pa.pa"), "--daemonize=no", "--exit-idle-time=-1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15.0
        while subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"pulseaudio did not start: {daemon.stderr.read()[-500:] if daemon.poll() else ''}")
            threading.Event().wait(0.05)
        yield env
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)
        daemon.stderr.close()
        list_input_devices(refresh=True)  # PortAudio forgets the daemon's devices: later tests see none


def test_speech_played_into_a_real_device_is_metered_as_speech(pulse, make_meter, tmp_path):
    # PortAudio lists devices when it starts; this one was started (by sounddevice's import) maybe before
    # the daemon: asking it to look again is how a microphone plugged in later is found, too.
    assert "pulse" in {d.name for d in list_input_devices(refresh=True)}
    meter, recorder = make_meter("pulse")
    meter.start()
    recorder.wait_for(lambda: meter.status.state is MicState.RUNNING)
    recorder.wait_for(lambda: len(recorder.readings) >= 10)  # the first samples come 0.3-2 s after the start
    quiet = list(recorder.readings)
    assert not any(r.speech for r in quiet)

    speech = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "Alexa, what time is it in Tokyo?"], check=True, timeout=60)
    subprocess.run(["paplay", "--device=vsink", str(speech)], check=True, timeout=60, env=pulse)
    heard = recorder.wait_for(lambda: sum(r.speech for r in recorder.readings) >= 12 and recorder.readings)
    spoken = [r for r in heard[len(quiet):] if r.speech]
    assert max(r.level_dbfs for r in spoken) > -30
    times = [r.time for r in heard]
    assert times == sorted(times) and len(set(times)) == len(times)
    meter.stop()
    assert meter.status.state is MicState.OFF
