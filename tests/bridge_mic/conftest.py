"""Fixtures for the bridge's room microphone: real bridges over HTTPS with a simulated room on a tick clock;
everything is stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mic_bridge_helpers import MicBridge, TickClock


@pytest.fixture
def clock() -> TickClock:
    return TickClock()


@pytest.fixture
def make_bridge(data_dir, pin_factory, clock) -> Iterator[Callable[..., MicBridge]]:
    """`make_bridge(**options)` starts a MicBridge on data_dir; all are closed after the test."""
    bridges: list[MicBridge] = []

    def make(**options: Any) -> MicBridge:
        bridge = MicBridge(data_dir, clock, **options)
        bridges.append(bridge)
        return bridge

    yield make
    for bridge in reversed(bridges):
        bridge.close()


@pytest.fixture
def bridge(make_bridge) -> MicBridge:
    return make_bridge()
