"""Fixtures for the traffic monitor: MockFactory pins, a tick clock, engines and real HTTPS bridges measuring
simulated speakers, pinned clients and event streams; everything is stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from monitor_helpers import CONFIG, Rig, Stream, TickClock

from bridge_helpers import Client, pair  # noqa: I001 - on sys.path through monitor_helpers
from device_bridge.service import BridgeService
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource


@pytest.fixture
def clock() -> TickClock:
    return TickClock()


@pytest.fixture
def make_rig(tmp_path, pin_factory, clock) -> Iterator[Callable[..., Rig]]:
    """Engines on one store file; `make_rig(**options)` starts one, all are stopped after the test."""
    rigs: list[Rig] = []

    def make(**options: Any) -> Rig:
        rig = Rig(tmp_path / "bridge.db", pin_factory, clock, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in reversed(rigs):
        rig.close()


class ServedBridge:
    """A BridgeService on 127.0.0.1 measuring simulated speakers on the tick clock, and a paired client."""

    def __init__(self, data_dir: Path, clock: TickClock, **kwargs: Any) -> None:
        self.clock = clock
        self.source = SimulatedTrafficSource(CONFIG.speakers, clock=clock, seed=2, behaviour=QUIET_BEHAVIOUR)
        self.service = BridgeService(
            CONFIG, data_dir, port=0, clock=clock, advertise=False, simulate_speakers=True, tick_interval_s=3600.0,
            traffic_source=self.source, traffic_options={"monotonic": clock, "sample_thread": False}, **kwargs,
        )
        self.service.start()
        self.clients: list[Client] = []
        self.streams: list[Stream] = []
        self.client = self.connect(pair(self.connect(), self.service)["token"])
        for speaker in CONFIG.speakers:
            self.service.engine.set_mute(speaker.id, False, reason="test", requested_by="test")
        self.sampler.tick()

    @property
    def sampler(self):
        return self.service.engine.monitor.sampler

    def connect(self, token: str | None = None) -> Client:
        client = Client(self.service.url, self.service.fingerprint, token)
        self.clients.append(client)
        return client

    def stream(self, **params: Any) -> Stream:
        stream = Stream(self.client, **params)
        self.streams.append(stream)
        return stream

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds * 10)):
            self.clock.advance(0.1)
            self.sampler.tick()

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        self.service.stop()
        for client in self.clients:
            client.close()


@pytest.fixture
def served(data_dir, pin_factory, clock) -> Iterator[ServedBridge]:
    bridge = ServedBridge(data_dir, clock)
    yield bridge
    bridge.close()
