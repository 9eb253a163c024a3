"""Add or edit a scheduled voice deletion: which speaker, which words, when; saved on the speaker's bridge."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from PySide6.QtCore import QDateTime, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.bridge_client import Outcome, RequestRejected
from app.deletions.voice import (
    DEFAULT_PHRASE,
    MAX_PHRASE,
    PREREQUISITE_SETTING,
    VOICE_PHRASES,
    WEEKDAY_NAMES,
    DeletionCapabilities,
    Recurrence,
    prerequisite_for,
)
from ui import theme
from ui.deletions.fitted_label import FittedLabel
from ui.deletions.speakers import ASSISTANTS, FROM_ACCOUNT, FROM_NAME, VENDOR_NAMES, BridgeSpeaker, speaker_label
from ui.deletions.timefmt import moment_text

DEFAULT_TIME = QTime(23, 55)
SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class VoiceScheduleDialog(QDialog):
    """The form for one voice deletion schedule. Not modal: the user may look up the opt-out it needs meanwhile.

    The dialog checks what it can (the rule, the phrase) and the bridge decides; either complaint is shown under
    the form and nothing typed is lost. While the bridge saves, the form is disabled and the button says so.

    Attributes:
        schedule: the schedule edited (None: a new one).
        speaker_combo, assistant_combo, assistant_hint: who; phrase_combo (editable): the words.
        tts_radio, recording_radio, recording_combo, capability_label: how the bridge says them.
        daily_radio, weekly_radio, custom_radio, day_checks, time_edit, rule_edit, start_edit: when.
        when_label: the rule in words and its next runs; label_edit, enabled_check.
        prerequisite_frame, prerequisite_label, optout_button: the vendor setting the command needs.
        save_button, error_label, status_label.
        capabilities: bridge id -> what the bridge said it can play (DeletionCapabilities), once asked;
            capability_problems: bridge id -> why it did not say.

    Signals:
        saved(object): the VoiceSchedule the bridge stored.
        optout_requested(str vendor_id, str speaker_key): show the opt-out the command needs.
    """

    saved = Signal(object)
    optout_requested = Signal(str, str)

    def __init__(self, adapter, speakers: list[BridgeSpeaker], optouts=None, *, schedule=None,
                 speaker_key: str | None = None, vendor: str | None = None, phrase: str | None = None,
                 clock: Callable[[], float] = time.time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapter = adapter
        self._optouts = optouts
        self._clock = clock
        self.schedule = schedule
        self.speakers = list(speakers)
        self.capabilities: dict[str, DeletionCapabilities] = {}
        self.capability_problems: dict[str, str] = {}
        self._asked: set[str] = set()
        self._busy = False
        self.setWindowTitle("Edit the voice deletion" if schedule is not None else "Schedule a voice deletion")
        self.setMinimumWidth(600)

        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(FittedLabel(
            "At the times you choose, the bridge lifts the speaker's mute, says the words through its loudspeaker, "
            "watches the speaker send the command to its company, and mutes it again.", self, role="hint"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        layout.addLayout(form)

        self.speaker_combo = QComboBox(self)
        self.speaker_combo.setAccessibleName("Speaker")
        several = len({s.bridge_id for s in self.speakers}) > 1
        for speaker in self.speakers:
            self.speaker_combo.addItem(speaker_label(speaker, several), speaker.key)
        self._row(form, "&Speaker:", self.speaker_combo)

        assistant_row = QHBoxLayout()
        self.assistant_combo = QComboBox(self)
        self.assistant_combo.setAccessibleName("Assistant")
        for vendor_id, title in ASSISTANTS.items():
            self.assistant_combo.addItem(title, vendor_id)
        assistant_row.addWidget(self.assistant_combo)
        self.assistant_hint = FittedLabel("", self, role="hint")
        assistant_row.addWidget(self.assistant_hint, 1)
        self._row(form, "Ass&istant:", self.assistant_combo, assistant_row)

        self.phrase_combo = QComboBox(self)
        self.phrase_combo.setEditable(True)
        self.phrase_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.phrase_combo.setAccessibleName("Words to say")
        self.phrase_combo.lineEdit().setMaxLength(MAX_PHRASE + 50)  # longer text gets a plain complaint
        self.phrase_combo.setToolTip("Pick a command or type your own words (up to 200 characters)")
        self._row(form, "&Phrase:", self.phrase_combo)

        audio = QVBoxLayout()
        audio.setSpacing(2)
        self.tts_radio = QRadioButton("The bridge's &voice (speech synthesis)", self)
        self.recording_radio = QRadioButton("A &recording on the bridge:", self)
        self.recording_combo = QComboBox(self)
        self.recording_combo.setAccessibleName("Recording")
        audio_group = QButtonGroup(self)
        audio_group.addButton(self.tts_radio)
        audio_group.addButton(self.recording_radio)
        self.tts_radio.setChecked(True)
        audio.addWidget(self.tts_radio)
        recording_row = QHBoxLayout()
        recording_row.addWidget(self.recording_radio)
        recording_row.addWidget(self.recording_combo, 1)
        audio.addLayout(recording_row)
        self.capability_label = FittedLabel("", self, role="hint")
        self.capability_label.setAccessibleName("What the bridge can play")
        audio.addWidget(self.capability_label)
        form.addRow("Spoken by:", audio)

        form.addRow("Repeat:", self._build_when())
        self.when_label = FittedLabel("", self)
        self.when_label.setAccessibleName("When it runs")
        form.addRow("", self.when_label)

        self.label_edit = QLineEdit(self)
        self.label_edit.setPlaceholderText("optional, for example Every night")
        self.label_edit.setMaxLength(60)
        self._row(form, "&Label:", self.label_edit)
        self.enabled_check = QCheckBox("In &force (untick to pause it)", self)
        self.enabled_check.setChecked(True)
        form.addRow("", self.enabled_check)

        self.prerequisite_frame = QFrame(self)
        self.prerequisite_frame.setProperty("role", "card")
        prerequisite_row = QHBoxLayout(self.prerequisite_frame)
        prerequisite_row.setContentsMargins(10, 8, 10, 8)
        self.prerequisite_label = FittedLabel("", self.prerequisite_frame)
        self.prerequisite_label.setAccessibleName("Setting the command needs")
        prerequisite_row.addWidget(self.prerequisite_label, 1)
        self.optout_button = QPushButton("Open this &opt-out", self.prerequisite_frame)
        self.optout_button.setAutoDefault(False)
        self.optout_button.clicked.connect(self._open_optout)
        prerequisite_row.addWidget(self.optout_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.prerequisite_frame)

        self.status_label = FittedLabel("", self, role="hint")
        self.status_label.setAccessibleName("Progress")
        self.status_label.setVisible(False)
        layout.addWidget(self.status_label)
        self.error_label = FittedLabel("", self, role="error")
        self.error_label.setAccessibleName("Problem")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)

        layout.addStretch(1)  # spare height goes below the content, not between its lines
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.save_button = QPushButton("Save chan&ges" if schedule is not None else "&Add schedule", self)
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._fill(speaker_key, vendor, phrase)
        self.speaker_combo.currentIndexChanged.connect(self._speaker_changed)
        self.assistant_combo.currentIndexChanged.connect(self._assistant_changed)
        self.phrase_combo.editTextChanged.connect(lambda _text: self._validate())
        self.recording_radio.toggled.connect(lambda _on: self._audio_changed())
        self.recording_combo.currentIndexChanged.connect(lambda _i: self._validate())
        for radio in (self.daily_radio, self.weekly_radio, self.custom_radio):
            radio.toggled.connect(self._kind_changed)
        for check in self.day_checks:
            check.toggled.connect(lambda _on: self._validate())
        self.time_edit.timeChanged.connect(lambda _t: self._validate())
        self.rule_edit.textChanged.connect(lambda _t: self._validate())
        self.start_edit.dateTimeChanged.connect(lambda _d: self._validate())
        if optouts is not None:
            optouts.add_listener(self._optouts_changed)
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
        self._listening = True
        self._speaker_changed(keep_phrase=True)

    # -- building -------------------------------------------------------------------------------------
    def _row(self, form: QFormLayout, text: str, buddy: QWidget, field=None) -> None:
        label = QLabel(text, self)
        label.setBuddy(buddy)
        form.addRow(label, field if field is not None else buddy)

    def _build_when(self) -> QWidget:
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        kinds = QHBoxLayout()
        self.daily_radio = QRadioButton("Every &day", box)
        self.weekly_radio = QRadioButton("On some &weekdays", box)
        self.custom_radio = QRadioButton("&Custom rule", box)
        group = QButtonGroup(box)
        for radio in (self.daily_radio, self.weekly_radio, self.custom_radio):
            group.addButton(radio)
            kinds.addWidget(radio)
        kinds.addStretch(1)
        self.daily_radio.setChecked(True)
        column.addLayout(kinds)

        self._kind_stack = QStackedWidget(box)
        simple = QWidget(self._kind_stack)
        simple_column = QVBoxLayout(simple)
        simple_column.setContentsMargins(0, 0, 0, 0)
        self._days_row = QWidget(simple)
        days = QHBoxLayout(self._days_row)
        days.setContentsMargins(0, 0, 0, 0)
        self.day_checks: list[QCheckBox] = []
        for index, short in enumerate(SHORT_DAYS):
            check = QCheckBox(short, self._days_row)
            check.setAccessibleName(WEEKDAY_NAMES[index])
            self.day_checks.append(check)
            days.addWidget(check)
        days.addStretch(1)
        simple_column.addWidget(self._days_row)
        time_row = QHBoxLayout()
        self.time_edit = QTimeEdit(DEFAULT_TIME, simple)
        self.time_edit.setDisplayFormat("HH:mm")
        self.time_edit.setAccessibleName("Time of day")
        time_label = QLabel("A&t", simple)
        time_label.setBuddy(self.time_edit)
        time_row.addWidget(time_label)
        time_row.addWidget(self.time_edit)
        self.zone_label = FittedLabel("", simple, role="hint")
        time_row.addWidget(self.zone_label, 1)
        simple_column.addLayout(time_row)
        self._kind_stack.addWidget(simple)

        custom = QWidget(self._kind_stack)
        custom_form = QFormLayout(custom)
        custom_form.setContentsMargins(0, 0, 0, 0)
        self.rule_edit = QLineEdit(custom)
        self.rule_edit.setPlaceholderText("for example FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=22;BYMINUTE=0")
        self.rule_edit.setAccessibleName("Repeat rule (RFC 5545 RRULE)")
        rule_label = QLabel("R&ule:", custom)
        rule_label.setBuddy(self.rule_edit)
        custom_form.addRow(rule_label, self.rule_edit)
        self.start_edit = QDateTimeEdit(custom)
        self.start_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.start_edit.setCalendarPopup(True)
        self.start_edit.setAccessibleName("First run from")
        start_label = QLabel("Fro&m:", custom)
        start_label.setBuddy(self.start_edit)
        custom_form.addRow(start_label, self.start_edit)
        self._kind_stack.addWidget(custom)
        column.addWidget(self._kind_stack)
        return box

    def _fill(self, speaker_key: str | None, vendor: str | None, phrase: str | None) -> None:
        schedule = self.schedule
        if schedule is not None:
            speaker_key = f"bridge:{schedule.bridge_id}/{schedule.speaker_id}"
            vendor, phrase = schedule.vendor, schedule.phrase
            if self.speaker_combo.findData(speaker_key) < 0:  # the bridge no longer lists it
                self.speakers.append(BridgeSpeaker(schedule.bridge_id, schedule.speaker_id, schedule.speaker_id,
                                                   "", False, vendor=vendor))
                self.speaker_combo.addItem(schedule.speaker_id, speaker_key)
            self.speaker_combo.setEnabled(False)
            self.assistant_combo.setEnabled(False)
            self.label_edit.setText(schedule.label)
            self.enabled_check.setChecked(schedule.enabled)
            rule = schedule.recurrence.pattern()
            self.time_edit.setTime(QTime(rule.hour, rule.minute))
            if rule.kind == "daily" or (rule.kind == "weekly" and len(rule.weekdays) == 7):
                self.daily_radio.setChecked(True)
                self._choose_days(range(7))
            elif rule.kind == "weekly":
                self.weekly_radio.setChecked(True)
                for index, check in enumerate(self.day_checks):
                    check.setChecked(index in rule.weekdays)
            else:
                self.custom_radio.setChecked(True)
                self.rule_edit.setText(schedule.rrule)
                self.start_edit.setDateTime(QDateTime.fromString(schedule.dtstart[:16], "yyyy-MM-ddTHH:mm"))
            if schedule.audio == "recording":
                self.recording_radio.setChecked(True)
        else:
            self.start_edit.setDateTime(QDateTime.currentDateTime().addSecs(3600))
        index = self.speaker_combo.findData(speaker_key) if speaker_key else -1
        if index < 0:  # first an assistant speaker
            index = next((i for i, s in enumerate(self.speakers) if s.speaks_to_assistant), 0)
        self.speaker_combo.setCurrentIndex(index)
        speaker = self.speaker()
        chosen = vendor if vendor in ASSISTANTS else (speaker.vendor if speaker is not None else None)
        if chosen in ASSISTANTS:
            self.assistant_combo.setCurrentIndex(self.assistant_combo.findData(chosen))
        self._fill_phrases(phrase)
        if self.schedule is None:
            self._choose_days(range(7))
        self._kind_changed()

    # -- state of the form ---------------------------------------------------------------------------------
    def speaker(self) -> BridgeSpeaker | None:
        key = self.speaker_combo.currentData()
        return next((s for s in self.speakers if s.key == key), None)

    def vendor(self) -> str:
        return self.assistant_combo.currentData() or "amazon"

    def phrase(self) -> str:
        return " ".join(self.phrase_combo.currentText().split())

    def _fill_phrases(self, phrase: str | None) -> None:
        vendor = self.vendor()
        phrases = list(VOICE_PHRASES.get(vendor, ()))
        bridge = self.speaker()
        known = self.capabilities.get(bridge.bridge_id) if bridge is not None else None
        for extra in known.phrases.get(vendor, ()) if known is not None else ():
            if extra not in phrases:
                phrases.append(extra)
        self.phrase_combo.blockSignals(True)
        self.phrase_combo.clear()
        self.phrase_combo.addItems(phrases)
        self.phrase_combo.setEditText(phrase if phrase else DEFAULT_PHRASE.get(vendor, phrases[0] if phrases else ""))
        self.phrase_combo.blockSignals(False)

    def _choose_days(self, days) -> None:
        chosen = set(days)
        for index, check in enumerate(self.day_checks):
            check.setChecked(index in chosen)

    def _speaker_changed(self, _index: int = 0, *, keep_phrase: bool = False) -> None:
        speaker = self.speaker()
        if speaker is not None and self.schedule is None and speaker.vendor in ASSISTANTS:
            self.assistant_combo.blockSignals(True)
            self.assistant_combo.setCurrentIndex(self.assistant_combo.findData(speaker.vendor))
            self.assistant_combo.blockSignals(False)
            if not keep_phrase:
                self._fill_phrases(None)
        self._explain_assistant()
        self._ask_capabilities()
        self._validate()

    def _assistant_changed(self) -> None:
        self._fill_phrases(None)
        self._explain_assistant()
        self._validate()

    def _explain_assistant(self) -> None:
        speaker = self.speaker()
        if speaker is None:
            self.assistant_hint.setText("")
        elif speaker.vendor_from == FROM_ACCOUNT and speaker.vendor in ASSISTANTS:
            self.assistant_hint.setText(f"from the {VENDOR_NAMES[speaker.vendor]} account it is linked to")
        elif speaker.vendor_from == FROM_NAME and speaker.vendor in ASSISTANTS:
            self.assistant_hint.setText("guessed from its name")
        elif speaker.vendor and speaker.vendor not in ASSISTANTS:
            self.assistant_hint.setText(f"it is linked to {VENDOR_NAMES.get(speaker.vendor, speaker.vendor)}, "
                                        "which takes no delete command by voice")
        else:
            self.assistant_hint.setText("Earmuff does not know: choose the one it answers to")

    def _kind_changed(self, *_args) -> None:
        current = 1 if self.custom_radio.isChecked() else 0
        self._kind_stack.setCurrentIndex(current)
        for index in range(self._kind_stack.count()):  # the stack takes the height of the page shown only
            policy = QSizePolicy.Policy.Preferred if index == current else QSizePolicy.Policy.Ignored
            self._kind_stack.widget(index).setSizePolicy(QSizePolicy.Policy.Preferred, policy)
        self._kind_stack.adjustSize()
        self._days_row.setVisible(self.weekly_radio.isChecked())
        if self.custom_radio.isChecked() and not self.rule_edit.text():
            try:
                simple = self._simple_recurrence()
            except ValueError:
                simple = Recurrence.daily(self.time_edit.time().hour(), self.time_edit.time().minute(),
                                          self._start_day())
            self.rule_edit.setText(simple.rrule)
            self.start_edit.setDateTime(QDateTime.fromString(simple.dtstart[:16], "yyyy-MM-ddTHH:mm"))
        self._validate()

    def _audio_changed(self) -> None:
        self.recording_combo.setEnabled(self.recording_radio.isChecked())
        self._explain_capabilities()
        self._validate()

    # -- what the bridge can do -------------------------------------------------------------------------------
    def _ask_capabilities(self) -> None:
        speaker = self.speaker()
        if speaker is None or self._adapter is None:
            self._explain_capabilities()
            return
        bridge_id = speaker.bridge_id
        if bridge_id not in self._asked and speaker.online:
            self._asked.add(bridge_id)
            self.capability_label.setText("Asking the bridge what it can play\u2026")
            self._adapter.call("deletion_capabilities", bridge_id,
                               on_done=lambda outcome: self._capabilities(bridge_id, outcome))
        self._explain_capabilities()

    def _capabilities(self, bridge_id: str, outcome: Outcome) -> None:
        if not outcome.ok:
            self._asked.discard(bridge_id)
            self.capability_problems[bridge_id] = outcome.message
        else:
            self.capability_problems.pop(bridge_id, None)
            self.capabilities[bridge_id] = outcome.value
            speaker = self.speaker()
            if speaker is not None and speaker.bridge_id == bridge_id:
                current = self.phrase()
                self._fill_phrases(current)
        self._explain_capabilities()
        self._validate()

    def _explain_capabilities(self) -> None:
        speaker = self.speaker()
        known = self.capabilities.get(speaker.bridge_id) if speaker is not None else None
        problem = self.capability_problems.get(speaker.bridge_id) if speaker is not None else None
        recordings = list(known.recordings) if known is not None else []
        chosen = self.recording_combo.currentText()
        self.recording_combo.blockSignals(True)
        self.recording_combo.clear()
        self.recording_combo.addItems(recordings)
        if self.schedule is not None and self.schedule.recording and self.schedule.recording not in recordings:
            self.recording_combo.addItem(self.schedule.recording)
        if chosen:
            self.recording_combo.setCurrentText(chosen)
        elif self.schedule is not None and self.schedule.recording:
            self.recording_combo.setCurrentText(self.schedule.recording)
        self.recording_combo.blockSignals(False)
        has_recordings = self.recording_combo.count() > 0
        self.recording_radio.setEnabled(has_recordings or self.recording_radio.isChecked())
        self.recording_radio.setText("A &recording on the bridge:" if has_recordings else
                                     "A recording of your own voice (none on the bridge yet)")
        self.recording_combo.setVisible(has_recordings)
        self.recording_combo.setEnabled(self.recording_radio.isChecked() and has_recordings)
        self.recording_radio.setToolTip("" if has_recordings else
                                        "To use your own voice, copy a WAV file of you saying the command into "
                                        "the bridge's phrases folder.")
        if speaker is None:
            text, role = "", "hint"
        elif not speaker.online:
            text, role = f"\u201c{speaker.bridge_name}\u201d is offline, so Earmuff cannot ask what it can play.", \
                "hint"
        elif problem is not None:
            text, role = f"The bridge did not say what it can play: {problem}", "error"
        elif known is None:
            text, role = "Asking the bridge what it can play\u2026", "hint"
        else:
            problems = []
            if self.tts_radio.isChecked() and not known.tts:
                problems.append(f"it cannot speak the words ({known.tts_detail or 'no speech synthesis'})")
            if not known.player:
                problems.append(f"it has no sound output ({known.player_detail or 'none found'})")
            if problems:
                text, role = ("The bridge would skip this for now: " + "; ".join(problems) + ".", "error")
            else:
                text, role = ("The bridge can say it" + (f" (sound output: {known.player_detail})"
                                                          if known.player_detail else "") + ".", "hint")
        self.capability_label.setText(text)
        self.capability_label.set_role(role)

    def _bridge_updated(self, status) -> None:
        changed = False
        for index, speaker in enumerate(self.speakers):
            if speaker.bridge_id == status.bridge_id and speaker.online != status.online:
                self.speakers[index] = type(speaker)(**{**speaker.__dict__, "online": status.online})
                several = len({s.bridge_id for s in self.speakers}) > 1
                self.speaker_combo.setItemText(index, speaker_label(self.speakers[index], several))
                changed = True
        if changed:
            self._ask_capabilities()
            self._validate()

    # -- the prerequisite -------------------------------------------------------------------------------------
    def prerequisite(self) -> dict | None:
        speaker = self.speaker()
        if self._optouts is None or speaker is None:
            return None
        return prerequisite_for(self._optouts, speaker.key, self.vendor())

    def _optouts_changed(self) -> None:
        try:
            self._validate()
        except RuntimeError:  # closed meanwhile
            self._stop_listening()

    def _show_prerequisite(self) -> None:
        vendor = self.vendor()
        needed = PREREQUISITE_SETTING.get(vendor)
        prerequisite = self.prerequisite() if needed else None
        self.prerequisite_frame.setVisible(needed is not None)
        if needed is None:
            return
        name = (prerequisite or {}).get("name") or "Enable deletion by voice"
        company = VENDOR_NAMES.get(vendor, vendor)
        if prerequisite is not None and prerequisite.get("enabled"):
            when = prerequisite.get("recorded_at")
            since = f" on {dt.datetime.fromtimestamp(when):%d %b %Y}" if when else ""
            self.prerequisite_label.setText(
                f"\u2713 {company} only deletes by voice with \u201c{name}\u201d on. You recorded it as On{since}.")
            self.optout_button.setText("Open this &opt-out")
        else:
            has_account = self._optouts is not None and any(a.vendor == vendor for a in self._optouts.accounts())
            self.prerequisite_label.setText(
                f"{company} only deletes by voice with \u201c{name}\u201d on, and Earmuff has not recorded it as "
                "On. Until you turn it on and tick it off on the Opt-outs page, the bridge skips these runs "
                "and leaves the mute alone.")
            self.optout_button.setText("Open this &opt-out" if has_account else f"Add your {company} acc&ount\u2026")

    def _open_optout(self) -> None:
        speaker = self.speaker()
        self.optout_requested.emit(self.vendor(), speaker.key if speaker is not None else "")

    # -- checking and saving ---------------------------------------------------------------------------------
    def _zone(self):
        speaker = self.speaker()
        return speaker.zone if speaker is not None else None

    def _start_day(self) -> dt.date:
        zone = self._zone()
        now = dt.datetime.fromtimestamp(self._clock(), zone) if zone else dt.datetime.fromtimestamp(self._clock())
        return now.date()

    def _simple_recurrence(self) -> Recurrence:
        moment = self.time_edit.time()
        if self.weekly_radio.isChecked():
            days = [i for i, check in enumerate(self.day_checks) if check.isChecked()]
            if not days:
                raise ValueError("choose at least one day of the week")
            if len(days) < 7:
                return Recurrence.weekly(days, moment.hour(), moment.minute(), self._start_day())
        return Recurrence.daily(moment.hour(), moment.minute(), self._start_day())

    def recurrence(self) -> Recurrence:
        """The rule the form describes; ValueError in plain words when it cannot be one."""
        if self.custom_radio.isChecked():
            start = self.start_edit.dateTime().toString("yyyy-MM-ddTHH:mm:00")
            return Recurrence.custom(self.rule_edit.text().strip(), start)
        return self._simple_recurrence()

    def _problem(self) -> str:
        """What stops saving, in plain words ("" when nothing does)."""
        speaker = self.speaker()
        if speaker is None:
            return "There is no bridge speaker to choose. Pair a bridge on the Bridges page first."
        phrase = self.phrase()
        if not phrase and not self.recording_radio.isChecked():
            return "Type the words the bridge should say."
        if len(phrase) > MAX_PHRASE:
            return f"The words are {len(phrase)} characters long; keep them to {MAX_PHRASE}."
        if self.recording_radio.isChecked() and not self.recording_combo.currentText():
            return "Choose the recording to play, or let the bridge's voice say the words."
        try:
            self.recurrence()
        except ValueError as error:
            return str(error)[:1].upper() + str(error)[1:].rstrip(".") + "."
        if not speaker.online:
            return (f"\u201c{speaker.bridge_name or 'Its bridge'}\u201d is offline. Voice deletions are kept on the "
                    "bridge, so it must be reachable to save this; nothing you typed is lost meanwhile.")
        return ""

    def _validate(self) -> None:
        self._show_prerequisite()
        problem = self._problem()
        speaker = self.speaker()
        zone = self._zone()
        try:
            recurrence = self.recurrence()
        except ValueError:
            recurrence = None
        if recurrence is not None:
            after = dt.datetime.fromtimestamp(self._clock(), zone) if zone else \
                dt.datetime.fromtimestamp(self._clock()).astimezone()
            try:
                upcoming = recurrence.occurrences(after, zone or after.tzinfo, 3)
            except (ValueError, TypeError):
                upcoming = []
            now = self._clock()
            nexts = ", ".join(moment_text(moment.timestamp(), now) for moment in upcoming)
            self.when_label.setText(f"{recurrence.describe()}." + (f" Next: {nexts}." if nexts else
                                                                   " This rule never happens again."))
        else:
            self.when_label.setText("")
        if speaker is not None and speaker.time_zone:
            differs = zone is not None and \
                dt.datetime.now(zone).utcoffset() != dt.datetime.now().astimezone().utcoffset()
            self.zone_label.setText(f"bridge time ({speaker.time_zone})" if differs else "")
        self._explain_capabilities()
        if not self._busy:
            self.error_label.setText(problem)
            self.error_label.setVisible(bool(problem))
            self.save_button.setEnabled(not problem)
            self.save_button.setToolTip(problem)

    def fields(self) -> dict:
        """The form as the bridge's schedule fields (for an edit: only what may change)."""
        recurrence = self.recurrence()
        recording = self.recording_radio.isChecked()
        fields = {
            "phrase": self.phrase(),
            "audio": "recording" if recording else "tts",
            "recording": self.recording_combo.currentText() if recording else None,
            "rrule": recurrence.rrule,
            "dtstart": recurrence.dtstart,
            "prerequisite": self.prerequisite(),
            "enabled": self.enabled_check.isChecked(),
            "label": self.label_edit.text().strip(),
        }
        if self.schedule is None:
            speaker = self.speaker()
            fields = {"speaker_id": speaker.speaker_id, "vendor": self.vendor(), **fields}
        return fields

    def save(self) -> None:
        if self._busy:
            return
        problem = self._problem()
        if problem:
            self.error_label.setText(problem)
            self.error_label.setVisible(True)
            return
        speaker = self.speaker()
        self._set_busy(True)
        self._adapter.call("save_deletion_schedule", speaker.bridge_id, self.fields(),
                           schedule_id=self.schedule.id if self.schedule is not None else None,
                           on_done=self._saved)

    def _saved(self, outcome: Outcome) -> None:
        self._set_busy(False)
        if not outcome.ok:
            self.status_label.setText("")
            if isinstance(outcome.error, RequestRejected):
                text = f"The bridge did not accept it: {outcome.message}"
            else:
                text = f"Not saved: {outcome.message} Nothing you typed is lost; save again when the bridge is back."
            problem = self._problem()  # the bridge may be known to be offline by now
            self.error_label.setText(f"{text}\n{problem}" if problem else text)
            self.error_label.setVisible(True)
            return
        self.saved.emit(outcome.value)
        self.accept()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (self.speaker_combo, self.assistant_combo):
            widget.setEnabled(not busy and self.schedule is None)
        for widget in (self.phrase_combo, self.tts_radio, self.recording_radio, self.daily_radio, self.weekly_radio,
                       self.custom_radio, self._kind_stack, self.label_edit, self.enabled_check, self.optout_button):
            widget.setEnabled(not busy)
        self.save_button.setEnabled(not busy)
        self.save_button.setText("Saving\u2026" if busy else
                                 "Save chan&ges" if self.schedule is not None else "&Add schedule")
        self.status_label.setText("Saving on the bridge\u2026" if busy else "")
        self.status_label.setVisible(busy)
        if busy:
            self.error_label.setVisible(False)
        else:
            self._audio_changed()

    # -- closing --------------------------------------------------------------------------------------------------
    def _stop_listening(self) -> None:
        if self._listening:
            self._listening = False
            if self._optouts is not None:
                self._optouts.remove_listener(self._optouts_changed)
            if self._adapter is not None:
                try:
                    self._adapter.bridge_updated.disconnect(self._bridge_updated)
                except (RuntimeError, TypeError):
                    pass

    def done(self, result: int) -> None:
        self._stop_listening()
        super().done(result)
