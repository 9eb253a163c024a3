"""The Deletions page's voice deletions against a real simulated bridge (TLS on 127.0.0.1, MockFactory pins,
simulated speakers and loudspeaker, espeak-ng): a schedule added in the dialog is kept on the bridge, "Run now"
shows the run and its outcome, a run without the opt-out it needs is skipped (and told once), a deleted schedule
comes back with Ctrl+Z, and an offline bridge is explained."""

from __future__ import annotations

import datetime as dt

from deletions_gui_helpers import (
    NET_MS,
    RUN_MS,
    link,
    open_window,
    pair,
    record_voice_deletion_on,
    start_bridge,
    table_texts,
)
from PySide6.QtCore import Qt, QTime

from app.deletions.voice import Recurrence, prerequisite_for, schedule_fields
from app.optouts.speakers import bridge_key
from ui.deletions.timefmt import capitalised, moment_text

PHRASE = "Alexa, delete everything I said today"


def deletions_page(qtbot, window):
    window.show_page("deletions")
    page = window.deletions_page
    page.show_section("voice")
    return page


def add_on_bridge(bridge, speaker_id: str = "kitchen", *, enabled_prerequisite: bool = True, label: str = "") -> dict:
    """A nightly schedule made on the bridge itself (as another computer would)."""
    fields = schedule_fields(speaker_id=speaker_id, vendor="amazon", phrase=PHRASE,
                             recurrence=Recurrence.daily(23, 55, dt.date.today()), label=label,
                             prerequisite={"name": "Enable deletion by voice", "enabled": enabled_prerequisite,
                                           "recorded_at": None})
    return bridge.deletions.add_schedule(fields)


def synced(qtbot, ctx, bridge, speaker_id: str = "kitchen") -> dict:
    """Wait until the bridge's schedule carries the opt-out as Earmuff records it (the page tells the bridge)."""
    wanted = prerequisite_for(ctx.optouts, bridge_key(bridge.bridge_id, speaker_id), "amazon")
    qtbot.waitUntil(lambda: bridge.deletions.schedules()[0]["prerequisite"] == wanted, timeout=NET_MS)
    return bridge.deletions.schedules()[0]


def focus(qtbot, window, widget) -> None:
    window.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)


