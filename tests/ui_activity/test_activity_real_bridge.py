"""End to end with a real bridge over HTTPS: a muted speaker whose mute fails uploads a voice-sized burst; the
Activity page shows it in progress and then as a cached record, one critical notification says so (the
bridge's own alarm folded into it), a click opens it, and the Overview counts it and asks for attention."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QSystemTrayIcon

from app.activations import ActivationRecord
from app.bridge_client.pairing import probe
from device_bridge.config import simulated_config
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource
from ui.main_window import PAGE_KEYS
from ui.models.activity_model import InProgress

NET_MS = 15_000


@pytest.mark.qt_log_ignore(r"systemTrayWindowChanged", r"does not support raise\(\)",
                           r"QSystemTrayIcon::setVisible: No Icon set")
def test_an_upload_while_muted_reaches_the_activity_page_the_tray_and_the_overview(
        qtbot, make_window, ctx, bridges, memory_keyring, monkeypatch):
    source = SimulatedTrafficSource(simulated_config("UTC").speakers, seed=3, behaviour=QUIET_BEHAVIOUR)
    bridge = bridges.start("e2e", traffic_source=source)
    window = make_window(tray_available=True)
    window.resize(1280, 860)
    window.show()
    qtbot.waitExposed(window)
    notified, alarms = [], []
    real_notify = window.tray.notify
    monkeypatch.setattr(window.tray, "notify",
                        lambda title, message, **kw: notified.append((title, kw.get("icon"))) or real_notify(
                            title, message, **kw))
    window.bridge_adapter.alarm.connect(alarms.append)
    window.show_page("activity")
    page = window.activity_page
    assert page.no_bridge_state.isVisible()

    ctx.bridges.start()
    ctx.bridges.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    qtbot.waitUntil(lambda: page.no_activations_state.isVisible(), timeout=NET_MS)

    def kitchen_muted() -> bool:
        status = ctx.bridges.status(bridge.bridge_id)
        kitchen = status.speaker("kitchen") if status is not None and status.online else None
        return kitchen is not None and kitchen.muted

    qtbot.waitUntil(kitchen_muted, timeout=NET_MS)

    source.set_mute_fails("kitchen")  # the relay welded shut: muted, and it sends anyway
    source.inject_burst("kitchen")
    qtbot.waitUntil(lambda: page.model.rowCount() and isinstance(page.model.row_at(0), InProgress),
                    timeout=20_000)
    live = page.model.row_at(0)
    assert live.speaker_name == "Kitchen speaker" and "while_muted" in live.flags
    assert page.model.data(page.model.index(0, 2)) == "in progress"
    assert notified == [("Uploaded while muted: Kitchen speaker", QSystemTrayIcon.MessageIcon.Critical)]

    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and isinstance(page.model.row_at(0), ActivationRecord),
                    timeout=30_000)
    record = page.model.row_at(0)
    assert record.bridge_id == bridge.bridge_id and record.critical and record.bytes_up > 100_000
    assert ctx.activations.get(record.bridge_id, record.activation_id) == record  # from the real cache
    assert page.chart.counts == {dt.datetime.fromtimestamp(record.start).date(): {record.key: 1}}
    # The bridge raised its critical alarm too (it came right after the start, on the same stream): one message.
    assert [a.level for a in alarms] == ["critical"]
    assert len(notified) == 1

    window.show_page("bridges")
    window.tray.icon.messageClicked.emit()
    assert window.current_page_key() == "activity"
    assert page.selected_row() == record
    assert "Uploaded while muted: the mute did not hold." in page.details.toPlainText()
    # Where it went: this bridge measures a simulated source without a destination tracker, and says so.
    qtbot.waitUntil(lambda: "Sent to: not recorded by this bridge" in page.details.toPlainText(), timeout=NET_MS)

    overview = window.overview_page
    qtbot.waitUntil(lambda: any(a.critical and a.speaker_id == "kitchen" for a in overview.attention),
                    timeout=NET_MS)
    assert window.navigation.item(PAGE_KEYS.index("overview")).text().startswith("Overview  \u26a0")
    kitchen = overview.speaker_cards[(bridge.bridge_id, "kitchen")]
    assert kitchen.today_label.text() == "Today: 1 activation \u00b7 1 flagged"
    assert not kitchen.badge.isHidden()
    counts = {speaker.key: (speaker.activations, speaker.flagged, speaker.while_muted)
              for speaker in overview.speakers_today(ctx.bridges.statuses())}
    assert counts[(bridge.bridge_id, "kitchen")] == (1, 1, 1)
