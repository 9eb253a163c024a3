"""Real capture: a private PulseAudio daemon with a null sink, PortAudio (sounddevice) recording its monitor
through the ALSA "pulse" device, and espeak-ng speech played into it with paplay from another process."""

from __future__ import annotations

import shutil
import subprocess

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
def pulse(pulse_daemon) -> dict[str, str]:
    """A PulseAudio daemon of this test's own (tests/conftest.py) with a null sink."""
    env = pulse_daemon(SERVER_CONFIG)
    return env


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
