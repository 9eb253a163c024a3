"""Opt-outs page: per vendor account, the privacy settings worth changing as a checklist the user ticks off,
with where to change each, a guided "I changed it" flow, re-check reminders, what the bridge enforces
itself, history with undo, and the report as PDF or Markdown.

The data lives in app.optouts (Qt-free): `ctx.optouts` (the OptOutTracker) and `ctx.account_secrets`
(e-mail addresses in the keyring). Bridge commands go through the BridgeAdapter like on the Bridges page.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.optouts.catalog import Setting
from app.optouts.local import LocalControl
from app.optouts.models import Account
from app.optouts.reminders import summary_text
from app.optouts.report import TITLE, build_report, to_html, to_markdown
from app.optouts.speakers import SpeakerRef, known_speakers, speakers_from, suggestions
from app.optouts.status import ChecklistItem, PrivacyStatus
from app.optouts.tracker import Action, NeedsBridge, NothingToUndo, OptOutTracker
from ui import theme
from ui.optouts.account_dialog import AccountDialog
from ui.optouts.account_view import AccountView
from ui.optouts.changed_it import ChangedItWizard
from ui.optouts.enforcer import BridgeEnforcer
from ui.optouts.history_dialog import HistoryDialog
from ui.optouts.pdf import write_pdf
from ui.optouts.signals import ReminderWatch, SecretsAdapter
from ui.optouts.style import STYLE_SHEET, level_icon
from ui.pages.empty_state import EmptyState

ACCOUNT_ROLE = Qt.ItemDataRole.UserRole + 1
SPEAKER_ROLE = Qt.ItemDataRole.UserRole + 2
SIDE_WIDTH = 270


class OptOutsPage(QWidget):
    """The Opt-outs page.

    Attributes:
        tracker: ctx.optouts; secrets: the keyring adapter; adapter: the BridgeAdapter (None: no bridges).
        watch: the ReminderWatch (due re-checks).
        accounts_list, speakers_list: the left column (status per account and per speaker).
        account_view: the selected account's checklist; empty_state: shown while there is no account.
        add_button, undo_button, history_button, export_button (menu: pdf_action, markdown_action).
        suggestion_banner, due_banner, problems_banner: notes above the lists.
        undo_action, add_action, export_pdf_action: page shortcuts (Ctrl+Z, Ctrl+N, Ctrl+P).
        dialogs opened last: account_dialog, wizard, history_dialog, remove_box, file_dialog.

    Signals:
        reminders_due(str title, str message): re-checks worth a desktop notification (the tray shows it).
        due_changed(list): the DueItems due for a re-check, whenever they change (for the Overview page).
        status_message(str): a short note for the status bar.
    """

    page_key = "optouts"
    page_title = "Opt-outs"

    reminders_due = Signal(str, str)
    due_changed = Signal(list)
    status_message = Signal(str)
    destinations_requested = Signal(str, str)

    def __init__(self, ctx, *, adapter=None, model=None, clock: Callable[[], float] | None = None,
                 parent: QWidget | None = None) -> None:
        """`clock`: what "now" is for re-checks (default: the tracker's, so tests move both at once)."""
        super().__init__(parent)
        self.ctx = ctx
        self.tracker: OptOutTracker = ctx.optouts
        self.adapter = adapter
        self.model = model
        self._clock = clock or self.tracker.now
        self._selected_id: int | None = None
        self.account_dialog: AccountDialog | None = None
        self.wizard: ChangedItWizard | None = None
        self.history_dialog: HistoryDialog | None = None
        self.remove_box: QMessageBox | None = None
        self.file_dialog: QFileDialog | None = None
        self.last_export: Path | None = None
        self._stale = False
        self.setStyleSheet(STYLE_SHEET)

        self.secrets = SecretsAdapter(ctx.account_secrets, self)
        self.enforcer = BridgeEnforcer(adapter, self.tracker, self)
        self.enforcer.changed.connect(self._schedule_refresh)
        self.enforcer.message.connect(self.status_message)
        self.enforcer.finished.connect(self._local_finished)
        self.watch = ReminderWatch(self.tracker, self._clock, self)
        self.watch.due_changed.connect(self.due_changed)
        self.watch.due_changed.connect(lambda _items: self._schedule_refresh())
        self.watch.reminder.connect(self.reminders_due)

        self._build()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        self.tracker.add_listener(self._tracker_changed)
        self.destroyed.connect(self._forget_tracker(self.tracker, self._tracker_changed))
        if model is not None:
            model.changed.connect(self._schedule_refresh)
        self.refresh()
        QTimer.singleShot(0, self.watch, self.watch.check)  # once the window is up: what is due already

    @staticmethod
    def _forget_tracker(tracker: OptOutTracker, listener) -> Callable[[], None]:
        return lambda *_: tracker.remove_listener(listener)

    # -- building ---------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = theme.page_layout(self, self.page_title)
        layout.addWidget(theme.paragraph(
            "For each vendor account you use: the privacy settings worth changing, the value that protects you, "
            "where to change it, and whether you have. Vendors move settings and switch some back on, so "
            "Earmuff reminds you to check again.", self, role="hint"))

        tools = QHBoxLayout()
        self.add_button = QPushButton("&Add account…", self)
        self.add_button.setToolTip("Add a vendor account (Ctrl+N)")
        self.add_button.clicked.connect(lambda: self.open_account_dialog())
        tools.addWidget(self.add_button)
        self.undo_button = QPushButton("&Undo", self)
        self.undo_button.clicked.connect(self.undo)
        tools.addWidget(self.undo_button)
        self.history_button = QPushButton("&History…", self)
        self.history_button.setToolTip("Every change and confirmation, with who and when")
        self.history_button.clicked.connect(self.open_history)
        tools.addWidget(self.history_button)
        self.export_button = QToolButton(self)
        self.export_button.setText("E&xport report")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        export_menu = QMenu(self.export_button)
        self.pdf_action = export_menu.addAction("As &PDF…", lambda: self.choose_export("pdf"))
        self.markdown_action = export_menu.addAction("As &Markdown…", lambda: self.choose_export("md"))
        self.export_button.setMenu(export_menu)
        tools.addWidget(self.export_button)
        tools.addStretch(1)
        layout.addLayout(tools)

        self.undo_action = self._shortcut("Ctrl+Z", self.undo)
        self.add_action = self._shortcut("Ctrl+N", lambda: self.open_account_dialog())
        self.export_pdf_action = self._shortcut("Ctrl+P", lambda: self.choose_export("pdf"))

        self.problems_banner = self._banner("attention")
        self.problems_label = theme.paragraph("", self.problems_banner, role="error")
        self.problems_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problems_banner.layout().addWidget(self.problems_label, 1)
        layout.addWidget(self.problems_banner)

        self.suggestion_banner = self._banner("")
        self.suggestion_label = QLabel(self.suggestion_banner)
        self.suggestion_label.setWordWrap(True)
        self.suggestion_banner.layout().addWidget(self.suggestion_label, 1)
        self._suggestion_buttons: list[QPushButton] = []
        layout.addWidget(self.suggestion_banner)

        self.due_banner = self._banner("attention")
        self.due_label = QLabel(self.due_banner)
        self.due_label.setWordWrap(True)
        self.due_label.setAccessibleName("Settings to re-check")
        self.due_banner.layout().addWidget(self.due_label, 1)
        self.due_button = QPushButton("&Show", self.due_banner)
        self.due_button.setToolTip("Go to the first setting to re-check")
        self.due_button.clicked.connect(self.show_first_due)
        self.due_banner.layout().addWidget(self.due_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.due_banner)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        side = QWidget(splitter)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 8, 0)
        side_layout.setSpacing(6)
        accounts_heading = QLabel("&Accounts", side)
        font = accounts_heading.font()
        font.setBold(True)
        accounts_heading.setFont(font)
        side_layout.addWidget(accounts_heading)
        self.accounts_list = QListWidget(side)
        self.accounts_list.setAccessibleName("Accounts")
        self.accounts_list.setSpacing(2)
        self.accounts_list.setWordWrap(True)
        accounts_heading.setBuddy(self.accounts_list)
        self.accounts_list.currentItemChanged.connect(self._account_selected)
        side_layout.addWidget(self.accounts_list, 2)
        speakers_heading = QLabel("S&peakers", side)
        speakers_heading.setFont(font)
        side_layout.addWidget(speakers_heading)
        self.speakers_list = QListWidget(side)
        self.speakers_list.setAccessibleName("Speakers")
        self.speakers_list.setSpacing(2)
        self.speakers_list.setWordWrap(True)
        self.speakers_list.setToolTip("Enter: go to the speaker's account, or add one for it")
        speakers_heading.setBuddy(self.speakers_list)
        self.speakers_list.itemActivated.connect(self._speaker_activated)
        side_layout.addWidget(self.speakers_list, 3)
        side.setMinimumWidth(220)
        side.resize(SIDE_WIDTH, side.height())

        self._stack = QStackedWidget(splitter)
        self.empty_state = EmptyState(
            "Add the accounts your speakers use",
            "Each vendor keeps your speakers' privacy settings in your account with them: the Amazon account "
            "your Alexa app uses, your Google Account, your Apple ID. Add an account to see its settings, "
            "what protects you, and where to change it.",
            note="Earmuff never signs in for you and never reads your settings from the vendor: you change them, "
                 "Earmuff keeps track and reminds you.",
            action=("Add account…", lambda: self.open_account_dialog()),
            parent=self._stack)
        self._stack.addWidget(self.empty_state)
        self.scroll = QScrollArea(self._stack)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.account_view = AccountView(self.scroll)
        self.scroll.setWidget(self.account_view)
        self._stack.addWidget(self.scroll)
        splitter.addWidget(side)
        splitter.addWidget(self._stack)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([SIDE_WIDTH, 900])
        layout.addWidget(splitter, 1)

        view = self.account_view
        view.edit_requested.connect(lambda: self.open_account_dialog(self._selected_account()))
        view.remove_requested.connect(self.confirm_remove)
        view.open_requested.connect(self.open_vendor_page)
        view.guide_requested.connect(self.open_wizard)
        view.confirm_requested.connect(self.confirm_item)
        view.clear_requested.connect(self.clear_item)
        view.local_toggle_requested.connect(self.toggle_local)
        view.local_times_changed.connect(self.change_quiet_hours)
        view.local_manage_requested.connect(
            lambda control: self.destinations_requested.emit(control.speaker.bridge_id, control.speaker.speaker_id))

    def _shortcut(self, keys: str, slot) -> QAction:
        action = QAction(self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _banner(self, level: str) -> QFrame:
        frame = QFrame(self)
        frame.setProperty("role", "banner")
        if level:
            frame.setProperty("level", level)
        row = QHBoxLayout(frame)
        row.setContentsMargins(12, 8, 12, 8)
        row.setSpacing(8)
        frame.setVisible(False)
        return frame

    # -- data -------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def current_speakers(self) -> list[SpeakerRef]:
        devices = self.model.devices() if self.model is not None else self.ctx.registry.devices()
        statuses = self.adapter.statuses() if self.adapter is not None else []
        return speakers_from(devices, statuses)

    def _selected_account(self) -> Account | None:
        return self.tracker.account(self._selected_id) if self._selected_id is not None else None

    def local_for(self, account: Account, known: dict[str, SpeakerRef]) -> list[LocalControl]:
        linked = [known[link.speaker_key] for link in self.tracker.links(account.account_id)
                  if link.speaker_key in known]
        return self.enforcer.controls(linked)

    # -- refreshing ------------------------------------------------------------------------------------------
    def _tracker_changed(self) -> None:
        try:
            self._schedule_refresh()
            self.watch.check()
        except RuntimeError:  # the page was deleted while the tracker lives on
            self.tracker.remove_listener(self._tracker_changed)

    def _schedule_refresh(self, *_args) -> None:
        """Redraw soon if the page is shown; otherwise when it is shown next."""
        if not self.isVisible():
            self._stale = True
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Redraw everything from the tracker, the speakers and the bridges (keeping the selection)."""
        self._refresh_timer.stop()
        if getattr(self.ctx.database, "closed", False):
            return  # Earmuff is closing
        self._stale = False
        now = self.now()
        current = self.current_speakers()
        links = self.tracker.links()
        known = known_speakers(current, links)
        names = {key: speaker.name for key, speaker in known.items()}
        accounts = self.tracker.accounts()

        self._fill_accounts(accounts, now)
        self._fill_speakers(known, now)
        self._show_suggestions(current, accounts, links)
        self._show_problems()
        self._show_due(self.watch.items)
        last = self.tracker.last_undoable()
        self.undo_button.setEnabled(last is not None)
        self.undo_action.setEnabled(last is not None)
        self.undo_button.setToolTip(f"Undo: {last.summary} (Ctrl+Z)" if last else "Nothing to undo")
        self.undo_button.setAccessibleDescription(self.undo_button.toolTip())
        self.export_button.setEnabled(True)

        account = self._selected_account()
        if account is None:
            self._stack.setCurrentWidget(self.empty_state)
            return
        vendor = self.tracker.vendor_of(account)
        if vendor is None:
            self._stack.setCurrentWidget(self.empty_state)
            self.status_message.emit(f"Earmuff's catalog has no settings for {account.label}'s vendor "
                                     f"({account.vendor}).")
            return
        items = self.tracker.items(account.account_id, now, names=names)
        status = PrivacyStatus.of(items)
        speakers = [names.get(link.speaker_key, link.name) for link in self.tracker.links(account.account_id)]
        local = self.local_for(account, known)
        self.account_view.show_account(account, vendor, items, status, speakers, local, now)
        self._stack.setCurrentWidget(self.scroll)

    def _fill_accounts(self, accounts: list[Account], now: float) -> None:
        ids = [a.account_id for a in accounts]
        if self._selected_id not in ids:
            self._selected_id = ids[0] if ids else None
        self.accounts_list.blockSignals(True)
        try:
            self.accounts_list.clear()
            for account in accounts:
                vendor = self.tracker.vendor_of(account)
                status = self.tracker.account_status(account.account_id, now)
                vendor_name = vendor.name if vendor else account.vendor
                item = QListWidgetItem(level_icon(status.level),
                                       f"{account.label}\n{vendor_name} · {status.headline} · "
                                       f"{status.protected} of {status.total}")
                item.setData(ACCOUNT_ROLE, account.account_id)
                item.setToolTip(status.describe(now))
                item.setData(Qt.ItemDataRole.AccessibleTextRole,
                             f"{account.label}, {vendor_name}: {status.headline}, {status.describe(now)}")
                self.accounts_list.addItem(item)
                if account.account_id == self._selected_id:
                    self.accounts_list.setCurrentItem(item)
        finally:
            self.accounts_list.blockSignals(False)

    def _fill_speakers(self, known: dict[str, SpeakerRef], now: float) -> None:
        self.speakers_list.clear()
        for speaker in sorted(known.values(), key=lambda s: (s.name.casefold(), s.key)):
            accounts = self.tracker.speaker_accounts(speaker.key)
            status = self.tracker.speaker_status(speaker.key, now)
            if status is None:
                level, text = "unlinked", "No account linked"
            else:
                level = status.level
                names = ", ".join(a.label for a in accounts)
                text = f"{names} · {status.headline} · {status.protected} of {status.total}"
            where = f" ({speaker.where})" if speaker.where else ""
            item = QListWidgetItem(level_icon(level), f"{speaker.name}{where}\n{text}")
            item.setData(SPEAKER_ROLE, speaker.key)
            item.setToolTip(status.describe(now) if status else "Link it to an account to track its settings.")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{speaker.name}: {text}")
            self.speakers_list.addItem(item)
        if not known:
            item = QListWidgetItem("No speakers found yet.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.speakers_list.addItem(item)

    def _show_suggestions(self, current: list[SpeakerRef], accounts: list[Account], links) -> None:
        found = suggestions(self.tracker.catalog, current, accounts, links)
        box = self.suggestion_banner.layout()
        for button in self._suggestion_buttons:
            box.removeWidget(button)
            button.deleteLater()
        self._suggestion_buttons = []
        if not found:
            self.suggestion_banner.setVisible(False)
            return
        parts = []
        for suggestion in found:
            names = ", ".join(s.name for s in suggestion.speakers[:3])
            more = f" and {len(suggestion.speakers) - 3} more" if len(suggestion.speakers) > 3 else ""
            parts.append(f"{suggestion.vendor_name}: {names}{more}")
            account = suggestion.accounts[0] if suggestion.accounts else None
            text = f"Link to {account.label}…" if account else f"Add {suggestion.vendor_name} account…"
            button = QPushButton(text, self.suggestion_banner)
            button.clicked.connect(functools.partial(self._suggestion_chosen, account, suggestion.vendor_id))
            box.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self._suggestion_buttons.append(button)
        self.suggestion_label.setText("Speakers Earmuff found that no account covers yet — " + "; ".join(parts) + ".")
        self.suggestion_banner.setVisible(True)

    def _suggestion_chosen(self, account: Account | None, vendor_id: str, _checked: bool = False) -> None:
        self.open_account_dialog(account, vendor_id=vendor_id)

    def _show_problems(self) -> None:
        problems = self.tracker.catalog.problems
        if problems:
            lines = "\n".join(str(p) for p in problems[:5])
            more = f"\n… and {len(problems) - 5} more (see the log)" if len(problems) > 5 else ""
            self.problems_label.setText("Part of Earmuff's settings catalog could not be read; the rest is shown.\n"
                                        + lines + more)
        self.problems_banner.setVisible(bool(problems))

    def _show_due(self, items: list) -> None:
        self.due_label.setText(summary_text(items) + ". Vendors change settings quietly: look again and confirm."
                               if items else "")
        self.due_banner.setVisible(bool(items))

    # -- selection ----------------------------------------------------------------------------------------------
    def _account_selected(self, current: QListWidgetItem | None, _previous=None) -> None:
        if current is None:
            return
        self._selected_id = current.data(ACCOUNT_ROLE)
        self.refresh()

    def select_account(self, account_id: int) -> None:
        self._selected_id = account_id
        self.refresh()

    def _speaker_activated(self, item: QListWidgetItem) -> None:
        key = item.data(SPEAKER_ROLE)
        if not key:
            return
        accounts = self.tracker.speaker_accounts(key)
        if accounts:
            self.select_account(accounts[0].account_id)
            self.account_view.setFocus()
            return
        speaker = next((s for s in self.current_speakers() if s.key == key), None)
        vendor = self.tracker.catalog.vendor_for_device(speaker.vendor) if speaker else None
        self.open_account_dialog(vendor_id=vendor.vendor_id if vendor else None)

    def show_first_due(self) -> None:
        """Select the account of the first due re-check and bring its setting into view."""
        items = self.watch.items
        if not items:
            return
        first = items[0]
        self.select_account(first.account_id)
        card = self.account_view.cards.get(first.setting_id)
        if card is not None:
            self.scroll.ensureWidgetVisible(card)
            target = card.rows[0].done_check if card.rows else card.guide_button
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- settings ---------------------------------------------------------------------------------------------
    def open_vendor_page(self, setting: Setting) -> bool:
        url = setting.where.url
        if not url:
            return False
        opened = QDesktopServices.openUrl(QUrl(url))
        self.status_message.emit(f"Opened {url} in your browser." if opened else
                                 f"Could not open a browser. The page is {url}")
        return opened

    def confirm_item(self, item: ChecklistItem, value: str, note: str = "") -> bool:
        try:
            self.tracker.confirm(item.account.account_id, item.setting.setting_id, value, target=item.target,
                                 note=note)
        except (ValueError, KeyError) as error:
            self.status_message.emit(str(error).strip("'\""))
            self.refresh()
            return False
        self.status_message.emit(f"Recorded “{item.setting.title}”: {value}. Undo with Ctrl+Z.")
        return True

    def clear_item(self, item: ChecklistItem) -> None:
        try:
            self.tracker.clear(item.account.account_id, item.setting.setting_id, target=item.target)
        except (ValueError, KeyError) as error:
            self.status_message.emit(str(error).strip("'\""))
            self.refresh()
            return
        self.status_message.emit(f"“{item.setting.title}” is marked as not done. Undo with Ctrl+Z.")

    def open_wizard(self, setting: Setting) -> ChangedItWizard | None:
        account = self._selected_account()
        if account is None or setting.is_retired:
            return None
        items = [i for i in self.tracker.items(account.account_id, self.now(), names=self._names())
                 if i.setting.setting_id == setting.setting_id]
        wizard = ChangedItWizard(setting, items, account.label, self)
        wizard.open_requested.connect(self.open_vendor_page)
        wizard.recorded.connect(lambda s, value, targets, note: self._recorded(account.account_id, s, value,
                                                                               targets, note))
        self.wizard = wizard
        wizard.open()
        return wizard

    def _recorded(self, account_id: int, setting: Setting, value: str, targets: list, note: str) -> None:
        done = 0
        for target in targets:
            try:
                self.tracker.confirm(account_id, setting.setting_id, value, target=target, note=note)
                done += 1
            except (ValueError, KeyError) as error:
                self.status_message.emit(str(error).strip("'\""))
        if done:
            self.status_message.emit(f"Recorded “{setting.title}”: {value}"
                                     + (f" on {done} speakers" if done > 1 else "") + ".")

    def _names(self) -> dict[str, str]:
        known = known_speakers(self.current_speakers(), self.tracker.links())
        return {key: s.name for key, s in known.items()}

    # -- accounts ------------------------------------------------------------------------------------------------
    def open_account_dialog(self, account: Account | None = None, *, vendor_id: str | None = None) -> AccountDialog:
        current = self.current_speakers()
        links = self.tracker.links()
        known = known_speakers(current, links)
        linked = {x.speaker_key for x in links if account is not None and x.account_id == account.account_id}
        taken = {x.speaker_key for x in links}
        dialog = AccountDialog(self.tracker.catalog, sorted(known.values(), key=lambda s: s.name.casefold()),
                               account=account, linked=linked, taken=taken, suggested_vendor=vendor_id, parent=self)
        dialog.submitted.connect(lambda vendor, label, email, speakers: self._save_account(
            dialog, vendor, label, email, speakers))
        if account is not None and account.has_email:
            self.secrets.call("get_email", account.account_id,
                              on_done=lambda result: self._email_read(dialog, result))
        self.account_dialog = dialog
        dialog.open()
        return dialog

    def _email_read(self, dialog: AccountDialog, result) -> None:
        if result.ok:
            dialog.set_email(result.value)
        else:
            dialog.set_email(None)
            dialog.show_error(result.error)

    def _save_account(self, dialog: AccountDialog, vendor_id: str, label: str, email, speakers: list) -> None:
        try:
            if dialog.account is None:
                account = self.tracker.add_account(vendor_id, label, speakers)
            else:
                account = self.tracker.rename_account(dialog.account.account_id, label)
                self.tracker.set_links(account.account_id, speakers)
        except (ValueError, KeyError) as error:
            dialog.show_error(str(error).strip("'\""))
            return
        if email:
            self.secrets.call("set_email", account.account_id, email,
                              on_done=lambda result: self._email_saved(account, result, True))
        elif email == "" and dialog.account is not None and dialog.account.has_email:
            self.secrets.call("delete_email", account.account_id,
                              on_done=lambda result: self._email_saved(account, result, False))
        self._selected_id = account.account_id
        dialog.done_saving()
        self.status_message.emit(f"Saved {account.label}." if dialog.account else
                                 f"Added {account.label}. Tick off each setting as you change it.")
        self.refresh()

    def _email_saved(self, account: Account, result, stored: bool) -> None:
        if not result.ok:
            self.status_message.emit(f"The e-mail address of {account.label} was not saved: {result.error}")
            return
        if self.tracker.account(account.account_id) is not None:
            self.tracker.set_has_email(account.account_id, stored)

    def confirm_remove(self) -> None:
        account = self._selected_account()
        if account is None:
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Remove this account?")
        box.setText(f"Remove “{account.label}”?")
        box.setInformativeText("Earmuff forgets what you recorded for it (the history keeps a note) and removes its "
                               "e-mail address from your keyring. Nothing changes at the vendor. You can undo this.")
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _result: self._remove_answered(box, remove, account))
        self.remove_box = box
        box.open()

    def _remove_answered(self, box: QMessageBox, remove_button, account: Account) -> None:
        if box.clickedButton() is not remove_button:
            return
        try:
            self.tracker.remove_account(account.account_id)
        except KeyError:
            return
        if account.has_email:
            self.secrets.call("delete_email", account.account_id, on_done=lambda _result: None)
        self._selected_id = None
        self.status_message.emit(f"Removed {account.label}. Undo with Ctrl+Z.")

    # -- undo and history ----------------------------------------------------------------------------------------------
    def undo(self) -> None:
        try:
            result = self.tracker.undo_last()
        except NothingToUndo:
            self.status_message.emit("There is nothing to undo.")
            return
        except NeedsBridge as needs:
            self.enforcer.undo(needs.entry, on_done=self._refresh_history)
            return
        except ValueError as error:
            self.status_message.emit(f"Cannot undo: {error}")
            return
        if result.forget_email_of is not None:
            self.secrets.call("delete_email", result.forget_email_of, on_done=lambda _result: None)
        if result.undone.action == Action.REMOVE_ACCOUNT.value:
            self._selected_id = int(result.undone.before["account"]["account_id"])
        self.status_message.emit(" ".join(x for x in (f"Undone: {result.undone.summary}.", result.note) if x))
        self._refresh_history()

    def open_history(self) -> HistoryDialog:
        dialog = HistoryDialog(self)
        dialog.undo_requested.connect(self.undo)
        self.history_dialog = dialog
        self._refresh_history()
        dialog.open()
        return dialog

    def _refresh_history(self) -> None:
        if self.history_dialog is None:
            return
        last = self.tracker.last_undoable()
        try:
            self.history_dialog.set_history(self.tracker.history(), f"Undo: {last.summary}" if last else "")
        except RuntimeError:
            self.history_dialog = None

    # -- locally enforced settings ---------------------------------------------------------------------------
    def toggle_local(self, control: LocalControl, on: bool, start: str, end: str) -> None:
        account = self._selected_account()
        self.enforcer.toggle(control, on, start, end, account.account_id if account else None)

    def change_quiet_hours(self, control: LocalControl, start: str, end: str) -> None:
        account = self._selected_account()
        self.enforcer.change_times(control, start, end, account.account_id if account else None)

    def _local_finished(self, control: LocalControl, error: str) -> None:
        card = self.account_view.local_cards.get(control.key)
        if card is None:
            return
        if error:
            card.failed(error)
        else:
            card.pending = False  # the next refresh shows what the bridge now says
            self._schedule_refresh()

    # -- report ------------------------------------------------------------------------------------------------
    def build_report(self):
        now = self.now()
        known = known_speakers(self.current_speakers(), self.tracker.links())
        local = {a.account_id: self.local_for(a, known) for a in self.tracker.accounts()}
        return build_report(self.tracker, now, speakers=known, local=local)

    def choose_export(self, kind: str) -> QFileDialog:
        """Ask where to save the report (`kind` "pdf" or "md"), then write it."""
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        stamp = time.strftime("%Y-%m-%d", time.localtime(self.now()))
        name = f"earmuff-privacy-report-{stamp}.{kind}"
        dialog = QFileDialog(self, "Export the privacy settings report", str(Path(folder) / name),
                             "PDF document (*.pdf)" if kind == "pdf" else "Markdown (*.md)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.fileSelected.connect(lambda path: self.export(path, kind))
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def export(self, path: str | Path, kind: str | None = None) -> Path | None:
        """Write the report to `path` as PDF or Markdown (by `kind`, else by the file's suffix)."""
        path = Path(path)
        kind = kind or ("pdf" if path.suffix.lower() == ".pdf" else "md")
        report = self.build_report()
        try:
            if kind == "pdf":
                write_pdf(path, to_html(report), TITLE)
            else:
                temporary = path.with_name(f".{path.name}.part")
                temporary.write_text(to_markdown(report), encoding="utf-8")
                temporary.replace(path)
        except OSError as error:
            self.status_message.emit(f"Could not save the report to {path}: {error.strerror or error}")
            return None
        self.last_export = path
        self.status_message.emit(f"Saved the report to {path}.")
        return path
