"""The Bridges page against real bridges: mute toggles that come back confirmed (or in red when the sense
line disagrees), mute for an hour, the schedule editor with the bridge's own validation, tray "Mute all",
the offline view, forgetting, and the empty and found states."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

# WORKAROUND: test folders are not packages; the shared bridge helpers live with the client tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_client"))
from client_helpers import KITCHEN_PIN  # noqa: E402

from app.bridge_client import Connection, SpeakerState  # noqa: E402
from app.bridge_client.pairing import probe  # noqa: E402
from app.secrets import SERVICE  # noqa: E402
from ui.widgets.mute_control import state_text  # noqa: E402

NET_MS = 15_000
CONFIRMED_MUTED = "Muted · confirmed by the mute light"
CONFIRMED_UNMUTED = "Not muted · confirmed by the mute light"


def pair(qtbot, ctx, page, bridge):
    """Pair `bridge` with the app's manager and wait until its card shows the speakers online."""
    ctx.bridges.start()
    ctx.bridges.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    qtbot.waitUntil(lambda: bridge.bridge_id in page.cards and page.cards[bridge.bridge_id].status.online
                    and len(page.cards[bridge.bridge_id].controls) == 3, timeout=NET_MS)
    return page.cards[bridge.bridge_id]


@pytest.fixture
def page(window, memory_keyring):
    window.show_page("bridges")
    return window.bridges_page


def test_state_texts_say_commanded_versus_confirmed():
    base = SpeakerState(speaker_id="k", name="Kitchen", muted=True, confirmation="confirmed", has_sense=True)
    assert state_text(base) == (CONFIRMED_MUTED, False)
    no_sense = SpeakerState(speaker_id="k", name="K", muted=True, confirmation="unconfirmed", has_sense=False)
    assert state_text(no_sense) == ("Muted · not confirmed (no sense line)", False)
    wrong = SpeakerState(speaker_id="k", name="K", muted=True, confirmation="mismatch", has_sense=True)
    assert state_text(wrong) == ("MISMATCH: the speaker did not mute", True)


def test_without_bridges_the_page_explains_and_offers_to_add_one(qtbot, page):
    assert page.empty_state.isVisible()
    assert "No bridges yet" in page.empty_state.title_label.text()
    assert page.empty_state.action_button is not None
    qtbot.mouseClick(page.empty_state.action_button, Qt.MouseButton.LeftButton)
    assert page.pair_dialog is not None and page.pair_dialog.isVisible()
    page.pair_dialog.reject()


def test_toggling_mute_reaches_the_pin_and_shows_confirmed(qtbot, ctx, page, bridges):
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    kitchen = card.controls["kitchen"]
    assert kitchen.state_label.text() == CONFIRMED_MUTED
    assert kitchen.toggle.isChecked() and kitchen.toggle.text() == "Muted"
    assert card.controls["living-room"].state_label.text() == "Muted · not confirmed (no sense line)"

    qtbot.mouseClick(kitchen.toggle, Qt.MouseButton.LeftButton)
    assert kitchen.toggle.text() == "Unmuting…" and not kitchen.toggle.isEnabled()
    qtbot.waitUntil(lambda: kitchen.state_label.text() == CONFIRMED_UNMUTED, timeout=NET_MS)
    qtbot.waitUntil(lambda: kitchen.toggle.isEnabled())
    assert not kitchen.toggle.isChecked() and kitchen.toggle.text() == "Mute"
    assert bridges.pin(KITCHEN_PIN).state is True
    assert "Anna" not in kitchen.detail_label.text() and "by Earmuff on" in kitchen.detail_label.text()

    kitchen.toggle.setFocus()  # the keyboard works too
    qtbot.keyClick(kitchen.toggle, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: kitchen.state_label.text() == CONFIRMED_MUTED, timeout=NET_MS)
    assert bridges.pin(KITCHEN_PIN).state is False


def test_a_mute_the_sense_line_contradicts_is_shown_in_red(qtbot, ctx, window, page, bridges):
    bridge = bridges.start(simulate_speakers=False)  # nothing lights the mute LED: the sense line stays off
    card = pair(qtbot, ctx, page, bridge)
    kitchen = card.controls["kitchen"]
    qtbot.waitUntil(lambda: kitchen.state.confirmation == "mismatch", timeout=NET_MS)
    assert kitchen.state_label.text() == "MISMATCH: the speaker did not mute"
    assert kitchen.state_label.property("role") == "error" and kitchen.state_label.font().bold()

    qtbot.mouseClick(kitchen.toggle, Qt.MouseButton.LeftButton)  # unmuting agrees with the sense line
    qtbot.waitUntil(lambda: kitchen.state_label.text() == CONFIRMED_UNMUTED, timeout=NET_MS)
    assert kitchen.state_label.property("role") is None

    window.statusBar().clearMessage()
    qtbot.mouseClick(kitchen.toggle, Qt.MouseButton.LeftButton)  # muting again: the LED stays dark
    qtbot.waitUntil(lambda: kitchen.state.confirmation == "mismatch", timeout=NET_MS)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() != "", timeout=NET_MS)  # the bridge's alarm
    assert not window.statusBar().currentMessage().startswith("Could not")
    assert kitchen.toggle.isChecked()  # commanded muted, shown as such, with the red warning beside it


