"""Fixtures for the GUI folders whose pages keep time (Opt-outs re-checks, Deletions deadlines): AppContexts
whose opt-out tracker runs on a clock the test moves, MainWindows made for a given context, an in-memory
keyring, and URLs that QDesktopServices would open caught instead.

Each folder's conftest imports the fixtures it uses (test folders are not packages).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from gui_fixtures import memory_keyring  # noqa: F401 - used by make_ctx, re-exported for the folders
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QDesktopServices

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
def make_ctx(data_dir, clock, memory_keyring):  # noqa: F811 - the fixture above, by name
    """AppContexts on the test's data dir, their opt-out tracker (whose clock the Deletions page uses too) on
    `clock`; closed after the test."""
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
    """MainWindows on a given context (no tray), 1280x900; closed before their context."""
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


class UrlCatcher(QObject):
    """Stands in for the browser or mail client: QDesktopServices hands it every URL of its scheme."""

    def __init__(self, convert: Callable) -> None:
        super().__init__()
        self.urls: list = []
        self._convert = convert

    @Slot("QUrl")
    def open(self, url) -> None:
        self.urls.append(self._convert(url))


@contextmanager
def caught_urls(scheme: str, convert: Callable = lambda url: url) -> Iterator[list]:
    """The list of `scheme` URLs opened meanwhile (each passed through `convert`)."""
    catcher = UrlCatcher(convert)
    QDesktopServices.setUrlHandler(scheme, catcher, "open")
    try:
        yield catcher.urls
    finally:
        QDesktopServices.unsetUrlHandler(scheme)
