"""One account's checklist: its status, its speakers, the vendor's settings, what the bridge enforces, and
the settings the vendor retired."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.optouts.catalog import Vendor
from app.optouts.local import LocalControl
from app.optouts.models import Account
from app.optouts.status import ChecklistItem, PrivacyStatus
from ui import theme
from ui.optouts.local_card import LocalCard
from ui.optouts.setting_card import SettingCard
from ui.optouts.style import set_level_text


class AccountView(QWidget):
    """The right-hand side of the Opt-outs page for the selected account.

    Updating keeps the existing cards (and the keyboard focus) when only their state changed.

    Attributes:
        account, vendor: what is shown.
        title_label, vendor_label, status_label, detail_label, speakers_label, note_label: the texts.
        edit_button, remove_button: account actions.
        cards: setting id -> SettingCard (vendor settings, retired ones included).
        local_cards: (control id, speaker key) -> LocalCard.

    Signals:
        edit_requested(), remove_requested(): for the account shown.
        open_requested(Setting), guide_requested(Setting), confirm_requested(ChecklistItem, str),
        clear_requested(ChecklistItem): from its cards.
        local_toggle_requested(LocalControl, bool, str, str), local_times_changed(LocalControl, str, str),
        local_manage_requested(LocalControl).
    """

    edit_requested = Signal()
    remove_requested = Signal()
    open_requested = Signal(object)
    guide_requested = Signal(object)
    confirm_requested = Signal(object, str)
    clear_requested = Signal(object)
    local_toggle_requested = Signal(object, bool, str, str)
    local_times_changed = Signal(object, str, str)
    local_manage_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account: Account | None = None
        self.vendor: Vendor | None = None
        self.cards: dict[str, SettingCard] = {}
        self.local_cards: dict[tuple[str, str], LocalCard] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 0)
        layout.setSpacing(10)

        header = QHBoxLayout()
        header.setSpacing(8)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title_label = theme.heading("", 2, self)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        titles.addWidget(self.title_label)
        self.vendor_label = QLabel(self)
        self.vendor_label.setProperty("role", "hint")
        titles.addWidget(self.vendor_label)
        header.addLayout(titles, 1)
        self.edit_button = QPushButton("&Edit account…", self)
        self.edit_button.setToolTip("Rename it, change its e-mail, link or unlink speakers")
        self.edit_button.clicked.connect(self.edit_requested)
        header.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignTop)
        self.remove_button = QPushButton("Remove…", self)
        self.remove_button.clicked.connect(self.remove_requested)
        header.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)

        status_row = QHBoxLayout()
        status_row.setSpacing(8)
        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("Account status")
        status_row.addWidget(self.status_label)
        self.detail_label = QLabel(self)
        self.detail_label.setProperty("role", "hint")
        self.detail_label.setWordWrap(True)
        status_row.addWidget(self.detail_label, 1)
        layout.addLayout(status_row)
        self.speakers_label = theme.paragraph("", self)
        self.speakers_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.speakers_label)
        self.note_label = theme.paragraph("", self, role="hint")
        layout.addWidget(self.note_label)

        self.settings_heading = theme.heading("Settings to check", 2, self)
        layout.addWidget(self.settings_heading)
        self._settings_box = QVBoxLayout()
        self._settings_box.setSpacing(8)
        layout.addLayout(self._settings_box)
        self.local_heading = theme.heading("Enforced by your Earmuff bridge", 2, self)
        layout.addWidget(self.local_heading)
        self.local_intro = theme.paragraph(
            "These do not depend on the vendor: your bridge does them on your own network, and keeps doing "
            "them while this computer is off.", self, role="hint")
        layout.addWidget(self.local_intro)
        self._local_box = QVBoxLayout()
        self._local_box.setSpacing(8)
        layout.addLayout(self._local_box)
        self.retired_heading = theme.heading("Retired by the vendor", 2, self)
        layout.addWidget(self.retired_heading)
        self._retired_box = QVBoxLayout()
        self._retired_box.setSpacing(8)
        layout.addLayout(self._retired_box)
        layout.addStretch(1)

    def show_account(self, account: Account, vendor: Vendor, items: list[ChecklistItem], status: PrivacyStatus,
                     speakers: list[str], local: list[LocalControl], now: float) -> None:
        if self.account is None or self.account.account_id != account.account_id or self.vendor is not vendor:
            self._clear()
        self.account = account
        self.vendor = vendor
        self.title_label.setText(account.label)
        email = " · e-mail kept in your keyring" if account.has_email else ""
        self.vendor_label.setText(f"{vendor.name} account ({vendor.assistant}){email}")
        self.edit_button.setAccessibleName(f"Edit {account.label}")
        self.remove_button.setAccessibleName(f"Remove {account.label}")
        self.status_label.setText(status.headline)
        set_level_text(self.status_label, status.level)
        self.detail_label.setText(status.describe(now))
        self.speakers_label.setText("Speakers: " + ", ".join(speakers) if speakers else
                                    "No speakers linked yet: link them (Edit account…) to track the settings "
                                    "set on each speaker and to let your bridge enforce settings.")
        self.note_label.setText(vendor.note)
        self.note_label.setVisible(bool(vendor.note))

        by_setting: dict[str, list[ChecklistItem]] = {}
        for item in items:
            by_setting.setdefault(item.setting.setting_id, []).append(item)
        for setting in vendor.settings:
            setting_items = by_setting.get(setting.setting_id, [])
            card = self.cards.get(setting.setting_id)
            if card is None:
                card = SettingCard(setting, vendor, setting_items, now, self)
                card.open_requested.connect(self.open_requested)
                card.guide_requested.connect(self.guide_requested)
                card.confirm_requested.connect(self.confirm_requested)
                card.clear_requested.connect(self.clear_requested)
                (self._retired_box if setting.is_retired else self._settings_box).addWidget(card)
                self.cards[setting.setting_id] = card
            else:
                card.set_items(setting_items, now)
        self.retired_heading.setVisible(any(s.is_retired for s in vendor.settings))
        self._show_local(local)

    def _show_local(self, controls: list[LocalControl]) -> None:
        wanted = [c.key for c in controls]
        if list(self.local_cards) != wanted:
            for card in self.local_cards.values():
                self._local_box.removeWidget(card)
                card.deleteLater()
            self.local_cards = {}
            for control in controls:
                card = LocalCard(control, self)
                card.toggle_requested.connect(self.local_toggle_requested)
                card.times_changed.connect(self.local_times_changed)
                card.manage_requested.connect(self.local_manage_requested)
                self._local_box.addWidget(card)
                self.local_cards[control.key] = card
        else:
            for control in controls:
                card = self.local_cards[control.key]
                if not card.pending:
                    card.set_control(control)

    def _clear(self) -> None:
        for card in (*self.cards.values(), *self.local_cards.values()):
            card.setParent(None)
            card.deleteLater()
        self.cards = {}
        self.local_cards = {}
