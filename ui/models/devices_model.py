"""The devices table: one row per Device snapshot, plus the group snapshots views show beside it.

`DevicesModel` is fed by `ui.adapters.RegistryAdapter` on the GUI thread and
never talks to the registry itself. `DeviceFilterProxy` picks the rows a
table shows (speakers, other devices or bridges, and a text filter) and sorts
by meaning rather than by display text: "last seen" by time, status as online,
added-by-hand, offline, addresses numerically.
"""

from __future__ import annotations

import ipaddress
import time
from enum import Enum, IntEnum

from PySide6.QtCore import (
    QAbstractTableModel,
    QDateTime,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from app.devices import Device, DeviceKind, DeviceStatus, Group

DEVICE_ROLE = Qt.ItemDataRole.UserRole + 1
"""data() role that returns the row's Device snapshot."""

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    ROOM = 1
    VENDOR = 2
    MODEL = 3
    KIND = 4
    ADDRESSES = 5
    STATUS = 6
    LAST_SEEN = 7

    @property
    def title(self) -> str:
        return {
            Column.NAME: "Name",
            Column.ROOM: "Room",
            Column.VENDOR: "Vendor",
            Column.MODEL: "Model",
            Column.KIND: "Kind",
            Column.ADDRESSES: "Addresses",
            Column.STATUS: "Status",
            Column.LAST_SEEN: "Last seen",
        }[self]


_STATUS_RANK = {DeviceStatus.ONLINE: 0, DeviceStatus.MANUAL: 1, DeviceStatus.OFFLINE: 2}
_STATUS_COLOURS = {
    DeviceStatus.ONLINE: "#2e9d4f",
    DeviceStatus.MANUAL: "#3b7dd8",
    DeviceStatus.OFFLINE: "#9a9a9a",
}


def status_icon(status: DeviceStatus) -> QIcon:
    """A small coloured dot: green online, blue added by hand, grey offline."""
    cached = _status_icons.get(status)
    if cached is None:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(_STATUS_COLOURS[status]))
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        cached = _status_icons[status] = QIcon(pixmap)
    return cached


_status_icons: dict[DeviceStatus, QIcon] = {}


def status_text(device: Device) -> str:
    return device.status.label


