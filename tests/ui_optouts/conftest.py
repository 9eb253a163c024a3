"""Opt-outs page fixtures: a real AppContext in a temp data dir whose tracker runs on a clock the test moves,
windows on it, a real keyring backend (in memory), real bridges on 127.0.0.1, and opened URLs caught."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests/conftest.py does this too; harmless twice

import pytest  # noqa: E402
from PySide6.QtCore import QObject, Slot  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402

# WORKAROUND: test folders are not packages; the real-bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import MemoryKeyring, keyring_backend  # noqa: E402

DAY = 86400.0


class Clock:
    """Real time, plus however many days the test has moved it on."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, days: float) -> None:
        self.offset += days * DAY


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory_keyring():
    """An in-memory keyring backend for the test (never keyrings.alt's plaintext file)."""
    with keyring_backend(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def make_ctx(data_dir, clock, memory_keyring):
    """AppContexts on the test's data dir, their opt-out tracker on `clock`; closed after the test."""
    from app.context import AppContext
    from app.logging_setup import teardown_logging
    from app.optouts.tracker import OptOutTracker

    made = []

    def make():
        context = AppContext.create(data_dir, interfaces=("127.0.0.1",))
        context.optouts = OptOutTracker(context.database, context.optouts.catalog, clock=clock,
                                        actor="you (tester)")
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    teardown_logging()


@pytest.fixture
def ctx(make_ctx):
    return make_ctx()


@pytest.fixture
def make_window(qtbot):
    """MainWindows (no tray); closed before their context."""
    from ui.main_window import MainWindow

    windows = []

    def make(context, **kwargs):
        kwargs.setdefault("tray_available", False)
        window = MainWindow(context, **kwargs)
        qtbot.addWidget(window)
        window.resize(1280, 900)
        windows.append(window)
        return window

    yield make
    for window in windows:
        if window.adapter.attached:
            window.quit()


@pytest.fixture
def window(make_window, ctx, qtbot):
    window = make_window(ctx)
    window.show()
    qtbot.waitExposed(window)
    window.show_page("optouts")
    return window


@pytest.fixture
def page(window):
    return window.optouts_page


class UrlCatcher(QObject):
    """Stands in for the browser: QDesktopServices hands it every https URL opened."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot("QUrl")
    def open(self, url) -> None:
        self.urls.append(url.toString())


@pytest.fixture
def opened_urls():
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("https", catcher, "open")
    yield catcher.urls
    QDesktopServices.unsetUrlHandler("https")
