"""The Live view's rows, drawn from real buffers on a test clock: curves, shaded activations, lanes, pause,
zoom and scroll with history, offline and microphone states, and the hover read-out."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QApplication

from ui.live.buffers import CHUNK_S, DAY_S
from ui.live.series import LiveData
from ui.live.speaker_row import (
    ACTIVATION_COLORS,
    GREY,
    UP_COLOR,
    nice_ceiling,
    rate_text,
)
from ui.live.view import MAX_WINDOW_S, MIN_WINDOW_S, LiveView

T0 = 1_700_000_000.0
KEY = ("b1", "kitchen")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed(live, seconds: float, *, up: float = 300.0, speaker: str = "kitchen", mic: bool = False,
         speech: bool = False) -> None:
    """`seconds` of 10 Hz samples from the clock's present on, as the adapter delivers them; the clock moves."""
    times = live.clock.now + 0.1 * np.arange(1, round(seconds * 10) + 1)
    records = [{"type": "sample", "bridge_id": "b1", "speaker_id": speaker, "time": float(t), "up": up,
                "down": 50.0, "muted": False} for t in times]
    if mic:
        records += [{"type": "mic", "bridge_id": "b1", "mic_id": "room", "speaker_ids": [speaker], "time": float(t),
                     "level": -35.0 if speech else -70.0, "speech": speech} for t in times]
    live.data.ingest(records)
    live.clock.now = float(times[-1])


@pytest.fixture
def live(qtbot):
    clock = Clock(T0)
    data = LiveData()
    fetches = []
    view = LiveView(data, clock=clock,
                    fetch_history=lambda series, start, end, done: fetches.append((series.key, start, end, done)))
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.set_rows([(KEY, "Kitchen speaker", "on Demo bridge")])
    view.show()
    qtbot.waitExposed(view)
    view.timer.stop()  # the test draws the frames
    return SimpleNamespace(view=view, data=data, clock=clock, fetches=fetches, row=view.rows[KEY])


def curve_x(item) -> np.ndarray:
    x, _y = item.getOriginalDataset()
    return np.empty(0) if x is None else np.asarray(x)


def color_at(row, when: float, fraction: float = 0.5, plot: str = "traffic") -> QColor:
    """The colour drawn at time `when`, `fraction` of the way up the plot."""
    box = (row.traffic_plot if plot == "traffic" else row.mic_plot).getViewBox()
    (_x0, _x1), (y0, y1) = box.viewRange()
    point = row.graphics.mapFromScene(box.mapViewToScene(QPointF(when, y0 + (y1 - y0) * fraction)))
    return row.graphics.grab().toImage().pixelColor(point)


def is_background(color: QColor, row) -> bool:
    return color == row.graphics.backgroundBrush().color()


def test_rows_draw_the_samples_they_receive_and_follow_the_present(live):
    row = live.row
    live.view.tick()
    assert row.traffic_overlay.isVisible() and "Waiting for data" in row.traffic_overlay.text()
    feed(live, 30.0, up=1500.0)
    live.view.tick()
    x = curve_x(row.up_curve)
    assert x.size == 300 and x[-1] == pytest.approx(live.clock.now)
    assert live.view.x_range() == pytest.approx((live.clock.now - 600, live.clock.now))
    assert not row.traffic_overlay.isVisible()
    top = row.traffic_plot.getViewBox().viewRange()[1][1]
    assert top == nice_ceiling(1500 * 1.3)
    line = [color_at(row, live.clock.now - 10, fraction=1500 / top + d / 200) for d in (-2, -1, 0, 1, 2)]
    assert any(c.blue() > c.red() + 60 for c in line)  # the blue uplink line at 1.5 kB/s
    assert all(c.blue() <= c.red() + 60 for c in (color_at(row, live.clock.now - 10, fraction=f) for f in (0.3, 0.9)))


def test_the_view_takes_views_of_the_ring_not_copies(live):
    feed(live, 5.0)
    live.view.tick()
    x = curve_x(live.row.up_curve)
    assert np.shares_memory(x, live.data.series(*KEY).traffic._time)


def test_an_activation_is_shaded_and_grows_while_it_goes_on(live):
    row = live.row
    feed(live, 20.0)
    start = live.clock.now - 4
    live.data.activation("b1", "activation_started", {"speaker_id": "kitchen", "start": start})
    live.view.tick()
    shaded = color_at(row, start + 2)
    assert shaded.red() > shaded.blue() + 40  # amber over the white background
    feed(live, 6.0)
    live.view.tick()
    assert not is_background(color_at(row, live.clock.now - 1), row)  # the span reached the present
    assert is_background(color_at(row, start - 5), row)
    live.data.activation("b1", "activation_ended", {"speaker_id": "kitchen", "start": start, "end": start + 5,
                                                    "id": 1, "flags": ["while_muted"]})
    live.view.tick()
    red = color_at(row, start + 2)
    assert red.red() > red.green() + 40 and abs(red.green() - red.blue()) < 10  # sent while muted: red
    assert is_background(color_at(row, live.clock.now - 0.5), row)  # it ended
    assert not is_background(color_at(row, start + 2, plot="mic"), row)  # shaded in the microphone plot too
    assert "activation, sent while muted" in row.values_text(start + 2)


