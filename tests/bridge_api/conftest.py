"""Fixtures for the bridge API: real bridges (uvicorn + TLS on 127.0.0.1, ephemeral ports), gpiozero
MockFactory pins, a controllable clock, and pinned `requests` sessions like the desktop app's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_helpers import Client, Clock, RecordingPin, bridge_config, pair
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device_bridge.config import BridgeConfig
from device_bridge.service import BridgeService


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    """gpiozero's MockFactory (with RecordingPin pins) as the default factory; reset after the test."""
    factory = MockFactory(pin_class=RecordingPin)
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = None


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def start_bridge(data_dir: Path, pins: MockFactory, clock: Clock) -> Iterator[Callable[..., BridgeService]]:
    """Start a BridgeService (on data_dir unless given); every one is stopped after the test."""
    started: list[BridgeService] = []

    def start(config: BridgeConfig | None = None, *, directory: Path | None = None, **kwargs: Any) -> BridgeService:
        kwargs.setdefault("advertise", False)
        kwargs.setdefault("simulate_speakers", True)
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("tick_interval_s", 3600.0)  # tests call engine.tick() with the clock themselves
        service = BridgeService(config or bridge_config(), directory or data_dir, port=0, **kwargs)
        started.append(service)
        service.start()
        return service

    yield start
    for service in reversed(started):
        service.stop()


@pytest.fixture
def bridge(start_bridge) -> BridgeService:
    return start_bridge()


@pytest.fixture
def connect() -> Iterator[Callable[..., Client]]:
    """Pinned clients for a bridge; all closed after the test."""
    clients: list[Client] = []

    def make(service: BridgeService, token: str | None = None, *, fingerprint: str | None = None) -> Client:
        client = Client(service.url, fingerprint or service.fingerprint, token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(bridge: BridgeService, connect) -> Client:
    """A client paired with `bridge` (as "Anna's laptop")."""
    anonymous = connect(bridge)
    token = pair(anonymous, bridge)["token"]
    return connect(bridge, token)
