""""I changed it": a guided flow through one setting, from where to find it to recording what was set."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.optouts.catalog import Setting
from app.optouts.status import ChecklistItem
from ui import theme


class ChangedItWizard(QWizard):
    """Three steps: open the vendor's page (or app), follow the steps, record the value and a note.

    Attributes:
        setting: the setting concerned.
        items: its checklist items (one per speaker for a per-speaker setting).
        open_button: opens the vendor's page (emits `open_requested`).
        step_labels: the numbered steps, one label each.
        value_buttons: value -> radio button (choices; a task has the one "done" value).
        target_checks: item target -> check box (per-speaker settings).
        note_edit: the optional note.

    Signals:
        open_requested(Setting).
        recorded(Setting, str value, list targets, str note): the user finished.
    """

    open_requested = Signal(object)
    recorded = Signal(object, str, list, str)

    def __init__(self, setting: Setting, items: list[ChecklistItem], account_label: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setting = setting
        self.items = items
        self.setWindowTitle(f"{setting.title} — {account_label}")
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setButtonText(QWizard.WizardButton.FinishButton, "&Record")
        self.setMinimumWidth(560)
        self.addPage(self._open_page())
        self.addPage(self._steps_page())
        self.addPage(self._record_page())
        self.accepted.connect(self._finish)

    # -- pages ----------------------------------------------------------------------------------------
    def _open_page(self) -> QWizardPage:
        setting = self.setting
        page = QWizardPage(self)
        page.setTitle("1. Open the setting")
        layout = QVBoxLayout(page)
        layout.addWidget(theme.paragraph(setting.summary, page))
        where = setting.where
        if where.web:
            text = "You can change it on the vendor's web page. Open it, sign in to the account, then come back here."
        elif where.help:
            text = ("This is changed in the vendor's app (the next step says where). The vendor's help page "
                    "explains it.")
        else:
            text = "This is changed in the vendor's app; the next step says where."
        layout.addWidget(theme.paragraph(text, page))
        self.open_button = QPushButton("&Open settings page" if where.web else "&Open vendor help", page)
        self.open_button.setEnabled(bool(where.url))
        self.open_button.setToolTip(where.url)
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.setting))
        layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        voice = setting.voice
        if voice.available in ("yes", "partly") and voice.phrase:
            note = setting.uncertainty("voice")
            tail = f" ({voice.note})" if voice.note else ""
            unverified = f" Unverified: {note.note}" if note else ""
            layout.addWidget(theme.paragraph(f"Or say: “{voice.phrase}”{tail}.{unverified}", page))
        layout.addStretch(1)
        return page

    def _steps_page(self) -> QWizardPage:
        setting = self.setting
        page = QWizardPage(self)
        page.setTitle("2. Follow these steps")
        layout = QVBoxLayout(page)
        self.step_labels: list[QLabel] = []
        steps = list(setting.where.steps)
        final = ("Do it: " + setting.recommended if setting.kind == "task"
                 else f"Set “{setting.title}” to “{setting.recommended}”.")
        if setting.recommended_note:
            final += f" {setting.recommended_note}"
        for number, step in enumerate([*steps, final], start=1):
            label = QLabel(f"<b>{number}.</b> {html.escape(step)}", page)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
            self.step_labels.append(label)
        note = setting.uncertainty("where.app")
        if note:
            layout.addWidget(theme.paragraph(f"Unverified: {note.note}", page, role="hint"))
        if setting.per_device:
            layout.addWidget(theme.paragraph("This is set on each speaker: repeat it for every one.", page,
                                             role="hint"))
        layout.addWidget(theme.paragraph(f"Trade-off: {setting.trade_off}", page, role="hint"))
        layout.addStretch(1)
        return page

    def _record_page(self) -> QWizardPage:
        setting = self.setting
        page = QWizardPage(self)
        page.setTitle("3. Record what you set")
        layout = QVBoxLayout(page)
        self.value_buttons: dict[str, QRadioButton] = {}
        self._value_group = QButtonGroup(page)
        if setting.kind == "choice":
            layout.addWidget(QLabel("It is now set to:", page))
            current = {i.confirmation.value for i in self.items if i.confirmation}
            for option in setting.options:
                suffix = " (recommended)" if option == setting.recommended else (
                    " (also protects)" if setting.is_protective(option) else "")
                button = QRadioButton(option + suffix, page)
                self._value_group.addButton(button)
                self.value_buttons[option] = button
                layout.addWidget(button)
            chosen = setting.recommended if setting.recommended in self.value_buttons else next(iter(current), "")
            self.value_buttons[chosen].setChecked(True)
        else:
            layout.addWidget(theme.paragraph(f"Recording: {setting.recommended}.", page))
        self.target_checks: dict[str, QCheckBox] = {}
        targets = [i for i in self.items if i.target]
        if targets:
            layout.addWidget(QLabel("On these speakers:", page))
            for item in targets:
                check = QCheckBox(item.target_name or item.target, page)
                check.setChecked(True)
                self.target_checks[item.target] = check
                layout.addWidget(check)
        note_label = QLabel("&Note (optional):", page)
        self.note_edit = QLineEdit(page)
        self.note_edit.setMaxLength(500)
        self.note_edit.setPlaceholderText("for example: changed on the phone; asked again after the update")
        note_label.setBuddy(self.note_edit)
        layout.addWidget(note_label)
        layout.addWidget(self.note_edit)
        layout.addWidget(theme.paragraph("Earmuff records the date; it reminds you to check again in "
                                         f"{setting.recheck_days} days.", page, role="hint"))
        layout.addStretch(1)
        return page

    # -- result -----------------------------------------------------------------------------------------
    def chosen_value(self) -> str:
        for value, button in self.value_buttons.items():
            if button.isChecked():
                return value
        return self.setting.recommended

    def chosen_targets(self) -> list[str]:
        if not self.target_checks:
            return [item.target for item in self.items[:1]] or [""]
        return [target for target, check in self.target_checks.items() if check.isChecked()]

    def _finish(self) -> None:
        targets = self.chosen_targets()
        if targets:
            self.recorded.emit(self.setting, self.chosen_value(), targets, self.note_edit.text().strip())
