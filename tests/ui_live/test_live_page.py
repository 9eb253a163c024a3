"""The Live page in the main window, fed through the bridge adapter's real signals: rows per paired speaker,
the speaker picker and downlink saved in settings, keyboard control, the offline state, the desktop
microphone (a real MicrophoneMeter on a machine without one) and the settings dialog's microphone section."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from app.audio import LevelReading, MicState, MicStatus
from app.bridge_client import BridgeStatus, Connection, SpeakerState

KITCHEN = ("b1", "kitchen")
BEDROOM = ("b1", "bedroom")


def status(connection: Connection = Connection.ONLINE, problem: str = "") -> BridgeStatus:
    return BridgeStatus(
        bridge_id="b1", name="Demo bridge", host="127.0.0.1", port=8443, fingerprint="ab" * 32,
        connection=connection, problem=problem,
        speakers=(SpeakerState("kitchen", "Kitchen speaker", True, "confirmed", True, has_sense=True),
                  SpeakerState("bedroom", "Bedroom speaker", False, "unconfirmed")))


def samples(speaker: str, seconds: float, *, until: float | None = None) -> list[dict]:
    end = time.time() if until is None else until
    times = end - 0.1 * np.arange(int(seconds * 10))[::-1]
    return [{"type": "sample", "bridge_id": "b1", "speaker_id": speaker, "time": float(t), "up": 400.0,
             "down": 20.0, "muted": True} for t in times]


@pytest.fixture
def page(window):
    window.show_page("live")
    page = window.pages["live"]
    window.bridge_adapter.bridge_updated.emit(status())
    QApplication.processEvents()
    return page


def test_each_paired_speaker_gets_a_row_with_its_names(page):
    assert page.empty_state.isHidden() or not page.empty_state.isVisible()
    assert list(page.view.rows) == [KITCHEN, BEDROOM]
    kitchen = page.view.rows[KITCHEN]
    assert kitchen.title_label.text() == "Kitchen speaker" and kitchen.subtitle_label.text() == "on Demo bridge"
    assert page.range_label.text() == "Live \u00b7 the last 10 min"


def test_samples_from_the_adapter_are_drawn(page, qtbot):
    page.window().bridge_adapter.samples_arrived.emit(samples("kitchen", 20))
    row = page.view.rows[KITCHEN]
    qtbot.waitUntil(lambda: row.shown_points("up") == 200)  # the page's own timer draws them
    assert not row.traffic_overlay.isVisible()
    assert page.view.rows[BEDROOM].traffic_overlay.isVisible()  # nothing for it yet: it says it waits


def test_the_speaker_picker_hides_rows_and_remembers(page, ctx, make_window, qtbot):
    page.set_speaker_shown(BEDROOM, False)
    assert list(page.view.rows) == [KITCHEN]
    assert ctx.settings.live_speakers == "b1/kitchen"
    page.window().close()
    again = make_window()
    again.bridge_adapter.bridge_updated.emit(status())
    assert list(again.pages["live"].view.rows) == [KITCHEN]
    again.pages["live"].show_all_speakers()
    assert ctx.settings.live_speakers == ""
    assert list(again.pages["live"].view.rows) == [KITCHEN, BEDROOM]


def test_unchecking_every_speaker_says_how_to_get_them_back(page):
    page.set_speaker_shown(KITCHEN, False)
    page.set_speaker_shown(BEDROOM, False)
    assert not page.view.rows and page.no_speakers_label.isVisible()


def test_downlink_choice_is_saved(page, ctx):
    page.downlink_check.setChecked(True)
    assert ctx.settings.live_show_downlink
    assert page.view.rows[KITCHEN].down_curve.isVisible()


def test_keyboard_pauses_zooms_and_returns_to_live(page, qtbot):
    row = page.view.rows[KITCHEN]
    row.graphics.setFocus()
    qtbot.keyClick(row.graphics, Qt.Key.Key_Space)  # from a focused plot, the key reaches the page
    assert page.view.paused and page.pause_button.text() == "Resume"
    assert page.range_label.text().startswith("Paused")
    qtbot.keyClick(row.graphics, Qt.Key.Key_Minus)
    assert page.view.window_s == 1200
    qtbot.keyClick(row.graphics, Qt.Key.Key_Plus)
    qtbot.keyClick(row.graphics, Qt.Key.Key_Plus)
    assert page.view.window_s == 300
    qtbot.keyClick(row.graphics, Qt.Key.Key_Home)
    assert not page.view.paused and page.range_label.text() == "Live \u00b7 the last 5 min"
    qtbot.keyClick(row.graphics, Qt.Key.Key_Space)
    qtbot.mouseClick(page.live_button, Qt.MouseButton.LeftButton)
    assert not page.view.paused


def test_offline_bridge_greys_its_rows_and_recovers(page, qtbot):
    adapter = page.window().bridge_adapter
    adapter.samples_arrived.emit(samples("kitchen", 5))
    row = page.view.rows[KITCHEN]
    qtbot.waitUntil(lambda: row.shown_points("up") == 50)
    adapter.bridge_updated.emit(status(Connection.OFFLINE, "The bridge at 127.0.0.1:8443 stopped answering."))
    assert row.offline and "stopped answering" in row.traffic_overlay.text()
    assert "Showing the last data received" in row.traffic_overlay.text()
    adapter.bridge_updated.emit(status())
    assert not row.offline and not row.traffic_overlay.isVisible()


def test_a_forgotten_bridge_leaves_the_empty_state(page):
    page.window().bridge_adapter.bridge_removed.emit("b1")
    assert not page.view.rows
    assert page.empty_state.isVisible()


def test_the_desktop_microphone_runs_while_the_page_is_shown_and_says_why_it_has_no_data(page, ctx, qtbot):
    adapter = page.window().bridge_adapter
    adapter.samples_arrived.emit(samples("bedroom", 5))  # seconds of samples, no microphone record: none there
    ctx.update_settings(desktop_mic_enabled=True)
    page.apply_settings(ctx.settings)
    assert page.meter is not None
    row = page.view.rows[BEDROOM]
    # This machine has no microphone: the real meter says so, and the plot shows its words.
    qtbot.waitUntil(lambda: "No microphone found" in row.mic_overlay.text(), timeout=10_000)

    readings = [LevelReading(time.time() - 0.1 * n, -30.0, True) for n in range(10, 0, -1)]
    worker = threading.Thread(target=lambda: (page._status_from_meter(MicStatus(MicState.RUNNING, "Listening")),
                                              page._readings_from_meter(readings)))
    worker.start()  # the meter calls back on its own thread; the page carries it to the GUI thread
    worker.join()
    qtbot.waitUntil(lambda: row.shown_points("level") == 10)
    qtbot.waitUntil(lambda: not row.mic_overlay.isVisible())

    page.window().show_page("overview")  # not looking: the microphone is off
    assert page.meter is None
    page.window().show_page("live")
    assert page.meter is not None
    ctx.update_settings(desktop_mic_enabled=False)
    page.apply_settings(ctx.settings)
    assert page.meter is None


def test_settings_dialog_has_a_microphone_section(window, ctx, qtbot):
    window.open_settings()
    dialog = window.settings_dialog
    assert not dialog.mic_check.isChecked() and not dialog.mic_combo.isEnabled()
    assert dialog.mic_combo.currentData() == ""
    assert any("never recorded, stored or sent" in label.text() for label in dialog.findChildren(QLabel))
    dialog.mic_check.setChecked(True)
    assert dialog.mic_combo.isEnabled()
    dialog.accept()
    assert ctx.settings.desktop_mic_enabled and ctx.settings.desktop_mic_device == ""
    window.open_settings()
    assert window.settings_dialog.mic_check.isChecked()
    window.settings_dialog.restore_defaults()
    assert not window.settings_dialog.mic_check.isChecked()
    window.settings_dialog.reject()


def test_a_saved_microphone_that_is_not_connected_stays_chosen(window, ctx):
    ctx.update_settings(desktop_mic_enabled=True, desktop_mic_device="USB PnP Sound Device")
    window.open_settings()
    combo = window.settings_dialog.mic_combo
    assert combo.currentData() == "USB PnP Sound Device" and "not connected" in combo.currentText()
    window.settings_dialog.reject()