def test_a_nightly_deletion_added_in_the_dialog_is_kept_on_the_bridge_with_its_next_run(
        qtbot, ctx, make_window, bridges, clock):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    account = link(ctx, bridge, "kitchen", "amazon")
    page = deletions_page(qtbot, window)
    voice = page.voice
    qtbot.waitUntil(lambda: voice.add_button.isEnabled() and voice.schedules_empty.isVisible(), timeout=NET_MS)
    assert "Add schedule" in voice.schedules_empty.text()

    focus(qtbot, window, voice.add_button)
    qtbot.keyClick(voice.add_button, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = voice.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.speaker().speaker_id == "kitchen" and dialog.vendor() == "amazon"
    assert dialog.assistant_hint.text() == "from the Amazon account it is linked to"
    assert dialog.phrase() == PHRASE and dialog.daily_radio.isChecked()
    assert "has not recorded it as On" in dialog.prerequisite_label.text()
    assert dialog.optout_button.text() == "Open this &opt-out"
    qtbot.waitUntil(lambda: dialog.capability_label.text().startswith("The bridge can say it"), timeout=NET_MS)

    dialog.weekly_radio.setChecked(True)
    for check in dialog.day_checks:
        check.setChecked(False)
    assert not dialog.save_button.isEnabled() and "at least one day" in dialog.error_label.text()
    dialog.daily_radio.setChecked(True)
    dialog.time_edit.setTime(QTime(23, 55))
    assert dialog.when_label.text().startswith("Every day at 23:55. Next: ")
    assert dialog.save_button.isEnabled() and not dialog.error_label.isVisible()
    qtbot.keyClicks(dialog.label_edit, "Nightly")

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.save_button.text() == "Saving\u2026" and not dialog.save_button.isEnabled()
    assert not dialog.phrase_combo.isEnabled()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=NET_MS)

    [stored] = bridge.deletions.schedules()
    assert (stored["speaker_id"], stored["vendor"], stored["phrase"], stored["rrule"], stored["label"]) == (
        "kitchen", "amazon", PHRASE, "FREQ=DAILY;BYHOUR=23;BYMINUTE=55", "Nightly")
    assert stored["prerequisite"]["enabled"] is False and len(stored["next_runs"]) == 3
    [row] = table_texts(voice.schedules_table)
    assert row[0] == "Kitchen speaker \u00b7 Nightly"
    assert row[1] == f"\u201c{PHRASE}\u201d" and row[2] == "Every day at 23:55"
    assert row[3] == capitalised(moment_text(stored["next_runs"][0], clock())) + " \u2013 will be skipped"
    assert row[4] == "Not run yet"
    assert "Saved the voice deletion for Kitchen speaker; it first runs" in page.message_label.text()

    record_voice_deletion_on(ctx, account)  # recorded on the Opt-outs page: the bridge is told
    qtbot.waitUntil(lambda: bridge.deletions.schedules()[0]["prerequisite"]["enabled"] is True, timeout=NET_MS)
    qtbot.waitUntil(lambda: "skipped" not in voice.schedules_table.item(0, 3).text(), timeout=NET_MS)

    voice.schedules_table.selectRow(0)
    qtbot.mouseClick(voice.edit_button, Qt.MouseButton.LeftButton)
    editor = voice.dialog
    assert editor.isVisible() and editor.daily_radio.isChecked() and editor.time_edit.time() == QTime(23, 55)
    assert not editor.speaker_combo.isEnabled() and editor.label_edit.text() == "Nightly"
    assert editor.prerequisite_label.text().startswith("\u2713 Amazon only deletes by voice")
    editor.weekly_radio.setChecked(True)
    for index, check in enumerate(editor.day_checks):
        check.setChecked(index in (0, 3))
    assert editor.when_label.text().startswith("Every Monday and Thursday at 23:55.")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=NET_MS)
    assert bridge.deletions.schedules()[0]["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=23;BYMINUTE=55"
    assert voice.schedules_table.item(0, 2).text() == "Every Monday and Thursday at 23:55"


def test_a_refusal_from_the_bridge_is_shown_in_the_dialog_and_nothing_typed_is_lost(qtbot, ctx, make_window, bridges):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    link(ctx, bridge, "bedroom", "google")
    voice = deletions_page(qtbot, window).voice
    qtbot.waitUntil(voice.add_button.isEnabled, timeout=NET_MS)
    dialog = voice.open_dialog()
    assert dialog.speaker().speaker_id == "bedroom" and dialog.vendor() == "google"
    assert dialog.phrase() == "Hey Google, delete today's activity"
    assert not dialog.prerequisite_frame.isVisible()  # Google needs no opt-out for it
    dialog.custom_radio.setChecked(True)
    dialog.rule_edit.setText("FREQ=HOURLY;INTERVAL=2")  # fine for the app; the bridge checks again
    assert dialog.when_label.text().startswith("Custom: FREQ=HOURLY;INTERVAL=2.")
    dialog.rule_edit.setText("FREQ=MINUTELY")
    assert "more than once an hour" in dialog.error_label.text() and not dialog.save_button.isEnabled()
    dialog.rule_edit.setText("FREQ=DAILY;BYHOUR=22;BYMINUTE=30")
    dialog.phrase_combo.setEditText("x" * 230)
    assert "230 characters" in dialog.error_label.text() and not dialog.save_button.isEnabled()
    dialog.phrase_combo.setEditText("Hey Google, delete today's activity")

    bridge.stop()  # gone between the check and the save
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible() and dialog.save_button.text() == "&Add schedule",
                    timeout=NET_MS)
    assert "othing you typed is lost" in dialog.error_label.text()
    assert dialog.isVisible() and dialog.rule_edit.text() == "FREQ=DAILY;BYHOUR=22;BYMINUTE=30"
    qtbot.waitUntil(lambda: "is offline" in dialog.error_label.text(), timeout=NET_MS)  # once the window knows
    assert not dialog.save_button.isEnabled() and dialog.phrase() == "Hey Google, delete today's activity"
    dialog.reject()
    qtbot.waitUntil(lambda: "is offline" in voice.bridges_label.text(), timeout=NET_MS)
    assert not voice.add_button.isEnabled()


