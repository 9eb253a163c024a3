"""Starting the desktop app: the QApplication, the main window, discovery, and a clean exit."""

from __future__ import annotations

import logging
import signal

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.discovery.browser import DiscoveryError
from ui import theme
from ui.main_window import MainWindow

log = logging.getLogger(__name__)


def run(ctx, argv: list[str]) -> int:
    """Show Earmuff's window for `ctx`, run until the user quits, then close `ctx`. Returns the exit code."""
    QApplication.setApplicationName("Earmuff")
    QApplication.setOrganizationName("Earmuff")
    QApplication.setApplicationDisplayName("Earmuff")
    QApplication.setDesktopFileName("earmuff")
    app = QApplication.instance() or QApplication(argv)
    app.setWindowIcon(theme.app_icon())
    # The window decides when the app ends: closing it may only hide it to the tray.
    app.setQuitOnLastWindowClosed(False)

    window = MainWindow(ctx)
    window.closed.connect(app.quit)
    previous_handlers = _quit_on_signals(window)
    try:
        window.show()
        try:
            ctx.start() if hasattr(ctx, "start") else ctx.discovery.start()
        except DiscoveryError as exc:
            log.error("discovery did not start: %s", exc)
            window.show_discovery_problem(str(exc))
        return app.exec()
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        window.adapter.detach()
        ctx.close()


def _quit_on_signals(window: MainWindow) -> dict:
    """Ctrl+C in the terminal, or SIGTERM from a session manager, quits cleanly: the demo's child
    processes are stopped and pending writes saved. Returns the handlers it replaced.

    WORKAROUND: Python runs signal handlers only between bytecodes, and Qt's
    event loop runs in C++; a short idle timer gives Python a chance to run.
    """
    previous = {signum: signal.signal(signum, lambda *_: window.quit()) for signum in (signal.SIGINT, signal.SIGTERM)}
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(300)
    return previous
