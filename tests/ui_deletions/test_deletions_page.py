"""The Deletions page with a real AppContext: write a request, preview, e-mail it, change its state, restart."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from app.activations import ActivationRecord
from app.erasure.states import RequestState
from app.storage.activations_repo import ActivationRepository

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "erasure"))
from test_erasure_letters_and_exports import parse_ics


def open_page(make_window, context, qtbot):
    """The window on the Deletions page's legal requests tab."""
    window = make_window(context)
    window.show()
    qtbot.waitExposed(window)
    window.show_page("deletions")
    page = window.pages["deletions"]
    page.show_section("legal")
    return window, page


def add_account(context, vendor="amazon", label="family"):
    return context.optouts.add_account(vendor, label)


def write_request(qtbot, page, *, law="CCPA", cite=True):
    page.window().activateWindow()
    page.new_button.setFocus()
    qtbot.waitUntil(page.new_button.hasFocus)
    qtbot.keyClick(page.new_button, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = page.new_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.law_combo.setCurrentIndex(dialog.law_combo.findText(law, Qt.MatchFlag.MatchStartsWith))
    assert not dialog.mail_button.isEnabled() and "requester name" in dialog.error_label.text()
    qtbot.keyClicks(dialog.name_edit, "Ada Example")
    qtbot.keyClicks(dialog.identifier_edit, "ada@example.org")
    if cite:
        item = dialog.activations_list.item(0)
        item.setCheckState(Qt.CheckState.Checked)
    return dialog


def test_the_page_has_three_ways_to_delete_and_no_dead_buttons(qtbot, ctx, make_window):
    _window, page = open_page(make_window, ctx, qtbot)
    titles = [page.tabs.tabText(i).replace("&", "") for i in range(page.tabs.count())]
    assert titles == ["Voice deletions", "Portal reminders", "Legal requests"]
    assert all("come" not in label.text() or "later" not in label.text() for label in page.findChildren(QLabel))
    for button in page.findChildren(QPushButton):
        assert button.receivers("2clicked()") > 0 or button.receivers("2clicked(bool)") > 0
    assert page.empty_label.isVisible() and not page.table.isVisible()
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    assert page.new_dialog is None and "Opt-outs page" in page.message_label.text()


def test_write_preview_mail_change_state_and_restart(qtbot, ctx, make_ctx, make_window, clock, opened_mail):
    account = add_account(ctx)
    now = clock()
    ActivationRepository(ctx.database).upsert_many([
        ActivationRecord("b1", 7, "echo", "Kitchen Echo", now - 3600, now - 3590, 40000, 9000.0, 0.9)])
    window, page = open_page(make_window, ctx, qtbot)
    dialog = write_request(qtbot, page)
    preview = dialog.preview.toPlainText()
    for fact in ("Ada Example", "ada@example.org", "1798.105", "Kitchen Echo", "Amazon"):
        assert fact in preview
    assert dialog.mail_button.isEnabled()
    qtbot.mouseClick(dialog.mail_button, Qt.MouseButton.LeftButton)

    assert len(opened_mail) == 1
    url = bytes(opened_mail[0].toEncoded()).decode("ascii")
    assert url.startswith("mailto:?subject=")
    body = parse_qs(url.split("?", 1)[1])["body"][0]
    assert "Ada Example" in body and "\r\n" in body
    assert page.table.rowCount() == 1
    assert page.table.item(0, 0).text() == f"Amazon \u2013 {account.label}"
    assert page.table.item(0, 2).text() == "Open" and page.table.item(0, 5).text() == "45"
    assert page.selected_request() is not None

    qtbot.mouseClick(page.state_button, Qt.MouseButton.LeftButton)
    states = page.state_dialog
    assert states.state_combo.findText("Open") == -1  # only allowed moves are offered
    states.state_combo.setCurrentIndex(states.state_combo.findText("Denied"))
    qtbot.mouseClick(states.buttons.button(states.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert states.isVisible() and "reason" in states.error_label.text()
    qtbot.keyClicks(states.reason_edit, "Could not verify identity")
    qtbot.mouseClick(states.buttons.button(states.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not states.isVisible()
    assert page.table.item(0, 2).text() == "Denied: Could not verify identity"
    assert page.table.item(0, 5).text() == "\u2013" and not page.state_button.isEnabled()

    window.quit()
    ctx.close()
    second_ctx = make_ctx()
    _second, again = open_page(make_window, second_ctx, qtbot)
    assert again.table.rowCount() == 1
    request = again.requests[0]
    assert request.state is RequestState.DENIED and len(request.cited) == 1
    assert [c.action for c in again.tracker.history(request.request_id)] == ["created", "state"]


def test_overdue_in_red_extension_pdf_and_calendar(qtbot, ctx, make_window, clock, tmp_path):
    add_account(ctx, "sonos", "living room")
    _window, page = open_page(make_window, ctx, qtbot)
    dialog = write_request(qtbot, page, law="GDPR", cite=False)
    assert dialog.recipient_edit.text() == "privacy@sonos.com"
    assert "No recordings" in dialog.activations_list.item(0).text()
    qtbot.mouseClick(dialog.pdf_button, Qt.MouseButton.LeftButton)
    pdf = tmp_path / "letter.pdf"
    page.file_dialog.selectFile(str(pdf))
    page.file_dialog.accept()
    assert pdf.read_bytes().startswith(b"%PDF") and "letter.pdf" in page.message_label.text()

    clock.advance(40)
    page.refresh()
    assert page.table.item(0, 5).text().startswith("overdue by")
    assert page.table.item(0, 5).foreground().color().name() == "#c62828"
    assert "overdue since" in page.reminder_label.text() and page.reminder_label.isVisible()

    page.table.selectRow(0)
    qtbot.mouseClick(page.extend_button, Qt.MouseButton.LeftButton)
    assert page.table.item(0, 4).text().endswith("(extended)") and not page.extend_button.isEnabled()
    assert page.table.item(0, 5).text() != "" and not page.table.item(0, 5).text().startswith("overdue")

    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    ics = tmp_path / "deadlines.ics"
    page.file_dialog.selectFile(str(ics))
    page.file_dialog.accept()
    pairs = parse_ics(ics.read_bytes())
    assert [v for n, v in pairs if n == "BEGIN"].count("VEVENT") == 1

    reply = tmp_path / "reply.txt"
    reply.write_text("We will erase your data.")
    qtbot.mouseClick(page.reply_button, Qt.MouseButton.LeftButton)
    page.file_dialog.selectFile(str(reply))
    page.file_dialog.accept()
    page.note_dialog.setTextValue("promised within a week")
    page.note_dialog.accept()
    assert page.requests[0].reply_path == str(reply)

    qtbot.mouseClick(page.letter_button, Qt.MouseButton.LeftButton)
    text = page.letter_view.toPlainText()
    assert "To: privacy@sonos.com" in text and "promised within a week" in text and "extended" in text
    page.letter_view.close()


def test_an_overdue_request_is_told_once_a_day_outside_the_page(qtbot, ctx, make_window, clock, opened_mail):
    add_account(ctx, "sonos", "living room")
    window, page = open_page(make_window, ctx, qtbot)
    dialog = write_request(qtbot, page, law="GDPR", cite=False)
    qtbot.mouseClick(dialog.mail_button, Qt.MouseButton.LeftButton)
    assert len(opened_mail) == 1 and len(page.tracker.open_requests()) == 1
    assert window.remind_erasure_deadlines() == []  # a month to go: nothing to say yet
    clock.advance(40)
    told = window.remind_erasure_deadlines()
    assert len(told) == 1 and told[0].startswith("Sonos (") and "overdue since" in told[0]
    assert window.statusBar().currentMessage().startswith("Erasure request deadline: Sonos (")  # no tray here
    assert window.remind_erasure_deadlines() == []  # once a day
    clock.advance(1)
    assert len(window.remind_erasure_deadlines()) == 1


def test_a_recording_on_the_activity_page_becomes_a_request_citing_it(qtbot, ctx, make_window, clock, opened_mail):
    from app.optouts.speakers import SpeakerRef, bridge_key

    now = clock()
    kitchen = ActivationRecord("b1", 7, "echo", "Kitchen Echo", now - 7200, now - 7190, 40000, 9000.0, 0.9)
    hall = ActivationRecord("b1", 8, "hall", "Hall Echo", now - 3600, now - 3590, 30000, 8000.0, 0.9)
    ActivationRepository(ctx.database).upsert_many([kitchen, hall])
    ctx.optouts.add_account("google", "Google")  # first in the list, but not the kitchen speaker's
    ctx.optouts.add_account("amazon", "family", [SpeakerRef(bridge_key("b1", "echo"), "Kitchen Echo",
                                                            bridge_id="b1", speaker_id="echo")])
    window, _page = open_page(make_window, ctx, qtbot)
    activity = window.activity_page
    assert not activity.delete_button.isEnabled()  # nothing selected
    assert activity.show_activation("b1", "echo", kitchen.start)
    assert activity.delete_button.isEnabled()

    qtbot.mouseClick(activity.delete_button, Qt.MouseButton.LeftButton)
    ways = window.deletions_page.delete_dialog
    assert ways is not None and ways.isVisible()
    assert list(ways.radios) == ["portal", "legal"]  # an Amazon speaker, but its bridge is not paired here
    ways.select("legal")
    assert ways.action_button.text() == "&Write a request\u2026"
    qtbot.mouseClick(ways.action_button, Qt.MouseButton.LeftButton)
    assert not ways.isVisible()
    assert window.current_page_key() == "deletions"
    assert window.deletions_page.current_section() == "legal"
    dialog = window.deletions_page.new_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.account_combo.currentText().startswith("Amazon")
    checked = [dialog.activations_list.item(i) for i in range(dialog.activations_list.count())
               if dialog.activations_list.item(i).checkState() == Qt.CheckState.Checked]
    assert [item.text().split(" \u2013 ")[1] for item in checked] == ["Kitchen Echo"]
    qtbot.keyClicks(dialog.name_edit, "Ada Example")
    qtbot.keyClicks(dialog.identifier_edit, "ada@example.org")
    assert "Kitchen Echo" in dialog.preview.toPlainText()
    dialog.reject()


def test_the_account_email_comes_from_the_keyring_and_follows_the_account(qtbot, ctx, make_window):
    family = add_account(ctx, label="family")
    add_account(ctx, label="work")  # no e-mail kept for this one
    ctx.optouts.set_has_email(family.account_id, True)
    ctx.account_secrets.set_email(family.account_id, "ada@example.org")
    ctx.account_secrets.flush()
    _window, page = open_page(make_window, ctx, qtbot)
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    dialog = page.new_dialog
    dialog.account_combo.setCurrentIndex(dialog.account_combo.findText("family", Qt.MatchFlag.MatchEndsWith))
    qtbot.waitUntil(lambda: dialog.identifier_edit.text() == "ada@example.org")

    dialog.account_combo.setCurrentIndex(dialog.account_combo.findText("work", Qt.MatchFlag.MatchEndsWith))
    assert dialog.identifier_edit.text() == ""  # the other account's address is not kept
    qtbot.keyClicks(dialog.identifier_edit, "typed@example.org")
    dialog.account_combo.setCurrentIndex(dialog.account_combo.findText("family", Qt.MatchFlag.MatchEndsWith))
    ctx.account_secrets.flush()
    qtbot.wait(50)
    assert dialog.identifier_edit.text() == "typed@example.org"  # what the user typed wins
