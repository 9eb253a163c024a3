"""The honest "nothing here yet" panel shared by pages: what will appear, and when."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QProgressBar, QPushButton, QVBoxLayout, QWidget

from ui import theme

TEXT_WIDTH = 520


class EmptyState(QWidget):
    """A centred title, an explanation, and optionally a busy bar, a note and one working action.

    Attributes:
        title_label, body_label, note_label: the texts (note hidden when empty).
        busy_bar: an indeterminate progress bar, hidden unless `busy=True`.
        action_button: present only when an action was given; it always does something.
    """

    def __init__(
        self,
        title: str,
        body: str,
        *,
        note: str = "",
        busy: bool = False,
        action: tuple[str, Callable[[], None]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName(title)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(theme.PAGE_MARGIN, theme.PAGE_MARGIN, theme.PAGE_MARGIN, theme.PAGE_MARGIN)
        outer.addStretch(1)
        # A fixed-width column: wrapped labels get their height for that width, never a squeezed line.
        column = QWidget(self)
        column.setFixedWidth(TEXT_WIDTH)
        outer.addWidget(column, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(theme.BLOCK_SPACING)

        self.title_label = theme.heading(title, level=2, parent=column)
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.title_label.setWordWrap(True)
        layout.addWidget(self.title_label)

        self.busy_bar = QProgressBar(column)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedSize(220, 8)
        self.busy_bar.setAccessibleName("Searching")
        self.busy_bar.setVisible(busy)
        layout.addWidget(self.busy_bar, 0, Qt.AlignmentFlag.AlignHCenter)

        self.body_label = theme.paragraph(body, column)
        self.body_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.body_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.body_label)

        self.note_label = theme.paragraph(note, column, role="hint")
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.note_label.setTextFormat(Qt.TextFormat.PlainText)
        self.note_label.setVisible(bool(note))
        layout.addWidget(self.note_label)

        self.action_button: QPushButton | None = None
        if action is not None:
            text, callback = action
            self.action_button = QPushButton(text, column)
            self.action_button.clicked.connect(callback)
            layout.addSpacing(4)
            layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._fit_labels()

    def set_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)

    def showEvent(self, event: QShowEvent) -> None:
        self._fit_labels()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._fit_labels()
        super().changeEvent(event)

    def _fit_labels(self) -> None:
        # WORKAROUND: a box layout sizes an aligned widget by its size hint, which for a wrapped
        # QLabel assumes a narrower width than ours, so the last lines were cut off.
        for label in (self.title_label, self.body_label, self.note_label):
            label.setMinimumHeight(max(0, label.heightForWidth(TEXT_WIDTH)))