def test_pause_freezes_the_view_while_the_rings_keep_filling(live):
    row = live.row
    feed(live, 10.0)
    live.view.tick()
    shown_until = curve_x(row.up_curve)[-1]
    frozen_range = live.view.x_range()
    live.view.pause()
    feed(live, 10.0, up=5000.0)
    live.view.tick()
    assert live.view.paused
    assert curve_x(row.up_curve)[-1] == shown_until
    assert live.view.x_range() == frozen_range
    assert live.data.series(*KEY).traffic.last_time == pytest.approx(live.clock.now)  # still buffering
    live.view.resume()
    assert not live.view.paused
    assert curve_x(row.up_curve)[-1] == pytest.approx(live.clock.now)
    assert live.view.x_range()[1] == pytest.approx(live.clock.now)


def test_zoom_keeps_between_ten_seconds_and_a_day(live):
    feed(live, 5.0)
    live.view.tick()
    live.view.zoom(0.5)
    assert live.view.window_s == 300
    x0, x1 = live.view.x_range()
    assert x1 == pytest.approx(live.clock.now) and x1 - x0 == pytest.approx(300)  # live: anchored at the present
    for _ in range(10):
        live.view.zoom(0.5)
    assert live.view.window_s == MIN_WINDOW_S
    for _ in range(20):
        live.view.zoom(2.0)
    assert live.view.window_s == MAX_WINDOW_S == DAY_S


def test_zooming_out_past_the_live_ring_loads_and_draws_history(live):
    row = live.row
    live.clock.now = T0 - T0 % CHUNK_S + 300  # 5 minutes into a chunk
    feed(live, 60.0)
    live.view.tick()
    live.view.zoom(8.0)  # 80 minutes
    live.view.tick()
    assert live.fetches, "no history asked for"
    key, start, end, done = live.fetches[-1]
    assert key == KEY and start < live.clock.now - 600 and end > live.data.series(*KEY).traffic.first_time - CHUNK_S
    n = int(end - start)
    done({"speaker_id": "kitchen", "t0": start, "step": 1.0, "up": [800.0] * n, "down": [10.0] * n,
          "level": [-55.0] * n, "speech": [False] * n}, "")
    live.view.tick()
    hx = curve_x(row.up_history)
    live_from = live.data.series(*KEY).traffic.first_time
    assert hx.size and hx[-1] <= live_from  # up to where the live ring starts, never over it
    assert "1-second average" in row.values_text(hx[-1] - 30)
    assert "room -55 dBFS" in row.values_text(hx[-1] - 30)
    failed = len(live.fetches)
    live.fetches[0][3](None, "The bridge did not answer.")  # a failed answer is not fatal
    assert len(live.fetches) == failed


