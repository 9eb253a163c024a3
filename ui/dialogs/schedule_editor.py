"""The mute schedules a bridge keeps for a speaker: weekly windows and one-offs, edited and saved on the bridge."""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.bridge_client import BridgeStatus, Outcome, Schedule, SpeakerState
from app.bridge_client.models import WEEKDAYS
from ui import theme
from ui.bridge_adapter import BridgeAdapter
from ui.widgets.mute_control import format_when

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALL_SPEAKERS = "*"


def describe(schedule: Schedule, speakers: dict[str, str]) -> str:
    """One line for the list: when, for whom, and whether it is off."""
    if schedule.kind == "once" and schedule.start_at is not None and schedule.end_at is not None:
        when = f"Once: {format_when(schedule.start_at)} \u2013 {format_when(schedule.end_at)}"
    else:
        when = schedule.describe()
    who = "all speakers" if schedule.speaker_id == ALL_SPEAKERS else speakers.get(schedule.speaker_id,
                                                                                    schedule.speaker_id)
    parts = [when, who]
    if schedule.label:
        parts.insert(0, schedule.label)
    if not schedule.enabled:
        parts.append("off")
    return " · ".join(parts)


class ScheduleEditor(QDialog):
    """Lists a speaker's schedules (and the bridge-wide ones) and edits one at a time.

    The bridge validates; its message is shown under the form as it is. All requests
    run on the manager's workers.

    Attributes:
        bridge_id, speaker_id: what is being edited.
        schedule_list: the schedules ("Loading…" until they arrive).
        new_weekly_button, new_once_button, delete_button: list actions.
        weekly_radio, once_radio: the kind.
        day_checks: Monday..Sunday; start_edit, end_edit: weekly times.
        once_start_edit, once_end_edit: one-off window.
        label_edit, all_speakers_check, enabled_check: the rest.
        save_button: adds or saves the form; error_label: the bridge's complaint; status_label: progress.
        schedules: the list as last loaded.
        editing_id: the schedule in the form (None: a new one).

    Signals:
        loaded(): the list was (re)loaded from the bridge.
        saved(Schedule): the bridge accepted a schedule.
    """

    loaded = Signal()
    saved = Signal(object)

    def __init__(self, adapter: BridgeAdapter, bridge: BridgeStatus, speaker: SpeakerState | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self.bridge_id = bridge.bridge_id
        self.speaker_id = speaker.speaker_id if speaker else ALL_SPEAKERS
        self._speaker_names = {s.speaker_id: s.name for s in bridge.speakers}
        self.schedules: list[Schedule] = []
        self.editing_id: int | None = None
        self._busy = False
        who = speaker.name if speaker else "every speaker"
        self.setWindowTitle(f"Schedules for {who}")
        self.setMinimumWidth(620)

        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        zone = bridge.time_zone or "the bridge's time zone"
        layout.addWidget(theme.paragraph(
            f"“{bridge.name}” mutes {who} at these times, even while this computer is off. Weekly times are in "
            f"the bridge's time zone ({zone}). A change you make by hand during a window lasts until its next "
            "start or end.", self))

        self.schedule_list = QListWidget(self)
        self.schedule_list.setAccessibleName("Schedules")
        self.schedule_list.setMinimumHeight(110)
        self.schedule_list.currentRowChanged.connect(self._row_changed)
        layout.addWidget(self.schedule_list)
        list_buttons = QHBoxLayout()
        self.new_weekly_button = QPushButton("New &weekly", self)
        self.new_weekly_button.clicked.connect(lambda: self.new_schedule("weekly"))
        self.new_once_button = QPushButton("New &one-off", self)
        self.new_once_button.clicked.connect(lambda: self.new_schedule("once"))
        self.delete_button = QPushButton("&Delete", self)
        self.delete_button.clicked.connect(self.delete_current)
        for button in (self.new_weekly_button, self.new_once_button, self.delete_button):
            list_buttons.addWidget(button)
        list_buttons.addStretch(1)
        layout.addLayout(list_buttons)

        layout.addWidget(self._build_form())

        self.status_label = theme.paragraph("", self, role="hint")
        self.status_label.setAccessibleName("Progress")
        layout.addWidget(self.status_label)
        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setAccessibleName("Error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        adapter.schedules_changed.connect(self._bridge_changed)
        self._listening = True
        self.new_schedule("weekly")
        self.reload()

    def _build_form(self) -> QGroupBox:
        self.form_box = QGroupBox("New schedule", self)
        form = QFormLayout(self.form_box)
        kinds = QHBoxLayout()
        self.weekly_radio = QRadioButton("&Every week", self.form_box)
        self.once_radio = QRadioButton("O&nce", self.form_box)
        group = QButtonGroup(self.form_box)
        group.addButton(self.weekly_radio)
        group.addButton(self.once_radio)
        self.weekly_radio.setChecked(True)
        self.weekly_radio.toggled.connect(self._kind_changed)
        kinds.addWidget(self.weekly_radio)
        kinds.addWidget(self.once_radio)
        kinds.addStretch(1)
        form.addRow("Repeat:", kinds)

        self._kind_stack = QStackedWidget(self.form_box)
        weekly = QWidget(self._kind_stack)
        weekly_layout = QVBoxLayout(weekly)
        weekly_layout.setContentsMargins(0, 0, 0, 0)
        days = QHBoxLayout()
        self.day_checks: list[QCheckBox] = []
        for index, short in enumerate(WEEKDAYS):
            check = QCheckBox(short, weekly)
            check.setAccessibleName(DAY_NAMES[index])
            self.day_checks.append(check)
            days.addWidget(check)
        days.addStretch(1)
        weekly_layout.addLayout(days)
        presets = QHBoxLayout()
        for text, chosen in (("Every day", range(7)), ("Weekdays", range(5)), ("Weekends", (5, 6))):
            button = QPushButton(text, weekly)
            button.setAccessibleName(f"Choose {text.lower()}")
            button.clicked.connect(lambda _=False, c=tuple(chosen): self._choose_days(c))
            presets.addWidget(button)
        presets.addStretch(1)
        weekly_layout.addLayout(presets)
        times = QHBoxLayout()
        self.start_edit = QTimeEdit(weekly)
        self.start_edit.setDisplayFormat("HH:mm")
        self.start_edit.setAccessibleName("Start time")
        self.end_edit = QTimeEdit(weekly)
        self.end_edit.setDisplayFormat("HH:mm")
        self.end_edit.setAccessibleName("End time")
        start_label = QLabel("&From", weekly)
        start_label.setBuddy(self.start_edit)
        end_label = QLabel("&until", weekly)
        end_label.setBuddy(self.end_edit)
        for widget in (start_label, self.start_edit, end_label, self.end_edit):
            times.addWidget(widget)
        self.overnight_label = theme.paragraph("", weekly, role="hint")
        times.addWidget(self.overnight_label, 1)
        self.start_edit.timeChanged.connect(self._times_changed)
        self.end_edit.timeChanged.connect(self._times_changed)
        weekly_layout.addLayout(times)
        self._kind_stack.addWidget(weekly)

        once = QWidget(self._kind_stack)
        once_layout = QHBoxLayout(once)
        once_layout.setContentsMargins(0, 0, 0, 0)
        self.once_start_edit = QDateTimeEdit(once)
        self.once_end_edit = QDateTimeEdit(once)
        for edit, name in ((self.once_start_edit, "Start"), (self.once_end_edit, "End")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setAccessibleName(f"{name} date and time")
        start_label = QLabel("Fro&m", once)
        start_label.setBuddy(self.once_start_edit)
        end_label = QLabel("un&til", once)
        end_label.setBuddy(self.once_end_edit)
        for widget in (start_label, self.once_start_edit, end_label, self.once_end_edit):
            once_layout.addWidget(widget)
        once_layout.addStretch(1)
        self._kind_stack.addWidget(once)
        form.addRow("When:", self._kind_stack)

        self.label_edit = QLineEdit(self.form_box)
        self.label_edit.setPlaceholderText("optional, for example Night")
        self.label_edit.setAccessibleName("Label")
        self.label_edit.setMaxLength(60)
        form.addRow("&Label:", self.label_edit)
        self.all_speakers_check = QCheckBox("For all speakers of this bridge", self.form_box)
        self.all_speakers_check.setEnabled(self.speaker_id != ALL_SPEAKERS)
        form.addRow("", self.all_speakers_check)
        self.enabled_check = QCheckBox("In force", self.form_box)
        form.addRow("", self.enabled_check)
        self.save_button = QPushButton("&Add schedule", self.form_box)
        self.save_button.setAutoDefault(False)
        self.save_button.clicked.connect(self.save)
        form.addRow("", self.save_button)
        return self.form_box

    # -- loading ------------------------------------------------------------------------------------
    def reload(self) -> None:
        self._set_busy("Loading schedules…")
        self._adapter.call("schedules", self.bridge_id, on_done=self._loaded)

    def _loaded(self, outcome: Outcome) -> None:
        self._set_busy(None)
        if not outcome.ok:
            self._show_error(outcome.message)
            return
        self.schedules = [s for s in outcome.value if self.speaker_id == ALL_SPEAKERS
                          or s.speaker_id in (self.speaker_id, ALL_SPEAKERS)]
        keep = self.editing_id
        self.schedule_list.blockSignals(True)
        self.schedule_list.clear()
        for schedule in self.schedules:
            item = QListWidgetItem(describe(schedule, self._speaker_names))
            item.setData(Qt.ItemDataRole.UserRole, schedule.id)
            self.schedule_list.addItem(item)
        if not self.schedules:
            placeholder = QListWidgetItem("No schedules yet: make one below.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.schedule_list.addItem(placeholder)
        self.schedule_list.blockSignals(False)
        if keep is not None:
            self._select(keep)
        self._update_buttons()
        self.loaded.emit()

    def _bridge_changed(self, bridge_id: str) -> None:
        if bridge_id == self.bridge_id and not self._busy and self.isVisible():
            self.reload()

    def _select(self, schedule_id: int) -> None:
        for row in range(self.schedule_list.count()):
            if self.schedule_list.item(row).data(Qt.ItemDataRole.UserRole) == schedule_id:
                self.schedule_list.setCurrentRow(row)
                return

    def _row_changed(self, row: int) -> None:
        item = self.schedule_list.item(row) if row >= 0 else None
        schedule_id = item.data(Qt.ItemDataRole.UserRole) if item else None
        schedule = next((s for s in self.schedules if s.id == schedule_id), None)
        if schedule is not None:
            self._load_form(schedule)
        self._update_buttons()

    # -- the form ------------------------------------------------------------------------------------
    def new_schedule(self, kind: str = "weekly") -> None:
        """Clear the form for a new schedule: weekly 22:00-07:00 every day, or once for the next hour."""
        now = time.time()
        self._load_form(Schedule(
            id=0, speaker_id=self.speaker_id, kind=kind, days=tuple(range(7)), start="22:00", end="07:00",
            start_at=now, end_at=now + 3600, enabled=True))
        self.editing_id = None
        self.schedule_list.setCurrentRow(-1)
        self.form_box.setTitle("New schedule")
        self.save_button.setText("&Add schedule")
        self._update_buttons()

    def _load_form(self, schedule: Schedule) -> None:
        self.editing_id = schedule.id or None
        self.form_box.setTitle("Edit schedule" if self.editing_id else "New schedule")
        self.save_button.setText("&Save changes" if self.editing_id else "&Add schedule")
        (self.once_radio if schedule.kind == "once" else self.weekly_radio).setChecked(True)
        for index, check in enumerate(self.day_checks):
            check.setChecked(index in schedule.days)
        self.start_edit.setTime(QTime.fromString(schedule.start or "22:00", "HH:mm"))
        self.end_edit.setTime(QTime.fromString(schedule.end or "07:00", "HH:mm"))
        now = time.time()
        self.once_start_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(schedule.start_at or now)))
        self.once_end_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(schedule.end_at or now + 3600)))
        self.label_edit.setText(schedule.label)
        self.all_speakers_check.setChecked(schedule.speaker_id == ALL_SPEAKERS)
        self.enabled_check.setChecked(schedule.enabled)
        self.error_label.setVisible(False)
        self._kind_changed()
        self._times_changed()

    def _choose_days(self, days: tuple[int, ...]) -> None:
        for index, check in enumerate(self.day_checks):
            check.setChecked(index in days)

    def _kind_changed(self) -> None:
        self._kind_stack.setCurrentIndex(0 if self.weekly_radio.isChecked() else 1)

    def _times_changed(self) -> None:
        start, end = self.start_edit.time(), self.end_edit.time()
        self.overnight_label.setText("ends the next day" if end < start else "")

    def fields(self) -> dict:
        """The form as the API's schedule fields (no checks: the bridge decides and explains)."""
        speaker = ALL_SPEAKERS if self.all_speakers_check.isChecked() else self.speaker_id
        common = {"speaker_id": speaker, "label": self.label_edit.text().strip(),
                  "enabled": self.enabled_check.isChecked()}
        if self.weekly_radio.isChecked():
            return {**common, "kind": "weekly",
                    "days": [i for i, check in enumerate(self.day_checks) if check.isChecked()],
                    "start": self.start_edit.time().toString("HH:mm"),
                    "end": self.end_edit.time().toString("HH:mm"),
                    "start_at": None, "end_at": None}
        return {**common, "kind": "once", "days": [], "start": "", "end": "",
                "start_at": float(self.once_start_edit.dateTime().toSecsSinceEpoch()),
                "end_at": float(self.once_end_edit.dateTime().toSecsSinceEpoch())}

    # -- saving --------------------------------------------------------------------------------------
    def save(self) -> None:
        if self._busy:
            return
        self._set_busy("Saving…")
        self._adapter.call("save_schedule", self.bridge_id, self.fields(), schedule_id=self.editing_id,
                           on_done=self._saved)

    def _saved(self, outcome: Outcome) -> None:
        self._set_busy(None)
        if not outcome.ok:
            self._show_error(outcome.message)
            return
        schedule: Schedule = outcome.value
        self.editing_id = schedule.id
        self.status_label.setText("Saved on the bridge.")
        self.saved.emit(schedule)
        self.reload()

    def delete_current(self) -> None:
        if self._busy or self.editing_id is None:
            return
        self._set_busy("Deleting…")
        self._adapter.call("delete_schedule", self.bridge_id, self.editing_id, on_done=self._deleted)

    def _deleted(self, outcome: Outcome) -> None:
        self._set_busy(None)
        if not outcome.ok:
            self._show_error(outcome.message)
            return
        self.new_schedule(self._current_kind())
        self.status_label.setText("Deleted.")
        self.reload()

    def _current_kind(self) -> str:
        return "weekly" if self.weekly_radio.isChecked() else "once"

    # -- state ------------------------------------------------------------------------------------------
    def _set_busy(self, text: str | None) -> None:
        self._busy = text is not None
        if text is not None:
            self.status_label.setText(text)
            self.error_label.setVisible(False)
        elif self.status_label.text().endswith("…"):
            self.status_label.setText("")
        self._update_buttons()

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(True)

    def _update_buttons(self) -> None:
        self.save_button.setEnabled(not self._busy)
        self.delete_button.setEnabled(not self._busy and self.editing_id is not None)

    def done(self, result: int) -> None:
        if self._listening:
            self._listening = False
            self._adapter.schedules_changed.disconnect(self._bridge_changed)
        super().done(result)
