"""The Deletions page's portal part: reminders to delete recordings on the vendors' own pages, their steps, and
when it was last done.

The data lives in app.deletions.portal (Qt-free): a PortalTracker on the app's database (`ctx.portal`).
"""

from __future__ import annotations

import datetime as dt
import html
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.deletions.completions_dialog import CompletionsDialog
from ui.deletions.mark_done_dialog import MarkDoneDialog
from ui.deletions.portal_reminder_dialog import PortalReminderDialog
from ui.deletions.steps_dialog import StepsDialog
from ui.deletions.timefmt import capitalised, day_text, local

OVERDUE_COLOR = QColor("#c62828")
COLUMNS = ("What", "Speaker", "Repeats", "Next due", "Last done")
GUIDE_SCHEME = "guide:"


def due_text(due: float, now: float) -> tuple[str, bool]:
    """('Due today' | 'Overdue by 3 days' | 'In 5 days (Mon 01 Dec)', due or overdue)."""
    days = (local(now).date() - local(due).date()).days
    if due <= now:
        return ("Due today" if days <= 0 else f"Overdue by {days} day{'s' if days != 1 else ''}"), True
    ahead = -days
    if ahead == 0:
        return f"Later today ({local(due):%H:%M})", False
    if ahead == 1:
        return "Tomorrow", False
    return f"In {ahead} days ({day_text(due, now)})", False


