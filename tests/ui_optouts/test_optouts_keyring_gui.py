"""The account e-mail in the dialog: kept in the keyring (a real backend, in memory), read back for editing,
removed with the account; with no usable keyring the account is still saved and the user is told why not."""

from __future__ import annotations

import keyring.backends.fail
from client_helpers import keyring_backend
from PySide6.QtWidgets import QDialogButtonBox

from app.optouts.account_secrets import SERVICE


def submit(dialog):
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()


def test_the_email_is_stored_edited_and_removed_with_the_account(qtbot, ctx, page, memory_keyring):
    page.add_button.click()
    dialog = page.account_dialog
    dialog.vendor_combo.setCurrentIndex(dialog.vendor_combo.findData("microsoft"))
    dialog.email_edit.setText("not-an-address")
    submit(dialog)
    assert dialog.isVisible() and "does not look like an e-mail address" in dialog.error_label.text()
    assert ctx.optouts.accounts() == []
    dialog.email_edit.setText(" anna@example.org ")
    submit(dialog)
    [account] = ctx.optouts.accounts()
    key = (SERVICE, f"account-{account.account_id}")
    qtbot.waitUntil(lambda: ctx.optouts.account(account.account_id).has_email)
    assert memory_keyring.passwords[key] == "anna@example.org"

    page.refresh()
    page.account_view.edit_button.click()
    editing = page.account_dialog
    assert not editing.vendor_combo.isEnabled()
    qtbot.waitUntil(lambda: editing.email_edit.text() == "anna@example.org")
    editing.email_edit.setText("anna@work.example")
    submit(editing)
    qtbot.waitUntil(lambda: memory_keyring.passwords.get(key) == "anna@work.example")

    page.refresh()
    page.account_view.edit_button.click()
    clearing = page.account_dialog
    qtbot.waitUntil(lambda: clearing.email_edit.text() == "anna@work.example")
    clearing.email_edit.clear()
    submit(clearing)
    qtbot.waitUntil(lambda: not ctx.optouts.account(account.account_id).has_email)
    assert key not in memory_keyring.passwords

    ctx.optouts.set_has_email(account.account_id, True)
    memory_keyring.passwords[key] = "anna@example.org"
    page.refresh()
    page.account_view.remove_button.click()
    [remove] = [b for b in page.remove_box.buttons() if b.text() == "Remove"]
    remove.click()
    qtbot.waitUntil(lambda: key not in memory_keyring.passwords)
    page.undo()
    assert ctx.optouts.account(account.account_id) is not None
    assert not ctx.optouts.account(account.account_id).has_email  # the keyring entry went with it
    assert "add it again" in page.window().statusBar().currentMessage()


def test_without_a_keyring_the_account_is_saved_and_the_reason_shown(qtbot, ctx, window, page):
    with keyring_backend(keyring.backends.fail.Keyring()):
        page.add_button.click()
        dialog = page.account_dialog
        dialog.email_edit.setText("anna@example.org")
        submit(dialog)
        qtbot.waitUntil(lambda: "was not saved" in window.statusBar().currentMessage())
    [account] = ctx.optouts.accounts()
    assert not account.has_email
    message = window.statusBar().currentMessage()
    assert message.startswith(f"The e-mail address of {account.label} was not saved: Earmuff keeps account e-mail")
    assert "GNOME Keyring" in message
