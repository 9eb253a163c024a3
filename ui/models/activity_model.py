"""The activity table: one row per activation from the app's cache, plus the ones still in progress.

`ActivityModel` is filled by the Activity page from `ctx.activations` queries (already filtered) and
from live "activation_started" events; it sorts by meaning (time, bytes, severity), keeps activations
in progress on top whatever the order, and keeps the view's selection across sorting. The formatting
helpers and the CSV export live here too, so the table, the details pane and the file say the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap

from app.activations import (
    FLAG_TEXT,
    FLAG_TITLE,
    ActivationRecord,
    FlaggedUpload,
    describe_flags,
    order_flags,
)

ACTIVATION_ROLE = Qt.ItemDataRole.UserRole + 1
"""data() role that returns the row's ActivationRecord or InProgress."""

AnyIndex = QModelIndex | QPersistentModelIndex

#: Row marks: in progress, flagged, sent while muted (the Live page's shading uses the same hues).
IN_PROGRESS_COLOR = "#1565c0"
FLAGGED_COLOR = "#ef6c00"
CRITICAL_COLOR = "#c62828"


@dataclass(frozen=True)
class InProgress(FlaggedUpload):
    """An activation the bridge said has started and not yet ended (it has no record, id or size yet)."""

    bridge_id: str
    speaker_id: str
    speaker_name: str
    start: float
    confidence: float
    flags: frozenset[str] = frozenset()


Row = ActivationRecord | InProgress


def same_activation(row: Row, bridge_id: str, speaker_id: str, start: float) -> bool:
    """Whether `row` is the activation of that speaker that started at `start` (in progress or ended)."""
    return row.bridge_id == bridge_id and row.speaker_id == speaker_id and abs(row.start - start) < 1.0


# -- words and numbers -----------------------------------------------------------------------------
def size_text(count: float) -> str:
    """Bytes as a person reads them: '820 B', '221 kB', '1.4 MB' (powers of 1000, like network tools)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{count:.0f} B"


def rate_text(per_second: float) -> str:
    return size_text(per_second) + "/s"


def duration_text(seconds: float) -> str:
    """'6 s', '1 min 12 s', '1 h 3 min'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def local_time(epoch: float) -> dt.datetime:
    """This computer's local time, with its offset."""
    return dt.datetime.fromtimestamp(epoch).astimezone()


def iso_time(epoch: float) -> str:
    """'2026-03-29T14:03:12+02:00': unambiguous for spreadsheets and other programs."""
    return local_time(epoch).isoformat(timespec="seconds")


def when_text(epoch: float, now: float) -> str:
    """'Today 14:03:12', 'Yesterday 09:12:40', 'Fri 27 Mar 22:15:03', '12 Dec 2025 08:00:00'."""
    moment, today = local_time(epoch), local_time(now).date()
    clock = moment.strftime("%H:%M:%S")
    days = (today - moment.date()).days
    if days == 0:
        return f"Today {clock}"
    if days == 1:
        return f"Yesterday {clock}"
    if 0 < days < 7:
        return f"{moment:%a %d %b} {clock}"
    if moment.year == today.year:
        return f"{moment:%d %b} {clock}"
    return f"{moment:%d %b %Y} {clock}"


def flags_text(flags: Iterable[str]) -> str:
    """The flags' short titles, most important first: 'Uploaded while muted, Nobody was speaking'."""
    return ", ".join(FLAG_TITLE.get(f, f) for f in order_flags(set(flags)))


def severity(row: Row) -> int:
    """2 sent while muted, 1 flagged, 0 neither."""
    return 2 if row.critical else 1 if row.flagged else 0


def count_per_day(rows: Iterable[Row]) -> dict[tuple[dt.date, str, str], int]:
    """Activations per local day (of their start) and per (bridge_id, speaker_id); ones in progress left out."""
    counts: dict[tuple[dt.date, str, str], int] = {}
    for row in rows:
        if isinstance(row, ActivationRecord):
            key = (dt.datetime.fromtimestamp(row.start).date(), row.bridge_id, row.speaker_id)
            counts[key] = counts.get(key, 0) + 1
    return counts


