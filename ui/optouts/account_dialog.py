"""Adding or editing a vendor account: its vendor, its name, an optional e-mail (kept in the keyring) and its
speakers, with the speakers of the chosen vendor that Earmuff found suggested."""

from __future__ import annotations

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
    QVBoxLayout,
    QWidget,
)

from app.optouts.account_secrets import check_email
from app.optouts.catalog import Catalog
from app.optouts.models import Account
from app.optouts.speakers import SpeakerRef, vendor_of
from ui import theme

SPEAKER_ROLE = Qt.ItemDataRole.UserRole + 1


class AccountDialog(QDialog):
    """Add an account (vendor chosen here) or edit one (vendor fixed).

    Attributes:
        account: the account edited (None when adding).
        vendor_combo: the vendor (disabled when editing).
        label_edit, email_edit: name and optional e-mail.
        speakers_list: every speaker, checkable; the account's own are checked.
        error_label: what is wrong with the form.

    Signals:
        submitted(str vendor_id, str label, str email, list speakers): valid input; the page saves it and
            calls `done_saving()` or `show_error()`. `email` is "" when left empty, None when unchanged.
    """

    submitted = Signal(str, str, object, list)

    def __init__(self, catalog: Catalog, speakers: list[SpeakerRef], *, account: Account | None = None,
                 linked: set[str] | None = None, taken: set[str] | None = None, suggested_vendor: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.account = account
        self._speakers = speakers
        self._linked = set(linked or ())
        self._taken = set(taken or ())  # speakers linked to other accounts of the same vendor
        self._email_loaded: str | None = None
        self.setWindowTitle(f"Edit {account.label}" if account else "Add a vendor account")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.addWidget(theme.paragraph(
            "An account is where the vendor keeps your settings, like the Amazon account your Alexa app signs in "
            "to. Add one per account, even for the same vendor (“Amazon - family”, “Amazon - work”).", self,
            role="hint"))
        form = QFormLayout()
        self.vendor_combo = QComboBox(self)
        self.vendor_combo.setAccessibleName("Vendor")
        found = {}
        for speaker in speakers:
            vendor_id = vendor_of(catalog, speaker)
            if vendor_id:
                found.setdefault(vendor_id, []).append(speaker.name)
        ordered = sorted(catalog.vendors.values(), key=lambda v: (v.vendor_id not in found, v.name.casefold()))
        for vendor in ordered:
            text = f"{vendor.name} ({vendor.assistant})"
            if vendor.vendor_id in found:
                text += " — found: " + ", ".join(found[vendor.vendor_id][:3])
            self.vendor_combo.addItem(text, vendor.vendor_id)
        wanted = account.vendor if account else suggested_vendor
        if wanted is not None and self.vendor_combo.findData(wanted) >= 0:
            self.vendor_combo.setCurrentIndex(self.vendor_combo.findData(wanted))
        self.vendor_combo.setEnabled(account is None)
        form.addRow("&Vendor:", self.vendor_combo)
        self.label_edit = QLineEdit(self)
        self.label_edit.setMaxLength(80)
        self.label_edit.setAccessibleName("Account name")
        self.label_edit.setPlaceholderText("for example Amazon - family")
        form.addRow("&Name:", self.label_edit)
        self.email_edit = QLineEdit(self)
        self.email_edit.setAccessibleName("E-mail address")
        self.email_edit.setPlaceholderText("optional, to tell accounts apart")
        form.addRow("&E-mail:", self.email_edit)
        layout.addLayout(form)
        self.email_hint = theme.paragraph("Kept in your system's keyring, never in Earmuff's files or reports.",
                                          self, role="hint")
        layout.addWidget(self.email_hint)
        speakers_label = QLabel("&Speakers on this account:", self)
        layout.addWidget(speakers_label)
        self.speakers_list = QListWidget(self)
        self.speakers_list.setAccessibleName("Speakers on this account")
        speakers_label.setBuddy(self.speakers_list)
        layout.addWidget(self.speakers_list, 1)
        self.no_speakers_label = theme.paragraph(
            "Earmuff has not found any speakers yet. You can link them later.", self, role="hint")
        layout.addWidget(self.no_speakers_label)
        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        if account is None:
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("&Add account")
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        if account is not None:
            self.label_edit.setText(account.label)
            if account.has_email:
                self.email_edit.setPlaceholderText("reading from your keyring…")
        self.vendor_combo.currentIndexChanged.connect(self._vendor_changed)
        self._vendor_changed()

    def vendor_id(self) -> str:
        return str(self.vendor_combo.currentData())

    def _vendor_changed(self) -> None:
        vendor = self.catalog.vendor(self.vendor_id())
        if self.account is None and vendor is not None:
            self.label_edit.setText(vendor.name)
        self._fill_speakers()

    def _fill_speakers(self) -> None:
        vendor_id = self.vendor_id()
        self.speakers_list.clear()
        for speaker in self._speakers:
            own_vendor = vendor_of(self.catalog, speaker) == vendor_id
            text = speaker.name + (f" — {speaker.where}" if speaker.where else "")
            item = QListWidgetItem(text)
            item.setData(SPEAKER_ROLE, speaker)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            if self.account is not None:
                checked = speaker.key in self._linked
            else:
                checked = own_vendor and speaker.key not in self._taken
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            if own_vendor:
                item.setToolTip("Made by this account's vendor")
            self.speakers_list.addItem(item)
        self.no_speakers_label.setVisible(not self._speakers)

    def checked_speakers(self) -> list[SpeakerRef]:
        result = []
        for row in range(self.speakers_list.count()):
            item = self.speakers_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                result.append(item.data(SPEAKER_ROLE))
        return result

    def set_email(self, email: str | None) -> None:
        """The address read from the keyring (None: none stored)."""
        self._email_loaded = email or ""
        self.email_edit.setPlaceholderText("optional, to tell accounts apart")
        if email and not self.email_edit.text():
            self.email_edit.setText(email)

    def _submit(self) -> None:
        text = self.email_edit.text().strip()
        email: str | None = ""
        if text:
            try:
                email = check_email(text)
            except ValueError as error:
                self.show_error(str(error))
                self.email_edit.setFocus()
                return
        if self.account is not None and self.account.has_email and self._email_loaded is None and not text:
            email = None  # never read, left alone: unchanged
        elif self.account is not None and email == (self._email_loaded or ""):
            email = None
        self.submitted.emit(self.vendor_id(), self.label_edit.text(), email, self.checked_speakers())

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(True)

    def done_saving(self) -> None:
        self.accept()
