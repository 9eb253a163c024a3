"""Add or change a reminder to delete recordings on a vendor's page (Apple, Sonos, Amazon, Google)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.deletions.voice import WEEKDAY_NAMES, Recurrence
from ui import theme
from ui.deletions.fitted_label import FittedLabel
from ui.deletions.timefmt import moment_text

DEFAULT_TIME = QTime(9, 0)


class PortalReminderDialog(QDialog):
    """The form for one PortalReminder: which guide, how often, for which speaker.

    Attributes:
        reminder: the reminder changed (None: a new one).
        guide_combo, scope_label: what to do; monthly_radio, weekly_radio, custom_radio, month_day_spin,
            weekday_combo, time_edit, rule_edit: how often; when_label: its next date.
        label_edit, speaker_combo; save_button, error_label.

    Signals:
        saved(object): the PortalReminder added or changed.
    """

    saved = Signal(object)

    def __init__(self, tracker, guides: list, speakers: list[tuple[str, str]] = (), *, reminder=None,
                 guide_id: str | None = None, speaker_key: str = "", clock: Callable[[], float] = time.time,
                 parent: QWidget | None = None) -> None:
        """`speakers`: (key, name) pairs the reminder may be for."""
        super().__init__(parent)
        self.tracker = tracker
        self.guides = {guide.id: guide for guide in guides}
        self.reminder = reminder
        self._clock = clock
        self.setWindowTitle("Change the reminder" if reminder is not None else "Remind me to delete on a vendor's page")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(FittedLabel(
            "Some speakers take no delete command by voice; their recordings are deleted in the vendor's app or "
            "website. Earmuff reminds you when it is time and shows the steps.", self, role="hint"))
        form = QFormLayout()
        layout.addLayout(form)

        self.guide_combo = QComboBox(self)
        self.guide_combo.setAccessibleName("What to delete")
        for guide in guides:
            self.guide_combo.addItem(guide.title, guide.id)
        self._row(form, "&What:", self.guide_combo)
        self.scope_label = FittedLabel("", self, role="hint")
        form.addRow("", self.scope_label)

        kinds = QHBoxLayout()
        self.monthly_radio = QRadioButton("Every &month", self)
        self.weekly_radio = QRadioButton("Every w&eek", self)
        self.custom_radio = QRadioButton("&Custom rule", self)
        group = QButtonGroup(self)
        for radio in (self.monthly_radio, self.weekly_radio, self.custom_radio):
            group.addButton(radio)
            kinds.addWidget(radio)
        kinds.addStretch(1)
        self.monthly_radio.setChecked(True)
        form.addRow("Repeat:", kinds)

        day_row = QHBoxLayout()
        self.month_day_spin = QSpinBox(self)
        self.month_day_spin.setRange(1, 31)
        self.month_day_spin.setToolTip("29 to 31: the last day in shorter months")
        self.month_day_spin.setPrefix("on day ")
        self.month_day_spin.setAccessibleName("Day of the month")
        self.weekday_combo = QComboBox(self)
        self.weekday_combo.addItems([f"on {name}" for name in WEEKDAY_NAMES])
        self.weekday_combo.setAccessibleName("Day of the week")
        self.rule_edit = QLineEdit(self)
        self.rule_edit.setPlaceholderText("for example FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1")
        self.rule_edit.setAccessibleName("Repeat rule (RFC 5545 RRULE)")
        self.time_edit = QTimeEdit(DEFAULT_TIME, self)
        self.time_edit.setDisplayFormat("HH:mm")
        self.time_edit.setAccessibleName("Time of day")
        day_row.addWidget(self.month_day_spin)
        day_row.addWidget(self.weekday_combo)
        day_row.addWidget(self.rule_edit, 1)
        at_label = QLabel("a&t", self)
        at_label.setBuddy(self.time_edit)
        day_row.addWidget(at_label)
        day_row.addWidget(self.time_edit)
        day_row.addStretch(0)
        day_label = QLabel("&Day:", self)
        day_label.setBuddy(self.month_day_spin)
        self._day_label = day_label
        form.addRow(day_label, day_row)
        self.when_label = FittedLabel("", self)
        self.when_label.setAccessibleName("Next reminder")
        form.addRow("", self.when_label)

        self.speaker_combo = QComboBox(self)
        self.speaker_combo.setAccessibleName("Speaker")
        self.speaker_combo.addItem("Not about one speaker", "")
        for key, name in speakers:
            self.speaker_combo.addItem(name, key)
        self._row(form, "&Speaker:", self.speaker_combo)
        self.label_edit = QLineEdit(self)
        self.label_edit.setPlaceholderText("optional, for example Bedroom HomePod")
        self.label_edit.setMaxLength(60)
        self._row(form, "&Label:", self.label_edit)

        self.error_label = FittedLabel("", self, role="error")
        self.error_label.setAccessibleName("Problem")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        layout.addStretch(1)  # spare height goes below the content, not between its lines
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button = QPushButton("Save chan&ges" if reminder is not None else "&Add reminder", self)
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._fill(guide_id, speaker_key)
        self.guide_combo.currentIndexChanged.connect(lambda _i: self._guide_changed())
        for radio in (self.monthly_radio, self.weekly_radio, self.custom_radio):
            radio.toggled.connect(lambda _on: self._validate())
        self.month_day_spin.valueChanged.connect(lambda _v: self._validate())
        self.weekday_combo.currentIndexChanged.connect(lambda _i: self._validate())
        self.rule_edit.textChanged.connect(lambda _t: self._validate())
        self.time_edit.timeChanged.connect(lambda _t: self._validate())
        self._guide_changed()

    def _row(self, form: QFormLayout, text: str, widget: QWidget) -> None:
        label = QLabel(text, self)
        label.setBuddy(widget)
        form.addRow(label, widget)

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock()).date()

    def _fill(self, guide_id: str | None, speaker_key: str) -> None:
        reminder = self.reminder
        if reminder is not None:
            guide_id, speaker_key = reminder.guide_id, reminder.speaker_key
            self.guide_combo.setEnabled(False)
            self.label_edit.setText(reminder.label)
            self._show_rule(reminder.recurrence.rrule, reminder.recurrence.dtstart)
        else:
            self.month_day_spin.setValue(self._today().day)
            self.weekday_combo.setCurrentIndex(self._today().weekday())
        index = self.guide_combo.findData(guide_id) if guide_id else 0
        self.guide_combo.setCurrentIndex(max(index, 0))
        index = self.speaker_combo.findData(speaker_key)
        if speaker_key and index < 0:
            self.speaker_combo.addItem(speaker_key, speaker_key)
            index = self.speaker_combo.count() - 1
        self.speaker_combo.setCurrentIndex(max(index, 0))
        self.speaker_combo.setEnabled(reminder is None)

    def _show_rule(self, rrule: str, dtstart: str) -> None:
        rule = Recurrence(rrule, dtstart).pattern()
        self.time_edit.setTime(QTime(rule.hour, rule.minute))
        if rule.kind == "monthly" and rule.day is not None and rule.day >= 1:
            self.monthly_radio.setChecked(True)
            self.month_day_spin.setValue(rule.day)
        elif rule.kind == "weekly" and len(rule.weekdays) == 1:
            self.weekly_radio.setChecked(True)
            self.weekday_combo.setCurrentIndex(rule.weekdays[0])
        else:
            self.custom_radio.setChecked(True)
            self.rule_edit.setText(rrule)

    def guide(self):
        return self.guides.get(self.guide_combo.currentData())

    def _guide_changed(self) -> None:
        guide = self.guide()
        self.scope_label.setText(guide.scope if guide is not None else "")
        if guide is not None and self.reminder is None:
            moment = self.time_edit.time()
            try:
                shape = guide.suggested_recurrence(self._today(), moment.hour(), moment.minute()).pattern()
            except ValueError:
                shape = None
            if shape is None or shape.kind == "monthly":
                self.monthly_radio.setChecked(True)
            elif shape.kind == "weekly" and len(shape.weekdays) == 1:
                self.weekly_radio.setChecked(True)
                self.weekday_combo.setCurrentIndex(shape.weekdays[0])
            else:
                self.custom_radio.setChecked(True)
                self.rule_edit.setText(guide.suggested)
        self._validate()

    def recurrence(self) -> Recurrence:
        moment = self.time_edit.time()
        today = self._today()
        if self.weekly_radio.isChecked():
            return Recurrence.weekly([self.weekday_combo.currentIndex()], moment.hour(), moment.minute(), today)
        if self.custom_radio.isChecked():
            return Recurrence.custom(self.rule_edit.text().strip(),
                                     f"{today.isoformat()}T{moment.toString('HH:mm')}:00")
        return Recurrence.monthly(self.month_day_spin.value(), moment.hour(), moment.minute(), today)

    def _validate(self) -> str:
        self.month_day_spin.setVisible(self.monthly_radio.isChecked())
        self.weekday_combo.setVisible(self.weekly_radio.isChecked())
        self.rule_edit.setVisible(self.custom_radio.isChecked())
        self._day_label.setBuddy(self.month_day_spin if self.monthly_radio.isChecked() else
                                 self.weekday_combo if self.weekly_radio.isChecked() else self.rule_edit)
        self._day_label.setText("&Rule:" if self.custom_radio.isChecked() else "&Day:")
        problem = ""
        if self.guide() is None:
            problem = "There is no guide to choose; Earmuff's portal guides could not be read (see the log)."
        else:
            try:
                recurrence = self.recurrence()
                now = dt.datetime.fromtimestamp(self._clock()).astimezone()
                upcoming = recurrence.occurrences(now, now.tzinfo, 1)
            except ValueError as error:
                problem = str(error)[:1].upper() + str(error)[1:].rstrip(".") + "."
                self.when_label.setText("")
            else:
                nexts = moment_text(upcoming[0].timestamp(), self._clock()) if upcoming else ""
                self.when_label.setText(f"{recurrence.describe()}." +
                                        (f" First reminder: {nexts}." if nexts else " This rule never happens again."))
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        self.save_button.setEnabled(not problem)
        return problem

    def save(self) -> None:
        if self._validate():
            return
        try:
            if self.reminder is None:
                reminder = self.tracker.add(self.guide_combo.currentData(), self.recurrence(),
                                            label=self.label_edit.text().strip(),
                                            speaker_key=self.speaker_combo.currentData() or "")
            else:
                reminder = self.tracker.update(self.reminder.id, recurrence=self.recurrence(),
                                               label=self.label_edit.text().strip())
        except (ValueError, KeyError) as error:
            self.error_label.setText(str(error).strip("'\""))
            self.error_label.setVisible(True)
            return
        self.saved.emit(reminder)
        self.accept()
