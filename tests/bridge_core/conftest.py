"""Fixtures for the bridge core: gpiozero MockFactory pins, a controllable clock, real SQLite stores in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_helpers import Bridges, FakeClock, local


@pytest.fixture
def clock():
    # A Tuesday morning in Berlin, far from any DST change.
    return FakeClock(local("2026-06-02 10:00"))


@pytest.fixture
def store_path(tmp_path) -> Path:
    return tmp_path / "bridge.db"


@pytest.fixture
def bridges(pin_factory, clock, store_path):
    made = Bridges(pin_factory, clock, store_path)
    yield made
    made.close()
