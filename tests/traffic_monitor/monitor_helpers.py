"""Shared pieces of the traffic monitor tests: a tick clock, an engine rig on simulated traffic, NDJSON streams."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_api"))

from bridge_helpers import EventStream  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from device_bridge.config import BridgeConfig, SpeakerConfig  # noqa: E402
from device_bridge.engine import BridgeEngine  # noqa: E402
from device_bridge.mute.simulated import follow_outputs  # noqa: E402
from device_bridge.store import BridgeStore  # noqa: E402
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource, SpeakerBehaviour  # noqa: E402

# A whole second, so that tick n is exactly START + n / 10.
START = float(int(time.time()))
TICK_S = 0.1

CONFIG = BridgeConfig(
    name="Traffic test bridge",
    timezone="UTC",
    listen="127.0.0.1",
    speakers=(
        SpeakerConfig(id="kitchen", name="Kitchen Echo", driver="relay", pin=17, sense_pin=27, settle_ms=0,
                      mac="68:db:f5:90:19:64"),
        SpeakerConfig(id="bedroom", name="Bedroom speaker", driver="relay", pin=22, sense_pin=23, settle_ms=0,
                      ip="192.168.4.21"),
    ),
    traffic_source="simulated",
)


class TickClock:
    """A clock that moves only in whole 0.1-s ticks when told to (no float drift), and never by itself.

    It serves as both the epoch clock and the monotonic clock of the sampler.
    """

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

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


class Rig:
    """An engine on MockFactory pins and a real store, measuring a SimulatedTrafficSource; the test
    drives the sampler tick by tick with `run()`. Sense lines follow the outputs (mutes confirm).

    Attributes:
        clock, store, source, engine: the parts.
    """

    def __init__(self, store_path: Path, pin_factory: MockFactory, clock: TickClock, *,
                 config: BridgeConfig = CONFIG, behaviour: SpeakerBehaviour = QUIET_BEHAVIOUR, seed: int = 1,
                 unmute: bool = True, **traffic_options: Any) -> None:
        self.clock = clock
        self.config = config
        self.store = BridgeStore(store_path, clock=clock)
        self.source = SimulatedTrafficSource(config.speakers, clock=clock, seed=seed, behaviour=behaviour)
        traffic_options = {"monotonic": clock, "sample_thread": False, **traffic_options}
        self.engine = BridgeEngine(config, self.store, clock=clock, tick_interval_s=3600.0, pin_factory=pin_factory,
                                   sleep=clock.sleep, traffic_source=self.source, traffic_options=traffic_options)
        self._simulated = follow_outputs(self.engine)
        engine = self.engine
        self.source.follow(lambda speaker_id: engine.state(speaker_id).muted)
        self.engine.start()
        if unmute:
            for speaker in config.speakers:
                self.engine.set_mute(speaker.id, False, reason="test", requested_by="test")
        self.engine.monitor.sampler.tick()  # the sampler's baseline reading

    @property
    def monitor(self):
        return self.engine.monitor

    def run(self, seconds: float) -> None:
        """Let `seconds` pass, sampling every 0.1 s."""
        for _ in range(round(seconds * 10)):
            self.clock.advance(TICK_S)
            self.monitor.sampler.tick()

    def events(self, type_: str | None = None, since: int = 0) -> list:
        return [e for e in self.engine.events.since(since) if type_ is None or e.type == type_]

    def close(self) -> None:
        self.engine.stop()
        self._simulated.close()
        self.store.close()


Stream = EventStream  # the bridge API tests' stream reader, with samples and resume parameters
