"""The Deletions page's portal reminders with a real AppContext on a clock the test moves: add one in the dialog,
see it come due (on the page, and told once a day outside it), read the steps and open their links, mark it done
with a note, read the history, and remove it with Ctrl+Z to undo."""

from __future__ import annotations

from deletions_gui_helpers import open_window, table_texts
from PySide6.QtCore import Qt

APPLE = "apple-siri-history"


def portal_page(qtbot, window):
    window.show_page("deletions")
    page = window.deletions_page
    page.show_section("portal")
    return page


def focus(qtbot, window, widget) -> None:
    window.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def add_monthly_apple_reminder(qtbot, window, page, *, label: str = "Bedroom HomePod"):
    portal = page.portal
    focus(qtbot, window, portal.add_button)
    qtbot.keyClick(portal.add_button, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = portal.reminder_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.guide_combo.setCurrentIndex(dialog.guide_combo.findData(APPLE))
    assert "Each Apple device separately" in dialog.scope_label.text()
    assert dialog.monthly_radio.isChecked()  # the guide suggests every month
    dialog.month_day_spin.setValue(1)
    assert dialog.when_label.text().startswith("On day 1 of every month at 09:00. First reminder: ")
    qtbot.keyClicks(dialog.label_edit, label)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    return portal


def test_a_reminder_added_in_the_dialog_comes_due_and_is_told_once_a_day(qtbot, ctx, make_window, clock):
    window = open_window(qtbot, make_window, ctx)
    page = portal_page(qtbot, window)
    portal = page.portal
    assert portal.empty_label.isVisible() and not portal.table.isVisible()
    assert not portal.done_button.isEnabled() and not portal.remove_button.isEnabled()

    add_monthly_apple_reminder(qtbot, window, page)
    [row] = table_texts(portal.table)
    assert row[0] == "Delete Siri & Dictation History \u2013 Bedroom HomePod"
    assert row[2] == "On day 1 of every month at 09:00" and row[4] == "Not yet"
    assert row[3].startswith(("In ", "Tomorrow", "Later today"))
    assert not portal.due_label.isVisible()
    assert "Saved the reminder" in page.message_label.text()
    assert window.remind_portal_reminders() == []  # not due yet

    clock.advance(40)
    portal.refresh()
    row = table_texts(portal.table)[0]
    assert row[3].startswith("Overdue by") or row[3] == "Due today"
    assert portal.table.item(0, 3).foreground().color().name() == "#c62828"
    assert portal.due_label.isVisible() and portal.due_label.text().startswith(
        "Due: Delete Siri & Dictation History \u2013 Bedroom HomePod")
    assert page.tabs.tabText(1) == "&Portal reminders (1 due)"
    told = window.remind_portal_reminders()
    assert told == ["Delete Siri & Dictation History \u2013 Bedroom HomePod"]
    assert window.statusBar().currentMessage().startswith("Time to delete recordings on a vendor's page")
    assert window.remind_portal_reminders() == []  # once a day
    clock.advance(1)
    assert len(window.remind_portal_reminders()) == 1


def test_steps_mark_done_with_a_note_and_history(qtbot, ctx, make_window, clock, opened_urls):
    window = open_window(qtbot, make_window, ctx)
    page = portal_page(qtbot, window)
    portal = add_monthly_apple_reminder(qtbot, window, page)
    clock.advance(40)
    portal.refresh()
    portal.table.selectRow(0)

    qtbot.mouseClick(portal.steps_button, Qt.MouseButton.LeftButton)
    steps = portal.steps_dialog
    assert steps.isVisible() and steps.reminder_button is None  # a reminder exists already
    text = steps.steps_label.text()
    assert "Siri &amp; Dictation History" in text and "privacy.apple.com" in text
    assert "Last checked 27 November 2026" in steps.source_label.text()
    assert steps.open_link("https://privacy.apple.com")
    assert opened_urls == ["https://privacy.apple.com"]
    assert steps.message_label.text() == "Opened https://privacy.apple.com in your browser."
    steps.reject()

    qtbot.mouseClick(portal.done_button, Qt.MouseButton.LeftButton)
    done = portal.done_dialog
    assert done.isVisible() and "The next reminder comes" in done.next_label.text()
    qtbot.keyClicks(done.note_edit, "Deleted on both HomePods")
    qtbot.mouseClick(done.save_button, Qt.MouseButton.LeftButton)
    assert not done.isVisible()
    row = table_texts(portal.table)[0]
    assert row[4] == "Today" and row[3].startswith(("In ", "Tomorrow", "Later today"))
    assert not portal.due_label.isVisible()
    assert page.message_label.text().startswith("Marked \u201cDelete Siri & Dictation History \u2013 Bedroom HomePod\u201d "
                                                "as done. The next reminder is")
    assert page.tabs.tabText(1) == "&Portal reminders"

    qtbot.mouseClick(portal.history_button, Qt.MouseButton.LeftButton)
    history = portal.history_dialog
    assert history.isVisible() and history.table.rowCount() == 1
    assert [history.table.item(0, c).text() for c in (1, 2)] == [
        "Delete Siri & Dictation History \u2013 Bedroom HomePod", "Deleted on both HomePods"]
    history.reject()


def test_a_removed_reminder_comes_back_with_ctrl_z_with_its_history(qtbot, ctx, make_window, clock):
    window = open_window(qtbot, make_window, ctx)
    page = portal_page(qtbot, window)
    portal = add_monthly_apple_reminder(qtbot, window, page)
    portal.table.selectRow(0)
    reminder = portal.selected_reminder()
    ctx.portal.mark_done(reminder.id, "first time")

    portal.table.selectRow(0)
    focus(qtbot, window, portal.table)
    qtbot.keyClick(portal.table, Qt.Key.Key_Delete)
    assert ctx.portal.reminders() == [] and portal.empty_label.isVisible()
    assert page.message_label.text().endswith("Undo with Ctrl+Z.")

    focus(qtbot, window, portal.add_button)
    qtbot.keyClick(portal.add_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    [back] = ctx.portal.reminders()
    assert back.id == reminder.id and back.label == "Bedroom HomePod"
    assert [c.note for c in ctx.portal.history(back.id)] == ["first time"]
    assert portal.table.rowCount() == 1 and portal.selected_reminder().id == back.id
    assert page.message_label.text() == \
        "Put back the reminder \u201cDelete Siri & Dictation History \u2013 Bedroom HomePod\u201d."


def test_every_guide_has_its_steps_a_click_away_and_offers_a_reminder(qtbot, ctx, make_window, opened_urls):
    window = open_window(qtbot, make_window, ctx)
    portal = portal_page(qtbot, window).portal
    links = portal.guides_label.text()
    for guide_id in ("amazon-voice-history", "google-my-activity", APPLE, "sonos-account"):
        assert f"guide:{guide_id}" in links
    portal.guides_label.linkActivated.emit("guide:google-my-activity")
    steps = portal.steps_dialog
    assert steps.isVisible() and steps.guide.id == "google-my-activity"
    assert steps.reminder_button is not None
    qtbot.mouseClick(steps.reminder_button, Qt.MouseButton.LeftButton)
    dialog = portal.reminder_dialog
    assert dialog.isVisible() and dialog.guide_combo.currentData() == "google-my-activity"
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert [r.guide_id for r in ctx.portal.reminders()] == ["google-my-activity"]


def test_a_rule_the_dialog_cannot_use_is_explained_in_place(qtbot, ctx, make_window):
    window = open_window(qtbot, make_window, ctx)
    portal = portal_page(qtbot, window).portal
    dialog = portal.open_add(APPLE)
    dialog.custom_radio.setChecked(True)
    dialog.rule_edit.setText("FREQ=SOMETIMES")
    assert dialog.error_label.isVisible() and "FREQ=SOMETIMES" in dialog.error_label.text()
    assert not dialog.save_button.isEnabled()
    dialog.rule_edit.setText("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
    assert not dialog.error_label.isVisible() and dialog.save_button.isEnabled()
    assert dialog.when_label.text().startswith("Custom: FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    [reminder] = ctx.portal.reminders()
    assert reminder.recurrence.rrule == "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1"
