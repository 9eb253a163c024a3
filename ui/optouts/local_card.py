"""A setting the Earmuff bridge enforces itself: a toggle that sends the command, or the reason it cannot."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTime, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QTimeEdit, QVBoxLayout, QWidget

from app.optouts.local import DEFAULT_QUIET_HOURS, DESTINATION_BLOCKS, QUIET_HOURS, LocalControl
from ui import theme
from ui.optouts.style import badge, set_badge
from ui.widgets.mute_control import TOGGLE_STYLE


def _time(text: str) -> QTime:
    parsed = QTime.fromString(text, "HH:mm")
    return parsed if parsed.isValid() else QTime(22, 0)


class LocalCard(QFrame):
    """One locally enforced setting for one bridge speaker (or a placeholder that says what is missing).

    Attributes:
        control: the LocalControl shown.
        toggle: checked = in force; disabled with `reason_label` saying why when it cannot be used.
        start_edit, end_edit: quiet hours only; changing them while on re-saves the schedule.
        pending: a command is on its way to the bridge.

    For blocked destinations the button opens the speaker's Destinations dialog, where blocks are made and
    undone; the card lists them with what each dropped.

    Signals:
        toggle_requested(LocalControl, bool on, str start, str end),
        times_changed(LocalControl, str start, str end), manage_requested(LocalControl).
    """

    toggle_requested = Signal(object, bool, str, str)
    times_changed = Signal(object, str, str)
    manage_requested = Signal(object)

    def __init__(self, control: LocalControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.control = control
        self.pending = False
        self.setProperty("role", "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.title_label = QLabel(self)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        header.addWidget(self.title_label, 1)
        self.state_badge = badge("", "empty", self)
        header.addWidget(self.state_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(header)
        self.summary_label = theme.paragraph("", self)
        layout.addWidget(self.summary_label)
        controls = QHBoxLayout()
        controls.setSpacing(8)
        self.start_edit: QTimeEdit | None = None
        self.end_edit: QTimeEdit | None = None
        if control.control_id == QUIET_HOURS:
            start, end = DEFAULT_QUIET_HOURS
            if control.schedule is not None:
                start, end = control.schedule.start, control.schedule.end
            self.start_edit = QTimeEdit(_time(start), self)
            self.end_edit = QTimeEdit(_time(end), self)
            for edit, name in ((self.start_edit, "from"), (self.end_edit, "until")):
                edit.setDisplayFormat("HH:mm")
                edit.setAccessibleName(f"Quiet hours {name}")
                edit.editingFinished.connect(self._times_edited)
            from_label = QLabel("&From", self)
            from_label.setBuddy(self.start_edit)
            until_label = QLabel("un&til", self)
            until_label.setBuddy(self.end_edit)
            for widget in (from_label, self.start_edit, until_label, self.end_edit):
                controls.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)
        self.toggle = QPushButton(self)
        self.toggle.setObjectName("mute_toggle")
        self.toggle.setStyleSheet(TOGGLE_STYLE)
        self.toggle.setCheckable(True)
        self.toggle.setMinimumWidth(96)
        self.toggle.clicked.connect(self._clicked)
        controls.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignVCenter)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.reason_label = theme.paragraph("", self, role="hint")
        self.reason_label.setAccessibleName("Why this is not available")
        layout.addWidget(self.reason_label)
        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        self.set_control(control)

    def set_control(self, control: LocalControl) -> None:
        self.control = control
        self.pending = False
        speaker = control.speaker
        self.title_label.setText(control.title + (f" — {speaker.name}" if speaker else ""))
        self.toggle.setAccessibleName(control.title + (f" for {speaker.name}" if speaker else ""))
        self.summary_label.setText(control.summary)
        self.reason_label.setText(control.reason)
        self.reason_label.setVisible(bool(control.reason))
        self.toggle.setEnabled(control.enabled)
        self.toggle.setToolTip(control.reason)
        active = bool(control.active)
        self.toggle.setChecked(active)
        self.toggle.setText("On" if active else "Turn on")
        if control.control_id == DESTINATION_BLOCKS:
            self.toggle.setCheckable(False)
            self.toggle.setText("Manage…")
        if control.active is None:
            set_badge(self.state_badge, "Not available" if not control.enabled else "Unknown", "empty")
        else:
            set_badge(self.state_badge, "In force" if active else "Off", "protected" if active else "incomplete")
        if self.start_edit is not None and self.end_edit is not None:
            if control.schedule is not None:
                self.start_edit.setTime(_time(control.schedule.start))
                self.end_edit.setTime(_time(control.schedule.end))
            for edit in (self.start_edit, self.end_edit):
                edit.setEnabled(control.enabled)

    def _times(self) -> tuple[str, str]:
        if self.start_edit is None or self.end_edit is None:
            return DEFAULT_QUIET_HOURS
        return self.start_edit.time().toString("HH:mm"), self.end_edit.time().toString("HH:mm")

    def _clicked(self, checked: bool) -> None:
        if self.control.control_id == DESTINATION_BLOCKS:
            self.toggle.setChecked(bool(self.control.active))
            self.manage_requested.emit(self.control)
            return
        self.set_pending(f"{'Turning on' if checked else 'Turning off'}…")
        self.toggle_requested.emit(self.control, checked, *self._times())

    def _times_edited(self) -> None:
        if self.control.schedule is None or self.pending:
            return
        start, end = self._times()
        if (start, end) != (self.control.schedule.start, self.control.schedule.end):
            self.set_pending("Saving…")
            self.times_changed.emit(self.control, start, end)

    def set_pending(self, text: str) -> None:
        self.pending = True
        self.toggle.setEnabled(False)
        self.toggle.setText(text)
        self.error_label.setVisible(False)

    def failed(self, message: str) -> None:
        """The bridge refused or could not be reached: show why and put the toggle back."""
        self.set_control(self.control)
        self.error_label.setText(message)
        self.error_label.setVisible(True)
