"""When portal deletions were done, with the notes written then."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme

COLUMNS = ("Done on", "What", "Note")


class CompletionsDialog(QDialog):
    """A read-only table of (when, what, note) rows, newest first; `table`, `empty_label`."""

    def __init__(self, title: str, rows: list[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(640, 380)
        layout = QVBoxLayout(self)
        self.table = QTableWidget(len(rows), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Done before")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        layout.addWidget(self.table, 1)
        self.empty_label = theme.paragraph("Nothing marked as done yet. When you have deleted on the vendor's "
                                           "page, press \u201cMark done\u201d and it is listed here.", self,
                                           role="hint")
        layout.addWidget(self.empty_label)
        self.table.setVisible(bool(rows))
        self.empty_label.setVisible(not rows)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
