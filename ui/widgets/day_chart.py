"""Activations per day as stacked bars, one colour per speaker, with a read-out of the day under the pointer.

Not a live plot: the Activity page hands it new counts when its filter or the cache changes, so the bars
are rebuilt then (a few BarGraphItems) rather than updated by a timer.
"""

from __future__ import annotations

import datetime as dt
import math

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

#: Speaker colours, in the order speakers are listed; orange and red are kept for flags elsewhere.
SPEAKER_COLORS = ("#1565c0", "#2e7d32", "#8e24aa", "#00838f", "#6d4c41", "#5e35b1", "#9e9d24", "#546e7a")
MAX_LABELS = 10

Key = tuple[str, str]


def day_label(day: dt.date, today: dt.date) -> str:
    if day == today:
        return "Today"
    return f"{day:%d %b}" if day.year == today.year else f"{day:%d %b %Y}"


class DayChart(QWidget):
    """Stacked bars of activations per local day and speaker.

    Attributes:
        plot: the pyqtgraph PlotWidget.
        readout_label: what the bar under the pointer counts (or how to get that).
        days: the days on the x axis, oldest first (bar i is days[i]).
        counts: day -> {(bridge_id, speaker_id): activations}, only days and speakers with some.
        names: (bridge_id, speaker_id) -> the name shown in the legend, in legend order.
        bars: (bridge_id, speaker_id) -> its BarGraphItem.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.days: list[dt.date] = []
        self.counts: dict[dt.date, dict[Key, int]] = {}
        self.names: dict[Key, str] = {}
        self.bars: dict[Key, pg.BarGraphItem] = {}
        self._today = dt.date.today()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.readout_label = QLabel("", self)
        self.readout_label.setProperty("role", "hint")
        self.readout_label.setAccessibleName("Activations per day")
        layout.addWidget(self.readout_label)

        self.plot = pg.PlotWidget(self)
        self.plot.setAccessibleName("Chart of activations per day and speaker")
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.plot.setMinimumHeight(150)
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
        item.getAxis("left").setWidth(36)
        self.legend = item.addLegend(offset=(8, 4), colCount=4, labelTextColor=foreground)
        self.legend.setBrush(pg.mkBrush(palette.color(QPalette.ColorRole.Base)))
        layout.addWidget(self.plot, 1)
        self._hover = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._mouse_moved)

    def set_data(self, first: dt.date, last: dt.date, counts: dict[tuple[dt.date, str, str], int],
                 names: dict[Key, str], today: dt.date | None = None) -> None:
        """Show days `first`..`last` (inclusive) with `counts` per (day, bridge_id, speaker_id).

        `names` orders and names the speakers; one that has counts but no name is shown by its id.
        """
        self._today = today or dt.date.today()
        last = max(first, last)
        self.days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        self.counts = {}
        for (day, bridge_id, speaker_id), count in counts.items():
            if first <= day <= last and count:
                self.counts.setdefault(day, {})[(bridge_id, speaker_id)] = count
        present = {key for per_speaker in self.counts.values() for key in per_speaker}
        self.names = {key: name for key, name in names.items() if key in present}
        self.names.update({key: key[1] for key in sorted(present - set(self.names))})
        self._draw()
        self._show_total()

    def total(self, day: dt.date | None = None) -> int:
        """Activations on `day`, or on every day shown."""
        days = [day] if day is not None else self.days
        return sum(sum(self.counts.get(d, {}).values()) for d in days)

    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        for bar in self.bars.values():
            item.removeItem(bar)
        self.legend.clear()
        self.bars = {}
        x = list(range(len(self.days)))
        base = [0.0] * len(self.days)
        width = 0.7 if len(self.days) > 1 else 0.35
        for number, (key, name) in enumerate(self.names.items()):
            heights = [float(self.counts.get(day, {}).get(key, 0)) for day in self.days]
            color = QColor(SPEAKER_COLORS[number % len(SPEAKER_COLORS)])
            bar = pg.BarGraphItem(x=x, height=heights, y0=list(base), width=width, brush=pg.mkBrush(color),
                                  pen=pg.mkPen(color.darker(130), width=1))
            item.addItem(bar)
            self.legend.addItem(bar, name)
            self.bars[key] = bar
            base = [b + h for b, h in zip(base, heights)]
        peak = max(base, default=0.0)
        step = _nice_step(peak)
        top = max(step, math.ceil(peak / step) * step)
        # Room above the tallest bar for the legend.
        item.setYRange(0, top * (1.35 if self.names else 1.0), padding=0)
        item.setXRange(-0.6, max(len(self.days) - 0.4, 0.4), padding=0)
        item.getAxis("left").setTickSpacing(step, step)
        every = max(1, math.ceil(len(self.days) / MAX_LABELS))
        ticks = [(i, day_label(day, self._today)) for i, day in enumerate(self.days) if i % every == 0]
        item.getAxis("bottom").setTicks([ticks, []])
        self.plot.setAccessibleDescription(self._summary())

    def _summary(self) -> str:
        if not self.days:
            return ""
        total = self.total()
        span = day_label(self.days[0], self._today)
        if len(self.days) > 1:
            span += f" to {day_label(self.days[-1], self._today)}"
        parts = [f"{name} {sum(c.get(key, 0) for c in self.counts.values())}" for key, name in self.names.items()]
        return f"{total} activation{'' if total == 1 else 's'}, {span}" + (f": {', '.join(parts)}" if parts else "")

    def _show_total(self) -> None:
        self.readout_label.setText("Activations per day. Point at a day for its numbers." if self.names else
                                   "No activations on these days.")

    def _mouse_moved(self, event) -> None:
        position = event[0]
        item = self.plot.getPlotItem()
        if not self.days or not item.sceneBoundingRect().contains(position):
            self._show_total()
            return
        x = item.vb.mapSceneToView(position).x()
        index = round(x)
        if not 0 <= index < len(self.days) or abs(x - index) > 0.45:
            self._show_total()
            return
        day = self.days[index]
        per_speaker = self.counts.get(day, {})
        total = sum(per_speaker.values())
        detail = ", ".join(f"{self.names[key]} {per_speaker[key]}" for key in self.names if per_speaker.get(key))
        self.readout_label.setText(f"{day:%a %d %b}: {total} activation{'' if total == 1 else 's'}"
                                   + (f" ({detail})" if detail else "") + ".")


def _nice_step(peak: float) -> float:
    """A whole-number tick step giving about five ticks up to `peak`."""
    if peak <= 5:
        return 1.0
    raw = peak / 5
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)

