"""Rename a device and choose its room."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.devices import Device
from ui import theme

NO_ROOM = ""


class RenameDialog(QDialog):
    """Edits a device's own name and room; saves through the registry, which persists them.

    Attributes:
        device: the snapshot being edited.
        name_edit: the name; empty means "use the name it gives itself".
        room_combo: an editable list of the rooms in `rooms`; typing a new one creates it.
        error_label: shown when saving failed; the dialog then stays open.

    Signals:
        saved(Device): the registry's updated snapshot, after a successful save.
    """

    saved = Signal(object)

    def __init__(self, device: Device, registry, rooms, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self._registry = registry
        self._rooms = rooms
        self.setWindowTitle(f"Rename {device.name}")
        self.setMinimumWidth(420)

        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit(device.user_name or device.advertised_name or "", self)
        self.name_edit.setAccessibleName("Name")
        self.name_edit.setPlaceholderText(device.advertised_name or device.model or "Name")
        self.name_edit.setClearButtonEnabled(True)
        self.name_edit.setMaxLength(80)
        form.addRow("&Name:", self.name_edit)

        self.room_combo = QComboBox(self)
        self.room_combo.setEditable(True)
        self.room_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.room_combo.setAccessibleName("Room")
        self.room_combo.addItem(NO_ROOM)
        self.room_combo.addItems(list(rooms.list()))
        self.room_combo.lineEdit().setPlaceholderText("No room")
        self.room_combo.lineEdit().setMaxLength(60)
        self.room_combo.setCurrentText(device.room or NO_ROOM)
        form.addRow("&Room:", self.room_combo)
        layout.addLayout(form)

        own = device.advertised_name
        hint = "Pick a room or type a new one."
        if own:
            hint = f"Leave the name empty to use the name it gives itself (\u201c{own}\u201d). " + hint
        layout.addWidget(theme.paragraph(hint, self, role="hint"))

        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setVisible(False)
        self.error_label.setAccessibleName("Error")
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name_edit.selectAll()
        self.name_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def accept(self) -> None:
        name = self.name_edit.text().strip()
        user_name = name if name and name != (self.device.advertised_name or "") else None
        try:
            room = self._resolve_room(self.room_combo.currentText().strip())
            device = self._registry.set_user_fields(self.device.device_id, user_name=user_name, room=room)
        except KeyError:
            self._show_error("Earmuff no longer knows this device (it was forgotten meanwhile).")
            return
        except ValueError as exc:
            self._show_error(str(exc))
            return
        self.saved.emit(device)
        super().accept()

    def _resolve_room(self, room: str) -> str | None:
        """The room's existing spelling, creating it first when it is new."""
        if not room:
            return None
        for existing in self._rooms.list():
            if existing.casefold() == room.casefold():
                return existing
        self._rooms.add(room)
        return room

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(True)
