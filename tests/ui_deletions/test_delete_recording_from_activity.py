""""Delete this recording…" on the Activity page, against a real simulated bridge: the ways that fit the recording,
the recommended one chosen (say it now for today's Echo recording, the vendor's page for a HomePod's, a legal
request for a speaker of unknown make), and each way carried through."""

from __future__ import annotations

import datetime as dt

import pytest
from deletions_gui_helpers import (
    NET_MS,
    RUN_MS,
    link,
    open_window,
    pair,
    record_voice_deletion_on,
    start_bridge,
)
from PySide6.QtCore import Qt

from app.activations import ActivationRecord
from app.storage.activations_repo import ActivationRepository


def earlier_today(now: float) -> float:
    """A moment earlier today (never yesterday, even just after midnight)."""
    midnight = dt.datetime.combine(dt.datetime.fromtimestamp(now).date(), dt.time()).timestamp()
    return now - min(600.0, (now - midnight) / 2)


def recordings(ctx, bridge, now: float) -> dict[str, ActivationRecord]:
    start = earlier_today(now)
    found = {speaker_id: ActivationRecord(bridge.bridge_id, number, speaker_id, name, start - number, start - number + 6,
                                          40_000, 9000.0, 0.9)
             for number, (speaker_id, name) in enumerate((("kitchen", "Kitchen speaker"),
                                                          ("bedroom", "Bedroom speaker"),
                                                          ("living-room", "Living room speaker")), start=1)}
    ActivationRepository(ctx.database).upsert_many(list(found.values()))
    return found


def open_ways(qtbot, window, record):
    window.show_page("activity")
    activity = window.activity_page
    assert activity.show_activation(record.bridge_id, record.speaker_id, record.start)
    assert activity.delete_button.text() == "&Delete this recording\u2026" and activity.delete_button.isEnabled()
    qtbot.mouseClick(activity.delete_button, Qt.MouseButton.LeftButton)
    dialog = window.deletions_page.delete_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_the_recommended_way_is_chosen_for_each_speaker(qtbot, ctx, make_window, bridges, clock):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    record_voice_deletion_on(ctx, link(ctx, bridge, "kitchen", "amazon"))
    link(ctx, bridge, "bedroom", "apple")
    found = recordings(ctx, bridge, clock())

    echo = open_ways(qtbot, window, found["kitchen"])
    assert list(echo.radios) == ["voice_now", "voice_schedule", "portal", "legal"]
    assert echo.selected().kind == "voice_now" and echo.radios["voice_now"].text().endswith("(recommended)")
    assert echo.voice_box.isVisible() and echo.phrase_combo.currentText() == "Alexa, delete everything I said today"
    assert echo.action_button.text() == "&Send the command now" and echo.action_button.isEnabled()
    echo.reject()

    homepod = open_ways(qtbot, window, found["bedroom"])
    assert list(homepod.radios) == ["portal", "legal"] and homepod.selected().kind == "portal"
    assert homepod.action_button.text() == "Show the &steps\u2026"
    qtbot.mouseClick(homepod.action_button, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "deletions" and window.deletions_page.current_section() == "portal"
    steps = window.deletions_page.portal.steps_dialog
    assert steps.isVisible() and steps.guide.id == "apple-siri-history"
    qtbot.mouseClick(steps.reminder_button, Qt.MouseButton.LeftButton)  # the steps offer a reminder
    reminder = window.deletions_page.portal.reminder_dialog
    assert reminder.isVisible() and reminder.guide_combo.currentData() == "apple-siri-history"
    reminder.reject()

    unknown = open_ways(qtbot, window, found["living-room"])
    assert list(unknown.radios) == ["legal"] and unknown.selected().kind == "legal"
    assert unknown.action_button.text() == "&Write a request\u2026"
    unknown.reject()


@pytest.mark.qt_log_ignore(r"does not support raise\(\)", r"does not support propagateSizeHints")
def test_without_the_opt_out_recorded_the_vendor_page_is_recommended_and_saying_it_warns(
        qtbot, ctx, make_window, bridges, clock):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    link(ctx, bridge, "kitchen", "amazon")  # "Enable deletion by voice" never recorded as On
    found = recordings(ctx, bridge, clock())
    dialog = open_ways(qtbot, window, found["kitchen"])
    assert dialog.selected().kind == "portal"
    detail = dialog.radios["voice_now"].accessibleDescription()
    assert "Enable deletion by voice" in detail

    dialog.select("voice_schedule")
    assert dialog.action_button.text() == "S&chedule it\u2026"
    qtbot.mouseClick(dialog.action_button, Qt.MouseButton.LeftButton)
    voice = window.deletions_page.voice
    assert window.deletions_page.current_section() == "voice"
    schedule = voice.dialog
    assert schedule is not None and schedule.isVisible()
    assert schedule.speaker().speaker_id == "kitchen" and schedule.vendor() == "amazon"
    assert "has not recorded it as On" in schedule.prerequisite_label.text()

    with qtbot.waitSignal(window.deletions_page.optout_requested):
        qtbot.mouseClick(schedule.optout_button, Qt.MouseButton.LeftButton)
    assert window.current_page_key() == "optouts"  # at the setting it needs, on the linked account
    assert window.optouts_page.account_view.cards.get("amazon.deletion-by-voice") is not None
    schedule.reject()


def test_saying_it_now_runs_on_the_bridge_and_shows_the_outcome_in_the_dialog(
        qtbot, ctx, make_window, bridges, clock):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    record_voice_deletion_on(ctx, link(ctx, bridge, "kitchen", "amazon"))
    found = recordings(ctx, bridge, clock())
    dialog = open_ways(qtbot, window, found["kitchen"])
    qtbot.mouseClick(dialog.action_button, Qt.MouseButton.LeftButton)
    assert dialog.action_button.text() == "Running\u2026" and not dialog.action_button.isEnabled()
    assert not dialog.radios["legal"].isEnabled() and dialog.progress.isVisible()
    qtbot.waitUntil(lambda: dialog.progress.run is not None and dialog.progress.run.state == "done", timeout=RUN_MS)
    assert dialog.progress.run.outcome == "sent_and_uploaded"
    assert dialog.progress.detail_label.text().startswith("Deleted: the speaker sent the command on.")
    assert dialog.action_button.text() == "&Send the command again" and dialog.action_button.isEnabled()
    assert bridge.engine.state("kitchen").muted
    qtbot.waitUntil(lambda: any(r.outcome == "sent_and_uploaded" for r in ctx.voice_runs.recent()), timeout=NET_MS)
    dialog.reject()


def test_an_offline_bridge_is_said_before_anything_is_tried(qtbot, ctx, make_window, bridges, clock):
    bridge = start_bridge(bridges)
    window = open_window(qtbot, make_window, ctx)
    pair(qtbot, ctx, window, bridge)
    record_voice_deletion_on(ctx, link(ctx, bridge, "kitchen", "amazon"))
    found = recordings(ctx, bridge, clock())
    bridge.stop()
    qtbot.waitUntil(lambda: not any(s.online for s in window.bridge_adapter.statuses()), timeout=NET_MS)
    dialog = open_ways(qtbot, window, found["kitchen"])
    assert dialog.selected().kind == "voice_now"  # still the best way, once the bridge is back
    assert not dialog.action_button.isEnabled() and "is offline" in dialog.error_label.text()
    dialog.select("legal")
    assert dialog.action_button.isEnabled() and not dialog.error_label.isVisible()
    dialog.reject()
