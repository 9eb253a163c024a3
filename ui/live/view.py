"""The speakers' rows on one shared time window, redrawn by a timer from the buffers.

The window follows the present ("live") or stays where the user put it ("paused"). While live, a
10 Hz timer moves the window and hands each visible row its rings' current views; while paused,
the rows keep a copy of what they showed and the rings go on filling behind them. Zooming out or
scrolling back past what the live rings hold asks for the bridge's 1-second history, a chunk
range at a time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QHideEvent, QPalette, QShowEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from ui.live.buffers import DAY_S
from ui.live.series import LIVE_S, LiveData, SpeakerSeries
from ui.live.speaker_row import AXIS_WIDTH, PLOT_MARGINS, SpeakerRow

log = logging.getLogger(__name__)

FRAME_MS = 100
MIN_WINDOW_S = 10.0
MAX_WINDOW_S = DAY_S
ZOOM_STEP = 2.0
#: Ticks between checks for missing history while live (the window moves slowly compared to a chunk).
HISTORY_EVERY = 5
PRUNE_EVERY = 600

#: fetch(series, start, end, done): get [start, end) of a speaker's history; `done(answer | None, message)`
#: is called on the GUI thread (answer None: it failed, message says why).
HistoryFetch = Callable[[SpeakerSeries, float, float, Callable[[dict | None, str], None]], None]


class LiveView(QWidget):
    """Speaker rows in a scroll area, one time window for all of them, pause, zoom and history.

    Attributes:
        data: the LiveData drawn.
        rows: (bridge_id, speaker_id) -> SpeakerRow, in display order.
        window_s: the width of the time window.
        paused: whether the window stays put (else it follows the present).
        timer: the redraw timer (runs while the view is shown).
        time_axis: the date axis under the rows, the one time scale they all share.

    Signals:
        window_changed(float x0, float x1, bool paused): the shown window moved or the mode changed.
    """

    window_changed = Signal(float, float, bool)

    def __init__(self, data: LiveData, *, clock: Callable[[], float] = time.time,
                 fetch_history: HistoryFetch | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = data
        self.rows: dict[tuple[str, str], SpeakerRow] = {}
        self.window_s = LIVE_S
        self.paused = False
        self.show_downlink = False
        self._clock = clock
        self._fetch = fetch_history
        self._range = (clock() - self.window_s, clock())
        self._paused_at: float | None = None
        self._ticks = 0
        self._axis_at = 0.0
        self._announced: tuple[float, bool] | None = None
        self._offline: dict[str, str] = {}
        self._desktop_enabled = False
        self._desktop_note = ""
        self._adjusting = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._column_widget = QWidget(self.scroll)
        self._column = QVBoxLayout(self._column_widget)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(10)
        self._column.addStretch(1)
        self.scroll.setWidget(self._column_widget)
        layout.addWidget(self.scroll)
        layout.addWidget(self._build_time_axis())

        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)

    def _build_time_axis(self) -> QWidget:
        """A plot with no height whose date axis lines up with the rows' plots (same left axis width)."""
        widget = pg.GraphicsLayoutWidget(self)
        widget.setBackground(self.palette().color(QPalette.ColorRole.Window))
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        widget.setFixedHeight(30)
        widget.ci.layout.setContentsMargins(PLOT_MARGINS[0], 0, PLOT_MARGINS[2], 0)
        self._axis_plot = widget.addPlot(axisItems={"bottom": pg.DateAxisItem()})
        self._axis_plot.setMouseEnabled(x=False, y=False)
        self._axis_plot.setMenuEnabled(False)
        self._axis_plot.hideButtons()
        self._axis_plot.getViewBox().setMaximumHeight(0)
        left = self._axis_plot.getAxis("left")
        left.setWidth(AXIS_WIDTH)
        left.setStyle(showValues=False, tickLength=0)
        left.setPen(pg.mkPen(QColor(0, 0, 0, 0)))
        foreground = self.palette().color(QPalette.ColorRole.WindowText)
        for name in ("top", "right"):
            self._axis_plot.getAxis(name).enableAutoSIPrefix(False)
        self.time_axis = self._axis_plot.getAxis("bottom")
        self.time_axis.setPen(pg.mkPen(foreground))
        self.time_axis.setTextPen(pg.mkPen(foreground))
        self._axis_plot.setXRange(*self._range, padding=0)
        self._axis_widget = widget
        self.scroll.verticalScrollBar().rangeChanged.connect(lambda *_: QTimer.singleShot(0, self, self._align_axis))
        return widget

    def _align_axis(self) -> None:
        # The rows are narrower by the scroll bar when it shows; the axis must end where their plots end.
        bar = self.scroll.verticalScrollBar()
        right = PLOT_MARGINS[2] + (bar.width() if bar.isVisible() else 0)
        self._axis_widget.ci.layout.setContentsMargins(PLOT_MARGINS[0], 0, right, 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._align_axis()

    def _set_axis_range(self, x0: float, x1: float) -> None:
        self._axis_plot.setXRange(x0, x1, padding=0)

    # -- rows --------------------------------------------------------------------------------------
    def set_rows(self, entries: list[tuple[tuple[str, str], str, str]]) -> None:
        """Show these rows in this order: (key, title, subtitle) each; other rows go away."""
        wanted = [key for key, _title, _sub in entries]
        for key in [k for k in self.rows if k not in wanted]:
            row = self.rows.pop(key)
            self._column.removeWidget(row)
            row.deleteLater()
        for index, (key, title, subtitle) in enumerate(entries):
            row = self.rows.get(key)
            if row is None:
                row = SpeakerRow(key, title, subtitle, self._column_widget)
                row.set_show_downlink(self.show_downlink)
                row.range_moved.connect(self._moved_by_user)
                row.set_x_range(*self._range)
                if key[0] in self._offline:
                    row.set_offline(self._offline[key[0]])
                self.rows[key] = row
                self._draw_row(row, self._now(), *self._range)
                if self.paused:
                    row.freeze()
            else:
                row.set_titles(title, subtitle)
            self._column.insertWidget(index, row)
        self.rows = {key: self.rows[key] for key in wanted}

    def set_offline(self, bridge_id: str, reason: str | None) -> None:
        """A bridge went offline (reason in words) or came back (None)."""
        if reason is None:
            self._offline.pop(bridge_id, None)
        else:
            self._offline[bridge_id] = reason
        for key, row in self.rows.items():
            if key[0] == bridge_id:
                row.set_offline(reason)

    def set_desktop_mic(self, enabled: bool, note: str = "") -> None:
        """Whether this computer's microphone feeds speakers without one, and what to say instead of its data."""
        self._desktop_enabled = enabled
        self._desktop_note = note

    def set_show_downlink(self, show: bool) -> None:
        self.show_downlink = show
        for row in self.rows.values():
            row.set_show_downlink(show)

    # -- time window -------------------------------------------------------------------------------
    def _now(self) -> float:
        return self._paused_at if self.paused and self._paused_at is not None else self._clock()

    def x_range(self) -> tuple[float, float]:
        return self._range

    def pause(self) -> None:
        if self.paused:
            return
        now = self._clock()
        for row in self.rows.values():  # hidden rows too: what they show is what the pause keeps
            self._draw_row(row, now, *self._range)
            row.freeze()
        self.paused = True
        self._paused_at = now
        self._announce()

    def resume(self) -> None:
        """Follow the present again, with the current window width."""
        self.paused = False
        self._paused_at = None
        self.redraw()

    def toggle_pause(self) -> None:
        if self.paused:
            self.resume()
        else:
            self.pause()

    def zoom(self, factor: float) -> None:
        """Widen (factor > 1) or narrow the window; live it stays anchored at the present, paused at its centre."""
        width = min(max((self._range[1] - self._range[0]) * factor, MIN_WINDOW_S), MAX_WINDOW_S)
        self.window_s = width
        if not self.paused:
            self.redraw()
            self._check_history(self._clock())
            return
        centre = (self._range[0] + self._range[1]) / 2
        self._apply_range(centre - width / 2, centre + width / 2)

    def show_range(self, x0: float, x1: float) -> None:
        """Pause and show [x0, x1] (clamped to the last 24 hours)."""
        self.pause()
        self._apply_range(x0, x1)

    def _moved_by_user(self, x0: float, x1: float) -> None:
        if self._adjusting:
            return
        self.pause()
        self._apply_range(x0, x1)

    def _apply_range(self, x0: float, x1: float) -> None:
        now = self._clock()
        width = min(max(x1 - x0, MIN_WINDOW_S), MAX_WINDOW_S)
        x1 = min(max(x0 + width, now - DAY_S + width), now + width * 0.05)
        x0 = x1 - width
        self.window_s = width
        self._range = (x0, x1)
        self._adjusting = True
        try:
            for row in self.rows.values():
                row.set_x_range(x0, x1)
        finally:
            self._adjusting = False
        self._set_axis_range(x0, x1)
        self._check_history(now)
        self._announce()

    # -- drawing -----------------------------------------------------------------------------------
    def tick(self) -> None:
        """One frame: while live, move the window and redraw the rows that need it; ask for missing history.

        A row is redrawn when something besides samples changed (an activation, the mute, its microphone)
        or when the present has moved on by a pixel's worth of time since its last draw. At the default
        10-minute width that is every ~0.5 s rather than every tick, and the rows due are spread over the
        ticks (the most behind first), so a frame draws a few rows, not all of them.
        """
        self._ticks += 1
        now = self._clock()
        if self._ticks % PRUNE_EVERY == 0:
            self.data.prune(now)
        if self.paused:
            if self._ticks % HISTORY_EVERY == 0:
                self._check_history(now)
            return
        pixel_s = self.window_s / max(self._axis_plot.getViewBox().width(), 1.0)
        self._range = (now - self.window_s, now)
        visible = [row for row in self.rows.values() if not row.visibleRegion().isEmpty()]
        due = []
        for row in visible:
            series = self.data.series(*row.key)
            urgent = row.needs_draw(series, self.data.mic_ring(series, self._desktop_enabled))
            if urgent or now - (row.drawn_at or 0.0) >= pixel_s:
                due.append((not urgent, row.drawn_at or 0.0, row))
        due.sort(key=lambda entry: entry[:2])
        budget = len(visible) if pixel_s <= FRAME_MS / 1000 else math.ceil(len(visible) * FRAME_MS / 1000 / pixel_s)
        budget = max(budget, sum(1 for later, _at, _row in due if not later))
        self._adjusting = True
        try:
            for _later, _at, row in due[:budget]:
                self._draw_row(row, now, *self._range)
        finally:
            self._adjusting = False
        if now - self._axis_at >= pixel_s:
            self._axis_at = now
            self._set_axis_range(*self._range)
        if self._ticks % HISTORY_EVERY == 0:
            self._check_history(now)
        self._announce()

    def redraw(self) -> None:
        """Live: draw every row now, up to the present (after a change of width or mode)."""
        if self.paused:
            return
        now = self._clock()
        self._range = (now - self.window_s, now)
        self._adjusting = True
        try:
            for row in self.rows.values():
                self._draw_row(row, now, *self._range)
        finally:
            self._adjusting = False
        self._axis_at = now
        self._set_axis_range(*self._range)
        self._announce()

    def _announce(self) -> None:
        shown = (round(self._range[1] - self._range[0], 3), self.paused)
        if self.paused or shown != self._announced:
            self._announced = shown
            self.window_changed.emit(*self._range, self.paused)

    def _draw_row(self, row: SpeakerRow, now: float, x0: float, x1: float) -> None:
        series = self.data.series(*row.key)
        mic = self.data.mic_ring(series, self._desktop_enabled)
        row.set_x_range(x0, x1)
        row.draw(series, mic, now)
        row.set_mic_note(self._mic_note(series, mic))
        row.draw_history(series, x0, x1, series.traffic.first_time)

    def _mic_note(self, series: SpeakerSeries, mic) -> str:
        online = series.bridge_id not in self._offline
        if series.mic_id is not None:
            return "" if mic is not None and len(mic) else ("Waiting for the bridge's microphone…" if online else "")
        if not series.mic_known:
            return "Waiting for microphone data…" if online else ""
        if self._desktop_enabled:
            if self._desktop_note:
                return f"No microphone: {self._desktop_note}"
            return "" if mic is not None and len(mic) else "Waiting for your computer's microphone…"
        return ("No microphone: this bridge has no microphone near this speaker. To see the room's sound here, "
                "enable your computer's microphone in Settings.")

    # -- history -------------------------------------------------------------------------------------
    def _check_history(self, now: float) -> None:
        if self._fetch is None:
            return
        x0, x1 = self._range
        for row in self.rows.values():
            if row.visibleRegion().isEmpty() and not self.paused:
                continue
            series = self.data.series(*row.key)
            live_from = series.traffic.first_time
            end = min(x1, live_from if live_from is not None else now)
            if x0 >= end:
                continue
            wanted = series.history.wanted(x0, end, now)
            if wanted is not None:
                self._fetch(series, wanted[0], wanted[1], self._history_done(series, *wanted))

    def _history_done(self, series: SpeakerSeries, start: float, end: float) -> Callable[[dict | None, str], None]:
        def done(answer: dict | None, message: str) -> None:
            now = self._clock()
            if answer is None:
                log.info("history of %s/%s for %.0f..%.0f not loaded: %s", *series.key, start, end, message)
                series.history.fetch_failed(start, end, now)
                return
            try:
                series.history.store(answer, start, end, now)
            except ValueError as error:
                log.warning("history of %s/%s unusable: %s", *series.key, error)
                series.history.fetch_failed(start, end, now)
                return
            row = self.rows.get(series.key)
            if row is not None:
                x0, x1 = self._range
                row.draw_history(series, x0, x1, series.traffic.first_time)
        return done

    # -- life ----------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.timer.start()
        self.redraw()

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)
