"""Settings the bridge enforces itself, against real bridges on 127.0.0.1: quiet hours become a schedule on the
bridge (and undo removes it), a relay-muted speaker says why it cannot block its uplink, and a speaker with the
network driver has its uplink really blocked by nftables in a network namespace (root only)."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt

from app.bridge_client.pairing import probe
from app.optouts.local import BLOCK_UPLINK, QUIET_HOURS, QUIET_HOURS_LABEL
from app.optouts.speakers import bridge_key
from device_bridge.config import BridgeConfig, SpeakerConfig

NET_MS = 15_000


def pair(qtbot, ctx, window, bridge):
    ctx.bridges.start()
    ctx.bridges.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    page = window.optouts_page
    qtbot.waitUntil(lambda: any(s.online and s.speakers for s in window.bridge_adapter.statuses()), timeout=NET_MS)
    return page


def link_account(qtbot, ctx, page, bridge, speaker_id):
    speaker = next(s for s in page.current_speakers() if s.key == bridge_key(bridge.bridge_id, speaker_id))
    account = ctx.optouts.add_account("amazon", "Amazon", [speaker])
    page.select_account(account.account_id)
    return account


def card(page, control_id, key):
    return page.account_view.local_cards[(control_id, key)]


def test_quiet_hours_become_a_schedule_on_the_bridge_and_undo_removes_it(qtbot, ctx, window, bridges):
    bridge = bridges.start()
    page = pair(qtbot, ctx, window, bridge)
    link_account(qtbot, ctx, page, bridge, "kitchen")
    key = bridge_key(bridge.bridge_id, "kitchen")

    uplink = card(page, BLOCK_UPLINK, key)
    assert not uplink.toggle.isEnabled()
    assert "mutes Kitchen speaker with its relay mute, which does not cut the internet uplink" in \
        uplink.reason_label.text()
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).toggle.isEnabled(), timeout=NET_MS)  # schedules read
    quiet = card(page, QUIET_HOURS, key)
    assert quiet.state_badge.text() == "Off" and quiet.toggle.text() == "Turn on"
    quiet.start_edit.setTime(quiet.start_edit.time().fromString("23:30", "HH:mm"))

    qtbot.mouseClick(quiet.toggle, Qt.MouseButton.LeftButton)
    assert quiet.toggle.text() == "Turning on…" and not quiet.toggle.isEnabled()
    qtbot.waitUntil(lambda: len(bridge.engine.schedules()) == 1, timeout=NET_MS)
    [schedule] = bridge.engine.schedules()
    assert (schedule.speaker_id, schedule.kind, schedule.start, schedule.end, schedule.label) == (
        "kitchen", "weekly", "23:30", "07:00", QUIET_HOURS_LABEL)
    assert schedule.days == (0, 1, 2, 3, 4, 5, 6)
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).state_badge.text() == "In force", timeout=NET_MS)
    entry = ctx.optouts.history()[0]
    assert entry.summary == f"Quiet hours 23:30–07:00 on for Kitchen speaker (via {bridge.config.name})"
    assert entry.after["schedule"]["id"] == schedule.id

    window.activateWindow()
    page.accounts_list.setFocus()
    qtbot.waitUntil(page.accounts_list.hasFocus)
    qtbot.keyClick(page.accounts_list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo: on the bridge
    qtbot.waitUntil(lambda: bridge.engine.schedules() == [], timeout=NET_MS)
    qtbot.waitUntil(lambda: ctx.optouts.history()[0].summary.startswith("Undid: Quiet hours"), timeout=NET_MS)
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).state_badge.text() == "Off", timeout=NET_MS)


def test_turning_quiet_hours_off_deletes_the_schedule(qtbot, ctx, window, bridges):
    bridge = bridges.start()
    page = pair(qtbot, ctx, window, bridge)
    link_account(qtbot, ctx, page, bridge, "bedroom")
    key = bridge_key(bridge.bridge_id, "bedroom")
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).toggle.isEnabled(), timeout=NET_MS)
    card(page, QUIET_HOURS, key).toggle.click()
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).state_badge.text() == "In force", timeout=NET_MS)
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).toggle.isEnabled(), timeout=NET_MS)
    card(page, QUIET_HOURS, key).toggle.click()
    qtbot.waitUntil(lambda: bridge.engine.schedules() == [], timeout=NET_MS)
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).state_badge.text() == "Off", timeout=NET_MS)
    assert ctx.optouts.history()[0].summary.startswith("Quiet hours off for Bedroom speaker")


def test_an_offline_bridge_disables_the_toggles_with_the_reason(qtbot, ctx, window, bridges):
    bridge = bridges.start()
    page = pair(qtbot, ctx, window, bridge)
    link_account(qtbot, ctx, page, bridge, "kitchen")
    key = bridge_key(bridge.bridge_id, "kitchen")
    qtbot.waitUntil(lambda: card(page, QUIET_HOURS, key).toggle.isEnabled(), timeout=NET_MS)
    bridge.stop()
    qtbot.waitUntil(lambda: not card(page, QUIET_HOURS, key).toggle.isEnabled(), timeout=NET_MS)
    assert "cannot be reached right now" in card(page, QUIET_HOURS, key).reason_label.text()


@pytest.mark.netns
def test_blocking_the_uplink_puts_a_drop_rule_in_nftables_and_undo_lifts_it(qtbot, ctx, window, bridges,
                                                                              nft_command):
    config = BridgeConfig(name="Network bridge", timezone="UTC", listen="127.0.0.1", speakers=(
        SpeakerConfig(id="den", name="Den HomePod", driver="network", pin=None, ip="10.77.0.3"),))
    bridge = bridges.start("net", config=dataclasses.replace(config), nft_command=nft_command,
                           simulate_speakers=False)
    bridge.engine.set_mute("den", False, reason="test", requested_by="test")
    page = pair(qtbot, ctx, window, bridge)
    link_account(qtbot, ctx, page, bridge, "den")
    key = bridge_key(bridge.bridge_id, "den")
    qtbot.waitUntil(lambda: card(page, BLOCK_UPLINK, key).toggle.isEnabled(), timeout=NET_MS)
    uplink = card(page, BLOCK_UPLINK, key)
    assert uplink.state_badge.text() == "Off"

    qtbot.mouseClick(uplink.toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bridge.engine.state("den").muted, timeout=NET_MS)
    qtbot.waitUntil(lambda: bridge.engine.nft_table.is_muted("den"), timeout=NET_MS)  # the drop rule is in the kernel
    qtbot.waitUntil(lambda: card(page, BLOCK_UPLINK, key).state_badge.text() == "In force", timeout=NET_MS)
    assert ctx.optouts.history()[0].summary == "Blocked the internet uplink of Den HomePod (via Network bridge)"

    page.undo()
    qtbot.waitUntil(lambda: not bridge.engine.state("den").muted, timeout=NET_MS)
    qtbot.waitUntil(lambda: not bridge.engine.nft_table.is_muted("den"), timeout=NET_MS)
    qtbot.waitUntil(lambda: ctx.optouts.history()[0].summary.startswith("Undid: Blocked"), timeout=NET_MS)


@pytest.mark.qt_log_ignore(r"does not support raise\(\)", r"does not support propagateSizeHints")
def test_destination_blocks_show_as_enforced_settings_with_their_drops(qtbot, ctx, window, bridges):
    from app.optouts.local import DESTINATION_BLOCKS

    bridge = bridges.start()
    page = pair(qtbot, ctx, window, bridge)
    link_account(qtbot, ctx, page, bridge, "kitchen")
    key = bridge_key(bridge.bridge_id, "kitchen")
    qtbot.waitUntil(lambda: card(page, DESTINATION_BLOCKS, key).toggle.isEnabled(), timeout=NET_MS)
    blocks = card(page, DESTINATION_BLOCKS, key)
    assert blocks.state_badge.text() == "Off" and blocks.toggle.text() == "Manage…"
    assert blocks.summary_label.text().startswith("Nothing is blocked for Kitchen speaker.")

    done = []
    ctx.bridges.add_block(bridge.bridge_id, "kitchen", "preset", "amazon-device-metrics", done.append)
    qtbot.waitUntil(lambda: bool(done) and card(page, DESTINATION_BLOCKS, key).state_badge.text() == "In force",
                    timeout=NET_MS)  # blocks_changed from the bridge's stream made the page read them again
    assert done[0].ok
    blocks = card(page, DESTINATION_BLOCKS, key)
    assert "drops Kitchen speaker's traffic to: Amazon device metrics (" in blocks.summary_label.text()
    assert "dropped" in blocks.summary_label.text()

    with qtbot.waitSignal(page.destinations_requested) as asked:
        qtbot.mouseClick(blocks.toggle, Qt.MouseButton.LeftButton)
    assert asked.args == [bridge.bridge_id, "kitchen"]
    assert window.current_page_key() == "bridges"
    dialog = window.bridges_page.destination_dialogs[(bridge.bridge_id, "kitchen")]
    assert dialog.isVisible()
    dialog.close()
