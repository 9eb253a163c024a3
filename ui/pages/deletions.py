"""Deletions page: getting rid of what the speakers sent, three ways, one tab each.

- Voice deletions: a bridge says "Alexa, delete everything I said today" to a speaker on a schedule (or now) and
  checks that the speaker sent the command on; with the outcomes of the runs (ui.deletions.voice_section).
- Portal reminders: for what no voice command reaches, reminders with the vendor page's steps
  (ui.deletions.portal_section).
- Legal requests: formal erasure requests with their deadlines. The data lives in app.erasure (Qt-free): an
  ErasureTracker on the app's database. This page shows the requests, opens the dialogs in ui.erasure, and sends
  letters through the user's mail client (mailto:) or as a PDF.

From the Activity page, "Delete this recording…" lists the ways that fit one recording (DeleteRecordingDialog).
Ctrl+Z undoes the last removal made on the page (a voice schedule or a portal reminder).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMarginsF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QDesktopServices,
    QKeySequence,
    QPageLayout,
    QPageSize,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.activations import ActivationRecord
from app.deletions.mechanisms import mechanisms_for
from app.deletions.voice import prerequisite_for
from app.erasure.laws import law as law_named
from app.erasure.mailto import mailto_url
from app.erasure.models import ErasureRequest
from app.erasure.tracker import ErasureTracker
from app.optouts.speakers import bridge_key, speakers_from
from ui import theme
from ui.deletions.delete_recording_dialog import DeleteRecordingDialog
from ui.deletions.portal_section import PortalSection
from ui.deletions.speakers import guess_vendor
from ui.deletions.voice_runs import VoiceRunFeed
from ui.deletions.voice_section import VoiceSection
from ui.erasure.new_request_dialog import SAVE_AS_PDF, NewRequestDialog
from ui.erasure.state_dialog import StateDialog

log = logging.getLogger(__name__)

OVERDUE_COLOR = QColor("#c62828")
COLUMNS = ("Company and account", "Law", "State", "Sent", "Deadline", "Days left")
#: The tabs, in order: key -> title (with its Alt mnemonic).
SECTIONS = {"voice": "V&oice deletions", "portal": "&Portal reminders", "legal": "Le&gal requests"}

UndoFunction = Callable[[Callable[[bool, str], None]], None]


def write_pdf(path: str | Path, title: str, text: str) -> None:
    """The letter as an A4 PDF (plain text, so nothing is lost or reformatted)."""
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("Earmuff")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(20, 20, 20, 20), QPageLayout.Unit.Millimeter))
    document = QTextDocument()
    document.setPlainText(text)
    document.print_(writer)


class DeletionsPage(QWidget):
    """Voice deletions, portal reminders and legal erasure requests, in three tabs.

    Attributes:
        tabs: the QTabWidget; sections: key ("voice", "portal", "legal") -> its tab's widget.
        voice: the VoiceSection; portal: the PortalSection (None without ctx.portal); feed: the VoiceRunFeed both
            the voice tab and the recording dialog follow.
        undo_stack: (what, undo) for the removals Ctrl+Z can undo, newest last; undo_action: Ctrl+Z.
        delete_dialog: the DeleteRecordingDialog opened last.
        Legal requests:
        tracker: the ErasureTracker.
        table: one row per request, open ones first; `requests` holds them in row order.
        new_button, state_button, extend_button, reply_button, letter_button, export_button: the actions;
            new_action: Ctrl+N (on the other tabs it adds a schedule or a reminder).
        reminder_label: what is due today or overdue; message_label: the last action's outcome (also emitted as
            status_message).
        dialogs opened last: new_dialog, state_dialog, file_dialog, note_dialog, letter_view.

    Signals:
        status_message(str): a line for the status bar.
        page_requested(): bring this page up (a choice made in a dialog over another page leads here).
        optout_requested(str vendor_id, str speaker_key): show the opt-out a voice deletion needs.
        bridges_requested(): show the Bridges page.
    """

    page_key = "deletions"
    page_title = "Deletions"
    status_message = Signal(str)
    page_requested = Signal()
    optout_requested = Signal(str, str)
    bridges_requested = Signal()

    def __init__(self, ctx, *, adapter=None, model=None, tracker: ErasureTracker | None = None,
                 clock: Callable[[], float] | None = None, parent: QWidget | None = None) -> None:
        """`model`: the DevicesModel (for speaker names); `clock`: what "now" is (default: the opt-out
        tracker's, so tests move every deadline at once)."""
        super().__init__(parent)
        self.ctx = ctx
        self.adapter = adapter
        self.model = model
        clock = clock or getattr(getattr(ctx, "optouts", None), "now", time.time)
        self._clock = clock
        self.tracker = tracker if tracker is not None else ErasureTracker(ctx.database, clock=clock)
        self.requests: list[ErasureRequest] = []
        self.undo_stack: list[tuple[str, UndoFunction]] = []
        self.new_dialog: NewRequestDialog | None = None
        self.state_dialog: StateDialog | None = None
        self.file_dialog: QFileDialog | None = None
        self.note_dialog: QInputDialog | None = None
        self.letter_view: QPlainTextEdit | None = None
        self.delete_dialog: DeleteRecordingDialog | None = None

        layout = theme.page_layout(self, self.page_title)
        self.message_label = theme.paragraph("", self, role="hint")
        self.message_label.setAccessibleName("Last action")
        self.message_label.setVisible(False)
        layout.addWidget(self.message_label)
        self.status_message.connect(self._show_message)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Ways to delete")
        layout.addWidget(self.tabs, 1)
        self.sections: dict[str, QWidget] = {}

        self.feed = VoiceRunFeed(getattr(ctx, "voice_runs", None), adapter, self, alive=self.alive)
        self.voice = VoiceSection(ctx, adapter, self.feed, clock=clock, alive=self.alive, parent=self.tabs)
        self.voice.status_message.connect(self.status_message)
        self.voice.removed.connect(self._removed)
        self.voice.optout_requested.connect(self.optout_requested)
        self.voice.bridges_requested.connect(self.bridges_requested)
        self.voice.attention_changed.connect(self._update_tab_titles)
        self._add_section("voice", self.voice)

        portal = getattr(ctx, "portal", None)
        self.portal = PortalSection(portal, list(portal.guides.values()), speakers=self._speaker_names, clock=clock,
                                    alive=self.alive, parent=self.tabs) if portal is not None else None
        if self.portal is not None:
            self.portal.status_message.connect(self.status_message)
            self.portal.removed.connect(self._removed)
            self.portal.attention_changed.connect(self._update_tab_titles)
            self._add_section("portal", self.portal)

        self._add_section("legal", self._build_legal())

        self.new_action = self._shortcut("Ctrl+N", self.add_in_current_tab)
        self.undo_action = self._shortcut("Ctrl+Z", self.undo)
        self.tracker.add_listener(self.refresh)
        self.destroyed.connect(lambda: self.tracker.remove_listener(self.refresh))
        self.refresh()

    # -- building ---------------------------------------------------------------------------------
    def _add_section(self, key: str, widget: QWidget) -> None:
        self.sections[key] = widget
        self.tabs.addTab(widget, SECTIONS[key])

    def _shortcut(self, keys: str, slot) -> QAction:
        action = QAction(self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_legal(self) -> QWidget:
        legal = QWidget(self.tabs)
        layout = QVBoxLayout(legal)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(theme.paragraph(
            "Formal requests to erase what a company keeps about you, under GDPR Art. 17, UK GDPR or the CCPA/CPRA. "
            "Earmuff writes the letter from a template (not legal advice) and counts the days the law gives the "
            "company to answer.", legal, role="hint"))
        self.reminder_label = theme.paragraph("", legal, role="error")
        layout.addWidget(self.reminder_label)

        row = QHBoxLayout()
        self.new_button = QPushButton("&New erasure request\u2026", legal)
        self.state_button = QPushButton("Change &state\u2026", legal)
        self.extend_button = QPushButton("Company e&xtended the deadline", legal)
        self.reply_button = QPushButton("Attach &reply\u2026", legal)
        self.letter_button = QPushButton("Show &letter", legal)
        self.export_button = QPushButton("Export &deadlines (.ics)\u2026", legal)
        for button, slot in ((self.new_button, lambda: self.new_request()), (self.state_button, self.change_state),
                             (self.extend_button, self.mark_extended), (self.reply_button, self.attach_reply),
                             (self.letter_button, self.show_letter), (self.export_button, self.export_calendar)):
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)

        self.table = QTableWidget(0, len(COLUMNS), legal)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Erasure requests")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemActivated.connect(lambda _item: self.show_letter())
        layout.addWidget(self.table, 1)
        self.empty_label = theme.paragraph(
            "No erasure requests yet. Press \u201cNew erasure request\u201d to write one for a vendor account "
            "you added on the Opt-outs page.", legal, role="hint")
        layout.addWidget(self.empty_label)
        layout.addStretch(0)
        self.new_button.setToolTip("Write a new erasure request (Ctrl+N)")
        return legal

    # -- tabs, messages, undo -----------------------------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def alive(self) -> bool:
        """False once the window has closed: news still queued must not touch the closed database."""
        if self.adapter is not None and not self.adapter.attached:
            return False
        return not getattr(self.ctx.database, "closed", False)

    def current_section(self) -> str:
        widget = self.tabs.currentWidget()
        return next((key for key, section in self.sections.items() if section is widget), "legal")

    def show_section(self, key: str) -> None:
        if key in self.sections:
            self.tabs.setCurrentWidget(self.sections[key])

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _update_tab_titles(self) -> None:
        if not self.alive():
            return
        titles = dict(SECTIONS)
        failed = self.voice.failed_today()
        if failed:
            titles["voice"] += f" ({failed} failed)"
        if self.portal is not None:
            due = len(self.portal.due())
            if due:
                titles["portal"] += f" ({due} due)"
        overdue = len(self.tracker.due_reminders())
        if overdue:
            titles["legal"] += f" ({overdue} to act on)"
        for key, title in titles.items():
            if key in self.sections:
                self.tabs.setTabText(self.tabs.indexOf(self.sections[key]), title)

    def add_in_current_tab(self) -> None:
        """Ctrl+N: a new schedule, reminder or request, by the tab shown."""
        section = self.current_section()
        if section == "voice":
            self.voice.open_dialog()
        elif section == "portal" and self.portal is not None:
            self.portal.open_add()
        else:
            self.new_request()

    def _removed(self, what: str, undo: UndoFunction) -> None:
        self.undo_stack.append((what, undo))
        del self.undo_stack[:-20]

    def undo(self) -> None:
        """Ctrl+Z: put back the last schedule or reminder removed here."""
        if not self.undo_stack:
            self.status_message.emit("There is nothing to undo.")
            return
        what, undo = self.undo_stack.pop()

        def done(ok: bool, message: str) -> None:
            if not ok:
                self.undo_stack.append((what, undo))  # nothing lost: Ctrl+Z tries again
            self.status_message.emit(message)

        undo(done)

    # -- the speakers --------------------------------------------------------------------------------
    def _speaker_names(self) -> list[tuple[str, str]]:
        devices = self.model.devices() if self.model is not None else self.ctx.registry.devices()
        statuses = self.adapter.statuses() if self.adapter is not None else []
        return [(s.key, s.name if not s.via_bridge else f"{s.name} ({s.bridge_name})")
                for s in speakers_from(devices, statuses)]

    # -- a recording from the Activity page ---------------------------------------------------------------
    def delete_recording(self, record: ActivationRecord, parent: QWidget | None = None) -> DeleteRecordingDialog:
        """The ways to delete this recording, the recommended one chosen."""
        optouts = getattr(self.ctx, "optouts", None)
        key = bridge_key(record.bridge_id, record.speaker_id)
        vendor, _source = guess_vendor(optouts, key, record.speaker_name)
        status = self.adapter.manager.status(record.bridge_id) if self.adapter is not None else None
        prerequisite = prerequisite_for(optouts, key, vendor) if optouts is not None and vendor else None
        mechanisms = mechanisms_for(vendor, record.start, now=self.now(), zone=None, on_bridge=status is not None,
                                    prerequisite_enabled=prerequisite.get("enabled") if prerequisite else None)
        dialog = DeleteRecordingDialog(record, mechanisms, vendor=vendor,
                                       bridge_name=status.name if status is not None else "",
                                       bridge_online=status is not None and status.online, feed=self.feed,
                                       clock=self._clock, parent=parent or self)
        dialog.chosen.connect(lambda mechanism: self._mechanism_chosen(record, vendor, mechanism))
        dialog.run_requested.connect(lambda fields: self._run_for_dialog(dialog, record, fields))
        self.delete_dialog = dialog
        dialog.open()
        return dialog

    def _run_for_dialog(self, dialog: DeleteRecordingDialog, record: ActivationRecord, fields: dict) -> None:
        self.voice.run_now(record.bridge_id, fields, progress=dialog.progress, on_started=dialog.started)

    def _mechanism_chosen(self, record: ActivationRecord, vendor: str | None, mechanism) -> None:
        key = bridge_key(record.bridge_id, record.speaker_id)
        if mechanism.kind == "voice_schedule":
            self.page_requested.emit()
            self.show_section("voice")
            self.voice.open_dialog(speaker_key=key, vendor=vendor)
        elif mechanism.kind == "portal" and self.portal is not None:
            self.page_requested.emit()
            self.show_section("portal")
            if mechanism.guide_id is None or self.portal.open_steps(mechanism.guide_id) is None:
                self.status_message.emit("Earmuff has no steps for this vendor's page; a legal request still works.")
        else:
            self.page_requested.emit()
            self.show_section("legal")
            self.new_request(record)

    # -- showing ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        if getattr(self.ctx.database, "closed", False):
            return
        selected = self.selected_request()
        today = self.tracker.today()
        self.requests = sorted(self.tracker.requests(), key=lambda r: (r.state.final, self.tracker.days_left(r)))
        self.table.setRowCount(len(self.requests))
        for row, request in enumerate(self.requests):
            deadlines = self.tracker.deadlines(request)
            days = deadlines.days_left(today)
            if request.state.final:
                days_text = "\u2013"
            elif days < 0:
                days_text = f"overdue by {-days}"
            else:
                days_text = str(days)
            deadline_text = deadlines.response.isoformat() + (" (extended)" if request.extended else "")
            state_text = request.state.title + (f": {request.reason}" if request.reason else "")
            cells = (f"{request.vendor_name} \u2013 {request.account_label}", law_named(request.law_id).title,
                     state_text, request.received.isoformat(), deadline_text, days_text)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not request.state.final and days < 0:
                    item.setForeground(QBrush(OVERDUE_COLOR))
                    item.setToolTip("Overdue: the company did not answer in the time the law gives it")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.setVisible(bool(self.requests))
        self.empty_label.setVisible(not self.requests)
        if selected is not None:
            self.select_request(selected.request_id)
        reminders = self.tracker.due_reminders()
        self.reminder_label.setText("\n".join(f"{r.vendor_name} \u2013 {r.account_label}: {what}."
                                              for r, what in reminders))
        self.reminder_label.setVisible(bool(reminders))
        self._update_buttons()
        self._update_tab_titles()

    def selected_request(self) -> ErasureRequest | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.requests):
            return None
        return self.requests[rows[0].row()]

    def select_request(self, request_id: int) -> None:
        for row, request in enumerate(self.requests):
            if request.request_id == request_id:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        request = self.selected_request()
        active = request is not None and not request.state.final
        self.state_button.setEnabled(active)
        self.extend_button.setEnabled(active and not request.extended)
        self.reply_button.setEnabled(request is not None)
        self.letter_button.setEnabled(request is not None)
        self.export_button.setEnabled(any(not r.state.final for r in self.requests))

    # -- actions ----------------------------------------------------------------------------------
    def _accounts(self) -> list:
        optouts = getattr(self.ctx, "optouts", None)
        if optouts is None:
            return []
        found = []
        for account in optouts.accounts():
            vendor = optouts.vendor_of(account)
            found.append((account, vendor.name if vendor is not None else account.vendor))
        return found

    def _activations(self, accounts: list) -> dict:
        """Per account: recent cached activations of its linked bridge speakers (all of them if none is linked)."""
        cache = getattr(self.ctx, "activations", None)
        if cache is None:
            return {}
        recent = cache.query(limit=500)
        by_account = {}
        for account, _name in accounts:
            keys = {link.speaker_key for link in self.ctx.optouts.links(account.account_id)}
            speakers = {tuple(k.removeprefix("bridge:").split("/", 1)) for k in keys if k.startswith("bridge:")}
            by_account[account.account_id] = [r for r in recent if not speakers or r.key in speakers][:100]
        return by_account

    def new_request(self, record: ActivationRecord | None = None) -> None:
        """Open the new-request dialog; with `record` (from the Activity page), that recording is cited and the
        account its speaker is linked to chosen."""
        self.show_section("legal")
        accounts = self._accounts()
        if not accounts:
            self.status_message.emit("Add your vendor account on the Opt-outs page first; requests are made for it.")
            return
        activations = self._activations(accounts)
        if record is not None:  # an older recording than the dialog's list goes: add it where it belongs
            for account, _name in accounts:
                keys = {link.speaker_key for link in self.ctx.optouts.links(account.account_id)}
                if bridge_key(record.bridge_id, record.speaker_id) in keys:
                    listed = activations.setdefault(account.account_id, [])
                    if all(r.activation_id != record.activation_id or r.key != record.key for r in listed):
                        listed.insert(0, record)
        self.new_dialog = NewRequestDialog(self.tracker, accounts, activations, self,
                                           secrets=getattr(self.ctx, "account_secrets", None))
        self.new_dialog.created.connect(self._created)
        if record is not None and not self.new_dialog.cite(record):
            self.status_message.emit(
                f"No vendor account is linked to {record.speaker_name}: choose the account, or link the speaker "
                "on the Opt-outs page so its recordings can be cited.")
        self.new_dialog.open()

    def _created(self, request: ErasureRequest, how: str) -> None:
        self.select_request(request.request_id)
        if how == SAVE_AS_PDF:
            self._ask_path("Save the letter as PDF", "PDF files (*.pdf)", ".pdf",
                           lambda path: self.save_pdf(request, path))
        else:
            self.send_mail(request)

    def send_mail(self, request: ErasureRequest) -> None:
        url = mailto_url(request.recipient, subject=request.subject, body=request.letter)
        if QDesktopServices.openUrl(QUrl.fromEncoded(url.encode("ascii"))):
            self.status_message.emit("The letter is in your mail client: check it and press Send.")
        else:
            self.status_message.emit("No mail client opened; save the letter as PDF instead.")

    def save_pdf(self, request: ErasureRequest, path: str) -> None:
        write_pdf(path, request.subject, f"{request.subject}\n\n{request.letter}")
        self.status_message.emit(f"Saved the letter to {path}.")

    def _ask_path(self, title: str, name_filter: str, suffix: str, done) -> None:
        dialog = QFileDialog(self, title)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(name_filter)
        dialog.setDefaultSuffix(suffix.lstrip("."))
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(done)
        self.file_dialog = dialog
        dialog.open()

    def change_state(self) -> None:
        request = self.selected_request()
        if request is None or request.state.final:
            return
        self.state_dialog = StateDialog(self.tracker, request, self)
        self.state_dialog.open()

    def mark_extended(self) -> None:
        request = self.selected_request()
        if request is None:
            return
        try:
            updated = self.tracker.extend(request.request_id)
        except ValueError as error:
            self.status_message.emit(str(error).capitalize() + ".")
            return
        self.status_message.emit(f"New deadline: {self.tracker.deadlines(updated).response.isoformat()}.")

    def attach_reply(self) -> None:
        request = self.selected_request()
        if request is None:
            return
        dialog = QFileDialog(self, "Choose the company's reply")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(lambda path: self._ask_note(request, path))
        self.file_dialog = dialog
        dialog.open()

    def _ask_note(self, request: ErasureRequest, path: str) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Reply")
        dialog.setLabelText("A note about the reply (optional):")
        dialog.textValueSelected.connect(lambda note: self.tracker.attach_reply(request.request_id, path, note))
        self.note_dialog = dialog
        dialog.open()

    def show_letter(self) -> None:
        request = self.selected_request()
        if request is None:
            return
        history = "\n".join(
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(c.at))}  {c.action}"
            f"{': ' + c.from_state + ' -> ' + c.to_state if c.action == 'state' else ''}"
            f"{'  (' + c.note + ')' if c.note else ''}" for c in self.tracker.history(request.request_id))
        reply = f"\nReply: {request.reply_path}  {request.reply_note}\n" if request.reply_path else ""
        view = QPlainTextEdit(self)
        view.setWindowFlag(Qt.WindowType.Dialog)
        view.setWindowTitle(request.subject)
        view.setReadOnly(True)
        view.setPlainText(f"To: {request.recipient or '(you chose the address)'}\nSubject: {request.subject}\n\n"
                          f"{request.letter}\n{reply}\nHistory:\n{history}\n")
        view.resize(640, 600)
        self.letter_view = view
        view.show()

    def export_calendar(self) -> None:
        self._ask_path("Export the deadlines", "Calendar files (*.ics)", ".ics", self.save_calendar)

    def save_calendar(self, path: str) -> None:
        Path(path).write_bytes(self.tracker.calendar().encode("utf-8"))
        self.status_message.emit(f"Saved the deadlines to {path}; open it with your calendar.")
