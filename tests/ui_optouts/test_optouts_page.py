"""The Opt-outs page, driven like a user would: add an account suggested by a found speaker, tick settings off,
record another value, walk through "I changed it", open the vendor's page, undo, remove and restore, see
retired and unverified settings for what they are, and keep working with the keyboard."""

from __future__ import annotations

from optouts_gui_helpers import cast_speaker
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QPushButton, QWizard

from app.optouts.speakers import device_key
from app.optouts.tracker import Action


def add_account(qtbot, page, vendor_id="amazon", label="Amazon - family"):
    page.add_button.click()
    dialog = page.account_dialog
    dialog.vendor_combo.setCurrentIndex(dialog.vendor_combo.findData(vendor_id))
    dialog.label_edit.setText(label)
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible(), dialog.error_label.text()
    return next(a for a in page.tracker.accounts() if a.label == label)


def card(page, setting_id):
    page.refresh()
    return page.account_view.cards[setting_id]


def test_without_accounts_the_page_explains_and_offers_to_add_one(qtbot, page):
    assert page._stack.currentWidget() is page.empty_state
    assert "Add the accounts your speakers use" in page.empty_state.title_label.text()
    qtbot.mouseClick(page.empty_state.action_button, Qt.MouseButton.LeftButton)
    assert page.account_dialog is not None and page.account_dialog.isVisible()
    page.account_dialog.reject()


def test_a_found_speaker_suggests_its_vendor_and_the_new_account_links_it(qtbot, ctx, page):
    uuid = cast_speaker(ctx.registry, "3f1c2b5a9d8e4f60a1b2c3d4e5f60718", "Kitchen speaker")
    qtbot.waitUntil(lambda: page.suggestion_banner.isVisible())
    assert "Google: Kitchen speaker" in page.suggestion_label.text()
    [button] = page._suggestion_buttons
    assert button.text() == "Add Google account…"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = page.account_dialog
    assert dialog.vendor_id() == "google" and dialog.label_edit.text() == "Google"
    assert "found: Kitchen speaker" in dialog.vendor_combo.currentText()
    assert [s.name for s in dialog.checked_speakers()] == ["Kitchen speaker"]
    dialog.label_edit.setText("Google - home")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)

    [account] = ctx.optouts.accounts()
    assert account.label == "Google - home"
    assert [x.speaker_key for x in ctx.optouts.links(account.account_id)] == [device_key(uuid)]
    qtbot.waitUntil(lambda: not page.suggestion_banner.isVisible())
    assert page._stack.currentWidget() is page.scroll
    assert page.account_view.title_label.text() == "Google - home"
    assert "Speakers: Kitchen speaker" == page.account_view.speakers_label.text()
    rows = page.account_view.cards["google.personal-results"].rows
    assert [r.done_check.text() for r in rows] == ["Kitchen speaker: set to “Off”"]
    speaker_item = page.speakers_list.item(0)
    assert speaker_item.text().startswith("Kitchen speaker (Google Nest Mini by Google)\nGoogle - home · Not done yet")


def test_ticking_a_setting_records_it_with_a_timestamp_and_unticking_forgets_it(qtbot, ctx, page, clock):
    account = add_account(qtbot, page)
    row = card(page, "amazon.sidewalk").rows[0]
    assert row.done_check.text() == "Set to “Off”" and not row.done_check.isChecked()
    qtbot.mouseClick(row.done_check, Qt.MouseButton.LeftButton)
    confirmation = ctx.optouts.confirmation(account.account_id, "amazon.sidewalk")
    assert confirmation.value == "Off" and abs(confirmation.confirmed_at - clock()) < 5
    sidewalk = card(page, "amazon.sidewalk")
    assert sidewalk.state_badge.text() == "Done"
    assert sidewalk.rows[0].state_label.text().startswith("Confirmed today · re-check in 29 days")
    assert sidewalk.rows[0].value_combo.currentData() == "Off"
    assert page.account_view.status_label.text() == "Not done yet"
    assert page.account_view.detail_label.text().startswith("1 of 10 protected")
    assert "Re-check" not in page.accounts_list.item(0).text() and "1 of 10" in page.accounts_list.item(0).text()

    qtbot.mouseClick(sidewalk.rows[0].done_check, Qt.MouseButton.LeftButton)
    assert ctx.optouts.confirmation(account.account_id, "amazon.sidewalk") is None
    assert card(page, "amazon.sidewalk").state_badge.text() == "To do"


def test_recording_a_value_that_does_not_protect(qtbot, ctx, page):
    account = add_account(qtbot, page)
    combo = card(page, "amazon.voice-recordings").rows[0].value_combo
    combo.activated.emit(combo.findData("18 months"))
    confirmation = ctx.optouts.confirmation(account.account_id, "amazon.voice-recordings")
    assert confirmation.value == "18 months" and not confirmation.protective
    shown = card(page, "amazon.voice-recordings")
    assert not shown.rows[0].done_check.isChecked()
    assert shown.state_badge.text() == "Kept on by choice" and shown.state_badge.property("level") == "incomplete"
    assert "You keep it at “18 months”, which does not protect you." in shown.rows[0].state_label.text()


