"""Fixtures the GUI test folders share: a real AppContext in a temp data dir (discovery never started),
MainWindows on it, an in-memory keyring backend, and real bridges on 127.0.0.1.

Test folders are not packages, so each folder's conftest imports the fixtures it wants from here
(importing a fixture into a conftest registers it for that folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent / "bridge_client"))
from client_helpers import Bridges, MemoryKeyring, keyring_backend


@pytest.fixture
def ctx(data_dir):
    from app.context import AppContext
    from app.logging_setup import teardown_logging

    context = AppContext.create(data_dir, interfaces=("127.0.0.1",))
    yield context
    context.close()
    teardown_logging()


@pytest.fixture
def make_window(qtbot, ctx):
    """Builds MainWindows on `ctx` (no tray unless asked); closes them all before ctx closes."""
    from ui.main_window import MainWindow

    windows = []

    def make(**kwargs):
        kwargs.setdefault("tray_available", False)
        window = MainWindow(ctx, **kwargs)
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.adapter.attached:
            window.quit()


@pytest.fixture
def memory_keyring():
    """An in-memory keyring backend for the test (never keyrings.alt's plaintext file)."""
    with keyring_backend(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def bridges(tmp_path):
    """Real bridges (BridgeService, TLS on 127.0.0.1, MockFactory pins), stopped after the test."""
    started = Bridges(tmp_path / "bridges")
    yield started
    started.close()
