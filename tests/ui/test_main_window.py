"""The window shell: pages, shortcuts, remembered state, status bar, tray, dialogs, startup problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton

from app.storage import StorageError
from ui.main_window import PAGE_KEYS


def click_nav(qtbot, window, row: int) -> None:
    nav = window.navigation
    rect = nav.visualItemRect(nav.item(row))
    qtbot.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    target = window.focusWidget() or window
    qtbot.keyClick(target, key, modifier)


def test_every_page_is_reachable_by_click_and_by_ctrl_number(qtbot, window):
    assert window.current_page_key() == "overview"
    for row, key in reversed(list(enumerate(PAGE_KEYS))):
        click_nav(qtbot, window, row)
        assert window.current_page_key() == key
        assert window.stack.currentWidget() is window.pages[key]
    for number, key in enumerate(PAGE_KEYS, start=1):
        press(qtbot, window, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert window.current_page_key() == key
        assert window.navigation.currentRow() == number - 1
        assert window.page_actions[number - 1].isChecked()


@pytest.mark.parametrize("key", ["deletions"])
def test_later_parts_are_explained_plainly_and_there_are_no_dead_buttons(qtbot, window, key):
    page = window.pages[key]
    window.show_page(key)
    assert page.voice.no_bridge_state.isVisible()  # voice deletions: says plainly they need a bridge
    assert "bridge" in page.voice.no_bridge_state.title_label.text()
    assert "GDPR" in " ".join(label.text() for label in page.findChildren(QLabel))
    for button in page.findChildren(QPushButton):
        assert button.receivers("2clicked()") > 0 or button.receivers("2clicked(bool)") > 0


def test_live_page_button_leads_to_bridges(qtbot, window):
    window.show_page("live")
    qtbot.mouseClick(window.pages["live"].empty_state.action_button, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "bridges"


def test_last_page_geometry_and_sort_come_back_in_a_new_window(qtbot, ctx, make_window):
    first = make_window()
    first.show()
    qtbot.waitExposed(first)
    first.resize(780, 560)  # the offscreen screen is 800 x 600; restoring clamps to the screen
    first.move(10, 20)
    first.show_page("deletions")
    first.speakers_page.speakers_table.sortByColumn(6, Qt.SortOrder.DescendingOrder)
    first.quit()
    assert ctx.settings.last_page == "deletions"
    assert ctx.settings.window_geometry
    assert (ctx.settings.speakers_sort_column, ctx.settings.speakers_sort_order) == (6, 1)

    second = make_window()
    assert second.current_page_key() == "deletions"
    assert (second.width(), second.height()) == (780, 560)
    assert second.speakers_page.sort_state() == (6, 1)


def test_status_bar_says_where_discovery_listens_and_counts(qtbot, window, home):
    assert window.discovery_label.text() == "Listening on 127.0.0.1"
    assert window.counts_label.text() == "0 speakers (0 online)"
    record = home.cast_speaker("a" * 32, "Kitchen")
    home.fire_tv()
    home.bridge()
    qtbot.waitUntil(lambda: window.counts_label.text() == "1 speaker (1 online) · 1 other device · 1 bridge")
    home.gone(record)
    qtbot.waitUntil(lambda: window.counts_label.text().startswith("1 speaker (0 online)"))


def test_demo_context_is_described_as_the_simulated_home(qtbot, make_window, ctx, monkeypatch):
    monkeypatch.setattr(ctx, "demo", True)
    window = make_window()
    assert window.discovery_label.text() == "Demo: simulated home on 127.0.0.1"
    assert window.windowTitle() == "Earmuff (demo)"


def test_without_a_tray_closing_quits_instead_of_hiding(qtbot, make_window, ctx):
    assert ctx.settings.close_to_tray  # the default, which needs a tray
    window = make_window(tray_available=False)
    window.show()
    assert window.tray.icon is None and not window.tray.available
    assert window.tray.notify("x", "y") is False
    with qtbot.waitSignal(window.closed):
        window.close()
    assert not window.isVisible()
    assert not window.adapter.attached


def test_the_platform_tray_check_is_used_when_not_told(qtbot, make_window):
    window = make_window(tray_available=None)  # offscreen: whatever Qt says, it must not crash
    window.show()
    window.quit()


def test_startup_storage_problem_is_shown_once_after_the_window_appears(qtbot, make_window, ctx, tmp_path):
    ctx.startup_error = StorageError("corrupt", path=Path(tmp_path / "earmuff.db"),
                                     user_message="Earmuff's database was damaged. It was moved to earmuff.db.corrupt.")
    window = make_window()
    assert window.startup_error_box is None  # not before the window shows
    window.show()
    qtbot.waitUntil(lambda: window.startup_error_box is not None and window.startup_error_box.isVisible())
    box = window.startup_error_box
    assert box.icon() is QMessageBox.Icon.Warning
    assert "moved to earmuff.db.corrupt" in box.text()
    box.accept()
    window.hide()
    window.show()
    qtbot.wait(20)  # a second show must not bring it back
    assert window.startup_error_box is box and not box.isVisible()


def test_settings_dialog_rejects_bad_values_and_saves_good_ones(qtbot, window, ctx, home):
    home.fire_tv()
    press(qtbot, window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.settings_dialog is not None and window.settings_dialog.isVisible())
    dialog = window.settings_dialog
    dialog.interfaces_edit.setText("my wifi")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert dialog.error_label.text().startswith("Listen on:")
    assert ctx.settings.discovery_interfaces == "all"

    dialog.interfaces_edit.setText("127.0.0.1")
    dialog.requery_spin.setValue(30)
    dialog.show_other_check.setChecked(False)
    with qtbot.waitSignal(dialog.saved):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert ctx.settings.requery_interval_s == 30
    assert ctx.settings.discovery_interfaces == "127.0.0.1"
    assert ctx.settings.show_other_devices is False
    assert window.speakers_page.other_toggle.isHidden()


def test_settings_dialog_offers_no_tray_options_without_a_tray(qtbot, window):
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert not dialog.tray_check.isEnabled()
    assert "no system tray" in dialog.tray_check.toolTip()
    dialog.reject()


def test_about_box_names_the_app_and_where_data_lives(qtbot, window, ctx):
    window.about_action.trigger()
    dialog = window.about_dialog
    assert dialog.isVisible()
    assert str(ctx.data_dir) in dialog.details_label.text()
    assert str(ctx.log_path) in dialog.details_label.text()
    dialog.reject()


def test_every_menu_action_has_a_keyboard_path(window):
    for menu_action in window.menuBar().actions():
        assert "&" in menu_action.text()
        for action in menu_action.menu().actions():
            if not action.isSeparator():
                assert "&" in action.text() or not action.shortcut().isEmpty(), action.text()


def test_quit_shortcut_closes_the_window(qtbot, window):
    with qtbot.waitSignal(window.closed):
        press(qtbot, window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_navigation_and_pages_have_accessible_names(window):
    assert window.navigation.accessibleName() == "Pages"
    assert window.speakers_page.speakers_table.accessibleName() == "Speakers"
    assert window.speakers_page.filter_edit.accessibleName() == "Filter speakers"
    assert window.speakers_page.details.accessibleName() == "Device details"
    assert window.navigation.mapToGlobal(QPoint(0, 0)) is not None


# The offscreen platform has no tray and cannot raise windows; it says so. Real desktops do not.
@pytest.mark.qt_log_ignore(r"systemTrayWindowChanged", r"does not support raise\(\)")
def test_with_a_tray_closing_hides_to_it_and_quit_really_quits(qtbot, make_window, ctx):
    window = make_window(tray_available=True)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.assertNotEmitted(window.closed):
        window.close()
    assert not window.isVisible() and window.adapter.attached  # still running, still listening
    window.tray.show_requested.emit()
    assert window.isVisible()
    with qtbot.waitSignal(window.closed):
        window.tray.quit_requested.emit()
    assert not window.adapter.attached