def test_the_keyboard_reaches_the_toggles_and_undo(qtbot, ctx, window, page):
    account = add_account(qtbot, page)
    check = card(page, "amazon.improve-services").rows[0].done_check
    window.activateWindow()
    check.setFocus()
    qtbot.waitUntil(check.hasFocus)
    qtbot.keyClick(check, Qt.Key.Key_Space)
    assert ctx.optouts.confirmation(account.account_id, "amazon.improve-services").value == "Off"
    qtbot.keyClick(check, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ctx.optouts.confirmation(account.account_id, "amazon.improve-services") is None
    assert window.statusBar().currentMessage().startswith("Undone: Set “Help Improve Amazon Services")


def test_open_vendor_page_opens_the_settings_page_or_the_help_page(qtbot, page, opened_urls):
    add_account(qtbot, page)
    qtbot.mouseClick(card(page, "amazon.voice-recordings").open_button, Qt.MouseButton.LeftButton)
    sidewalk = card(page, "amazon.sidewalk")
    assert sidewalk.open_button.text() == "Open vendor help"
    qtbot.mouseClick(sidewalk.open_button, Qt.MouseButton.LeftButton)
    assert opened_urls == ["https://www.amazon.com/alexaprivacysettings",
                           "https://www.amazon.com.au/b?ie=UTF8&node=6971550051"]


def test_i_changed_it_walks_through_the_steps_and_records_value_and_note(qtbot, ctx, page, opened_urls):
    account = add_account(qtbot, page, "google", "Google")
    qtbot.mouseClick(card(page, "google.web-app-activity").guide_button, Qt.MouseButton.LeftButton)
    wizard = page.wizard
    assert wizard.isVisible() and wizard.currentPage().title() == "1. Open the setting"
    qtbot.mouseClick(wizard.open_button, Qt.MouseButton.LeftButton)
    assert opened_urls == ["https://myactivity.google.com"]
    wizard.next()
    assert wizard.currentPage().title() == "2. Follow these steps"
    assert [label.text() for label in wizard.step_labels] == [
        "<b>1.</b> myactivity.google.com", "<b>2.</b> Activity controls", "<b>3.</b> Web &amp; App Activity",
        "<b>4.</b> Set “Web &amp; App Activity” to “Off”. Off, or on with “Include voice and audio recordings” "
        "unchecked."]
    wizard.next()
    assert wizard.currentPage().title() == "3. Record what you set"
    wizard.value_buttons["On, without voice and audio recordings"].setChecked(True)
    wizard.note_edit.setText("kept for Maps")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    confirmation = ctx.optouts.confirmation(account.account_id, "google.web-app-activity")
    assert (confirmation.value, confirmation.note, confirmation.protective) == (
        "On, without voice and audio recordings", "kept for Maps", True)
    row = card(page, "google.web-app-activity").rows[0]
    assert row.done_check.isChecked() and row.note_label.text() == "Your note: kept for Maps"


def test_i_changed_it_on_a_per_speaker_setting_records_each_chosen_speaker(qtbot, ctx, page):
    first = cast_speaker(ctx.registry, "11111111222233334444555566667777", "Kitchen speaker")
    second = cast_speaker(ctx.registry, "88888888999900001111222233334444", "Bedroom speaker", address="192.168.1.21")
    qtbot.waitUntil(lambda: page.suggestion_banner.isVisible())
    account = add_account(qtbot, page, "google", "Google")
    assert len(ctx.optouts.links(account.account_id)) == 2
    qtbot.mouseClick(card(page, "google.hey-google-sensitivity").guide_button, Qt.MouseButton.LeftButton)
    wizard = page.wizard
    wizard.next()
    wizard.next()
    assert set(wizard.target_checks) == {device_key(first), device_key(second)}
    wizard.target_checks[device_key(second)].setChecked(False)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert ctx.optouts.confirmation(account.account_id, "google.hey-google-sensitivity", device_key(first))
    assert ctx.optouts.confirmation(account.account_id, "google.hey-google-sensitivity", device_key(second)) is None
    rows = card(page, "google.hey-google-sensitivity").rows
    assert [(r.item.target_name, r.done_check.isChecked()) for r in rows] == [
        ("Bedroom speaker", False), ("Kitchen speaker", True)]  # linked in the dialog's (alphabetical) order


def test_retired_and_unverified_settings_are_shown_for_what_they_are(qtbot, page):
    add_account(qtbot, page)
    retired = card(page, "amazon.do-not-send-voice-recordings")
    assert retired.state_badge.text() == "Retired" and not retired.rows and retired.guide_button.isHidden()
    assert retired.summary_label.text().startswith("Retired on 2025-03-28: Amazon removed it")
    assert "Use “Choose how long to save recordings” instead." in retired.summary_label.text()
    assert retired.parent() is page.account_view and page.account_view.retired_heading.isVisibleTo(page)
    uncertain = card(page, "amazon.voice-recordings")
    assert uncertain.unverified_badge.isVisibleTo(page)
    assert "Only a secondary source describes this guided voice flow" in uncertain.unverified_badge.toolTip()
    uncertain.details_toggle.click()
    assert uncertain.details_label.isVisible()
    assert "(unverified: Only a secondary source" in uncertain.details_label.text()
    assert "last verified 2026-11-26" in uncertain.details_label.text()
    assert not card(page, "amazon.sidewalk").unverified_badge.isVisibleTo(page)


def test_removing_an_account_asks_first_and_can_be_undone(qtbot, ctx, page):
    account = add_account(qtbot, page)
    qtbot.mouseClick(card(page, "amazon.sidewalk").rows[0].done_check, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.account_view.remove_button, Qt.MouseButton.LeftButton)
    box = page.remove_box
    assert "Remove “Amazon - family”?" == box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    [remove] = [b for b in box.buttons() if b.text() == "Remove"]
    remove.click()
    assert ctx.optouts.accounts() == []
    qtbot.waitUntil(lambda: page._stack.currentWidget() is page.empty_state)
    qtbot.mouseClick(page.undo_button, Qt.MouseButton.LeftButton)
    assert [a.account_id for a in ctx.optouts.accounts()] == [account.account_id]
    assert ctx.optouts.confirmation(account.account_id, "amazon.sidewalk") is not None
    qtbot.waitUntil(lambda: page._stack.currentWidget() is page.scroll)
    assert card(page, "amazon.sidewalk").rows[0].done_check.isChecked()


def test_the_history_lists_every_change_and_undoes_the_last(qtbot, ctx, page):
    account = add_account(qtbot, page)
    qtbot.mouseClick(card(page, "amazon.sidewalk").rows[0].done_check, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.history_button, Qt.MouseButton.LeftButton)
    dialog = page.history_dialog
    table = dialog.table
    assert table.rowCount() == 2
    assert table.item(0, 1).text() == "you (tester)"
    assert table.item(0, 2).text() == "Set “Amazon Sidewalk” to “Off” (Amazon - family)"
    assert table.item(1, 2).text() == "Added the Amazon account “Amazon - family”"
    qtbot.mouseClick(dialog.undo_button, Qt.MouseButton.LeftButton)
    assert ctx.optouts.confirmation(account.account_id, "amazon.sidewalk") is None
    assert table.rowCount() == 3
    assert table.item(0, 2).text().startswith("Undid: Set “Amazon Sidewalk”")
    assert table.item(1, 2).text().endswith("(undone)") and table.item(1, 2).font().strikeOut()
    assert ctx.optouts.history()[0].action == Action.UNDO.value
    dialog.reject()


def test_a_duplicate_name_is_refused_in_the_dialog(qtbot, page):
    add_account(qtbot, page)
    page.add_button.click()
    dialog = page.account_dialog
    dialog.label_edit.setText("amazon - FAMILY")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert dialog.isVisible() and "already an account called “Amazon - family”" in dialog.error_label.text()
    dialog.reject()


def test_every_button_does_something(qtbot, ctx, page):
    cast_speaker(ctx.registry, "99998888777766665555444433332222", "Hall speaker")
    add_account(qtbot, page, "apple", "Apple ID")
    page.refresh()
    buttons = page.findChildren(QPushButton)
    assert len(buttons) > 20
    for button in buttons:
        assert button.receivers("2clicked()") > 0 or button.receivers("2clicked(bool)") > 0, button.text()


def test_keyboard_ctrl_n_adds_and_enter_on_an_uncovered_speaker_suggests_its_vendor(qtbot, ctx, window, page):
    cast_speaker(ctx.registry, "12341234123412341234123412341234", "Office speaker")
    qtbot.waitUntil(lambda: page.speakers_list.item(0).text().startswith("Office speaker"))
    window.activateWindow()
    page.speakers_list.setFocus()
    qtbot.waitUntil(page.speakers_list.hasFocus)
    page.speakers_list.setCurrentRow(0)
    assert page.speakers_list.item(0).text().endswith("No account linked")
    qtbot.keyClick(page.speakers_list, Qt.Key.Key_Return)
    assert page.account_dialog.isVisible() and page.account_dialog.vendor_id() == "google"
    page.account_dialog.reject()
    qtbot.keyClick(page.speakers_list, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert page.account_dialog.isVisible()
    page.account_dialog.reject()
