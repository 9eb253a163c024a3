"""Bytes per organisation over time, as stacked bars (one colour per organisation), with a read-out under the pointer.

Not a live plot: the dialog hands it a DestinationHistory when it refreshes (every few seconds at most), so
the bars are rebuilt then.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.bridge_client.destinations import DestinationHistory
from app.destinations import human_bytes

COLORS = ("#1565c0", "#2e7d32", "#8e24aa", "#00838f", "#6d4c41", "#5e35b1", "#9e9d24", "#546e7a")
MAX_SERIES = 7  # the rest are drawn together as "others"


class OrganisationChart(QWidget):
    """Stacked bars of bytes per organisation and step.

    Attributes:
        plot: the pyqtgraph PlotWidget. readout_label: the step under the pointer, or the totals.
        history: the DestinationHistory shown (None before the first).
        direction: "up" (sent) or "down" (received).
        bars: label -> its BarGraphItem.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: DestinationHistory | None = None
        self.direction = "up"
        self.bars: dict[str, pg.BarGraphItem] = {}
        self._series: list[tuple[str, list[float]]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.readout_label = QLabel("", self)
        self.readout_label.setProperty("role", "hint")
        self.readout_label.setAccessibleName("Bytes per organisation")
        layout.addWidget(self.readout_label)
        self.plot = pg.PlotWidget(self, axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setAccessibleName("Chart of bytes per organisation over time")
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.plot.setMinimumHeight(160)
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        item = self.plot.getPlotItem()
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setMouseEnabled(x=False, y=False)
        item.showGrid(x=False, y=True, alpha=0.15)
        foreground = palette.color(QPalette.ColorRole.Text)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(foreground))
            axis.setTextPen(pg.mkPen(foreground))
        item.getAxis("left").setWidth(56)
        item.getAxis("left").setLabel(units="B")  # SI prefixes: ticks in kB or MB, the unit beside them
        self.legend = item.addLegend(offset=(8, 4), colCount=3, labelTextColor=foreground)
        self.legend.setBrush(pg.mkBrush(palette.color(QPalette.ColorRole.Base)))
        layout.addWidget(self.plot, 1)
        self._hover = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)

    def set_history(self, history: DestinationHistory, direction: str | None = None) -> None:
        self.history = history
        if direction is not None:
            self.direction = direction
        self._draw()

    def set_direction(self, direction: str) -> None:
        self.direction = direction
        if self.history is not None:
            self._draw()

    def totals(self) -> dict[str, int]:
        """Bytes per label over the whole range shown (in the current direction)."""
        return {label: int(sum(values)) for label, values in self._series}

    def _draw(self) -> None:
        history = self.history
        assert history is not None
        item = self.plot.getPlotItem()
        for bar in self.bars.values():
            item.removeItem(bar)
        self.legend.clear()
        self.bars = {}
        series = [(s.label, [float(v) for v in (s.up if self.direction == "up" else s.down)])
                  for s in history.series]
        series = [(label, values) for label, values in series if any(values)]
        if len(series) > MAX_SERIES:
            rest = series[MAX_SERIES - 1:]
            others = [sum(values) for values in zip(*(v for _label, v in rest))]
            series = [*series[:MAX_SERIES - 1], (f"{len(rest)} others", others)]
        self._series = series
        count = len(history.series[0].up) if history.series else 0
        x = [history.t0 + (i + 0.5) * history.step for i in range(count)]
        base = [0.0] * count
        for number, (label, values) in enumerate(series):
            color = QColor(COLORS[number % len(COLORS)])
            bar = pg.BarGraphItem(x=x, height=values, y0=list(base), width=history.step * 0.9,
                                  brush=pg.mkBrush(color), pen=pg.mkPen(color.darker(130), width=1))
            item.addItem(bar)
            self.legend.addItem(bar, label)
            self.bars[label] = bar
            base = [b + v for b, v in zip(base, values)]
        end = history.t0 + max(count, 1) * history.step
        item.setXRange(history.t0, end, padding=0.01)
        item.setYRange(0, max(base, default=0.0) * 1.1 or 1.0, padding=0)
        self._show_totals()

    def _show_totals(self) -> None:
        what = "sent" if self.direction == "up" else "received"
        totals = self.totals()
        if not totals:
            self.readout_label.setText(f"Nothing {what} in this range.")
            return
        parts = [f"{label} {human_bytes(size)}" for label, size in sorted(totals.items(), key=lambda t: -t[1])]
        self.readout_label.setText(f"{what.capitalize()}: " + ", ".join(parts))

    def _mouse_moved(self, event) -> None:
        history = self.history
        if history is None or not self._series:
            return
        position = event[0]
        if not self.plot.sceneBoundingRect().contains(position):
            self._show_totals()
            return
        x = self.plot.getPlotItem().vb.mapSceneToView(position).x()
        index = int((x - history.t0) // history.step)
        if not 0 <= index < len(self._series[0][1]):
            self._show_totals()
            return
        when = time.strftime("%d %b %H:%M", time.localtime(history.t0 + index * history.step))
        parts = [f"{label} {human_bytes(values[index])}" for label, values in self._series if values[index]]
        self.readout_label.setText(f"{when}: " + (", ".join(parts) or "nothing"))
