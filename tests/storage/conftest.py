"""Fixtures for the storage tests: a real database file per test, and a check that no thread outlives its test."""

from __future__ import annotations

import threading
import time

import pytest

from app.storage import BackgroundWriter, Database

# 2026-11-26 19:30:00 local time, so moved-aside and backup names are predictable.
FIXED_TIME = time.mktime((2026, 11, 26, 19, 30, 0, 0, 0, -1))
FIXED_STAMP = "20261126-193000"


def fixed_clock() -> float:
    return FIXED_TIME


@pytest.fixture
def clock():
    """A clock stopped at FIXED_TIME."""
    return fixed_clock


@pytest.fixture
def stamp():
    """The time stamp moved-aside and backup names get under `clock`."""
    return FIXED_STAMP


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    leaked = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "earmuff.db"


@pytest.fixture
def db(db_path):
    database = Database.open(db_path, clock=fixed_clock)
    yield database
    database.close()


@pytest.fixture
def writer(db):
    background = BackgroundWriter(db)
    yield background
    assert background.close()
