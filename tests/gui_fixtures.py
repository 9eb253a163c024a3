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
from client_helpers import bridges, memory_keyring  # noqa: F401 - fixtures, re-exported for the GUI folders


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
