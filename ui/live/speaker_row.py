"""One speaker on the Live page: its uplink plot above its microphone plot, on one time axis.

The row owns its curves and interval items and only ever updates them (`setData`, new interval
arrays); it never creates graphics items after construction. It draws what `draw()` is given and
reads out exact values under the mouse from the same arrays.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDateTime, QLocale, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.live.buffers import Ring, runs
from ui.live.items import Bands, brush
from ui.live.series import (
    CONFIRMED_MUTED,
    MISMATCH,
    SAMPLE_INTERVAL_S,
    UNCONFIRMED,
    SpeakerSeries,
)

UP_COLOR = "#1565c0"
DOWN_COLOR = "#8d6e63"
LEVEL_COLOR = "#6a1b9a"
SPEECH_COLOR = "#00897b"
MUTED_COLOR = "#455a64"
CONFIRMED_COLOR = "#43a047"
MISMATCH_COLOR = "#c62828"
UNCONFIRMED_COLOR = "#b0bec5"
ACTIVATION_COLORS = ("#f9a825", "#ef6c00", "#c62828")  # plain, flagged, sent while muted
GREY = "#9e9e9e"

LEVEL_RANGE = (-90.0, 8.0)  # dBFS; the top leaves room for the speech lane
AXIS_WIDTH = 64
ROW_HEIGHT = 178
PLOT_MARGINS = (0, 8, 10, 2)
LEVEL_TICKS = (-80, -60, -40, -20)
MIN_UP_RANGE = 2000.0  # B/s: a speaker idling at a few hundred B/s must not look busy
HEADROOM = 1.3


def rate_text(value: float) -> str:
    """Bytes per second in words a person reads at a glance: '820 B/s', '12.4 kB/s', '1.2 MB/s'."""
    if not np.isfinite(value):
        return "no data"
    for unit, size in (("MB/s", 1e6), ("kB/s", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B/s"


def clock_text(epoch: float) -> str:
    moment = QDateTime.fromMSecsSinceEpoch(int(epoch * 1000))
    return QLocale().toString(moment, "HH:mm:ss")


def nice_ceiling(value: float) -> float:
    """The next round number (1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten) at or above `value`, so the
    axis range stays put while the data moves a little."""
    if value <= 0 or not np.isfinite(value):
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def visible_max(times: np.ndarray, values: np.ndarray, x0: float, x1: float) -> float:
    if times.size == 0:
        return 0.0
    i0, i1 = np.searchsorted(times, [x0, x1 + 1])
    part = values[i0:i1]
    if part.size == 0 or np.isnan(part).all():
        return 0.0
    return float(np.nanmax(part))


class SpeakerRow(QFrame):
    """Two stacked, time-aligned plots for one speaker, a header, overlays and a hover read-out.

    Attributes:
        key: (bridge_id, speaker_id).
        title_label, subtitle_label, readout_label: the header's texts.
        graphics: the pyqtgraph canvas; traffic_plot (uplink, downlink, mute lanes, activations) above
            mic_plot (level, speech lane, activations); the time axis is the LiveView's, shared by all rows.
        traffic_overlay, mic_overlay: the "waiting / offline / no microphone" texts over each plot.
        offline: whether the bridge is offline (the data is then greyed).

    Signals:
        range_moved(float x0, float x1): the user panned or zoomed these plots.
    """

    range_moved = Signal(float, float)

    def __init__(self, key: tuple[str, str], title: str, subtitle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.offline = False
        self._offline_text = ""
        self._mic_note = ""
        self._show_downlink = False
        self._versions: dict[str, object] = {}
        self._series: SpeakerSeries | None = None
        self._now = time.time()
        self._drawn_at: float | None = None
        self._x_range = (0.0, 1.0)
        self._setting_range = False
        self._shown: dict[str, np.ndarray] = {}
        self._history: tuple[np.ndarray, dict[str, np.ndarray]] = (np.empty(0), {})
        self.setObjectName("speaker_row")
        self.setAccessibleName(f"{title} live graphs")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(2)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.title_label = QLabel(title, self)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        header.addWidget(self.title_label)
        self.subtitle_label = theme.paragraph(subtitle, self, role="hint")
        self.subtitle_label.setWordWrap(False)
        header.addWidget(self.subtitle_label)
        self.readout_label = QLabel("", self)
        self.readout_label.setAccessibleName(f"{title} values under the pointer")
        self.readout_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # A long read-out may be cut on a narrow window, but must never widen the row past it.
        self.readout_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header.addWidget(self.readout_label, 1)
        layout.addLayout(header)

        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.graphics.setFixedHeight(ROW_HEIGHT)
        self.graphics.ci.layout.setContentsMargins(*PLOT_MARGINS)
        self.graphics.ci.layout.setVerticalSpacing(8)
        palette = self.palette()
        self.graphics.setBackground(palette.color(QPalette.ColorRole.Base))
        self.graphics.setAccessibleName(f"{title}: uplink and microphone over time")
        layout.addWidget(self.graphics)

        foreground = palette.color(QPalette.ColorRole.Text)
        self.traffic_plot = self.graphics.addPlot(row=0, col=0)
        self.mic_plot = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 6)
        self.graphics.ci.layout.setRowStretchFactor(1, 5)
        for plot in (self.traffic_plot, self.mic_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            plot.getViewBox().setDefaultPadding(0.0)
            plot.getViewBox().setBorder(pg.mkPen(palette.color(QPalette.ColorRole.Mid)))
            plot.getViewBox().sigRangeChangedManually.connect(self._moved_by_user)
            left = plot.getAxis("left")
            left.setPen(pg.mkPen(foreground))
            left.setTextPen(pg.mkPen(foreground))
            left.setWidth(AXIS_WIDTH)
            # The time axis is the view's, one for all rows: sixteen date axes cost more than the curves.
            plot.hideAxis("bottom")
            for name in ("bottom", "top", "right"):  # hidden, but their labels were rebuilt on every move
                plot.getAxis(name).enableAutoSIPrefix(False)
        self.traffic_plot.setLabel("left", "uplink", units="B/s")
        self.mic_plot.setLabel("left", "room", units="dBFS")
        self.mic_plot.getAxis("left").setTicks([[(v, str(v)) for v in LEVEL_TICKS], []])
        self.mic_plot.getAxis("left").enableAutoSIPrefix(False)
        self.mic_plot.setXLink(self.traffic_plot)
        self.mic_plot.setYRange(*LEVEL_RANGE, padding=0)
        self.traffic_plot.setYRange(0, MIN_UP_RANGE, padding=0)

        def curve(plot: pg.PlotItem, color: str, *, dashed: bool = False) -> pg.PlotDataItem:
            # No fill under the curve: pyqtgraph fills in 50-point pieces, which cost more than the rest of a frame.
            pen = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            item = pg.PlotDataItem(pen=pen, connect="finite", skipFiniteCheck=False)
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            plot.addItem(item)
            return item

        self.down_history = curve(self.traffic_plot, DOWN_COLOR, dashed=True)
        self.down_curve = curve(self.traffic_plot, DOWN_COLOR, dashed=True)
        self.up_history = curve(self.traffic_plot, UP_COLOR)
        self.up_curve = curve(self.traffic_plot, UP_COLOR)
        self.level_history = curve(self.mic_plot, LEVEL_COLOR)
        self.level_curve = curve(self.mic_plot, LEVEL_COLOR)
        self.down_curve.setVisible(False)
        self.down_history.setVisible(False)
        self._curves = {
            self.up_curve: UP_COLOR, self.up_history: UP_COLOR, self.down_curve: DOWN_COLOR,
            self.down_history: DOWN_COLOR, self.level_curve: LEVEL_COLOR, self.level_history: LEVEL_COLOR,
        }

        self.traffic_bands = Bands(lanes=2)  # activations; lanes: mute commanded, mute confirmed
        self.mic_bands = Bands(lanes=1)      # activations; lane: speech
        self.traffic_plot.addItem(self.traffic_bands, ignoreBounds=True)
        self.mic_plot.addItem(self.mic_bands, ignoreBounds=True)
        self._background = palette.color(QPalette.ColorRole.Base)
        self._brushes = self._make_brushes(greyed=False)

        hover_pen = pg.mkPen(foreground, width=1, style=Qt.PenStyle.DotLine)
        self.hover_lines = (pg.InfiniteLine(angle=90, pen=hover_pen), pg.InfiniteLine(angle=90, pen=hover_pen))
        for plot, line in zip((self.traffic_plot, self.mic_plot), self.hover_lines):
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        self._hover_proxy = pg.SignalProxy(self.graphics.scene().sigMouseMoved, delay=0.0, rateLimit=30,
                                         slot=self._mouse_moved)

        self.traffic_overlay = self._overlay()
        self.mic_overlay = self._overlay()
        self.traffic_plot.getViewBox().sigResized.connect(self._place_overlays)
        self.mic_plot.getViewBox().sigResized.connect(self._place_overlays)

    # -- look --------------------------------------------------------------------------------------
    def _overlay(self) -> QLabel:
        label = QLabel(self.graphics)
        label.setObjectName("plot_overlay")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setStyleSheet("QLabel#plot_overlay { background: palette(base); border: 1px solid palette(mid); "
                            "border-radius: 6px; padding: 4px 10px; color: palette(text); }")
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        label.hide()
        return label

    def _place_overlays(self, *_args) -> None:
        for plot, label in ((self.traffic_plot, self.traffic_overlay), (self.mic_plot, self.mic_overlay)):
            if not label.text():
                continue
            rect = self.graphics.mapFromScene(plot.getViewBox().sceneBoundingRect()).boundingRect()
            width = min(rect.width() - 16, 560)
            label.setFixedWidth(max(width, 120))
            label.adjustSize()
            label.move(int(rect.center().x() - label.width() / 2), int(rect.center().y() - label.height() / 2))

    def _set_overlay(self, label: QLabel, text: str) -> None:
        if label.text() == text:
            return
        label.setText(text)
        label.setVisible(bool(text))
        if text:
            self._place_overlays()
            label.raise_()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_overlays()

    def _make_brushes(self, greyed: bool) -> dict[str, object]:
        def shade(color: str, alpha: int = 255):
            return brush(GREY if greyed else color, alpha, over=self._background)

        return {
            "activation": tuple(shade(c, a) for c, a in zip(ACTIVATION_COLORS, (70, 80, 90))),
            "muted": shade(MUTED_COLOR),
            "confirmed": shade(CONFIRMED_COLOR),
            "mismatch": shade(MISMATCH_COLOR),
            "unconfirmed": shade(UNCONFIRMED_COLOR),
            "speech": shade(SPEECH_COLOR),
        }

    def set_titles(self, title: str, subtitle: str) -> None:
        self.title_label.setText(title)
        self.subtitle_label.setText(subtitle)
        self.setAccessibleName(f"{title} live graphs")

    def set_show_downlink(self, show: bool) -> None:
        self._show_downlink = show
        self.down_curve.setVisible(show)
        self.down_history.setVisible(show)
        if show and "t" in self._shown:  # what is shown now, frozen or live; the next draw brings it up to date
            self.down_curve.setData(self._shown["t"], self._shown["down"])
        self._versions.clear()

    def set_offline(self, reason: str | None) -> None:
        """Offline (`reason` says why): keep the data, grey it and say so; None: back online."""
        offline = reason is not None
        self._offline_text = reason or ""
        if offline != self.offline:
            self.offline = offline
            for item, color in self._curves.items():
                pen = QPen(item.opts["pen"])
                pen.setColor(QColor(GREY if offline else color))
                item.setPen(pen)
            self._brushes = self._make_brushes(greyed=offline)
            self._versions.clear()
        self._update_overlays()

    def set_mic_note(self, text: str) -> None:
        """What the microphone plot says instead of data ("" when it has data to show)."""
        self._mic_note = text
        self._update_overlays()

    def _update_overlays(self) -> None:
        has_traffic = bool(self._shown.get("t") is not None and self._shown["t"].size) or bool(self._history[0].size)
        if self.offline:
            traffic = self._offline_text + ("\nShowing the last data received." if has_traffic else "")
        elif not has_traffic:
            traffic = "Waiting for data from the bridge…"
        else:
            traffic = ""
        self._set_overlay(self.traffic_overlay, traffic)
        self._set_overlay(self.mic_overlay, self._mic_note)

    # -- range -------------------------------------------------------------------------------------
    def set_x_range(self, x0: float, x1: float) -> None:
        if (x0, x1) == self._x_range:
            return
        self._x_range = (x0, x1)
        self._setting_range = True
        try:
            self.traffic_plot.setXRange(x0, x1, padding=0)
        finally:
            self._setting_range = False
        self._fit_y()

    def x_range(self) -> tuple[float, float]:
        x0, x1 = self.traffic_plot.getViewBox().viewRange()[0]
        return float(x0), float(x1)

    def _moved_by_user(self, *_args) -> None:
        if self._setting_range:
            return
        x0, x1 = self.x_range()
        self._x_range = (x0, x1)
        self.range_moved.emit(x0, x1)

    def _fit_y(self) -> None:
        x0, x1 = self._x_range
        peak = 0.0
        t = self._shown.get("t")
        if t is not None:
            peak = visible_max(t, self._shown["up"], x0, x1)
            if self._show_downlink:
                peak = max(peak, visible_max(t, self._shown["down"], x0, x1))
        times, columns = self._history
        if times.size:
            peak = max(peak, visible_max(times, columns["up"], x0, x1))
            if self._show_downlink:
                peak = max(peak, visible_max(times, columns["down"], x0, x1))
        top = nice_ceiling(max(peak * HEADROOM, MIN_UP_RANGE))
        if self._versions.get("y") != top:
            self._versions["y"] = top
            self.traffic_plot.setYRange(0, top, padding=0)

    # -- data --------------------------------------------------------------------------------------
    @property
    def drawn_at(self) -> float | None:
        """The time the row was last drawn up to (None: never)."""
        return self._drawn_at

    def needs_draw(self, series: SpeakerSeries, mic: Ring | None) -> bool:
        """Whether something other than new samples changed since the last draw (those wait for a pixel's worth)."""
        versions = self._versions
        return (self._drawn_at is None or "traffic" not in versions or versions.get("mic_ring") != id(mic)
                or versions.get("spans") != series.activations.version
                or versions.get("confirmed") != series.confirmed.version)

    def draw(self, series: SpeakerSeries, mic: Ring | None, now: float) -> None:
        """Show the live rings (as views, no copy) and the activations and lanes, where they changed."""
        self._series, self._now, self._drawn_at = series, now, now
        versions = self._versions
        traffic = series.traffic
        if versions.get("traffic") != traffic.version:
            versions["traffic"] = traffic.version
            t = traffic.times()
            self._shown.update(t=t, up=traffic.column("up"), down=traffic.column("down"),
                               muted=traffic.column("muted"))
            self.up_curve.setData(t, self._shown["up"])
            if self._show_downlink:
                self.down_curve.setData(t, self._shown["down"])
            self.traffic_bands.set_lane(0, [(*runs(t, self._shown["muted"], SAMPLE_INTERVAL_S),
                                             self._brushes["muted"])])
        mic_version = (id(mic), mic.version if mic is not None else None)
        if versions.get("mic") != mic_version:
            versions["mic"], versions["mic_ring"] = mic_version, id(mic)
            if mic is None:
                self._shown.update(mt=np.empty(0), level=np.empty(0), speech=np.empty(0))
            else:
                self._shown.update(mt=mic.times(), level=mic.column("level"), speech=mic.column("speech"))
            self.level_curve.setData(self._shown["mt"], self._shown["level"])
            self._draw_speech()
        states = series.confirmed
        if versions.get("confirmed") != states.version:
            versions["confirmed"] = states.version
            self.traffic_bands.set_lane(1, [
                (*states.runs(CONFIRMED_MUTED), self._brushes["confirmed"]),
                (*states.runs(UNCONFIRMED), self._brushes["unconfirmed"]),
                (*states.runs(MISMATCH), self._brushes["mismatch"]),
            ])
        spans = series.activations
        for item in (self.traffic_bands, self.mic_bands):
            item.set_now(now)
        if versions.get("spans") != spans.version:
            versions["spans"] = spans.version
            starts, ends, levels = spans.arrays()
            groups = [(starts[levels == n], ends[levels == n], b) for n, b in enumerate(self._brushes["activation"])]
            self.traffic_bands.set_shading(groups)
            self.mic_bands.set_shading(groups)
        else:  # the range moved, or a span still going on grows
            self.traffic_bands.update()
            self.mic_bands.update()
        self._fit_y()
        self._update_overlays()

    def _draw_speech(self) -> None:
        groups = []
        if self._shown.get("mt") is not None and self._shown["mt"].size:
            groups.append((*runs(self._shown["mt"], self._shown["speech"], SAMPLE_INTERVAL_S),
                           self._brushes["speech"]))
        times, columns = self._history
        if times.size and "speech" in columns:
            groups.append((*runs(times, columns["speech"], 1.0), self._brushes["speech"]))
        self.mic_bands.set_lane(0, groups)

    def freeze(self) -> None:
        """Keep showing what is shown now while the rings go on filling (pause): copy the views once."""
        for name, values in list(self._shown.items()):
            self._shown[name] = values.copy()
        if "t" in self._shown:
            self.up_curve.setData(self._shown["t"], self._shown["up"])
            if self._show_downlink:
                self.down_curve.setData(self._shown["t"], self._shown["down"])
        if "mt" in self._shown:
            self.level_curve.setData(self._shown["mt"], self._shown["level"])
        self._versions.pop("traffic", None)
        self._versions.pop("mic", None)

    def draw_history(self, series: SpeakerSeries, x0: float, x1: float, live_from: float | None) -> None:
        """Show the loaded history in [x0, x1) up to where the live ring starts (`live_from`)."""
        key = (series.history.version, int(x0 // 600), int(x1 // 600), None if live_from is None else int(live_from))
        if self._versions.get("history") == key:
            return
        self._versions["history"] = key
        times, columns = series.history.series(x0, x1)
        if live_from is not None and times.size:
            cut = int(np.searchsorted(times, live_from))
            times = times[:cut]
            columns = {name: values[:cut] for name, values in columns.items()}
        self._history = (times, columns)
        if times.size:
            self.up_history.setData(times, columns["up"])
            self.down_history.setData(times, columns["down"])
            self.level_history.setData(times, columns["level"])
        else:
            for item in (self.up_history, self.down_history, self.level_history):
                item.setData([], [])
        self._draw_speech()
        self._fit_y()
        self._update_overlays()

    # -- hover -------------------------------------------------------------------------------------
    def _mouse_moved(self, event) -> None:
        pos: QPointF = event[0]
        for plot in (self.traffic_plot, self.mic_plot):
            box = plot.getViewBox()
            if box.sceneBoundingRect().contains(pos):
                self.show_values_at(box.mapSceneToView(pos).x())
                return
        self.show_values_at(None)

    def leaveEvent(self, event) -> None:
        self.show_values_at(None)
        super().leaveEvent(event)

    def show_values_at(self, when: float | None) -> str:
        """Put the exact values at time `when` in the read-out and a line across both plots; None clears."""
        if when is None:
            for line in self.hover_lines:
                line.setVisible(False)
            self.readout_label.setText("")
            return ""
        for line in self.hover_lines:
            line.setPos(when)
            line.setVisible(True)
        text = self.values_text(when)
        self.readout_label.setText(text)
        return text

    def values_text(self, when: float) -> str:
        parts = [clock_text(when)]
        t = self._shown.get("t")
        live = t is not None and t.size and t[0] - 0.5 <= when <= t[-1] + 0.5
        if live:
            i = int(np.clip(np.searchsorted(t, when), 0, t.size - 1))
            up, down, muted = (self._shown[c][i] for c in ("up", "down", "muted"))
            parts.append(f"uplink {rate_text(up)}")
            if self._show_downlink:
                parts.append(f"downlink {rate_text(down)}")
            if np.isfinite(muted):
                parts.append("muted" if muted > 0.5 else "not muted")
        else:
            values = self._series.history.value_at(when) if self._series is not None else None
            if values is not None and np.isfinite(values["up"]):
                parts.append(f"uplink {rate_text(values['up'])} (1-second average)")
                if self._show_downlink:
                    parts.append(f"downlink {rate_text(values['down'])}")
            else:
                parts.append("no uplink data")
        if self._series is not None:
            code = self._series.confirmed.code_at(when)
            if code == CONFIRMED_MUTED:
                parts.append("mute confirmed")
            elif code == MISMATCH:
                parts.append("MUTE NOT HOLDING")
        parts.append(self._mic_text(when))
        span = self._series.activations.at(when, self._now) if self._series is not None else None
        if span is not None:
            parts.append(("activation, sent while muted", "activation, flagged", "activation")[
                (2, 1, 0).index(span.severity)])
        return " · ".join(p for p in parts if p)

    def _mic_text(self, when: float) -> str:
        mt = self._shown.get("mt")
        if mt is not None and mt.size and mt[0] - 0.5 <= when <= mt[-1] + 0.5:
            i = int(np.clip(np.searchsorted(mt, when), 0, mt.size - 1))
            level, speech = self._shown["level"][i], self._shown["speech"][i]
        else:
            values = self._series.history.value_at(when) if self._series is not None else None
            if values is None:
                return ""
            level, speech = values["level"], values["speech"]
        if not np.isfinite(level):
            return ""
        return f"room {level:.0f} dBFS" + (", speech" if speech > 0.5 else "")

    # -- for tests and the benchmark -----------------------------------------------------------------
    def shown_points(self, curve: str = "up") -> int:
        """How many points a curve holds (before clipping/downsampling for the screen)."""
        item = {"up": self.up_curve, "down": self.down_curve, "level": self.level_curve,
                "up_history": self.up_history, "level_history": self.level_history}[curve]
        x, _y = item.getOriginalDataset()
        return 0 if x is None else len(x)

    def plot_rect(self) -> QRectF:
        return self.graphics.mapFromScene(self.traffic_plot.getViewBox().sceneBoundingRect()).boundingRect()
