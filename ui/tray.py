"""The system-tray icon, where the desktop has a tray; otherwise nothing at all."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

log = logging.getLogger(__name__)


class TrayIcon(QObject):
    """Earmuff's tray icon with a small menu, or an inert stand-in where there is no tray.

    Attributes:
        available: whether the platform has a system tray (QSystemTrayIcon.isSystemTrayAvailable()).
        icon: the QSystemTrayIcon, or None when not available.
        menu: its context menu, or None.
        mute_all_action, unmute_all_action: "Mute all" / "Unmute all" (every speaker of every online
            bridge); None without a tray. Disabled until `set_bridges_online(True)`.
        last_message: (title, message, icon) of the last notification shown, for tests and logs.

    Signals:
        show_requested(): the user clicked the icon or chose "Show Earmuff".
        quit_requested(): the user chose "Quit".
        mute_all_requested(bool muted): the user chose "Mute all" (True) or "Unmute all" (False).
    """

    show_requested = Signal()
    quit_requested = Signal()
    mute_all_requested = Signal(bool)

    def __init__(self, app_icon: QIcon, parent: QObject | None = None, *, available: bool | None = None) -> None:
        super().__init__(parent)
        self.available = QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        self.icon: QSystemTrayIcon | None = None
        self.menu: QMenu | None = None
        self.mute_all_action: QAction | None = None
        self.unmute_all_action: QAction | None = None
        self.last_message: tuple[str, str, QSystemTrayIcon.MessageIcon] | None = None
        self._on_click: Callable[[], None] | None = None
        if not self.available:
            log.info("no system tray on this desktop; closing the window will quit Earmuff")
            return
        self.menu = QMenu()
        show = QAction("Show Earmuff", self.menu)
        show.triggered.connect(self.show_requested)
        quit_ = QAction("Quit Earmuff", self.menu)
        quit_.triggered.connect(self.quit_requested)
        self.mute_all_action = QAction("Mute all speakers", self.menu)
        self.mute_all_action.triggered.connect(lambda: self.mute_all_requested.emit(True))
        self.unmute_all_action = QAction("Unmute all speakers", self.menu)
        self.unmute_all_action.triggered.connect(lambda: self.mute_all_requested.emit(False))
        self.set_bridges_online(False)
        self.menu.addAction(show)
        self.menu.addSeparator()
        self.menu.addAction(self.mute_all_action)
        self.menu.addAction(self.unmute_all_action)
        self.menu.addSeparator()
        self.menu.addAction(quit_)
        self.icon = QSystemTrayIcon(app_icon, self)
        self.icon.setToolTip("Earmuff")
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self.message_clicked)
        self.icon.show()

    def set_bridges_online(self, online: bool) -> None:
        """Enable "Mute all" / "Unmute all" while at least one bridge is online."""
        for action, verb in ((self.mute_all_action, "Mute"), (self.unmute_all_action, "Unmute")):
            if action is not None:
                action.setEnabled(online)
                action.setToolTip(f"{verb} every speaker of every bridge that is online" if online
                                  else "No bridge is online")

    def set_tooltip(self, text: str) -> None:
        if self.icon is not None:
            self.icon.setToolTip(text)

    def notify(self, title: str, message: str, *,
               icon: QSystemTrayIcon.MessageIcon = QSystemTrayIcon.MessageIcon.Information,
               on_click: Callable[[], None] | None = None) -> bool:
        """Show a desktop notification; False when there is no tray to show it from.

        `on_click()` runs if the user clicks this notification. Only the newest one is clickable
        (the platform says a message was clicked, not which), so each call replaces the last callback.
        """
        if self.icon is None or not self.icon.supportsMessages():
            return False
        self._on_click = on_click
        self.last_message = (title, message, icon)
        self.icon.showMessage(title, message, icon, 15000 if icon == QSystemTrayIcon.MessageIcon.Critical else 8000)
        return True

    def message_clicked(self) -> None:
        """The newest notification was clicked: do what it offered (once)."""
        callback, self._on_click = self._on_click, None
        if callback is not None:
            callback()

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()