def last_seen_text(device: Device, now: float) -> str:
    """'Now' while it advertises, else how long ago, in words a homeowner reads at a glance."""
    if device.status is DeviceStatus.ONLINE:
        return "Now"
    if device.status is DeviceStatus.MANUAL and not device.last_seen:
        return "Not tracked"
    if not device.last_seen:
        return "Never"
    ago = max(0.0, now - device.last_seen)
    if ago < 60:
        return "Just now"
    if ago < 3600:
        minutes = int(ago // 60)
        return f"{minutes} min ago"
    if ago < 6 * 3600:
        hours = int(ago // 3600)
        return f"{hours} h ago"
    return absolute_time_text(device.last_seen, now)


def absolute_time_text(when: float, now: float | None = None) -> str:
    """'Today 14:03', 'Yesterday 09:12' or the locale's short date and time."""
    locale = QLocale()
    moment = QDateTime.fromMSecsSinceEpoch(int(when * 1000))
    today = QDateTime.fromMSecsSinceEpoch(int((now or time.time()) * 1000)).date()
    clock = locale.toString(moment.time(), QLocale.FormatType.ShortFormat)
    days = moment.date().daysTo(today)
    if days == 0:
        return f"Today {clock}"
    if days == 1:
        return f"Yesterday {clock}"
    return locale.toString(moment, QLocale.FormatType.ShortFormat)


def _address_key(address: str) -> tuple:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return (2, 0, address)
    return (ip.version == 6, int(ip), address)


def primary_addresses(device: Device) -> str:
    """IPv4 addresses first, then others, comma-separated."""
    return ", ".join(sorted(device.addresses, key=_address_key))


class DevicesModel(QAbstractTableModel):
    """Every device the registry knows, one row each, in arrival order; plus its groups.

    Attributes:
        now: the clock used for "last seen" (injectable for tests).

    Signals:
        changed(): after any row was added, changed or removed (for summaries).
        groups_changed(): after a group appeared, changed or went away.
    """

    changed = Signal()
    groups_changed = Signal()

    def __init__(self, parent: QObject | None = None, *, now=time.time) -> None:
        super().__init__(parent)
        self.now = now
        self._devices: list[Device] = []
        self._rows: dict[str, int] = {}
        self._groups: dict[str, Group] = {}
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)
        self._tick.timeout.connect(self._refresh_times)
        self._tick.start()

    # Feeding the model -------------------------------------------------
    def load(self, devices: list[Device], groups: list[Group]) -> None:
        """Replace everything with a registry snapshot."""
        self.beginResetModel()
        self._devices = list(devices)
        self._rows = {d.device_id: i for i, d in enumerate(self._devices)}
        self.endResetModel()
        self._groups = {g.group_id: g for g in groups}
        self.changed.emit()
        self.groups_changed.emit()

    def upsert(self, device: Device) -> None:
        """Add the device or replace its snapshot (events and snapshots may overlap)."""
        row = self._rows.get(device.device_id)
        if row is None:
            row = len(self._devices)
            self.beginInsertRows(QModelIndex(), row, row)
            self._devices.append(device)
            self._rows[device.device_id] = row
            self.endInsertRows()
        else:
            self._devices[row] = device
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        self.changed.emit()

    def remove(self, device_id: str) -> None:
        row = self._rows.get(device_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._devices[row]
        self._rows = {d.device_id: i for i, d in enumerate(self._devices)}
        self.endRemoveRows()
        self.changed.emit()

    def upsert_group(self, group: Group) -> None:
        self._groups[group.group_id] = group
        self.groups_changed.emit()

    def remove_group(self, group_id: str) -> None:
        if self._groups.pop(group_id, None) is not None:
            self.groups_changed.emit()

    def connect_adapter(self, adapter) -> None:
        adapter.device_added.connect(self.upsert)
        adapter.device_updated.connect(self.upsert)
        adapter.device_removed.connect(self.remove)
        adapter.group_updated.connect(self.upsert_group)
        adapter.group_removed.connect(self.remove_group)

    # Reading -------------------------------------------------------------
    def devices(self) -> list[Device]:
        return list(self._devices)

    def device(self, device_id: str) -> Device | None:
        row = self._rows.get(device_id)
        return None if row is None else self._devices[row]

    def device_at(self, row: int) -> Device:
        return self._devices[row]

    def groups(self) -> list[Group]:
        return sorted(self._groups.values(), key=lambda g: g.name.casefold())

    def groups_of(self, device_id: str) -> list[Group]:
        return [g for g in self.groups() if device_id in g.member_ids]

    # QAbstractTableModel -------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._devices)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return Column(section).title
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        device = self._devices[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.AccessibleTextRole:
            return self._text(device, column)
        if role == DEVICE_ROLE:
            return device
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(device, column)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.STATUS:
            return status_icon(device.status)
        if role == Qt.ItemDataRole.ForegroundRole and device.status is DeviceStatus.OFFLINE:
            return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        return None

    def sort_key(self, row: int, column: int) -> tuple:
        """What a column sorts by; ties are broken by name."""
        device = self._devices[row]
        name = device.name.casefold()
        match Column(column):
            case Column.STATUS:
                return (_STATUS_RANK[device.status], name)
            case Column.LAST_SEEN:
                # Online first (seen now), then most recent; "never" last when ascending.
                seen = float("inf") if device.online else device.last_seen
                return (-seen, name)
            case Column.ADDRESSES:
                keys = sorted((_address_key(a) for a in device.addresses))
                return (not keys, keys[:1], name)
            case other:
                text = self._text(device, other).casefold()
                return (not text, text, name)

    def _text(self, device: Device, column: Column) -> str:
        match column:
            case Column.NAME:
                return device.name
            case Column.ROOM:
                return device.room or ""
            case Column.VENDOR:
                return device.vendor or ""
            case Column.MODEL:
                return device.model or ""
            case Column.KIND:
                return device.kind.label
            case Column.ADDRESSES:
                return primary_addresses(device)
            case Column.STATUS:
                return status_text(device)
            case Column.LAST_SEEN:
                return last_seen_text(device, self.now())
        return ""

    def _tooltip(self, device: Device, column: Column) -> str | None:
        if column is Column.LAST_SEEN and device.last_seen:
            return f"Last seen {absolute_time_text(device.last_seen, self.now())}"
        if column is Column.STATUS and device.status is DeviceStatus.MANUAL:
            return "Added by IP address. It does not announce itself, so Earmuff cannot tell when it is on."
        if column is Column.NAME and device.user_name and device.advertised_name:
            return f"Calls itself “{device.advertised_name}”"
        if column is Column.ADDRESSES and device.addresses:
            return "\n".join(sorted(device.addresses, key=_address_key))
        return self._text(device, column) or None  # the whole text, when the cell is too narrow

    def _refresh_times(self) -> None:
        if self._devices:
            self.dataChanged.emit(
                self.index(0, Column.LAST_SEEN),
                self.index(len(self._devices) - 1, Column.LAST_SEEN),
                [Qt.ItemDataRole.DisplayRole],
            )


class Scope(str, Enum):
    """Which devices a table shows."""

    SPEAKERS = "speakers"  # kinds with an assistant microphone
    OTHER = "other"        # everything else except bridges
    BRIDGES = "bridges"

    def accepts(self, device: Device) -> bool:
        if self is Scope.BRIDGES:
            return device.kind is DeviceKind.BRIDGE
        if self is Scope.SPEAKERS:
            return device.kind.listens
        return not device.kind.listens and device.kind is not DeviceKind.BRIDGE


class DeviceFilterProxy(QSortFilterProxyModel):
    """The rows of one table: a `Scope` plus an optional text filter, sorted by meaning.

    Attributes:
        scope: which devices pass.
        text_filter: words that must all appear in name, room, vendor, model,
            kind or addresses (case-insensitive).
    """

    def __init__(self, source: DevicesModel, scope: Scope, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scope = scope
        self.text_filter = ""
        self.setSourceModel(source)
        self.setDynamicSortFilter(True)

    def set_text_filter(self, text: str) -> None:
        if text == self.text_filter:
            return
        self.beginFilterChange()
        self.text_filter = text
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def device_at(self, row: int) -> Device | None:
        index = self.index(row, 0)
        return index.data(DEVICE_ROLE) if index.isValid() else None

    def row_of(self, device_id: str) -> int:
        for row in range(self.rowCount()):
            device = self.device_at(row)
            if device is not None and device.device_id == device_id:
                return row
        return -1

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        source: DevicesModel = self.sourceModel()
        device = source.device_at(source_row)
        if not self.scope.accepts(device):
            return False
        words = self.text_filter.casefold().split()
        if not words:
            return True
        haystack = " ".join(
            [device.name, device.advertised_name or "", device.room or "", device.vendor or "",
             device.model or "", device.kind.label, *device.addresses, device.mac or ""]
        ).casefold()
        return all(word in haystack for word in words)

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        source: DevicesModel = self.sourceModel()
        return source.sort_key(left.row(), left.column()) < source.sort_key(right.row(), right.column())