class PortalSection(QWidget):
    """Portal reminders: add, mark done (with a note), steps with links, history, remove with undo.

    Attributes:
        tracker: the PortalTracker; guides: guide id -> PortalGuide.
        reminders: the PortalReminders in table order; table, empty_label, due_label (what is due, in words).
        guides_label: links to every guide's steps.
        add_button, done_button, steps_button, history_button, remove_button.
        dialogs opened last: reminder_dialog, done_dialog, steps_dialog, history_dialog.

    Signals:
        status_message(str); removed(str what, object undo): `undo(done)` puts it back;
        attention_changed(): what is due changed.
    """

    status_message = Signal(str)
    removed = Signal(str, object)
    attention_changed = Signal()

    def __init__(self, tracker, guides: list, *, speakers: Callable[[], list[tuple[str, str]]] = list,
                 clock: Callable[[], float] = time.time, alive: Callable[[], bool] = lambda: True,
                 parent: QWidget | None = None) -> None:
        """`alive()`: False once the window has closed (late news is dropped then)."""
        super().__init__(parent)
        self._alive = alive
        self.tracker = tracker
        self.guides = {guide.id: guide for guide in guides}
        self._speakers = speakers
        self._clock = clock
        self.reminders: list = []
        self.reminder_dialog: PortalReminderDialog | None = None
        self.done_dialog: MarkDoneDialog | None = None
        self.steps_dialog: StepsDialog | None = None
        self.history_dialog: CompletionsDialog | None = None
        self._stale = True
        self._build()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        tracker.add_listener(self._tracker_changed)
        self.destroyed.connect(self._forget(tracker, self._tracker_changed))
        self.refresh()

    @staticmethod
    def _forget(tracker, listener) -> Callable:
        return lambda *_: tracker.remove_listener(listener)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(theme.paragraph(
            "Some speakers take no delete command by voice (Apple HomePod, Sonos), and a voice command only "
            "reaches today's recordings. The rest is deleted on the vendor's own page: Earmuff reminds you when it "
            "is time, shows the steps, and keeps when you did it.", self, role="hint"))
        self.due_label = theme.paragraph("", self, role="error")
        self.due_label.setAccessibleName("Due now")
        self.due_label.setVisible(False)
        layout.addWidget(self.due_label)

        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add reminder\u2026", self)
        self.add_button.setToolTip("Add a reminder (Ctrl+N)")
        self.done_button = QPushButton("&Mark done\u2026", self)
        self.done_button.setToolTip("You deleted on the vendor's page: the reminder moves on to its next date")
        self.steps_button = QPushButton("S&teps\u2026", self)
        self.steps_button.setToolTip("How to delete on the vendor's page, with its links")
        self.history_button = QPushButton("H&istory\u2026", self)
        self.history_button.setToolTip("When you did it before, with your notes")
        self.remove_button = QPushButton("&Remove", self)
        self.remove_button.setToolTip("Remove the reminder (Delete; undo with Ctrl+Z)")
        for button, slot in ((self.add_button, lambda: self.open_add()), (self.done_button, self.mark_selected),
                             (self.steps_button, lambda: self.open_steps()), (self.history_button, self.open_history),
                             (self.remove_button, self.remove_selected)):
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Portal reminders")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemActivated.connect(lambda _item: self.open_steps())
        delete_key = QAction(self.table)
        delete_key.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.triggered.connect(self.remove_selected)
        self.table.addAction(delete_key)
        layout.addWidget(self.table, 1)
        self.empty_label = theme.paragraph(
            "No portal reminders yet. Press \u201cAdd reminder\u201d, choose the vendor's page and how often, and "
            "Earmuff tells you when it is due (once a month suits most people).", self, role="hint")
        layout.addWidget(self.empty_label)
        self.guides_label = QLabel(self)
        self.guides_label.setWordWrap(True)
        self.guides_label.setTextFormat(Qt.TextFormat.RichText)
        self.guides_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.guides_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.guides_label.setAccessibleName("Steps for each vendor")
        self.guides_label.linkActivated.connect(self._guide_link)
        links = " \u00b7 ".join(f"<a href='{GUIDE_SCHEME}{html.escape(g.id, quote=True)}'>{html.escape(g.title)}</a>"
                                for g in self.guides.values())
        self.guides_label.setText(f"Steps for: {links}" if links else
                                  "Earmuff's portal guides could not be read (see the log).")
        layout.addWidget(self.guides_label)
        layout.addStretch(0)

    # -- showing -------------------------------------------------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def _tracker_changed(self) -> None:
        try:
            self._schedule_refresh()
        except RuntimeError:
            self.tracker.remove_listener(self._tracker_changed)

    def _schedule_refresh(self) -> None:
        if not self._alive():
            return
        if not self.isVisible():
            self._stale = True
            self.attention_changed.emit()
        elif not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def title_of(self, reminder) -> str:
        guide = self.guides.get(reminder.guide_id)
        title = guide.title if guide is not None else reminder.guide_id
        return f"{title} \u2013 {reminder.label}" if reminder.label else title

    def speaker_names(self) -> dict[str, str]:
        return dict(self._speakers())

    def due(self) -> list:
        return self.tracker.due(now=self.now())

    def refresh(self) -> None:
        self._refresh_timer.stop()
        if not self._alive():
            return
        self._stale = False
        selected = self.selected_reminder()
        now = self.now()
        names = self.speaker_names()
        self.reminders = sorted(self.tracker.reminders(), key=lambda r: (r.next_due or 0.0, r.id))
        self.table.setRowCount(len(self.reminders))
        for row, reminder in enumerate(self.reminders):
            due, is_due = due_text(reminder.next_due, now) if reminder.next_due else ("Never again", False)
            try:
                repeats = reminder.recurrence.describe()
            except ValueError:
                repeats = reminder.recurrence.rrule
            speaker = names.get(reminder.speaker_key, reminder.speaker_key) if reminder.speaker_key else "\u2013"
            last = capitalised(day_text(reminder.last_done_at, now)) if reminder.last_done_at else "Not yet"
            for column, text in enumerate((self.title_of(reminder), speaker, repeats, due, last)):
                item = QTableWidgetItem(text)
                if is_due:
                    item.setForeground(QBrush(OVERDUE_COLOR))
                    item.setToolTip("Due: open the steps, delete on the vendor's page, then mark it done")
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, min(self.table.columnWidth(0) + 12, 420))
        self.table.setVisible(bool(self.reminders))
        self.empty_label.setVisible(not self.reminders)
        if selected is not None:
            self.select_reminder(selected.id)
        due = [r for r in self.reminders if r.next_due and r.next_due <= now]
        self.due_label.setText(
            "Due: " + "; ".join(f"{self.title_of(r)} ({due_text(r.next_due, now)[0].lower()})" for r in due)
            + ". Open the steps, delete on the vendor's page, then mark it done." if due else "")
        self.due_label.setVisible(bool(due))
        self._update_buttons()
        self.attention_changed.emit()

    def selected_reminder(self):
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        if not rows or rows[0].row() >= len(self.reminders):
            return None
        return self.reminders[rows[0].row()]

    def select_reminder(self, reminder_id: int) -> bool:
        for row, reminder in enumerate(self.reminders):
            if reminder.id == reminder_id:
                self.table.selectRow(row)
                return True
        return False

    def _update_buttons(self) -> None:
        selected = self.selected_reminder() is not None
        for button in (self.done_button, self.steps_button, self.remove_button):
            button.setEnabled(selected)
        self.add_button.setEnabled(bool(self.guides))

    # -- actions --------------------------------------------------------------------------------------------
    def open_add(self, guide_id: str | None = None, speaker_key: str = "") -> PortalReminderDialog:
        return self._open_reminder_dialog(None, guide_id, speaker_key)

    def _open_reminder_dialog(self, reminder, guide_id, speaker_key) -> PortalReminderDialog:
        names = sorted(self.speaker_names().items(), key=lambda pair: pair[1].casefold())
        dialog = PortalReminderDialog(self.tracker, list(self.guides.values()), names, reminder=reminder,
                                      guide_id=guide_id, speaker_key=speaker_key, clock=self._clock, parent=self)
        dialog.saved.connect(self._saved)
        self.reminder_dialog = dialog
        dialog.open()
        return dialog

    def _saved(self, reminder) -> None:
        self.refresh()
        self.select_reminder(reminder.id)
        when = due_text(reminder.next_due, self.now())[0].lower() if reminder.next_due else "never again"
        self.status_message.emit(f"Saved the reminder \u201c{self.title_of(reminder)}\u201d: next due {when}.")

    def mark_selected(self) -> MarkDoneDialog | None:
        reminder = self.selected_reminder()
        if reminder is None:
            return None
        dialog = MarkDoneDialog(self.tracker, reminder, self.title_of(reminder), clock=self._clock, parent=self)
        dialog.completed.connect(lambda _completion: self._marked(reminder))
        self.done_dialog = dialog
        dialog.open()
        return dialog

    def _marked(self, reminder) -> None:
        self.refresh()
        self.select_reminder(reminder.id)
        updated = next((r for r in self.reminders if r.id == reminder.id), None)
        after = f" The next reminder is {due_text(updated.next_due, self.now())[0].lower()}." \
            if updated is not None and updated.next_due else ""
        self.status_message.emit(f"Marked \u201c{self.title_of(reminder)}\u201d as done.{after}")

    def open_steps(self, guide_id: str | None = None) -> StepsDialog | None:
        if guide_id is None:
            reminder = self.selected_reminder()
            guide_id = reminder.guide_id if reminder is not None else None
        guide = self.guides.get(guide_id) if guide_id else None
        if guide is None:
            return None
        offer = not any(r.guide_id == guide.id for r in self.tracker.reminders())
        dialog = StepsDialog(guide, offer_reminder=offer, parent=self)
        dialog.reminder_requested.connect(lambda gid: self.open_add(gid))
        self.steps_dialog = dialog
        dialog.open()
        return dialog

    def _guide_link(self, link: str) -> None:
        if link.startswith(GUIDE_SCHEME):
            self.open_steps(link[len(GUIDE_SCHEME):])

    def open_history(self) -> CompletionsDialog:
        reminder = self.selected_reminder()
        completions = self.tracker.history(reminder.id if reminder is not None else None)
        titles = {r.id: self.title_of(r) for r in self.tracker.reminders()}
        rows = []
        for completion in sorted(completions, key=lambda c: c.done_at, reverse=True):
            moment = dt.datetime.fromtimestamp(completion.done_at)
            rows.append((f"{moment:%Y-%m-%d %H:%M}", titles.get(completion.reminder_id, "a removed reminder"),
                         completion.note))
        title = f"Done before: {self.title_of(reminder)}" if reminder is not None else "Done before"
        dialog = CompletionsDialog(title, rows, self)
        self.history_dialog = dialog
        dialog.open()
        return dialog

    def remove_selected(self) -> None:
        reminder = self.selected_reminder()
        if reminder is None:
            return
        try:
            removed = self.tracker.remove(reminder.id)
        except KeyError:
            self.refresh()
            return
        title = self.title_of(reminder)
        self.refresh()
        self.removed.emit(f"the reminder \u201c{title}\u201d", lambda done: self._restore(removed, title, done))
        self.status_message.emit(f"Removed the reminder \u201c{title}\u201d. Undo with Ctrl+Z.")

    def _restore(self, reminder, title: str, done: Callable[[bool, str], None]) -> None:
        try:
            restored = self.tracker.restore(reminder)
        except (ValueError, KeyError) as error:
            done(False, f"The reminder \u201c{title}\u201d could not be put back: {error}")
            return
        self.refresh()
        self.select_reminder(getattr(restored, "id", reminder.id))
        done(True, f"Put back the reminder \u201c{title}\u201d.")
