"""From the Activity page: the ways to delete one recording, best first, and doing the chosen one."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.activations import ActivationRecord
from app.bridge_client import Outcome
from app.deletions.voice import DEFAULT_PHRASE, VOICE_PHRASES
from ui import theme
from ui.deletions.fitted_label import FittedLabel
from ui.deletions.run_progress import RunProgress
from ui.deletions.timefmt import moment_text

ACTION_TEXT = {"voice_now": "&Send the command now", "voice_schedule": "S&chedule it\u2026",
               "portal": "Show the &steps\u2026", "legal": "&Write a request\u2026"}


def size_words(count: int) -> str:
    return f"{count / 1000:.0f} kB" if count >= 1000 else f"{count} bytes"


class DeleteRecordingDialog(QDialog):
    """Lists `mechanisms_for` the recording with the recommended one chosen; "voice_now" runs here, the others
    are handed to the page (`chosen`).

    Attributes:
        record: the ActivationRecord; mechanisms: the Mechanisms in the order shown.
        radios: kind -> its QRadioButton; phrase_combo: the words for voice_now; progress: the run.
        action_button: does the chosen way; error_label: why it cannot now.

    Signals:
        chosen(object): the Mechanism chosen, for everything but voice_now.
        run_requested(dict): voice_now: the run's fields (the page starts it and feeds `progress`).
    """

    chosen = Signal(object)
    run_requested = Signal(dict)

    def __init__(self, record: ActivationRecord, mechanisms: list, *, vendor: str | None, bridge_name: str = "",
                 bridge_online: bool = False, feed=None, clock: Callable[[], float] = time.time,
                 parent: QWidget | None = None) -> None:
        """`feed`: the VoiceRunFeed whose bridge news moves `progress` on."""
        super().__init__(parent)
        self.record = record
        self.mechanisms = list(mechanisms)
        self.vendor = vendor
        self._bridge_name = bridge_name
        self._bridge_online = bridge_online
        self._running = False
        self.setWindowTitle("Delete this recording")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(theme.heading("Delete this recording", 2, self))
        layout.addWidget(FittedLabel(
            f"{record.speaker_name}, {moment_text(record.start, clock())}, sent {size_words(record.bytes_up)}. "
            "Earmuff cannot delete it at the company itself; these are the ways you can, best first:", self))

        self.radios: dict[str, QRadioButton] = {}
        self._group = QButtonGroup(self)
        self.voice_box = QWidget(self)
        voice_form = QFormLayout(self.voice_box)
        voice_form.setContentsMargins(24, 2, 0, 0)
        self.phrase_combo = QComboBox(self.voice_box)
        self.phrase_combo.setAccessibleName("Words to say")
        for phrase in VOICE_PHRASES.get(vendor or "", ()):
            self.phrase_combo.addItem(phrase)
        default = DEFAULT_PHRASE.get(vendor or "")
        if default:
            self.phrase_combo.setCurrentText(default)
        phrase_label = QLabel("&Words:", self.voice_box)
        phrase_label.setBuddy(self.phrase_combo)
        voice_form.addRow(phrase_label, self.phrase_combo)
        for mechanism in self.mechanisms:
            # One block per way: its choice, what it does, and (to say it now) the words.
            block = QVBoxLayout()
            block.setSpacing(2)
            title = mechanism.title + (" (recommended)" if mechanism.recommended else "")
            radio = QRadioButton(title, self)
            radio.setAccessibleDescription(mechanism.detail)
            self._group.addButton(radio)
            self.radios[mechanism.kind] = radio
            block.addWidget(radio)
            detail = FittedLabel(mechanism.detail, self, role="hint")
            detail.setContentsMargins(24, 0, 0, 0)
            block.addWidget(detail)
            if mechanism.kind == "voice_now":
                block.addWidget(self.voice_box)
            layout.addLayout(block)
            radio.toggled.connect(lambda on, _m=mechanism: on and self._choice_changed())
        if "voice_now" not in self.radios:
            self.voice_box.setVisible(False)

        self.progress = RunProgress(self)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)

        self.error_label = FittedLabel("", self, role="error")
        self.error_label.setAccessibleName("Problem")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        layout.addStretch(1)  # spare height goes below the content, not between its lines
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.action_button = QPushButton("", self)
        self.action_button.setDefault(True)
        self.buttons.addButton(self.action_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.action_button.clicked.connect(self.go)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._feed = feed
        if feed is not None:
            feed.run_updated.connect(self._run_updated)

        recommended = next((m for m in self.mechanisms if m.recommended), self.mechanisms[0] if mechanisms else None)
        if recommended is not None:
            self.radios[recommended.kind].setChecked(True)
        self._choice_changed()

    def selected(self):
        return next((m for m in self.mechanisms if self.radios[m.kind].isChecked()), None)

    def select(self, kind: str) -> None:
        if kind in self.radios:
            self.radios[kind].setChecked(True)

    def _choice_changed(self) -> None:
        mechanism = self.selected()
        kind = mechanism.kind if mechanism is not None else ""
        self.voice_box.setVisible(kind == "voice_now" and self.phrase_combo.count() > 0)
        self.action_button.setText(ACTION_TEXT.get(kind, "&Go on"))
        problem = ""
        if kind in ("voice_now", "voice_schedule") and not self._bridge_online:
            problem = (f"\u201c{self._bridge_name or 'The bridge'}\u201d is offline. It says the command to the "
                       "speaker, so it must be reachable; try again when it is back.")
        self.error_label.setText(problem)
        self.error_label.setVisible(bool(problem))
        self.action_button.setEnabled(mechanism is not None and not problem and not self._running)

    def go(self) -> None:
        mechanism = self.selected()
        if mechanism is None or self._running:
            return
        if mechanism.kind != "voice_now":
            self.accept()
            self.chosen.emit(mechanism)
            return
        self.set_running(True)
        self.progress.starting(self.record.speaker_name, self.phrase_combo.currentText())
        self.run_requested.emit({"speaker_id": self.record.speaker_id, "vendor": self.vendor,
                                 "phrase": self.phrase_combo.currentText(), "audio": "tts", "recording": None})

    def set_running(self, running: bool) -> None:
        self._running = running
        for radio in self.radios.values():
            radio.setEnabled(not running)
        self.phrase_combo.setEnabled(not running)
        if running:
            self.action_button.setText("Running\u2026")
            self.action_button.setEnabled(False)
        else:
            self._choice_changed()

    def started(self, outcome: Outcome) -> None:
        """The bridge's answer to the run request (the page has pointed `progress` at the run by now)."""
        if not outcome.ok:
            self.set_running(False)
            return
        run = self.progress.run
        if run is not None and run.state == "done":
            self.run_finished()

    def _run_updated(self, run) -> None:
        if not self.progress.follows(run):
            return
        self.progress.show_run(run)
        if run.state == "done" and self._running:
            self.run_finished()

    def run_finished(self) -> None:
        self.set_running(False)
        self.action_button.setText("&Send the command again")
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setFocus(Qt.FocusReason.OtherFocusReason)

    def done(self, result: int) -> None:
        if self._feed is not None:
            try:
                self._feed.run_updated.disconnect(self._run_updated)
            except (RuntimeError, TypeError):
                pass
            self._feed = None
        super().done(result)