def test_run_now_follows_the_run_to_its_outcome(qtbot, ctx, make_window, bridges):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    record_voice_deletion_on(ctx, link(ctx, bridge, "kitchen", "amazon"))
    add_on_bridge(bridge)
    page = deletions_page(qtbot, window)
    voice = page.voice
    qtbot.waitUntil(lambda: voice.schedules_table.rowCount() == 1, timeout=NET_MS)
    assert voice.runs_empty.isVisible()
    assert bridge.engine.state("kitchen").muted
    phases: list[str] = []
    page.feed.run_updated.connect(lambda run: phases.append(run.phase))

    voice.schedules_table.selectRow(0)
    focus(qtbot, window, voice.schedules_table)
    qtbot.mouseClick(voice.run_button, Qt.MouseButton.LeftButton)
    assert voice.run_button.text() == "Starting\u2026" and not voice.run_button.isEnabled()
    assert voice.progress.isVisible() and voice.progress.title_label.text() == f"Kitchen speaker: \u201c{PHRASE}\u201d"
    qtbot.waitUntil(lambda: voice.progress.run is not None, timeout=NET_MS)
    assert not voice.run_button.isEnabled()  # one run per speaker at a time
    qtbot.waitUntil(lambda: voice.runs_table.rowCount() == 1
                    and voice.runs_table.item(0, 2).text() == "Deleted: the speaker sent the command on",
                    timeout=RUN_MS)
    row = table_texts(voice.runs_table)[0]
    assert row[1] == "Kitchen speaker" and "upload" in row[3]
    assert voice.runs_table.item(0, 2).foreground().color().name() != "#c62828"
    assert "playing" in phases or "watching" in phases  # asked while it ran: more than its start and end
    assert phases[-1] == "done"
    assert voice.progress.detail_label.text().startswith("Deleted: the speaker sent the command on.")
    assert bridge.engine.state("kitchen").muted  # the mute is back
    qtbot.waitUntil(voice.run_button.isEnabled, timeout=NET_MS)
    qtbot.waitUntil(lambda: voice.schedules_table.item(0, 4).text().startswith(
        "Deleted (today "), timeout=NET_MS)  # its speaker's and phrase's last run
    assert window.voice_notices.messages == []  # a success is not a notice
    assert "Deleted: the speaker sent the command on" in page.message_label.text()


def test_a_run_without_the_opt_out_it_needs_is_skipped_and_told_once(qtbot, ctx, make_window, bridges):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    link(ctx, bridge, "kitchen", "amazon")  # "Enable deletion by voice" never recorded
    add_on_bridge(bridge, enabled_prerequisite=False)
    page = deletions_page(qtbot, window)
    voice = page.voice
    qtbot.waitUntil(lambda: voice.schedules_table.rowCount() == 1, timeout=NET_MS)
    assert voice.schedules_table.item(0, 3).text().endswith("will be skipped")
    pins_before = bridge.engine.state("kitchen")

    voice.schedules_table.selectRow(0)
    voice.run_selected()
    qtbot.waitUntil(lambda: voice.runs_table.rowCount() == 1 and voice.runs_table.item(0, 2).text() == "Skipped",
                    timeout=RUN_MS)
    why = voice.runs_table.item(0, 3).text()
    assert "Enable deletion by voice" in why and "not recorded as on" in why
    assert voice.runs_table.item(0, 2).foreground().color().name() == "#c62828"
    assert bridge.engine.state("kitchen").muted == pins_before.muted  # the mute was not touched
    qtbot.waitUntil(lambda: len(window.voice_notices.messages) == 1, timeout=NET_MS)
    title, message = window.voice_notices.messages[0]
    assert title == "Voice deletion skipped" and message.startswith("Kitchen speaker: Skipped.")
    assert window.statusBar().currentMessage().startswith("Voice deletion skipped: Kitchen speaker")  # no tray
    qtbot.waitUntil(lambda: "1 failed" in page.tabs.tabText(0), timeout=NET_MS)

    [cached] = ctx.voice_runs.recent()
    assert cached.outcome == "skipped" and cached.key == voice.runs[0].key
    window.voice_notices.runs_saved([cached])  # the same run again (say, a sync after a reconnect): not news
    assert len(window.voice_notices.messages) == 1


