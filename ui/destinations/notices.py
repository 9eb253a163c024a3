"""Tells the user when a speaker starts sending data to an organisation it never talked to before.

The bridge publishes `new_destination_org` once per speaker and organisation (or unknown domain); the
adapter carries it to the GUI thread, and this shows it in the tray (or the status bar without one).
Hook it up once, beside the AlertNotifier: `NewOrganisationNotifier(window, tray, adapter)`.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon

from app.bridge_client.destinations import NewOrganisation
from app.destinations import new_organisation_notice

log = logging.getLogger(__name__)

STATUS_MS = 15000


class NewOrganisationNotifier(QObject):
    """Shows each NewOrganisation the adapter reports.

    Attributes:
        shown: (title, message) of every notice shown, oldest first (the newest 100).

    Signals:
        open_requested(str bridge_id, str speaker_id): the user clicked a notice (open the Destinations dialog).
    """

    open_requested = Signal(str, str)

    def __init__(self, window: QMainWindow, tray, adapter) -> None:
        super().__init__(window)
        self._window = window
        self._tray = tray
        self._adapter = adapter
        self.shown: list[tuple[str, str]] = []
        adapter.new_destination_org.connect(self.notify)

    def notify(self, news: NewOrganisation) -> None:
        name = self._adapter.manager.speaker_name(news.bridge_id, news.speaker_id)
        title, message = new_organisation_notice(news, name)
        self.shown = [*self.shown[-99:], (title, message)]
        self._window.statusBar().showMessage(f"{title}. {message}", STATUS_MS)
        if self._tray is not None:
            self._tray.notify(title, message, icon=QSystemTrayIcon.MessageIcon.Information,
                              on_click=lambda: self.open_requested.emit(news.bridge_id, news.speaker_id))
        log.info("notice shown: %s", title)
