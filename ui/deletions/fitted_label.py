"""A wrapped label that keeps the height its text needs (form and box layouts size wrapped labels too short)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class FittedLabel(QLabel):
    """Word-wrapped; its minimum height follows its text at its current width, so the window grows to show it."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, role: str | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        # A wrapped label takes the width it is given (a form layout would otherwise give it its size hint).
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        if role:
            self.setProperty("role", role)
        self._fit()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit()

    def _fit(self) -> None:
        # WORKAROUND: QLabel's heightForWidth is not used by QFormLayout rows nor for a dialog's minimum size, so
        # a text set after the dialog was laid out showed cut off.
        if not self.text() or not self.isVisible():
            self.setMinimumHeight(0)  # laid out once shown: its width is known then
            return
        height = self.heightForWidth(self.width())
        if height > 0 and height != self.minimumHeight():
            self.setMinimumHeight(height)

    def set_role(self, role: str) -> None:
        """Restyle as "hint" or "error" (theme.STYLE_SHEET)."""
        if self.property("role") != role:
            self.setProperty("role", role)
            self.style().unpolish(self)
            self.style().polish(self)

