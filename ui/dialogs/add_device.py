"""Add a speaker that does not announce itself, by its IP address."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ui import theme


class AddDeviceDialog(QDialog):
    """Asks for an address (and optionally a name and hardware address) and adds it to the registry.

    The registry checks the address; its message is shown in the dialog, which
    stays open so the user can correct it.

    Attributes:
        address_edit, name_edit, mac_edit: the inputs.
        error_label: the registry's complaint, when there is one.
        add_button: disabled while the address is empty.

    Signals:
        added(Device): the new device, after the registry accepted it.
    """

    added = Signal(object)

    def __init__(self, registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._registry = registry
        self.setWindowTitle("Add speaker by IP address")
        self.setMinimumWidth(460)

        layout = QVBoxLayout(self)
        layout.addWidget(
            theme.paragraph(
                "Some speakers, such as certain Amazon Echo models, never announce themselves on the "
                "network. Add one here by the IP address your router gave it (your router's list of "
                "connected devices shows it).",
                self,
            )
        )
        form = QFormLayout()
        self.address_edit = QLineEdit(self)
        self.address_edit.setPlaceholderText("for example 192.168.1.42")
        self.address_edit.setAccessibleName("IP address")
        form.addRow("&IP address:", self.address_edit)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("optional, for example Kitchen Echo")
        self.name_edit.setAccessibleName("Name")
        self.name_edit.setMaxLength(80)
        form.addRow("&Name:", self.name_edit)
        self.mac_edit = QLineEdit(self)
        self.mac_edit.setPlaceholderText("optional, for example 68:db:f5:90:19:64")
        self.mac_edit.setAccessibleName("Hardware (MAC) address")
        self.mac_edit.setToolTip("If you know it, Earmuff can tell the maker from it.")
        form.addRow("&Hardware address:", self.mac_edit)
        layout.addLayout(form)

        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setAccessibleName("Error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.add_button = self.buttons.addButton("&Add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setDefault(True)
        self.add_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.address_edit.textChanged.connect(self._address_changed)

    def _address_changed(self, text: str) -> None:
        self.add_button.setEnabled(bool(text.strip()))
        self.error_label.setVisible(False)

    def accept(self) -> None:
        address = self.address_edit.text().strip()
        if not address:
            return
        try:
            device = self._registry.add_manual(
                address,
                name=self.name_edit.text().strip() or None,
                mac=self.mac_edit.text().strip() or None,
            )
        except ValueError as exc:
            self.error_label.setText(str(exc))
            self.error_label.setVisible(True)
            self.address_edit.setFocus()
            self.address_edit.selectAll()
            return
        self.added.emit(device)
        super().accept()
