"""End to end: the Live page against a real simulated bridge over HTTPS (BridgeService on 127.0.0.1, pinned
certificate, the app's own BridgeManager and adapter). Samples and room-microphone records arrive and are
drawn, an upload becomes a shaded activation, pause freezes while data still buffers, zooming out loads the
bridge's history, and the rows go grey when the bridge stops and recover when it returns."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from app.bridge_client.pairing import probe
from device_bridge.config import simulated_config
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource

NET_MS = 20_000
KITCHEN = "kitchen"


def quiet_source(seed: int = 3) -> SimulatedTrafficSource:
    return SimulatedTrafficSource(simulated_config("UTC").speakers, seed=seed, behaviour=QUIET_BEHAVIOUR)


@pytest.fixture
def live(bridges, memory_keyring, qtbot, ctx, window):
    """The Live page showing a freshly paired simulated bridge whose uploads the test makes.

    `bridges` comes first so it stops last: a bridge stopped under an open sample stream leaves sockets behind.
    """
    source = quiet_source()
    bridge = bridges.start(traffic_source=source)
    ctx.bridges.start()
    ctx.bridges.pair_now(probe("127.0.0.1", bridge.port), bridge.pairing_code())
    window.show_page("live")
    page = window.pages["live"]
    key = (bridge.bridge_id, KITCHEN)
    qtbot.waitUntil(lambda: key in page.view.rows, timeout=NET_MS)
    QApplication.processEvents()
    return page, bridge, source, key


def pixel(row, when: float) -> tuple[int, int, int]:
    box = row.traffic_plot.getViewBox()
    (_x0, _x1), (y0, y1) = box.viewRange()
    point = row.graphics.mapFromScene(box.mapViewToScene(QPointF(when, y0 + 0.6 * (y1 - y0))))
    color = row.graphics.grab().toImage().pixelColor(point)
    return color.red(), color.green(), color.blue()


def test_samples_and_the_room_microphone_are_drawn(qtbot, live):
    page, _bridge, _source, key = live
    row = page.view.rows[key]
    assert [k[1] for k in page.view.rows] == ["kitchen", "bedroom", "living-room"]
    qtbot.waitUntil(lambda: row.shown_points("up") >= 30, timeout=NET_MS)
    qtbot.waitUntil(lambda: row.shown_points("level") >= 30, timeout=NET_MS)  # the bridge's simulated room mic
    assert not row.traffic_overlay.isVisible()
    assert not row.mic_overlay.isVisible()
    series = page.data.series(*key)
    assert series.mic_id is not None
    x, _y = row.up_curve.getOriginalDataset()
    assert x[-1] > time.time() - 5


def test_an_upload_is_shaded_as_an_activation(qtbot, live):
    page, _bridge, source, key = live
    row = page.view.rows[key]
    qtbot.waitUntil(lambda: row.shown_points("up") >= 10, timeout=NET_MS)
    source.set_mute_fails(KITCHEN)  # the kitchen speaker starts muted; this one's mute does not hold
    at = time.time()
    source.inject_burst(KITCHEN, at=at)  # the Echo's voice request: 76, 39, 36, 35, 35 kB in five seconds
    spans = page.data.series(*key).activations
    qtbot.waitUntil(lambda: len(spans) > 0, timeout=NET_MS)
    qtbot.waitUntil(lambda: not spans.open, timeout=NET_MS)  # activation_ended replaced the growing span
    starts, ends, levels = spans.arrays()
    assert abs(starts[0] - at) <= 2 and ends[0] - starts[0] >= 3
    assert levels[0] == 2  # sent while muted
    qtbot.waitUntil(lambda: row.shown_points("up") > 0 and np.nanmax(row.up_curve.getOriginalDataset()[1]) > 30_000,
                    timeout=NET_MS)
    red, green, blue = pixel(row, (starts[0] + ends[0]) / 2)
    assert red > green + 40 and red > blue + 40  # shaded red behind the uplink
    assert "activation, sent while muted" in row.values_text((starts[0] + ends[0]) / 2)


def test_pause_freezes_while_data_buffers_and_zooming_out_loads_history(qtbot, live):
    page, _bridge, _source, key = live
    row = page.view.rows[key]
    series = page.data.series(*key)
    qtbot.waitUntil(lambda: row.shown_points("up") >= 10, timeout=NET_MS)
    page.view.pause()
    shown_until = row.up_curve.getOriginalDataset()[0][-1]
    qtbot.waitUntil(lambda: series.traffic.last_time > shown_until + 1.0, timeout=NET_MS)
    assert row.up_curve.getOriginalDataset()[0][-1] == shown_until
    page.view.resume()
    assert row.up_curve.getOriginalDataset()[0][-1] > shown_until + 1.0

    page.view.zoom(16.0)  # 160 minutes: far more than the live ring holds
    qtbot.waitUntil(lambda: series.history.loaded_chunks() > 0 and not series.history.fetching, timeout=NET_MS)
    x0, x1 = page.view.x_range()
    assert x1 - x0 == pytest.approx(16 * 600)


def test_a_stopped_bridge_greys_its_rows_and_they_recover_when_it_returns(qtbot, live, bridges):
    page, bridge, _source, key = live
    row = page.view.rows[key]
    qtbot.waitUntil(lambda: row.shown_points("up") >= 10, timeout=NET_MS)
    bridge.stop()
    qtbot.waitUntil(lambda: row.offline, timeout=NET_MS)
    assert row.traffic_overlay.isVisible() and "offline" in row.traffic_overlay.text()
    assert row.shown_points("up") >= 10  # the last data stays, greyed
    stopped_at = time.time()

    bridges.restart(bridge, traffic_source=quiet_source(seed=4))
    qtbot.waitUntil(lambda: not row.offline, timeout=30_000)
    assert not row.traffic_overlay.isVisible()
    qtbot.waitUntil(lambda: row.up_curve.getOriginalDataset()[0][-1] > stopped_at + 1, timeout=NET_MS)
