"""Every change and confirmation on the Opt-outs page: when, who, what; with undo of the last change."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.optouts.models import HistoryEntry
from app.optouts.report import format_time
from ui import theme


class HistoryDialog(QDialog):
    """The history, newest first.

    Attributes:
        table: When / Who / What (undone changes are marked).
        undo_button: undoes the newest change not undone yet.

    Signals:
        undo_requested().
    """

    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Opt-outs history")
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        layout.addWidget(theme.paragraph("Everything you recorded or changed here, and what Earmuff noticed "
                                         "itself (catalog updates). Nothing is ever removed from this list.",
                                         self, role="hint"))
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["When", "Who", "What"])
        self.table.setAccessibleName("History")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)  # one line per change; the full text is in each cell's tooltip
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.undo_button = QPushButton("&Undo last change", self)
        buttons.addButton(self.undo_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.undo_button.clicked.connect(self.undo_requested)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def set_history(self, entries: list[HistoryEntry], undo_text: str) -> None:
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            what = entry.summary + (" (undone)" if entry.undone else "")
            for column, text in enumerate((format_time(entry.at), entry.actor, what)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if entry.undone:
                    font = item.font()
                    font.setStrikeOut(True)
                    item.setFont(font)
                    item.setForeground(self.palette().placeholderText())
                self.table.setItem(row, column, item)
        self.undo_button.setEnabled(bool(undo_text))
        self.undo_button.setToolTip(undo_text or "Nothing to undo")
        if entries:
            self.table.setCurrentCell(0, 0)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