def test_mute_for_an_hour(qtbot, ctx, page, bridges):
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    bedroom = card.controls["bedroom"]
    qtbot.mouseClick(bedroom.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bedroom.state.muted and not bedroom.pending, timeout=NET_MS)
    qtbot.mouseClick(bedroom.hour_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bedroom.state.muted and not bedroom.pending, timeout=NET_MS)
    assert bedroom.state_label.text() == CONFIRMED_MUTED
    [once] = bridge.engine.schedules()
    assert once.kind == "once" and once.speaker_id == "bedroom"


def test_the_schedule_editor_shows_the_bridges_validation_and_saves_a_window(qtbot, ctx, page, bridges):
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    qtbot.mouseClick(card.controls["kitchen"].schedules_button, Qt.MouseButton.LeftButton)
    editor = page.schedule_editor
    assert editor is not None and editor.isVisible()
    qtbot.waitUntil(lambda: editor.status_label.text() == "", timeout=NET_MS)  # loaded
    assert editor.schedule_list.item(0).text().startswith("No schedules yet")
    assert "time zone (UTC)" in editor.findChildren(type(editor.status_label))[0].text()

    for check in editor.day_checks:
        check.setChecked(False)
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.error_label.isVisible(), timeout=NET_MS)
    assert "day" in editor.error_label.text()  # the bridge's own words, inline
    assert bridge.engine.schedules() == []

    buttons = {b.text(): b for b in editor.findChildren(type(editor.save_button))}
    qtbot.mouseClick(buttons["Weekdays"], Qt.MouseButton.LeftButton)
    editor.label_edit.setText("Work")
    with qtbot.waitSignal(editor.saved, timeout=NET_MS):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(editor.schedules), timeout=NET_MS)
    assert not editor.error_label.isVisible()
    assert editor.schedule_list.item(0).text() == "Work · Weekdays 22:00\u201307:00 (next day) · Kitchen speaker"
    [saved] = bridge.engine.schedules()
    assert (saved.days, saved.start, saved.end, saved.speaker_id) == ((0, 1, 2, 3, 4), "22:00", "07:00", "kitchen")

    editor.end_edit.setTime(editor.start_edit.time())  # end == start: the bridge says why not
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.error_label.isVisible(), timeout=NET_MS)
    assert editor.error_label.text()

    editor.schedule_list.setCurrentRow(0)
    qtbot.mouseClick(editor.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bridge.engine.schedules() and not editor.schedules, timeout=NET_MS)
    editor.reject()


@pytest.mark.qt_log_ignore(r"systemTrayWindowChanged", r"does not support raise\(\)")
def test_tray_mute_all_and_unmute_all(qtbot, ctx, make_window, memory_keyring, bridges):
    window = make_window(tray_available=True)
    window.show()
    qtbot.waitExposed(window)
    page = window.bridges_page
    assert not window.tray.mute_all_action.isEnabled()  # nothing online yet
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    qtbot.waitUntil(lambda: window.tray.mute_all_action.isEnabled())

    window.tray.unmute_all_action.trigger()
    qtbot.waitUntil(lambda: all(not c.state.muted for c in card.controls.values()), timeout=NET_MS)
    assert bridges.pin(KITCHEN_PIN).state is True
    assert window.statusBar().currentMessage() == "Unmuting 3 speakers…"
    window.tray.mute_all_action.trigger()
    qtbot.waitUntil(lambda: all(c.state.muted for c in card.controls.values()), timeout=NET_MS)
    assert bridges.pin(KITCHEN_PIN).state is False
    assert card.controls["kitchen"].state_label.text() == CONFIRMED_MUTED


def test_mute_all_from_the_menu_without_a_tray(qtbot, ctx, window, page, bridges):
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    qtbot.waitUntil(lambda: window.unmute_all_action.isEnabled())
    window.unmute_all_action.trigger()
    qtbot.waitUntil(lambda: all(not c.state.muted for c in card.controls.values()), timeout=NET_MS)


def test_a_bridge_that_goes_away_shows_offline_with_its_last_state(qtbot, ctx, window, page, bridges):
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    kitchen = card.controls["kitchen"]
    qtbot.mouseClick(kitchen.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kitchen.state_label.text() == CONFIRMED_UNMUTED, timeout=NET_MS)

    bridge.stop()
    qtbot.waitUntil(lambda: card.status.connection is Connection.OFFLINE, timeout=NET_MS)
    assert card.connection_label.text().startswith("Offline · last contact ")
    assert card.retry_button.isVisible() and not card.repair_button.isVisible()
    assert card.problem_label.isVisible() and "Earmuff keeps trying" in card.problem_label.text()
    assert kitchen.state_label.text() == f"Last known: {CONFIRMED_UNMUTED}"
    for button in (kitchen.toggle, kitchen.hour_button):
        assert not button.isEnabled() and "offline" in button.toolTip()
    assert not window.mute_all_action.isEnabled()


def test_forgetting_a_bridge_removes_it_and_its_key(qtbot, ctx, page, bridges, memory_keyring):
    bridge = bridges.start()
    card = pair(qtbot, ctx, page, bridge)
    qtbot.mouseClick(card.forget_button, Qt.MouseButton.LeftButton)
    box = page.forget_box
    assert box is not None and box.isVisible() and "Demo bridge" in box.text()
    forget = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole)
    qtbot.mouseClick(forget, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bridge.bridge_id not in page.cards, timeout=NET_MS)
    assert (SERVICE, bridge.bridge_id) not in memory_keyring.passwords
    assert bridge.pairing.authenticator.tokens() == []
    qtbot.waitUntil(lambda: page.empty_state.isVisible())
