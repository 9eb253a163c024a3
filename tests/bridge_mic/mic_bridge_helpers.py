"""A real bridge (HTTPS on 127.0.0.1, MockFactory pins, a real store) with a room microphone near the kitchen
speaker only: simulated speakers and a simulated room, driven tick by tick on a clock the test moves."""

from __future__ import annotations

import functools
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_api"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "audio"))

from bridge_helpers import Client, EventStream, pair  # noqa: E402

from device_bridge.config import BridgeConfig, MicrophoneConfig, SpeakerConfig  # noqa: E402
from device_bridge.service import BridgeService  # noqa: E402
from device_bridge.simulated_microphone import SimulatedMicrophone  # noqa: E402
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, VOICE_SHAPE, SimulatedTrafficSource  # noqa: E402

START = float(int(time.time()))
TICK_S = 0.1
IDLE_S = 60.0  # enough for the detector to know the speakers' idle

CONFIG = BridgeConfig(
    name="Microphone test bridge",
    timezone="UTC",
    listen="127.0.0.1",
    speakers=(
        SpeakerConfig(id="kitchen", name="Kitchen Echo", driver="relay", pin=17, sense_pin=27, settle_ms=0),
        SpeakerConfig(id="bedroom", name="Bedroom speaker", driver="relay", pin=22, sense_pin=23, settle_ms=0),
    ),
    traffic_source="simulated",
    microphone=MicrophoneConfig(speakers=("kitchen",)),
)


class TickClock:
    """Epoch and monotonic clock in whole 0.1-s ticks, moved only by the test."""

    def __init__(self, start: float = START) -> None:
        self._start = start
        self._ticks = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._start + self._ticks / 10

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._ticks += round(seconds * 10)
            return self._start + self._ticks / 10


class MicBridge:
    """A BridgeService with simulated speakers and a tick-driven simulated room microphone, and a paired client.

    Attributes:
        clock, source, service, client: the parts.
    """

    def __init__(self, data_dir: Path, clock: TickClock, *, config: BridgeConfig = CONFIG, seed: int = 2,
                 microphone: Any = None, **kwargs: Any) -> None:
        """`microphone`: what meters the room instead of the simulated one (its `tick()` is not called)."""
        self.clock = clock
        self.source = SimulatedTrafficSource(config.speakers, clock=clock, seed=seed, behaviour=QUIET_BEHAVIOUR)
        if microphone is None:
            microphone = functools.partial(SimulatedMicrophone, self.source, ("kitchen",), clock=clock, seed=seed,
                                           thread=False)
        self.service = BridgeService(
            config, data_dir, port=0, clock=clock, advertise=False, simulate_speakers=True, tick_interval_s=3600.0,
            traffic_source=self.source, traffic_options={"monotonic": clock, "sample_thread": False},
            microphone_source=microphone, **kwargs,
        )
        self.service.start()
        self.clients: list[Client] = []
        self.streams: list[EventStream] = []
        self.client = self.connect(pair(self.connect(), self.service)["token"])
        for speaker in config.speakers:
            self.service.engine.set_mute(speaker.id, False, reason="test", requested_by="test")
        self.sampler.tick()

    @property
    def sampler(self):
        return self.service.engine.monitor.sampler

    @property
    def microphone(self):
        return self.service.microphone

    def connect(self, token: str | None = None) -> Client:
        client = Client(self.service.url, self.service.fingerprint, token)
        self.clients.append(client)
        return client

    def stream(self, **params: Any) -> EventStream:
        stream = EventStream(self.client, **params)
        self.streams.append(stream)
        return stream

    def run(self, seconds: float) -> None:
        """Let `seconds` pass: the speakers are sampled and the room is heard every 0.1 s."""
        for _ in range(round(seconds * 10)):
            self.clock.advance(TICK_S)
            if isinstance(self.microphone.source, SimulatedMicrophone):
                self.microphone.source.tick()
            self.sampler.tick()

    def voice_request(self, speaker: str = "kitchen", after: float = 2.0) -> float:
        """Someone asks `speaker` something: its upload starts `after` s from now; runs until it is over."""
        at = self.clock() + after
        self.source.inject_burst(speaker, at=at)
        self.run(after + 20.0)
        return at

    def misactivation(self, speaker: str = "kitchen", after: float = 2.0) -> float:
        """The speaker uploads on its own, nobody spoke; runs until it is over."""
        at = self.clock() + after
        self.source.inject_burst(speaker, at=at, shape=VOICE_SHAPE[:3], kind="misactivation")
        self.run(after + 20.0)
        return at

    def flags(self) -> list[tuple[str, list[str]]]:
        """(speaker, flags) of every activation_ended event so far."""
        return [(e.speaker_id, e.data["flags"]) for e in self.service.engine.events.since(0)
                if e.type == "activation_ended"]

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        self.service.stop()
        for client in self.clients:
            client.close()
