"""One pyqtgraph item per plot that draws many time intervals at once: full-height shading and thin lanes.

One item draws every interval of a plot (activations; mute and speech stretches) instead of one
LinearRegionItem each, so a busy day does not mean thousands of graphics items, and a frame costs one
Python paint per plot. Intervals are mapped to pixels with numpy, widened to at least `MIN_PX` (a
five-second activation stays visible in a 24-hour view) and merged where they touch, so a paint draws
at most a few hundred rectangles. Colours are opaque (see `brush`): an opaque fill is a fast path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter

MIN_PX = 2.0
LANE_PX = 5.0
LANE_GAP_PX = 1.0
LANE_TOP_PX = 2.0

Intervals = tuple[np.ndarray, np.ndarray, QBrush]


def pixel_runs(starts: np.ndarray, ends: np.ndarray, scale: float, offset: float, left: float,
               right: float) -> tuple[np.ndarray, np.ndarray]:
    """Intervals (data x, sorted by start) as merged pixel ranges within [left, right] device pixels."""
    if starts.size == 0:
        return starts, ends
    a = starts * scale + offset
    b = ends * scale + offset
    if scale < 0:
        a, b = b, a
    visible = (b >= left - MIN_PX) & (a <= right + MIN_PX)
    a, b = a[visible], b[visible]
    if a.size == 0:
        return a, b
    b = np.maximum(b, a + MIN_PX)
    np.clip(a, left - 1, right + 1, out=a)
    np.clip(b, left - 1, right + 1, out=b)
    reach = np.maximum.accumulate(b)
    starts_group = np.concatenate(([True], a[1:] > reach[:-1] + 0.5))
    first = np.flatnonzero(starts_group)
    return a[first], np.maximum.reduceat(b, first)


class Bands(pg.GraphicsObject):
    """Shaded full-height intervals and `lanes` thin bands along the top of a plot, behind its curves.

    Painted in device pixels over the whole view; a change of the view's range repaints it. An
    interval whose end is NaN is still going on and is drawn up to `set_now()`'s time.
    """

    def __init__(self, lanes: int = 0) -> None:
        super().__init__()
        self._bounds: QRectF | None = None
        self._now = 0.0
        self._shading: list[Intervals] = []
        self._lanes: list[list[Intervals]] = [[] for _ in range(lanes)]
        self.setZValue(-10)

    def set_now(self, now: float) -> None:
        self._now = now

    def set_shading(self, groups: Sequence[Intervals]) -> None:
        self._shading = list(groups)
        self.update()

    def set_lane(self, lane: int, groups: Sequence[Intervals]) -> None:
        self._lanes[lane] = list(groups)
        self.update()

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            view = self.viewRect()
            self._bounds = QRectF() if view is None else QRectF(view)
        return self._bounds

    def viewTransformChanged(self) -> None:
        self._bounds = None
        super().viewTransformChanged()

    def paint(self, painter: QPainter, *_args) -> None:
        view = self.viewRect()
        if view is None:
            return
        # WORKAROUND: pyqtgraph's deviceTransform() crashed (segfault) when called from paint under
        # PySide6 6.11; the painter's own transform is the same mapping.
        transform = painter.transform()
        frame = QRectF(transform.map(QPointF(view.left(), view.top())),
                       transform.map(QPointF(view.right(), view.bottom()))).normalized()
        scale, offset = transform.m11(), transform.dx()
        painter.save()
        painter.resetTransform()
        painter.setPen(Qt.PenStyle.NoPen)
        self._fill(painter, self._shading, scale, offset, frame, frame.top(), frame.height())
        for lane, groups in enumerate(self._lanes):
            top = frame.top() + LANE_TOP_PX + lane * (LANE_PX + LANE_GAP_PX)
            self._fill(painter, groups, scale, offset, frame, top, LANE_PX)
        painter.restore()

    def _fill(self, painter: QPainter, groups: Sequence[Intervals], scale: float, offset: float, frame: QRectF,
              top: float, height: float) -> None:
        for starts, ends, brush in groups:
            if starts.size == 0:
                continue
            ends = np.where(np.isnan(ends), self._now, ends)
            a, b = pixel_runs(starts, ends, scale, offset, frame.left(), frame.right())
            if a.size:
                painter.setBrush(brush)
                painter.drawRects([QRectF(x, top, w, height) for x, w in zip(a.tolist(), (b - a).tolist())])


def brush(color: str, alpha: int = 255, *, over: QColor | None = None) -> QBrush:
    """A solid brush of `color`; with `alpha` < 255, `color` blended over the background `over` (white if
    not given) into an opaque colour: the shading sits behind the curves, and an opaque fill paints much
    faster than a translucent one."""
    shade = QColor(color)
    if alpha < 255:
        base = over if over is not None else QColor("white")
        weight = alpha / 255
        shade = QColor(*(round(weight * c + (1 - weight) * b) for c, b in zip(
            (shade.red(), shade.green(), shade.blue()), (base.red(), base.green(), base.blue()))))
    return QBrush(shade)
