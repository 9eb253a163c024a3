"""Shared by the Deletions GUI tests: a real simulated bridge that runs voice deletions quickly, paired with the
window's context, and speakers linked to vendor accounts the way the Opt-outs page links them."""

from __future__ import annotations

import dataclasses

from app.bridge_client.pairing import probe
from app.optouts.speakers import SpeakerRef, bridge_key
from device_bridge.config import DeletionConfig, simulated_config

NET_MS = 15_000
#: A whole voice deletion: mute lifted and settled, the phrase synthesised and spoken, the upload seen, mute back.
RUN_MS = 60_000
PREREQUISITE = "amazon.deletion-by-voice"


def start_bridge(bridges):
    """The demo bridge (kitchen, bedroom, living-room) with a short settle after lifting a mute."""
    config = dataclasses.replace(simulated_config("UTC"), deletion=DeletionConfig(unmute_settle_s=0.3))
    return bridges.start(config=config)


def open_window(qtbot, make_window, ctx):
    window = make_window(ctx)
    window.show()
    qtbot.waitExposed(window)
    return window


def pair(qtbot, ctx, window, bridge) -> str:
    """Pair the context's manager with `bridge`; wait until the window sees its speakers online and the manager
    has fetched what it fetches on connecting (the voice deletion runs come last), so a test that stops the bridge
    next does not cut those requests off."""
    with qtbot.waitSignal(window.bridge_adapter.deletion_runs_synced, timeout=NET_MS):
        ctx.bridges.start()
        ctx.bridges.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    qtbot.waitUntil(lambda: any(s.online and s.speakers for s in window.bridge_adapter.statuses()), timeout=NET_MS)
    return bridge.bridge_id


def link(ctx, bridge, speaker_id: str, vendor: str, label: str | None = None):
    """A vendor account with the bridge's speaker linked to it."""
    name = {"kitchen": "Kitchen speaker", "bedroom": "Bedroom speaker", "living-room": "Living room speaker"}
    speaker = SpeakerRef(bridge_key(bridge.bridge_id, speaker_id), name[speaker_id], bridge_id=bridge.bridge_id,
                         speaker_id=speaker_id, bridge_name=bridge.config.name)
    return ctx.optouts.add_account(vendor, label or vendor.capitalize(), [speaker])


def record_voice_deletion_on(ctx, account) -> None:
    """The user ticked off "Enable deletion by voice" as On."""
    ctx.optouts.confirm(account.account_id, PREREQUISITE, "On")


def table_texts(table) -> list[list[str]]:
    return [[table.item(row, column).text() if table.item(row, column) else ""
             for column in range(table.columnCount())] for row in range(table.rowCount())]
