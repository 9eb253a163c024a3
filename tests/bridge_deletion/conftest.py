"""Fixtures for voice deletions: MockFactory pins, a tick clock, engine rigs whose runs drive the clock, and real
HTTPS bridges measuring simulated speakers; everything is stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from deletion_helpers import Rig, ServedBridge, TickClock


@pytest.fixture
def clock() -> TickClock:
    return TickClock()


@pytest.fixture
def make_rig(tmp_path, data_dir, pin_factory, clock) -> Iterator[Callable[..., Rig]]:
    """Rigs on one store file and data directory; `make_rig(**options)` starts one, all closed after the test."""
    rigs: list[Rig] = []

    def make(**options: Any) -> Rig:
        rig = Rig(tmp_path / "bridge.db", data_dir, pin_factory, clock, **options)
        rigs.append(rig)
        return rig

    yield make
    for rig in reversed(rigs):
        rig.close()


@pytest.fixture
def rig(make_rig) -> Rig:
    return make_rig()


@pytest.fixture
def make_served(data_dir, pin_factory, clock) -> Iterator[Callable[..., ServedBridge]]:
    bridges: list[ServedBridge] = []

    def make(**options: Any) -> ServedBridge:
        bridge = ServedBridge(data_dir, pin_factory, clock, **options)
        bridges.append(bridge)
        return bridge

    yield make
    for bridge in reversed(bridges):
        bridge.close()
