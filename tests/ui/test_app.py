"""ui.app.run: the window comes up, discovery starts, quitting closes the context."""

from __future__ import annotations

import signal

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.discovery.browser import DiscoveryError
from ui.app import run
from ui.main_window import MainWindow


def quit_when_shown(qapp, seen: list):
    def attempt():
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(10, attempt)
            return
        seen.append(windows[0])
        windows[0].quit()

    QTimer.singleShot(0, attempt)


def test_run_starts_discovery_and_closes_the_context_on_quit(qapp, ctx, monkeypatch):
    started = []
    closed = []
    monkeypatch.setattr(ctx, "start", lambda: started.append(True))
    real_close = ctx.close
    monkeypatch.setattr(ctx, "close", lambda: (closed.append(True), real_close()))
    before = signal.getsignal(signal.SIGINT)
    seen: list = []
    quit_when_shown(qapp, seen)
    try:
        assert run(ctx, ["earmuff"]) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(True)
    assert started == [True] and closed == [True]
    assert QApplication.applicationName() == "Earmuff"
    assert QApplication.desktopFileName() == "earmuff"
    assert not qapp.windowIcon().isNull()
    assert seen and not seen[0].adapter.attached
    assert signal.getsignal(signal.SIGINT) is before


def test_run_explains_when_discovery_cannot_start(qapp, ctx, monkeypatch):
    def fail():
        raise DiscoveryError("Cannot listen for mDNS on 10.9.9.9: address not available")

    monkeypatch.setattr(ctx, "start", fail)
    seen: list = []

    def check_then_quit():
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(10, check_then_quit)
            return
        window = windows[0]
        seen.append(window.discovery_label.text())
        window.quit()

    QTimer.singleShot(0, check_then_quit)
    try:
        assert run(ctx, ["earmuff"]) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(True)
    assert seen == ["Not listening: Cannot listen for mDNS on 10.9.9.9: address not available"]
