"""The Destinations dialog's table: one row per name (or address) a speaker sent data to."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.bridge_client.destinations import Destination
from app.destinations import human_bytes
from ui.widgets.mute_control import format_when

#: The Destination of a row (any column), for the dialog's actions.
DESTINATION_ROLE = Qt.ItemDataRole.UserRole + 1
#: What a column sorts by (numbers for sizes and times).
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    ORGANISATION = 1
    UP = 2
    DOWN = 3
    FIRST_SEEN = 4
    LAST_SEEN = 5
    BLOCKED = 6


HEADERS = {
    Column.NAME: "Name",
    Column.ORGANISATION: "Organisation",
    Column.UP: "Sent",
    Column.DOWN: "Received",
    Column.FIRST_SEEN: "First seen",
    Column.LAST_SEEN: "Last seen",
    Column.BLOCKED: "Blocked",
}
TOOLTIPS = {
    Column.NAME: "The name the speaker looked up or asked for in its TLS connection; an address when it used none",
    Column.ORGANISATION: "Who runs the name, from Earmuff's sourced list; unknown names stay names",
    Column.UP: "Bytes the speaker sent there (as the bridge counted them on the wire)",
    Column.DOWN: "Bytes the speaker received from there",
}


class DestinationsModel(QAbstractTableModel):
    """Destinations as rows; `set_destinations` replaces them all (a refresh every few seconds is cheap).

    Attributes:
        destinations: the rows, in the bridge's order (busiest first).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.destinations: list[Destination] = []

    def set_destinations(self, destinations: Sequence[Destination]) -> None:
        self.beginResetModel()
        self.destinations = list(destinations)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self.destinations)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt override
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return TOOLTIPS.get(Column(section))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.destinations):
            return None
        destination = self.destinations[index.row()]
        column = Column(index.column())
        if role == DESTINATION_ROLE:
            return destination
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(destination, column)
        if role == SORT_ROLE:
            return {
                Column.UP: destination.bytes_up,
                Column.DOWN: destination.bytes_down,
                Column.FIRST_SEEN: destination.first_seen,
                Column.LAST_SEEN: destination.last_seen,
                Column.BLOCKED: len(destination.blocked_by),
            }.get(column, (self._text(destination, column) or "").lower())
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.UP, Column.DOWN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.NAME and destination.addresses:
                return "Addresses: " + ", ".join(destination.addresses[:8])
            if column == Column.ORGANISATION and destination.hosting:
                return (f"{destination.organisation} hosts services of many companies: the receiver may be "
                        "someone else.")
        return None

    @staticmethod
    def _text(destination: Destination, column: Column) -> str:
        if column == Column.NAME:
            return destination.name
        if column == Column.ORGANISATION:
            if destination.organisation and destination.hosting:
                return f"{destination.organisation} (hosting)"
            return destination.shown_organisation
        if column == Column.UP:
            return human_bytes(destination.bytes_up)
        if column == Column.DOWN:
            return human_bytes(destination.bytes_down)
        if column == Column.FIRST_SEEN:
            return format_when(destination.first_seen)
        if column == Column.LAST_SEEN:
            return format_when(destination.last_seen)
        return "Blocked" if destination.blocked_by else ""