def test_scrolling_a_plot_pauses_and_moves_every_row(live, qtbot):
    live.view.set_rows([(KEY, "Kitchen speaker", ""), (("b1", "bedroom"), "Bedroom speaker", "")])
    QApplication.processEvents()  # lay the new row out: rows out of sight are not drawn
    feed(live, 30.0)
    feed(live, 0.1, speaker="bedroom")
    live.view.tick()
    row = live.view.rows[KEY]
    viewport = row.graphics.viewport()
    centre = row.plot_rect().center()
    wheel = QWheelEvent(QPointF(centre), QPointF(viewport.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, -240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    qtbot.waitUntil(lambda: live.view.paused)
    x0, x1 = live.view.x_range()
    assert x1 - x0 > 600  # zoomed out
    other = live.view.rows[("b1", "bedroom")]
    assert other.x_range() == pytest.approx((x0, x1))  # one time axis for every row


def test_show_range_clamps_to_the_last_day(live):
    feed(live, 5.0)
    live.view.show_range(live.clock.now - 3 * DAY_S, live.clock.now - 3 * DAY_S + 600)
    x0, x1 = live.view.x_range()
    assert x0 >= live.clock.now - DAY_S - 1 and x1 - x0 == pytest.approx(600)
    assert live.view.paused


def test_offline_greys_the_data_and_says_so_then_recovers(live):
    row = live.row
    feed(live, 10.0)
    live.view.tick()
    live.view.set_offline("b1", "Demo bridge is offline: it stopped answering.")
    assert row.traffic_overlay.isVisible() and "stopped answering" in row.traffic_overlay.text()
    assert row.up_curve.opts["pen"].color() == QColor(GREY)
    assert curve_x(row.up_curve).size == 100  # the last data stays
    live.view.set_offline("b1", None)
    assert not row.traffic_overlay.isVisible()
    assert row.up_curve.opts["pen"].color() == QColor(UP_COLOR)


def test_a_speaker_without_a_microphone_says_so_and_one_with_a_microphone_draws_level_and_speech(live):
    live.view.set_rows([(KEY, "Kitchen speaker", ""), (("b1", "bedroom"), "Bedroom speaker", "")])
    QApplication.processEvents()  # lay the new row out: rows out of sight are not drawn
    feed(live, 5.0, speaker="bedroom")
    feed(live, 5.0, mic=True, speech=True)
    live.view.redraw()
    kitchen, bedroom = live.view.rows[KEY], live.view.rows[("b1", "bedroom")]
    assert not kitchen.mic_overlay.isVisible()
    assert curve_x(kitchen.level_curve).size == 50
    speech_band = color_at(kitchen, live.clock.now - 2, fraction=0.965, plot="mic")
    assert speech_band.green() > speech_band.red() + 60  # the teal speech lane along the top
    assert bedroom.mic_overlay.isVisible()
    assert "this bridge has no microphone" in bedroom.mic_overlay.text()
    assert "Settings" in bedroom.mic_overlay.text()
    live.view.set_desktop_mic(True, "No microphone found. Plug one in: Earmuff keeps looking.")
    live.view.redraw()
    assert "No microphone found" in bedroom.mic_overlay.text()


def test_hover_reads_out_exact_values(live, qtbot):
    row = live.row
    feed(live, 10.0, up=12_345.0)
    live.view.tick()
    text = row.show_values_at(live.clock.now - 2)
    assert "uplink 12.3 kB/s" in text and "not muted" in text
    assert row.hover_lines[0].isVisible() and row.readout_label.text() == text
    row.show_values_at(None)
    assert row.readout_label.text() == "" and not row.hover_lines[0].isVisible()
    point = row.plot_rect().center()
    qtbot.mouseMove(row.graphics.viewport(), point)
    qtbot.waitUntil(lambda: "uplink" in row.readout_label.text())


def test_downlink_is_drawn_only_when_asked(live):
    feed(live, 5.0)
    live.view.tick()
    assert not live.row.down_curve.isVisible()
    live.view.set_show_downlink(True)
    live.view.tick()
    assert live.row.down_curve.isVisible() and curve_x(live.row.down_curve).size == 50
    assert "downlink 50 B/s" in live.row.values_text(live.clock.now - 1)


def test_rate_text():
    assert rate_text(820) == "820 B/s" and rate_text(12_400) == "12.4 kB/s" and rate_text(1.2e6) == "1.2 MB/s"
    assert rate_text(float("nan")) == "no data"
    assert ACTIVATION_COLORS[2] != ACTIVATION_COLORS[0]


def test_a_frame_redraws_rows_once_the_present_moved_a_pixel_or_something_else_changed(live):
    live.view.set_rows([(KEY, "Kitchen speaker", ""), (("b1", "bedroom"), "Bedroom speaker", "")])
    QApplication.processEvents()
    feed(live, 5.0)
    feed(live, 0.1, speaker="bedroom")
    live.view.redraw()
    kitchen, bedroom = live.view.rows[KEY], live.view.rows[("b1", "bedroom")]
    drawn = kitchen.drawn_at
    pixel_s = 600 / live.view._axis_plot.getViewBox().width()
    assert pixel_s > 0.1  # ten minutes on this width: a tick moves the present by less than a pixel
    feed(live, 0.1)
    live.view.tick()
    assert kitchen.drawn_at == drawn  # nothing to see yet
    live.data.activation("b1", "activation_started", {"speaker_id": "kitchen", "start": live.clock.now})
    live.view.tick()
    assert kitchen.drawn_at == live.clock.now  # an activation is drawn at once
    for _ in range(int(pixel_s / 0.1) + 3):
        feed(live, 0.1)
        live.view.tick()
    assert bedroom.drawn_at > drawn and kitchen.drawn_at > drawn
    assert live.clock.now - min(kitchen.drawn_at, bedroom.drawn_at) <= 2 * pixel_s  # never more than ~a pixel behind
    x0, x1 = live.view.time_axis.range
    assert x1 == pytest.approx(live.clock.now, abs=pixel_s + 0.1) and x1 - x0 == pytest.approx(600)
