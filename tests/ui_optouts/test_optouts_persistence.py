"""Quitting and starting again keeps everything: accounts, linked speakers, confirmations, the history and undo
(a real SQLite file in the test's data dir); the e-mail stays in the keyring (a real backend, in memory)."""

from __future__ import annotations

from optouts_gui_helpers import cast_speaker
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.optouts.account_secrets import SERVICE
from app.optouts.speakers import device_key


def test_restart_keeps_everything(qtbot, make_ctx, make_window, memory_keyring, data_dir):
    ctx = make_ctx()
    uuid = cast_speaker(ctx.registry, "aaaabbbbccccddddeeeeffff00001111", "Kitchen speaker")
    window = make_window(ctx)
    window.show()
    page = window.optouts_page
    window.show_page("optouts")
    qtbot.waitUntil(lambda: page.suggestion_banner.isVisible())
    page._suggestion_buttons[0].click()
    dialog = page.account_dialog
    dialog.email_edit.setText("anna@example.org")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    [account] = ctx.optouts.accounts()
    qtbot.waitUntil(lambda: ctx.optouts.account(account.account_id).has_email)
    assert memory_keyring.passwords == {(SERVICE, f"account-{account.account_id}"): "anna@example.org"}
    page.refresh()
    qtbot.mouseClick(page.account_view.cards["google.auto-delete"].rows[0].done_check, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.account_view.cards["google.personal-results"].rows[0].done_check, Qt.MouseButton.LeftButton)
    history = [(e.summary, e.at) for e in ctx.optouts.history()]
    window.quit()
    ctx.close()
    database = (data_dir / "earmuff.db").read_bytes()
    assert b"anna@example.org" not in database

    again = make_ctx()
    window = make_window(again)
    window.show()
    page = window.optouts_page
    window.show_page("optouts")
    page.refresh()
    assert page.accounts_list.count() == 1 and page.accounts_list.item(0).text().startswith("Google")
    assert page.account_view.vendor_label.text() == ("Google account (Google Assistant / Gemini)"
                                                     " · e-mail kept in your keyring")
    assert page.account_view.cards["google.auto-delete"].rows[0].done_check.isChecked()
    [row] = page.account_view.cards["google.personal-results"].rows
    assert row.item.target == device_key(uuid) and row.done_check.isChecked()
    assert "Kitchen speaker" in page.account_view.speakers_label.text()  # known by its linked name, offline
    assert [(e.summary, e.at) for e in again.optouts.history()] == history

    page.account_view.edit_button.click()  # the e-mail is read back from the keyring, off the GUI thread
    qtbot.waitUntil(lambda: page.account_dialog.email_edit.text() == "anna@example.org")
    page.account_dialog.reject()

    page.undo()  # the last change before the restart
    qtbot.waitUntil(lambda: not page.account_view.cards["google.personal-results"].rows[0].done_check.isChecked())
    assert window.statusBar().currentMessage().startswith("Undone: Set “Personal results” to “Off” on Kitchen speaker")