_dots: dict[str, QIcon] = {}


def dot_icon(color: str) -> QIcon:
    icon = _dots.get(color)
    if icon is None:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color))
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        icon = _dots[color] = QIcon(pixmap)
    return icon


class Column(IntEnum):
    WHEN = 0
    SPEAKER = 1
    DURATION = 2
    SENT = 3
    PEAK = 4
    CONFIDENCE = 5
    FLAGS = 6

    @property
    def title(self) -> str:
        return {
            Column.WHEN: "When",
            Column.SPEAKER: "Speaker",
            Column.DURATION: "Duration",
            Column.SENT: "Data sent",
            Column.PEAK: "Peak rate",
            Column.CONFIDENCE: "Confidence",
            Column.FLAGS: "Flags",
        }[self]

    @property
    def numeric(self) -> bool:
        return self in (Column.DURATION, Column.SENT, Column.PEAK, Column.CONFIDENCE)


class ActivityModel(QAbstractTableModel):
    """Activations (newest first unless sorted otherwise) with those in progress pinned on top.

    Attributes:
        now: the clock for "Today"/"Yesterday" (injectable for tests).
        bridge_name: bridge_id -> the bridge's name, for tooltips and the export ("" when unknown).
    """

    def __init__(self, parent: QObject | None = None, *, now: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.now = now
        self.bridge_name: Callable[[str], str] = lambda _bridge_id: ""
        self._records: list[ActivationRecord] = []
        self._in_progress: list[InProgress] = []
        self._rows: list[Row] = []
        self._sort = (Column.WHEN, Qt.SortOrder.DescendingOrder)

    # -- feeding --------------------------------------------------------------------------------------
    def set_rows(self, records: list[ActivationRecord], in_progress: list[InProgress]) -> None:
        """Replace everything (a new query result); the page restores its selection afterwards."""
        self.beginResetModel()
        self._records = list(records)
        self._in_progress = sorted(in_progress, key=lambda r: -r.start)
        self._rows = self._ordered()
        self.endResetModel()

    @property
    def records(self) -> list[ActivationRecord]:
        """The finished activations shown, in the current order."""
        return [r for r in self._rows if isinstance(r, ActivationRecord)]

    def row_at(self, row: int) -> Row:
        return self._rows[row]

    def find(self, bridge_id: str, speaker_id: str, start: float) -> int:
        """The row of that activation (ended ones before in-progress ones), or -1."""
        for index, row in sorted(enumerate(self._rows), key=lambda item: isinstance(item[1], InProgress)):
            if same_activation(row, bridge_id, speaker_id, start):
                return index
        return -1

    # -- sorting --------------------------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (Column(column), order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        rows = [self._rows[index.row()] for index in old]
        self._rows = self._ordered()
        position = {id(row): number for number, row in enumerate(self._rows)}
        self.changePersistentIndexList(old, [self.index(position[id(row)], index.column())
                                             for row, index in zip(rows, old)])
        self.layoutChanged.emit()

    def _ordered(self) -> list[Row]:
        column, order = self._sort
        records = sorted(self._records, key=lambda r: self.sort_key(r, column),
                         reverse=order == Qt.SortOrder.DescendingOrder)
        return [*self._in_progress, *records]

    @staticmethod
    def sort_key(row: ActivationRecord, column: Column) -> tuple:
        """What a column sorts by; ties by start time."""
        match column:
            case Column.SPEAKER:
                return (row.speaker_name.casefold(), row.start)
            case Column.DURATION:
                return (row.duration_s, row.start)
            case Column.SENT:
                return (row.bytes_up, row.start)
            case Column.PEAK:
                return (row.peak_rate, row.start)
            case Column.CONFIDENCE:
                return (row.confidence, row.start)
            case Column.FLAGS:
                return (severity(row), len(row.flags), row.start)
        return (row.start, row.activation_id)

    # -- QAbstractTableModel ------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return Column(section).title
        if role == Qt.ItemDataRole.TextAlignmentRole and Column(section).numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.text(row, column)
        if role == ACTIVATION_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.WHEN:
            if isinstance(row, InProgress):
                return dot_icon(IN_PROGRESS_COLOR)
            if row.flagged:
                return dot_icon(CRITICAL_COLOR if row.critical else FLAGGED_COLOR)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column is Column.FLAGS and row.critical:
            return QBrush(QColor(CRITICAL_COLOR))
        if role == Qt.ItemDataRole.FontRole and (isinstance(row, InProgress) or
                                                 (column is Column.FLAGS and row.critical)):
            font = QFont()
            font.setBold(True)
            return font
        return None

    def text(self, row: Row, column: Column) -> str:
        if isinstance(row, InProgress):
            match column:
                case Column.WHEN:
                    return when_text(row.start, self.now())
                case Column.SPEAKER:
                    return row.speaker_name
                case Column.DURATION:
                    return "in progress"
                case Column.CONFIDENCE:
                    return f"{row.confidence:.0%}"
                case Column.FLAGS:
                    return flags_text(row.flags)
            return "\u2026"
        match column:
            case Column.WHEN:
                return when_text(row.start, self.now())
            case Column.SPEAKER:
                return row.speaker_name
            case Column.DURATION:
                return duration_text(row.duration_s)
            case Column.SENT:
                return size_text(row.bytes_up)
            case Column.PEAK:
                return rate_text(row.peak_rate)
            case Column.CONFIDENCE:
                return f"{row.confidence:.0%}"
            case Column.FLAGS:
                return flags_text(row.flags)
        return ""

    def _tooltip(self, row: Row, column: Column) -> str | None:
        if column is Column.FLAGS:
            return describe_flags(row.flags) or "Not flagged: nothing unusual was noticed about this upload."
        if column is Column.WHEN:
            began = f"{local_time(row.start):%Y-%m-%d %H:%M:%S}"
            if isinstance(row, InProgress):
                return f"Started {began}; still sending"
            return f"{began} to {local_time(row.end):%H:%M:%S}"
        if column is Column.SPEAKER:
            bridge = self.bridge_name(row.bridge_id)
            return f"{row.speaker_name} on {bridge}" if bridge else row.speaker_name
        if column is Column.SENT and isinstance(row, ActivationRecord):
            return f"{row.bytes_up:,} bytes sent to the internet"
        if column is Column.CONFIDENCE:
            return "How sure the bridge's detector is that this was a voice upload"
        return None


# -- export ------------------------------------------------------------------------------------------
CSV_HEADER = ("start", "end", "duration_s", "speaker", "speaker_id", "bridge", "bridge_id", "bytes_sent",
              "peak_rate_bytes_per_s", "confidence", "flags", "flag_explanations")


def write_csv(path: str | os.PathLike, records: Iterable[ActivationRecord],
              bridge_name: Callable[[str], str] = lambda _b: "") -> int:
    """Write the records to `path` as CSV (UTF-8, ISO times with offset); returns how many rows.

    The file appears whole or not at all: rows go to a temporary file beside it, which replaces
    `path` only once it is complete. Raises OSError (with nothing left behind) when that fails.
    Like the temporary file, it is readable by its owner only: it tells when the home was busy.
    """
    target = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    count = 0
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(CSV_HEADER)
            for r in records:
                flags = r.ordered_flags()
                writer.writerow((
                    iso_time(r.start), iso_time(r.end), f"{r.duration_s:.1f}", r.speaker_name, r.speaker_id,
                    bridge_name(r.bridge_id), r.bridge_id, r.bytes_up, f"{r.peak_rate:.0f}", f"{r.confidence:.3f}",
                    " ".join(flags), " | ".join(FLAG_TEXT.get(f, f) for f in flags),
                ))
                count += 1
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    return count

