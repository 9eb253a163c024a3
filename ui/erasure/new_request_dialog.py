"""The "New erasure request" dialog: account, law, recordings to cite, a live preview of the letter."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.activations import ActivationRecord
from app.erasure.laws import load_laws
from app.erasure.letters import CitedActivation
from app.erasure.tracker import VENDOR_EMAILS, ErasureTracker
from app.optouts.account_secrets import AccountSecrets, SecretResult
from app.optouts.models import Account
from ui import theme

SEND_BY_MAIL = "mail"
SAVE_AS_PDF = "pdf"


class NewRequestDialog(QDialog):
    """Writes a request letter and, on "E-mail it" or "Save as PDF", creates the request.

    Attributes:
        account_combo, law_combo, name_edit, identifier_edit, recipient_edit: the facts.
        activations_list: recent recordings of the account's speakers, checkable, to cite.
        preview: the letter as it will be sent; error_label says what is missing.
        mail_button, pdf_button: create the request, then send it one way or the other.

    With `secrets`, the account's e-mail address is read from the keyring (where the Opt-outs page keeps it) and
    filled in, unless the user has typed something else there.

    Signals:
        created(object, str): the ErasureRequest and how to send it (SEND_BY_MAIL or SAVE_AS_PDF).
        email_loaded(object): a keyring answer (SecretResult), passed from the keyring's worker thread to this one.
    """

    created = Signal(object, str)
    email_loaded = Signal(object)

    def __init__(self, tracker: ErasureTracker, accounts: list[tuple[Account, str]],
                 activations: dict[int, list[ActivationRecord]], parent: QWidget | None = None, *,
                 secrets: AccountSecrets | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New erasure request")
        self.tracker = tracker
        self._accounts = accounts
        self._activations = activations
        self._secrets = secrets
        self._filled_email = ""  # what the keyring filled in, so a switch of account may replace it
        self.email_loaded.connect(self._fill_email)
        layout = QVBoxLayout(self)
        layout.addWidget(theme.paragraph(
            "Earmuff writes a letter asking the company to erase what it keeps about you, with the facts the law "
            "asks for. It is a template, not legal advice.", self, role="hint"))
        form = QFormLayout()
        self.account_combo = QComboBox(self)
        for account, vendor_name in accounts:
            self.account_combo.addItem(f"{vendor_name} \u2013 {account.label}", account.account_id)
        self.law_combo = QComboBox(self)
        for law in load_laws().values():
            self.law_combo.addItem(law.title, law.law_id)
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("Your full name")
        self.identifier_edit = QLineEdit(self)
        self.identifier_edit.setPlaceholderText("The e-mail address or user name of the account")
        self.recipient_edit = QLineEdit(self)
        self.recipient_edit.setPlaceholderText("The company's privacy e-mail address (optional)")
        self.activations_list = QListWidget(self)
        self.activations_list.setAccessibleName("Recordings to cite")
        self.activations_list.setMaximumHeight(120)
        for label, widget in (("&Account:", self.account_combo), ("&Law:", self.law_combo),
                              ("Your &name:", self.name_edit), ("Account &e-mail or ID:", self.identifier_edit),
                              ("Send &to:", self.recipient_edit), ("&Cite recordings:", self.activations_list)):
            caption = QLabel(label, self)
            caption.setBuddy(widget)
            form.addRow(caption, widget)
        layout.addLayout(form)
        preview_label = QLabel("&Preview of the letter:", self)
        self.preview = QPlainTextEdit(self)
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Letter preview")
        preview_label.setBuddy(self.preview)
        layout.addWidget(preview_label)
        layout.addWidget(self.preview, 1)
        self.error_label = theme.paragraph("", self, role="error")
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.mail_button = QPushButton("&E-mail it\u2026", self)
        self.pdf_button = QPushButton("&Save as PDF\u2026", self)
        buttons.addButton(self.mail_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.pdf_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.mail_button.clicked.connect(lambda: self._create(SEND_BY_MAIL))
        self.pdf_button.clicked.connect(lambda: self._create(SAVE_AS_PDF))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 720)

        self.account_combo.currentIndexChanged.connect(self._account_changed)
        self.law_combo.currentIndexChanged.connect(self.update_preview)
        for edit in (self.name_edit, self.identifier_edit):
            edit.textChanged.connect(self.update_preview)
        self.activations_list.itemChanged.connect(self.update_preview)
        self._account_changed()

    def cite(self, record: ActivationRecord) -> bool:
        """Select the first account whose list has this recording and tick it; False if none has it."""
        for index in range(self.account_combo.count()):
            account_id = self.account_combo.itemData(index)
            if any(r.key == record.key and r.activation_id == record.activation_id
                   for r in self._activations.get(account_id, [])):
                self.account_combo.setCurrentIndex(index)
                for row in range(self.activations_list.count()):
                    item = self.activations_list.item(row)
                    cited = item.data(Qt.ItemDataRole.UserRole)
                    if cited is not None and cited.start == record.start and cited.device == record.speaker_name:
                        item.setCheckState(Qt.CheckState.Checked)
                        self.activations_list.scrollToItem(item)
                        return True
        return False

    def _account(self) -> tuple[Account, str]:
        return self._accounts[max(self.account_combo.currentIndex(), 0)]

    def _account_changed(self) -> None:
        account, _vendor_name = self._account()
        self.recipient_edit.setText(VENDOR_EMAILS.get(account.vendor, ""))
        if self._secrets is not None and account.has_email:
            self._secrets.get_email(account.account_id, self.email_loaded.emit)
        elif self.identifier_edit.text() == self._filled_email:
            self.identifier_edit.clear()
            self._filled_email = ""
        self.activations_list.blockSignals(True)
        self.activations_list.clear()
        for record in self._activations.get(account.account_id, []):
            moment = dt.datetime.fromtimestamp(record.start).astimezone()
            item = QListWidgetItem(f"{moment:%Y-%m-%d %H:%M:%S} \u2013 {record.speaker_name}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, CitedActivation(record.start, record.speaker_name))
            self.activations_list.addItem(item)
        if not self.activations_list.count():
            item = QListWidgetItem("No recordings of this account's speakers in the Activity log")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.activations_list.addItem(item)
        self.activations_list.blockSignals(False)
        self.update_preview()

    def _fill_email(self, result: SecretResult) -> None:
        account, _vendor_name = self._account()
        if result.account_id != account.account_id:
            return  # the user has picked another account since
        if not result.ok:
            self.error_label.setText(f"The account's e-mail could not be read from the keyring: {result.error}")
            return
        if result.value and self.identifier_edit.text() in ("", self._filled_email):
            self._filled_email = result.value
            self.identifier_edit.setText(result.value)

    def cited(self) -> list[CitedActivation]:
        found = []
        for row in range(self.activations_list.count()):
            item = self.activations_list.item(row)
            if item.checkState() == Qt.CheckState.Checked and item.data(Qt.ItemDataRole.UserRole) is not None:
                found.append(item.data(Qt.ItemDataRole.UserRole))
        return found

    def _facts(self) -> dict:
        _account, vendor_name = self._account()
        return {"law_id": self.law_combo.currentData(), "vendor_name": vendor_name,
                "requester_name": self.name_edit.text(), "account_identifier": self.identifier_edit.text(),
                "cited": self.cited()}

    def update_preview(self) -> None:
        try:
            letter = self.tracker.preview(**self._facts())
        except ValueError as error:
            self.preview.setPlainText("")
            self.error_label.setText(str(error).capitalize() + ".")
            self.mail_button.setEnabled(False)
            self.pdf_button.setEnabled(False)
            return
        self.preview.setPlainText(letter.text)
        self.error_label.setText("")
        self.mail_button.setEnabled(True)
        self.pdf_button.setEnabled(True)

    def _create(self, how: str) -> None:
        account, _vendor_name = self._account()
        facts = self._facts()
        try:
            request = self.tracker.create(account_id=account.account_id, account_label=account.label,
                                          vendor_id=account.vendor, recipient=self.recipient_edit.text(), **facts)
        except ValueError as error:
            self.error_label.setText(str(error))
            return
        self.accept()
        self.created.emit(request, how)
