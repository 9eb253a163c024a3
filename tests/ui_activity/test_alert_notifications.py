"""Alerts in the window: a tray notification for a flagged activation (critical for an upload while muted),
the bridge's own alarm folded into it, the per-flag settings and the rate limit honoured, a click that
opens the activation, the status bar and an indicator where there is no tray, and the settings dialog's
Alerts section."""

from __future__ import annotations

import datetime as dt

import pytest
from activity_helpers import BRIDGE, KITCHEN, activation, bridge_status
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QSystemTrayIcon

from app.activations import FLAG_TEXT
from app.alerts import ActivationAlerts, clock_text
from app.bridge_client import BridgeAlarm
from app.settings import Settings
from ui.models.activity_model import InProgress
from ui.pages.activity import midnight

# The offscreen platform has no tray and cannot raise windows; it says so. Real desktops do not.
offscreen_limits = pytest.mark.qt_log_ignore(r"systemTrayWindowChanged", r"does not support raise\(\)",
                                           r"QSystemTrayIcon::setVisible: No Icon set")
NOON = midnight(dt.date.today()) + 12 * 3600
CRITICAL = QSystemTrayIcon.MessageIcon.Critical
WARNING = QSystemTrayIcon.MessageIcon.Warning


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def start(window, speaker: str, when: float, *flags: str) -> None:
    window.bridge_adapter.activation_event.emit(BRIDGE, "activation_started",
                                                {"speaker_id": speaker, "start": when, "confidence": 0.97,
                                                 "flags": list(flags)})


def end(window, number: int, speaker: str, when: float, *flags: str) -> None:
    window.bridge_adapter.activation_event.emit(BRIDGE, "activation_ended",
                                                {"id": number, "speaker_id": speaker, "start": when,
                                                 "end": when + 6, "bytes_up": 221_000, "peak_rate": 7.6e4,
                                                 "confidence": 0.97, "flags": list(flags)})


@pytest.fixture
def tray_window(make_window, qtbot, monkeypatch):
    """A window with a tray; `window.notified` lists every notification it was asked to show."""
    window = make_window(tray_available=True)
    window.show()
    qtbot.waitExposed(window)
    window.bridge_adapter.bridge_updated.emit(bridge_status())
    window.notified = []
    real = window.tray.notify

    def notify(title, message, **kwargs):
        window.notified.append((title, message, kwargs.get("icon")))
        return real(title, message, **kwargs)

    monkeypatch.setattr(window.tray, "notify", notify)
    return window


@offscreen_limits
def test_an_upload_while_muted_is_one_critical_notification_and_a_click_opens_it(qtbot, tray_window, ctx):
    window = tray_window
    window.show_page("speakers")
    start(window, "kitchen", NOON, "while_muted")
    said = f"Started at {dt.datetime.fromtimestamp(NOON):%H:%M:%S}.\n{FLAG_TEXT['while_muted']}"
    assert window.notified == [("Uploaded while muted: Kitchen speaker", said, CRITICAL)]
    assert window.tray.last_message[2] == CRITICAL
    assert window.statusBar().currentMessage().startswith("Uploaded while muted: Kitchen speaker.")
    # The bridge raises its own critical alarm for the same upload: not a second message.
    window.bridge_adapter.alarm.emit(BridgeAlarm(BRIDGE, "kitchen", "Kitchen speaker is sending audio to the "
                                                 "internet while muted: its mute is not working", "critical"))
    assert len(window.notified) == 1

    window.tray.icon.messageClicked.emit()
    assert window.isVisible() and window.current_page_key() == "activity"
    selected = window.activity_page.selected_row()
    assert isinstance(selected, InProgress) and selected.speaker_id == "kitchen"

    # It ends; its record arrives; the selection moves to it. Nothing new to tell.
    ctx.activations.upsert_many([activation(7, KITCHEN, NOON, flags={"while_muted"})])
    window.bridge_adapter.activations_changed.emit()
    end(window, 7, "kitchen", NOON, "while_muted")
    assert window.activity_page.selected_row().activation_id == 7
    assert len(window.notified) == 1

    # Another bridge alarm (a mute that could not be switched) is its own news.
    window.bridge_adapter.alarm.emit(BridgeAlarm(BRIDGE, "bedroom", "Bedroom speaker: could not drop its internet "
                                                 "traffic", "error"))
    assert window.notified[-1] == ("Earmuff bridge", "Bedroom speaker: could not drop its internet traffic", WARNING)