def test_a_deleted_schedule_comes_back_with_ctrl_z(qtbot, ctx, make_window, bridges):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    link(ctx, bridge, "kitchen", "amazon")
    add_on_bridge(bridge, label="Nightly")
    page = deletions_page(qtbot, window)
    voice = page.voice
    qtbot.waitUntil(lambda: voice.schedules_table.rowCount() == 1, timeout=NET_MS)
    original = synced(qtbot, ctx, bridge)
    assert original["prerequisite"]["enabled"] is False  # never recorded as On: the bridge was told so
    qtbot.waitUntil(lambda: "will be skipped" in voice.schedules_table.item(0, 3).text(), timeout=NET_MS)

    voice.schedules_table.selectRow(0)
    focus(qtbot, window, voice.schedules_table)
    qtbot.keyClick(voice.schedules_table, Qt.Key.Key_Delete)
    assert voice.delete_button.text() == "Deleting\u2026" and not voice.delete_button.isEnabled()
    qtbot.waitUntil(lambda: bridge.deletions.schedules() == [], timeout=NET_MS)
    qtbot.waitUntil(voice.schedules_empty.isVisible, timeout=NET_MS)
    assert "Undo with Ctrl+Z" in page.message_label.text()

    focus(qtbot, window, voice.add_button)
    qtbot.keyClick(voice.add_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(bridge.deletions.schedules()) == 1, timeout=NET_MS)
    [back] = bridge.deletions.schedules()
    for name in ("speaker_id", "vendor", "phrase", "rrule", "dtstart", "label", "prerequisite", "enabled"):
        assert back[name] == original[name], name
    qtbot.waitUntil(lambda: voice.schedules_table.rowCount() == 1, timeout=NET_MS)
    assert page.message_label.text() == "Put back the voice deletion for Kitchen speaker."
    assert voice.selected_schedule().id == back["id"]
    qtbot.keyClick(voice.add_button, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.message_label.text() == "There is nothing to undo."


def test_an_offline_bridge_is_explained_and_its_schedules_cannot_be_changed(qtbot, ctx, make_window, bridges):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    link(ctx, bridge, "kitchen", "amazon")
    add_on_bridge(bridge)
    voice = deletions_page(qtbot, window).voice
    qtbot.waitUntil(lambda: voice.schedules_table.rowCount() == 1, timeout=NET_MS)
    voice.schedules_table.selectRow(0)
    assert voice.run_button.isEnabled() and voice.delete_button.isEnabled()

    bridge.stop()
    qtbot.waitUntil(lambda: "offline" in voice.bridges_label.text(), timeout=NET_MS)
    assert "keep running on it" in voice.bridges_label.text()
    assert voice.schedules_table.rowCount() == 1  # still shown, as last seen
    assert "(bridge offline)" in voice.schedules_table.item(0, 3).text()
    voice.schedules_table.selectRow(0)
    for button in (voice.run_button, voice.delete_button, voice.edit_button):
        assert not button.isEnabled() and "offline" in button.toolTip()
    assert not voice.add_button.isEnabled()
