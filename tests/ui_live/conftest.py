"""Live page fixtures: a real AppContext in a temp data dir, windows on it, and real bridges on 127.0.0.1."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests/conftest.py does this too; harmless twice

import pytest

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import Bridges, MemoryKeyring, keyring_backend


def pytest_collection_modifyitems(items):
    # WORKAROUND: the offscreen platform plugin warns "This plugin does not support
    # propagateSizeHints()" whenever a window with a minimum size is shown; it is
    # about the plugin, not our code, and real platforms do not say it.
    for item in items:
        if "tests/ui_live/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"))


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
    """Builds MainWindows on `ctx` (no tray); closes them all before ctx closes."""
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
def window(make_window, qtbot):
    window = make_window()
    window.resize(1280, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


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