@offscreen_limits
def test_flags_found_at_the_end_are_told_then_and_unflagged_ones_never(tray_window):
    window = tray_window
    start(window, "kitchen", NOON)
    assert window.notified == []
    end(window, 3, "kitchen", NOON, "no_speech_nearby")
    title, message, icon = window.notified[0]
    assert title == "Nobody was speaking: Kitchen speaker" and icon == WARNING
    assert FLAG_TEXT["no_speech_nearby"] in message and "The upload that began at" in message
    window.tray.message_clicked()
    assert window.current_page_key() == "activity"


@offscreen_limits
def test_switched_off_flags_stay_quiet(tray_window, ctx):
    window = tray_window
    ctx.update_settings(alert_while_muted=False, alert_no_speech_nearby=False)
    start(window, "kitchen", NOON, "while_muted", "no_speech_nearby")
    assert window.notified == []
    window.bridge_adapter.alarm.emit(BridgeAlarm(BRIDGE, "kitchen", "sending while muted", "critical"))
    assert window.notified == []  # the user chose no alert for this; the alarm says the same
    start(window, "bedroom", NOON + 5, "during_schedule")
    assert [n[0] for n in window.notified] == ["Uploaded in quiet time: Bedroom speaker"]


@offscreen_limits
def test_a_misfiring_speaker_is_rate_limited_and_the_next_alert_counts_the_rest(tray_window, ctx):
    window = tray_window
    clock = Clock(NOON)
    window.alerts.policy = ActivationAlerts(clock)
    ctx.update_settings(alert_min_interval_s=120)
    first_held = None
    for step in range(4):
        clock.now = NOON + step * 20
        first_held = first_held or (clock.now if step else None)
        start(window, "kitchen", clock.now, "no_speech_nearby")
        end(window, step, "kitchen", clock.now, "no_speech_nearby")
    assert len(window.notified) == 1
    clock.now = NOON + 125
    start(window, "kitchen", clock.now, "no_speech_nearby")
    assert len(window.notified) == 2
    assert f"And 3 more since {clock_text(first_held)}." in window.notified[1][1]


@offscreen_limits
def test_without_a_tray_alerts_go_to_the_status_bar_and_an_indicator(qtbot, window, ctx):
    window.bridge_adapter.bridge_updated.emit(bridge_status())
    indicator = window.alerts.indicator
    assert not indicator.isVisible()
    start(window, "kitchen", NOON, "while_muted")
    assert window.statusBar().currentMessage().startswith("Uploaded while muted: Kitchen speaker.")
    assert indicator.isVisible() and indicator.text() == "\u26a0 1 new alert"
    start(window, "bedroom", NOON + 1, "during_schedule")
    assert indicator.text() == "\u26a0 2 new alerts"
    assert "Uploaded in quiet time: Bedroom speaker" in indicator.toolTip()
    qtbot.mouseClick(indicator, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "activity"
    assert window.activity_page.selected_row().speaker_id == "bedroom"
    assert not indicator.isVisible()


def test_the_settings_dialog_has_an_alerts_section(qtbot, window, ctx):
    window.open_settings()
    dialog = window.settings_dialog
    checks = dialog.alert_checks
    assert set(checks) == {"alert_while_muted", "alert_during_schedule", "alert_no_speech_nearby"}
    assert all(check.isChecked() for check in checks.values())
    assert "muted" in checks["alert_while_muted"].text() and checks["alert_while_muted"].toolTip()
    spin = dialog.alert_interval_spin
    assert (spin.minimum(), spin.maximum(), spin.value()) == (10, 3600, 60)
    checks["alert_no_speech_nearby"].setChecked(False)
    spin.setValue(300)
    with qtbot.waitSignal(dialog.saved):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert not ctx.settings.alert_no_speech_nearby and ctx.settings.alert_min_interval_s == 300
    assert ctx.settings.alert_while_muted

    window.open_settings()
    dialog = window.settings_dialog
    assert not dialog.alert_checks["alert_no_speech_nearby"].isChecked() and dialog.alert_interval_spin.value() == 300
    dialog.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).click()
    assert dialog.alert_checks["alert_no_speech_nearby"].isChecked()
    assert dialog.alert_interval_spin.value() == Settings().alert_min_interval_s
    dialog.reject()
