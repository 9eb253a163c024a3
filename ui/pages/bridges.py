"""Bridges page: Earmuff bridges found on the network. Pairing comes with the bridge release."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStackedWidget, QWidget

from ui import theme
from ui.models.devices_model import Column, DeviceFilterProxy, DevicesModel, Scope
from ui.pages.empty_state import EmptyState
from ui.pages.speakers import make_device_table

BRIDGE_COLUMNS = (Column.NAME, Column.ADDRESSES, Column.STATUS, Column.LAST_SEEN)


class BridgesPage(QWidget):
    """Lists the bridges discovery found, with a plain note that pairing is not here yet.

    Attributes:
        proxy: bridges only.
        table: the list (hidden while there is none).
        empty_state: shown while no bridge is known.
    """

    page_key = "bridges"
    page_title = "Bridges"

    def __init__(self, model: DevicesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = theme.page_layout(self, self.page_title)
        layout.addWidget(
            theme.paragraph(
                "An Earmuff bridge is a small Raspberry Pi that your speaker connects through. It measures "
                "what the speaker sends away, records every activation, and can mute the speaker in hardware "
                "on a schedule, even while this computer is off.",
                self,
            )
        )
        self.pairing_note = theme.paragraph(
            "Pairing with a bridge comes with the bridge release. Until then, Earmuff lists the bridges it "
            "finds on your network here.",
            self,
            role="hint",
        )
        layout.addWidget(self.pairing_note)

        self.proxy = DeviceFilterProxy(model, Scope.BRIDGES, self)
        self._stack = QStackedWidget(self)
        self.table = make_device_table(self.proxy, BRIDGE_COLUMNS, "Bridges", self._stack)
        self.table.setColumnWidth(Column.ADDRESSES, 220)
        self.table.setColumnWidth(Column.LAST_SEEN, 140)
        self.table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.empty_state = EmptyState(
            "No bridges found yet",
            "A bridge running earmuff-bridge announces itself on your network and appears here "
            "automatically.",
            parent=self._stack,
        )
        self._stack.addWidget(self.table)
        self._stack.addWidget(self.empty_state)
        layout.addWidget(self._stack, 1)
        model.changed.connect(self._update)
        self._update()

    def _update(self) -> None:
        self._stack.setCurrentIndex(0 if self.proxy.rowCount() else 1)
