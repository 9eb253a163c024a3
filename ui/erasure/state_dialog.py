"""Change a request's state; a denial needs the reason the company gave."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.erasure.models import ErasureRequest
from app.erasure.states import TRANSITIONS, InvalidTransition, RequestState
from app.erasure.tracker import ErasureTracker
from ui import theme


class StateDialog(QDialog):
    """Offers only the states the request may move to.

    Attributes:
        state_combo, reason_edit, error_label, buttons.
    """

    def __init__(self, tracker: ErasureTracker, request: ErasureRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change the request's state")
        self.tracker = tracker
        self.request = request
        form = QFormLayout(self)
        form.addRow(theme.paragraph(f"{request.vendor_name} \u2013 {request.account_label}: now "
                                    f"{request.state.title.lower()}.", self))
        self.state_combo = QComboBox(self)
        for state in RequestState:
            if state in TRANSITIONS[request.state]:
                self.state_combo.addItem(state.title, state.value)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setPlaceholderText("The reason the company gave (needed for a denial)")
        for text, widget in (("New &state:", self.state_combo), ("&Reason or note:", self.reason_edit)):
            label = QLabel(text, self)
            label.setBuddy(widget)
            form.addRow(label, widget)
        self.error_label = theme.paragraph("", self, role="error")
        form.addRow(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self._apply)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def _apply(self) -> None:
        try:
            self.tracker.change_state(self.request.request_id, RequestState(self.state_combo.currentData()),
                                      self.reason_edit.text())
        except InvalidTransition as error:
            self.error_label.setText(str(error).capitalize() + ".")
            return
        self.accept()
