"""Record that a portal deletion was done (when, and a note), which moves its reminder on."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.deletions.fitted_label import FittedLabel
from ui.deletions.timefmt import moment_text


class MarkDoneDialog(QDialog):
    """Asks when it was done (now unless told) and for an optional note.

    Attributes:
        reminder: the PortalReminder; when_edit, note_edit, next_label (the next reminder after this),
        save_button, error_label.

    Signals:
        completed(object): the PortalCompletion recorded.
    """

    completed = Signal(object)

    def __init__(self, tracker, reminder, title: str, *, clock: Callable[[], float] = time.time,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tracker = tracker
        self.reminder = reminder
        self._clock = clock
        self.setWindowTitle("Mark as done")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(FittedLabel(f"You deleted the recordings: \u201c{title}\u201d.", self))
        form = QFormLayout()
        layout.addLayout(form)
        self.when_edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(clock())), self)
        self.when_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.when_edit.setCalendarPopup(True)
        self.when_edit.setMaximumDateTime(QDateTime.fromSecsSinceEpoch(int(clock()) + 60))
        self.when_edit.setAccessibleName("Done on")
        when_label = QLabel("&Done on:", self)
        when_label.setBuddy(self.when_edit)
        form.addRow(when_label, self.when_edit)
        self.note_edit = QLineEdit(self)
        self.note_edit.setPlaceholderText("optional, for example Deleted all history on both HomePods")
        self.note_edit.setMaxLength(300)
        note_label = QLabel("&Note:", self)
        note_label.setBuddy(self.note_edit)
        form.addRow(note_label, self.note_edit)
        self.next_label = FittedLabel("", self, role="hint")
        self.next_label.setAccessibleName("Next reminder")
        layout.addWidget(self.next_label)
        self.error_label = FittedLabel("", self, role="error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        layout.addStretch(1)  # spare height goes below the content, not between its lines
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button = QPushButton("&Mark done", self)
        self.save_button.setDefault(True)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.clicked.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.when_edit.dateTimeChanged.connect(lambda _d: self._show_next())
        self._show_next()

    def when(self) -> float:
        return float(self.when_edit.dateTime().toSecsSinceEpoch())

    def _show_next(self) -> None:
        moment = dt.datetime.fromtimestamp(self.when()).astimezone()
        try:
            upcoming = self.reminder.recurrence.occurrences(moment, moment.tzinfo, 1)
        except (ValueError, TypeError):
            upcoming = []
        self.next_label.setText(f"The next reminder comes {moment_text(upcoming[0].timestamp(), self._clock())}."
                                if upcoming else "This reminder will not come again.")

    def save(self) -> None:
        try:
            completion = self.tracker.mark_done(self.reminder.id, note=self.note_edit.text().strip(),
                                                when=self.when())
        except (ValueError, KeyError) as error:
            self.error_label.setText(str(error).strip("'\""))
            self.error_label.setVisible(True)
            return
        self.completed.emit(completion)
        self.accept()
