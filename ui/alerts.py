"""Tells the user about flagged activations: a tray notification, or the status bar where there is no tray.

`app.alerts.ActivationAlerts` decides what is worth telling (per-flag settings, rate limit); this
shows it. A click on the notification asks the window to open the activation. The bridge's own
critical alarm for an upload while muted is the same news as the activation's alert, so it is
shown only when no such alert came first: one message, not two.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QPushButton, QSystemTrayIcon

from app.alerts import ActivationAlerts, Alert
from app.bridge_client import BridgeAlarm, BridgeStatus
from ui.tray import TrayIcon

log = logging.getLogger(__name__)

STATUS_MS = 15000
INDICATOR_STYLE = "QPushButton#alert_indicator { color: %s; font-weight: bold; padding: 0 6px; }"


class AlertNotifier(QObject):
    """Shows Alerts for the bridge adapter's activation events, and the bridges' alarms.

    Attributes:
        policy: the ActivationAlerts that decides.
        shown: the Alerts shown so far this session, oldest first (the newest 100).
        indicator: a status-bar button listing alerts not looked at yet; shown only without a tray
            (where a notification cannot be clicked), it opens the newest and then hides.

    Signals:
        alert_shown(Alert): an alert was shown (in the tray or the status bar).
        open_requested(str bridge_id, str speaker_id, float start): the user asked to see the activation.
    """

    alert_shown = Signal(object)
    open_requested = Signal(str, str, float)

    def __init__(self, window: QMainWindow, tray: TrayIcon, adapter, settings: Callable[[], object], *,
                 clock: Callable[[], float] = time.time) -> None:
        """`settings()` returns the current Settings (read at each event, so changes apply at once)."""
        super().__init__(window)
        self._window = window
        self._tray = tray
        self._adapter = adapter
        self._settings = settings
        self.policy = ActivationAlerts(clock)
        self.shown: list[Alert] = []
        self._unseen: list[Alert] = []
        self._names: dict[tuple[str, str], str] = {}
        self.indicator = QPushButton("", window)
        self.indicator.setObjectName("alert_indicator")
        self.indicator.setFlat(True)
        self.indicator.setAccessibleName("Alerts not looked at yet")
        self.indicator.setVisible(False)
        self.indicator.clicked.connect(self.open_newest)
        window.statusBar().addPermanentWidget(self.indicator)
        if adapter is not None:
            adapter.activation_event.connect(self.activation_event)
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self.policy.forget_bridge)
            for status in adapter.statuses():
                self._bridge_updated(status)

    # -- activations -------------------------------------------------------------------------------------
    def activation_event(self, bridge_id: str, kind: str, data: dict) -> None:
        speaker_id = data.get("speaker_id")
        name = self._speaker_name(bridge_id, speaker_id) if isinstance(speaker_id, str) else ""
        alert = self.policy.event(bridge_id, kind, data, self._settings(), name)
        if alert is not None:
            self.show(alert)

    def show(self, alert: Alert) -> None:
        self.shown = [*self.shown[-99:], alert]
        first_line = alert.message.split("\n", 1)[0]
        self._window.statusBar().showMessage(f"{alert.title}. {first_line}", STATUS_MS)
        icon = QSystemTrayIcon.MessageIcon.Critical if alert.critical else QSystemTrayIcon.MessageIcon.Warning
        if not self._tray.notify(alert.title, alert.message, icon=icon, on_click=lambda: self.open(alert)):
            self._unseen.append(alert)
            self._update_indicator()
            QApplication.alert(self._window)  # the taskbar entry asks for attention
        log.info("alert shown: %s (%s)", alert.title, ", ".join(alert.flags))
        self.alert_shown.emit(alert)

    def open(self, alert: Alert) -> None:
        """Show the window on this alert's activation."""
        self._unseen = [a for a in self._unseen if a is not alert]
        self._update_indicator()
        self.open_requested.emit(alert.bridge_id, alert.speaker_id, alert.start)

    def open_newest(self) -> None:
        if self._unseen:
            newest = self._unseen[-1]
            self._unseen.clear()
            self.open(newest)

    def _update_indicator(self) -> None:
        count = len(self._unseen)
        self.indicator.setVisible(count > 0)
        if not count:
            return
        newest = self._unseen[-1]
        critical = any(a.critical for a in self._unseen)
        self.indicator.setStyleSheet(INDICATOR_STYLE % ("#c62828" if critical else "#ef6c00"))
        self.indicator.setText(f"\u26a0 {count} new alert{'' if count == 1 else 's'}")
        self.indicator.setToolTip(f"Newest: {newest.title}. Click to see it on the Activity page.")

    def _bridge_updated(self, status: BridgeStatus) -> None:
        for speaker in status.speakers:
            self._names[(status.bridge_id, speaker.speaker_id)] = speaker.name

    def _speaker_name(self, bridge_id: str, speaker_id: str) -> str:
        return self._names.get((bridge_id, speaker_id), speaker_id)

    # -- bridge alarms ---------------------------------------------------------------------------------------
    def bridge_alarm(self, alarm: BridgeAlarm) -> bool:
        """Show a bridge's alarm unless an activation alert already told the same; True if shown."""
        if self.policy.absorbs_alarm(alarm.bridge_id, alarm.speaker_id, alarm.level):
            log.info("bridge alarm folded into the activation alert: %s", alarm.message)
            return False
        self._window.statusBar().showMessage(alarm.message, 10000)
        icon = {"critical": QSystemTrayIcon.MessageIcon.Critical, "error": QSystemTrayIcon.MessageIcon.Warning}.get(
            alarm.level, QSystemTrayIcon.MessageIcon.Information)
        self._tray.notify("Earmuff bridge", alarm.message, icon=icon)
        return True
