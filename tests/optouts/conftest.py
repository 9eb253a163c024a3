"""Opt-out fixtures: a copy of the shipped catalog to break, a real database file, a clock the test moves."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from app.optouts.catalog import load_catalog
from app.resources import resource_path
from app.storage import Database

# WORKAROUND: test folders are not packages; the in-memory keyring backend lives with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))

DAY = 86400.0
START = 1_790_000_000.0  # 2026-09-21


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float) -> None:
        self.now += days * DAY


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    """resources/optouts copied to a temp folder the test may edit."""
    target = tmp_path / "optouts"
    shutil.copytree(resource_path("optouts"), target)
    return target


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture
def db(tmp_path):
    database = Database.open(tmp_path / "earmuff.db")
    yield database
    database.close()


@pytest.fixture
def tracker(db, catalog, clock):
    from app.optouts.tracker import OptOutTracker

    return OptOutTracker(db, catalog, clock=clock, actor="you (tester)")
