"""The bridge with a real MicrophoneMeter: espeak-ng speech reaching it through the PortAudio callback decides
the no_speech_nearby flag in real time, and a microphone that cannot work leaves the bridge running."""

from __future__ import annotations

import functools
import threading
import time

import numpy as np
import pytest
from audio_helpers import ESPEAK, FakeSoundDevice, pink_noise, speak, usb_mic
from mic_bridge_helpers import CONFIG

from app.audio import MicrophoneMeter, MicState
from bridge_helpers import Client, pair, wait_until
from device_bridge.service import BridgeService
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, VOICE_SHAPE, SimulatedTrafficSource

BLOCK = 800  # 50 ms at 16 kHz, as the meter asks PortAudio for


class Room:
    """Plays the part of PortAudio's thread: every 50 ms of real time, a block of quiet room noise (about
    -60 dBFS) into the stream's callback, with speech mixed in when `say()` is called."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._noise = pink_noise(16000 * 20, np.random.default_rng(3))
        self._noise *= 10 ** (-60 / 20) * 32768 / self._noise.std()
        self._speech = np.zeros(0)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-room", daemon=True)
        self._thread.start()

    def say(self, speech: np.ndarray) -> None:
        with self._lock:
            self._speech = speech

    def _run(self) -> None:
        position = 0
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due += BLOCK / 16000
            block = self._noise[position:position + BLOCK].copy()
            position = (position + BLOCK) % (len(self._noise) - BLOCK)
            with self._lock:
                spoken, self._speech = self._speech[:BLOCK], self._speech[BLOCK:]
            block[:len(spoken)] += spoken
            self._stream.feed(np.clip(np.round(block), -32768, 32767).astype(np.int16))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def served(data_dir, pin_factory):
    """A bridge on the real clock (sampler thread at 10 Hz) whose room microphone is a MicrophoneMeter on a
    stand-in PortAudio device, a Room feeding it, and a paired client."""
    audio = FakeSoundDevice(usb_mic())
    source = SimulatedTrafficSource(CONFIG.speakers, seed=4, behaviour=QUIET_BEHAVIOUR)
    service = BridgeService(CONFIG, data_dir, port=0, advertise=False, simulate_speakers=True,
                            traffic_source=source,
                            microphone_source=functools.partial(MicrophoneMeter, "", audio_api=lambda: audio))
    room = client = None
    try:
        service.start()
        assert audio.opened.wait(10)
        room = Room(audio.streams[0])
        client = Client(service.url, service.fingerprint)
        client = Client(service.url, service.fingerprint, pair(client, service)["token"])
        yield service, source, room, client
    finally:
        if room is not None:
            room.close()
        service.stop()
        if client is not None:
            client.close()


def started_events(service, speaker: str) -> list[dict]:
    return [e.data for e in service.engine.events.since(0)
            if e.type == "activation_started" and e.speaker_id == speaker]


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng; ./dev test "
                                           "installs it): this test needs real speech")
def test_spoken_requests_pass_and_silent_uploads_are_flagged(served, tmp_path):
    service, source, room, client = served
    sentence = speak("Alexa, what time is it in Tokyo?", "en-us", tmp_path)
    sentence *= 10 ** (-28 / 20) * 32768 / np.sqrt(np.mean(sentence[np.abs(sentence) > 100] ** 2))
    service.engine.set_mute("kitchen", False, reason="test", requested_by="test")
    # The quiet room first, until the microphone can tell that nobody spoke lately.
    wait_until(lambda: service.microphone.speech_of("kitchen", time.time() - 1.0) is False, timeout=15)

    # Someone asks the kitchen speaker; its upload starts a second into the sentence (after the wake word).
    room.say(sentence)
    asked = time.time()
    source.inject_burst("kitchen", at=asked + 1.0)
    (spoken,) = wait_until(lambda: started_events(service, "kitchen"), timeout=20)
    assert spoken["flags"] == []

    # Later, once that request is over and nobody has spoken for a while, it uploads on its own.
    wait_until(lambda: any(e.type == "activation_ended" for e in service.engine.events.since(0)), timeout=30)
    # An activation starts on a whole second, up to a second before its first byte, and the flag looks from
    # SPEECH_BEFORE_S before that start: wait until that whole stretch is silent.
    wait_until(lambda: service.microphone.speech_of("kitchen", time.time() - 1.5) is False, timeout=20)
    source.inject_burst("kitchen", at=time.time() + 0.5, shape=VOICE_SHAPE[:3], kind="misactivation")
    _, silent = wait_until(lambda: (found := started_events(service, "kitchen"))[1:] and found, timeout=20)
    assert silent["flags"] == ["no_speech_nearby"]

    # The history shows the sentence as speech in the seconds it was said, and the room's level throughout.
    start = int(asked) - 3
    history = client.get("/v1/speakers/kitchen/traffic", params={"from": start, "to": start + 10}).json()
    assert None not in history["level"]
    spoken_at = [start + i for i, speech in enumerate(history["speech"]) if speech]
    assert spoken_at and spoken_at[0] in (int(asked), int(asked) + 1) and spoken_at[-1] <= asked + 4
    assert max(history["level"]) > -40 and min(history["level"]) < -50


def test_without_portaudio_the_bridge_runs_and_its_microphone_says_why(make_bridge):
    def no_portaudio():
        raise OSError("PortAudio library not found")

    bridge = make_bridge(microphone=functools.partial(MicrophoneMeter, "", audio_api=no_portaudio))
    wait_until(lambda: bridge.microphone.status.state is MicState.PORTAUDIO_MISSING)
    assert "libportaudio2" in bridge.microphone.status.message
    bridge.run(60.0)
    bridge.misactivation("kitchen")
    assert bridge.flags() == [("kitchen", [])]  # the microphone cannot tell: no flag either way
    start = int(bridge.clock()) - 20
    history = bridge.client.get("/v1/speakers/kitchen/traffic", params={"from": start, "to": start + 10}).json()
    assert history["level"] == history["speech"] == [None] * 10 and None not in history["up"]
