"""Fixtures for the app side of deletions: a real database file, a clock the test moves, the shipped opt-out
catalog, and (for the client tests) real simulated bridges over TLS with an in-memory keyring backend."""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import bridges, memory_keyring  # noqa: E402, F401 - fixtures for this folder
from deletions_app_helpers import Clock  # noqa: E402

from app.optouts.catalog import load_catalog  # noqa: E402
from app.storage import Database  # noqa: E402


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = Database.open(tmp_path / "earmuff.db")
    yield database
    database.close()


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture
def optouts(db, catalog, clock):
    from app.optouts.tracker import OptOutTracker

    return OptOutTracker(db, catalog, clock=clock, actor="you (tester)")


@pytest.fixture
def collect_sockets():
    """WORKAROUND: as in tests/bridge_client/conftest.py, a client TLS socket is sometimes left to the collector;
    collect it here so its ResourceWarning cannot fail a later test."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
