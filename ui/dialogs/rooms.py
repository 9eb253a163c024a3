"""Manage rooms: add, rename (F2 or double-click), delete with undo, reorder."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme


class RoomsDialog(QDialog):
    """The user's rooms, in the order the Overview shows them.

    Changes apply at once through the app context, which keeps devices in step
    (renaming a room moves its speakers with it; deleting one leaves them without a room).

    Attributes:
        room_list: one editable item per room.
        new_edit: the name of a room to add.
        status_label: the last change or problem, with an Undo link after a delete.

    Signals:
        changed(): after any successful change.
    """

    changed = Signal()

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._undo: tuple[str, int, list[str]] | None = None  # (room, position, device ids) of the last delete
        self.setWindowTitle("Rooms")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.addWidget(theme.paragraph(
            "Rooms group your speakers on the Overview. Double-click a room (or press F2) to rename it; "
            "its speakers move with it.", self, role="hint"))

        row = QHBoxLayout()
        self.room_list = QListWidget(self)
        self.room_list.setAccessibleName("Rooms")
        self.room_list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed)
        self.room_list.itemChanged.connect(self._renamed)
        self.room_list.currentRowChanged.connect(lambda _row: self._update_buttons())
        row.addWidget(self.room_list, 1)
        buttons = QVBoxLayout()
        self.rename_button = QPushButton("&Rename", self)
        self.rename_button.clicked.connect(self._start_rename)
        self.delete_button = QPushButton("&Delete", self)
        self.delete_button.clicked.connect(self.delete_current)
        self.up_button = QPushButton("Move &up", self)
        self.up_button.clicked.connect(lambda: self.move_current(-1))
        self.down_button = QPushButton("Move do&wn", self)
        self.down_button.clicked.connect(lambda: self.move_current(1))
        for button in (self.rename_button, self.delete_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout.addLayout(row)

        add_row = QHBoxLayout()
        self.new_edit = QLineEdit(self)
        self.new_edit.setPlaceholderText("New room, for example Kitchen")
        self.new_edit.setAccessibleName("New room name")
        self.new_edit.setMaxLength(60)
        self.new_edit.returnPressed.connect(self.add_room)
        self.add_button = QPushButton("&Add", self)
        self.add_button.clicked.connect(self.add_room)
        add_row.addWidget(self.new_edit, 1)
        add_row.addWidget(self.add_button)
        layout.addLayout(add_row)

        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label.linkActivated.connect(lambda _link: self.undo_delete())
        layout.addWidget(self.status_label)

        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self._reload()

    # -- actions -------------------------------------------------------------------------------

    def add_room(self) -> None:
        name = self.new_edit.text().strip()
        if not name:
            self._say("Type a name for the new room first.", error=True)
            return
        try:
            added = self.ctx.rooms.add(name)
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self.new_edit.clear()
        self._reload(select=added)
        self._say(f"Added {added}.")
        self.changed.emit()

    def delete_current(self) -> None:
        item = self.room_list.currentItem()
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        position = self.room_list.row(item)
        members = [d.device_id for d in self.ctx.registry.devices() if d.room and d.room.casefold() == name.casefold()]
        self.ctx.remove_room(name)
        self._undo = (name, position, members)
        self._reload()
        count = len(members)
        what = f"{count} speaker{'s' if count != 1 else ''} now {'have' if count != 1 else 'has'} no room"
        self._say(f"Deleted {name} ({what}). <a href='undo'>Undo</a>")
        self.changed.emit()

    def undo_delete(self) -> None:
        if self._undo is None:
            return
        name, position, members = self._undo
        self._undo = None
        self.ctx.rooms.add(name)
        order = [room for room in self.ctx.rooms.list() if room != name]
        order.insert(min(position, len(order)), name)
        self.ctx.rooms.reorder(order)
        for device_id in members:
            device = self.ctx.registry.device(device_id)
            if device is not None:
                self.ctx.registry.set_user_fields(device_id, user_name=device.user_name, room=name)
        self._reload(select=name)
        self._say(f"Restored {name}.")
        self.changed.emit()

    def move_current(self, step: int) -> None:
        row = self.room_list.currentRow()
        names = self.ctx.rooms.list()
        target = row + step
        if row < 0 or not 0 <= target < len(names):
            return
        names[row], names[target] = names[target], names[row]
        self.ctx.rooms.reorder(names)
        self._reload(select=names[target])
        self.changed.emit()

    def _start_rename(self) -> None:
        item = self.room_list.currentItem()
        if item is not None:
            self.room_list.editItem(item)

    def _renamed(self, item: QListWidgetItem) -> None:
        old = item.data(Qt.ItemDataRole.UserRole)
        new = item.text().strip()
        if old is None or new == old:
            return
        try:
            if not new:
                raise ValueError("A room needs a name.")
            renamed = self.ctx.rename_room(old, new)
        except (KeyError, ValueError) as exc:
            self._reload(select=old)
            self._say(str(exc).strip("'\""), error=True)
            return
        self._reload(select=renamed)
        self._say(f"Renamed {old} to {renamed}.")
        self.changed.emit()

    # -- helpers -------------------------------------------------------------------------------

    def _reload(self, select: str | None = None) -> None:
        counts: dict[str, int] = {}
        for device in self.ctx.registry.devices():
            if device.room:
                counts[device.room.casefold()] = counts.get(device.room.casefold(), 0) + 1
        self.room_list.blockSignals(True)
        self.room_list.clear()
        for name in self.ctx.rooms.list():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            n = counts.get(name.casefold(), 0)
            item.setToolTip(f"{n} speaker{'s' if n != 1 else ''}")
            self.room_list.addItem(item)
            if select is not None and name.casefold() == select.casefold():
                self.room_list.setCurrentItem(item)
        self.room_list.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.room_list.currentRow()
        has = row >= 0
        self.rename_button.setEnabled(has)
        self.delete_button.setEnabled(has)
        self.up_button.setEnabled(has and row > 0)
        self.down_button.setEnabled(has and row < self.room_list.count() - 1)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #b00020;" if error else "")
        self.status_label.setText(text)
