"""The Deletions page's voice part: the bridges' scheduled voice deletions and what came of their runs.

The schedules live on the bridges (they run while this computer is off); this section asks each online bridge
for them, and writes changes back through the BridgeAdapter. Runs come from the app's cache and the bridges'
"deletion_run" events (a VoiceRunFeed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.bridge_client import Outcome
from app.deletions.voice import PREREQUISITE_SETTING, VoiceRun, VoiceSchedule, prerequisite_for, stale_prerequisites
from app.optouts.speakers import bridge_key
from ui import theme
from ui.deletions.run_progress import RunProgress, phase_text
from ui.deletions.speakers import bridge_speakers
from ui.deletions.timefmt import capitalised, moment_text
from ui.deletions.voice_runs import VoiceRunFeed, run_time
from ui.deletions.voice_schedule_dialog import VoiceScheduleDialog
from ui.pages.empty_state import EmptyState

log = logging.getLogger(__name__)

FAILED_COLOR = QColor("#c62828")
WARNING_COLOR = QColor("#ef6c00")
#: While a run goes on, the bridge is asked this often how far it got (its events only say start and end).
POLL_MS = 1000
SCHEDULE_COLUMNS = ("Speaker", "Says", "When", "Next run", "Last outcome")
RUN_COLUMNS = ("When", "Speaker", "Outcome", "What happened")

ScheduleKey = tuple[str, int]


def as_schedule(bridge_id: str, value) -> VoiceSchedule:
    return value if isinstance(value, VoiceSchedule) else VoiceSchedule.from_bridge(bridge_id, value)


def as_run(bridge_id: str, value) -> VoiceRun:
    return value if isinstance(value, VoiceRun) else VoiceRun.from_bridge(bridge_id, value)


def _table(parent: QWidget, columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(columns)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return table


class VoiceSection(QWidget):
    """Scheduled voice deletions (add, edit, delete with undo, run now) and recent outcomes.

    Attributes:
        adapter: the BridgeAdapter (None: no bridges at all); feed: the VoiceRunFeed.
        schedules: the VoiceSchedules in table order; schedules_table, runs_table (runs: the VoiceRuns shown).
        add_button, edit_button, delete_button, run_button; progress: the run followed (RunProgress).
        bridges_label: bridges that are offline or did not answer, in words.
        no_bridge_state: shown while no bridge is paired; schedules_empty, runs_empty: the empty tables' texts.
        dialog: the VoiceScheduleDialog opened last.

    Signals:
        status_message(str): the outcome of an action, for the page.
        removed(str what, object undo): a schedule was deleted; `undo(done)` adds it back.
        optout_requested(str vendor_id, str speaker_key), bridges_requested(): show another page.
        attention_changed(): failures or runs in progress changed (the tab's title counts them).
    """

    status_message = Signal(str)
    removed = Signal(str, object)
    optout_requested = Signal(str, str)
    bridges_requested = Signal()
    attention_changed = Signal()

    def __init__(self, ctx, adapter, feed: VoiceRunFeed, *, clock: Callable[[], float] = time.time,
                 alive: Callable[[], bool] = lambda: True,
                 parent: QWidget | None = None) -> None:
        """`alive()`: False once the window has closed (late news is dropped then)."""
        super().__init__(parent)
        self._alive = alive
        self.ctx = ctx
        self.adapter = adapter
        self.feed = feed
        self._clock = clock
        self._optouts = getattr(ctx, "optouts", None)
        self.schedules: list[VoiceSchedule] = []
        self.runs: list[VoiceRun] = []
        self.dialog: VoiceScheduleDialog | None = None
        self._by_bridge: dict[str, list[VoiceSchedule]] = {}
        self._problems: dict[str, str] = {}
        self._loading: set[str] = set()
        self._load_again: set[str] = set()
        self._online: dict[str, bool] = {}
        self._busy: dict[ScheduleKey, str] = {}
        self._starting: set[tuple[str, str]] = set()
        self._syncing: set[ScheduleKey] = set()
        self._stale = True
        self._build()

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(self.redraw)
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll_running)
        self._polling: set[tuple[str, int]] = set()
        feed.changed.connect(self._schedule_redraw)
        feed.run_updated.connect(self._run_updated)
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self._bridge_removed)
            for status in adapter.statuses():
                self._online[status.bridge_id] = status.online
        self._recorded = self._prerequisites_recorded() if self._optouts is not None else ()
        if self._optouts is not None:
            self._optouts.add_listener(self._optouts_changed)
            self.destroyed.connect(self._forget_optouts(self._optouts, self._optouts_changed))

    @staticmethod
    def _forget_optouts(tracker, listener) -> Callable:
        return lambda *_: tracker.remove_listener(listener)

    # -- building -------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(10)
        self._stack = QStackedWidget(self)
        layout.addWidget(self._stack, 1)
        self.no_bridge_state = EmptyState(
            "Voice deletions need an Earmuff bridge",
            "Amazon and Google delete what your speaker recorded when you say so: \u201cAlexa, delete everything "
            "I said today\u201d. A bridge can say it for you every night: it lifts the speaker's mute, plays the "
            "command, checks the speaker really sent it on, and mutes it again.",
            note="Pair a bridge on the Bridges page. Until then, use the portal reminders or a legal request.",
            action=("Show the &bridges", self.bridges_requested.emit), parent=self._stack)
        self._stack.addWidget(self.no_bridge_state)

        content = QWidget(self._stack)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(theme.paragraph(
            "At the times you choose, a bridge says the delete command to the speaker and checks that the speaker "
            "sent it on to its company. Schedules are kept on the bridge, so they run while this computer is off.",
            content, role="hint"))
        self.bridges_label = theme.paragraph("", content, role="hint")
        self.bridges_label.setAccessibleName("Bridges")
        self.bridges_label.setVisible(False)
        column.addWidget(self.bridges_label)

        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add schedule\u2026", content)
        self.add_button.setToolTip("Schedule a voice deletion (Ctrl+N)")
        self.edit_button = QPushButton("&Edit\u2026", content)
        self.delete_button = QPushButton("&Delete", content)
        self.delete_button.setToolTip("Delete the schedule from its bridge (Delete; undo with Ctrl+Z)")
        self.run_button = QPushButton("&Run now", content)
        self.run_button.setToolTip("Say the command to the speaker now and watch what it does")
        for button, slot in ((self.add_button, lambda: self.open_dialog()), (self.edit_button, self.edit_selected),
                             (self.delete_button, self.delete_selected), (self.run_button, self.run_selected)):
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        column.addLayout(buttons)

        splitter = QSplitter(Qt.Orientation.Vertical, content)
        splitter.setChildrenCollapsible(False)
        upper = QWidget(splitter)
        upper_column = QVBoxLayout(upper)
        upper_column.setContentsMargins(0, 0, 0, 0)
        upper_column.setSpacing(6)
        self.schedules_table = _table(upper, SCHEDULE_COLUMNS, "Scheduled voice deletions")
        self.schedules_table.itemSelectionChanged.connect(self._update_buttons)
        self.schedules_table.itemActivated.connect(lambda _item: self.edit_selected())
        delete_key = QAction(self.schedules_table)
        delete_key.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete_key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete_key.triggered.connect(self.delete_selected)
        self.schedules_table.addAction(delete_key)
        upper_column.addWidget(self.schedules_table, 1)
        self.schedules_empty = theme.paragraph(
            "No voice deletions scheduled yet. Press \u201cAdd schedule\u201d to have a bridge say, for example, "
            "\u201cAlexa, delete everything I said today\u201d every night at 23:55.", upper, role="hint")
        upper_column.addWidget(self.schedules_empty)
        self.progress = RunProgress(upper)
        self.progress.setVisible(False)
        upper_column.addWidget(self.progress)

        lower = QWidget(splitter)
        lower_column = QVBoxLayout(lower)
        lower_column.setContentsMargins(0, 6, 0, 0)
        lower_column.setSpacing(6)
        lower_column.addWidget(theme.heading("Recent outcomes", 2, lower))
        self.runs_table = _table(lower, RUN_COLUMNS, "Recent outcomes")
        lower_column.addWidget(self.runs_table, 1)
        self.runs_empty = theme.paragraph(
            "Nothing has run yet. Each run is listed here: whether the speaker sent the command on, or why the "
            "bridge skipped it.", lower, role="hint")
        lower_column.addWidget(self.runs_empty)
        splitter.addWidget(upper)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        column.addWidget(splitter, 1)
        self._stack.addWidget(content)

    # -- loading ------------------------------------------------------------------------------------------
    def _statuses(self) -> list:
        return self.adapter.statuses() if self.adapter is not None else []

    def reload(self, bridge_id: str | None = None) -> None:
        """Ask the online bridges (or one) for their schedules."""
        for status in self._statuses():
            if (bridge_id is None or status.bridge_id == bridge_id) and status.online:
                self._load(status.bridge_id)
        self._schedule_redraw()

    def _load_unknown(self) -> bool:
        """Ask the online bridges whose schedules were never read; True if any was asked."""
        unknown = [s.bridge_id for s in self._statuses() if s.online and s.bridge_id not in self._by_bridge]
        for bridge_id in unknown:
            self._load(bridge_id)
        return bool(unknown)

    def _load(self, bridge_id: str) -> None:
        if bridge_id in self._loading:
            self._load_again.add(bridge_id)  # the answer on its way may be older than what is asked now
            return
        self._loading.add(bridge_id)
        self.adapter.call("deletion_schedules", bridge_id, on_done=lambda outcome: self._loaded(bridge_id, outcome))

    def _loaded(self, bridge_id: str, outcome: Outcome) -> None:
        self._loading.discard(bridge_id)
        if not self._alive():
            return
        if bridge_id in self._load_again:
            self._load_again.discard(bridge_id)
            self._load(bridge_id)
        if not outcome.ok:
            self._problems[bridge_id] = outcome.message
            log.info("could not read the voice deletions of bridge %s: %s", bridge_id, outcome.message)
        else:
            self._problems.pop(bridge_id, None)
            found = []
            for value in outcome.value or []:
                try:
                    found.append(as_schedule(bridge_id, value))
                except (ValueError, TypeError) as error:
                    log.warning("a voice deletion schedule of bridge %s could not be read: %s", bridge_id, error)
            self._by_bridge[bridge_id] = found
            self.sync_prerequisites()
        self.redraw()

    def _bridge_updated(self, status) -> None:
        was = self._online.get(status.bridge_id)
        self._online[status.bridge_id] = status.online
        # Read while shown; a hidden page reads when it is shown (no traffic for what nobody looks at).
        if status.online and (not was or status.bridge_id not in self._by_bridge) and self.isVisible():
            self._load(status.bridge_id)
        self._schedule_redraw()

    def _bridge_removed(self, bridge_id: str) -> None:
        self._online.pop(bridge_id, None)
        self._by_bridge.pop(bridge_id, None)
        self._problems.pop(bridge_id, None)
        self._schedule_redraw()

    def _prerequisites_recorded(self) -> tuple:
        """What the opt-outs say about the settings voice deletions need (accounts, links, confirmations)."""
        tracker = self._optouts
        found = []
        for account in tracker.accounts():
            setting_id = PREREQUISITE_SETTING.get(account.vendor)
            if setting_id is None:
                continue
            keys = sorted(link.speaker_key for link in tracker.links(account.account_id))
            for target in ["", *keys]:
                confirmation = tracker.confirmation(account.account_id, setting_id, target)
                found.append((account.account_id, tuple(keys), target,
                              (confirmation.value, confirmation.confirmed_at) if confirmation else None))
        return tuple(found)

    def _optouts_changed(self) -> None:
        try:
            recorded = self._prerequisites_recorded()
            if recorded != self._recorded:
                self._recorded = recorded
                if not self._load_unknown():  # else the sync follows the bridges' answers
                    self.sync_prerequisites()
            self._schedule_redraw()
        except RuntimeError:  # deleted while the tracker lives on
            self._optouts.remove_listener(self._optouts_changed)

    def sync_prerequisites(self) -> None:
        """Tell the bridges when an opt-out a schedule needs was recorded (or cleared) here, so their runs go
        ahead (or are skipped) without the schedule being saved again."""
        if self._optouts is None or self.adapter is None:
            return
        schedules = [s for bridge_id, found in self._by_bridge.items() if self._online.get(bridge_id) for s in found
                     if s.key not in self._syncing]
        for schedule, fields in stale_prerequisites(schedules, self._optouts):
            key = schedule.key
            self._syncing.add(key)
            self.adapter.call("save_deletion_schedule", schedule.bridge_id, fields, schedule_id=schedule.id,
                              on_done=lambda outcome, k=key: self._synced(k, outcome))

    def _synced(self, key: ScheduleKey, outcome: Outcome) -> None:
        self._syncing.discard(key)
        if outcome.ok:
            self._replace(as_schedule(key[0], outcome.value))
        else:
            log.info("could not update a voice deletion's prerequisite on %s: %s", key[0], outcome.message)

    def _replace(self, schedule: VoiceSchedule) -> None:
        listed = self._by_bridge.setdefault(schedule.bridge_id, [])
        self._by_bridge[schedule.bridge_id] = [s for s in listed if s.id != schedule.id] + [schedule]
        self._schedule_redraw()

    # -- drawing ----------------------------------------------------------------------------------------------
    def _schedule_redraw(self, *_args) -> None:
        if not self._alive():
            return
        if not self.isVisible():
            self._stale = True
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start()
        self.attention_changed.emit()

    def showEvent(self, event: QShowEvent) -> None:
        """Shown: ask the bridges again (another computer may have changed their schedules) and redraw."""
        super().showEvent(event)
        self.reload()
        if self._stale:
            self.redraw()

    def now(self) -> float:
        return self._clock()

    def speaker_name(self, bridge_id: str, speaker_id: str) -> str:
        status = next((s for s in self._statuses() if s.bridge_id == bridge_id), None)
        state = status.speaker(speaker_id) if status is not None else None
        return state.name if state is not None else speaker_id

    def bridge_name(self, bridge_id: str) -> str:
        status = next((s for s in self._statuses() if s.bridge_id == bridge_id), None)
        return status.name if status is not None else "a bridge no longer paired"

    def redraw(self) -> None:
        self._redraw_timer.stop()
        if not self._alive():
            return
        self._stale = False
        statuses = self._statuses()
        self._stack.setCurrentIndex(1 if statuses else 0)
        self._show_bridges(statuses)
        self._show_schedules(statuses)
        self._show_runs()
        self._update_buttons()

    def _show_bridges(self, statuses: list) -> None:
        notes = []
        for status in statuses:
            if not status.online:
                notes.append(f"\u201c{status.name}\u201d is offline: its voice deletions keep running on it, but "
                             "Earmuff cannot show or change them until it is back.")
            elif status.bridge_id in self._problems:
                notes.append(f"\u201c{status.name}\u201d did not list its voice deletions: "
                             f"{self._problems[status.bridge_id]}")
            elif status.bridge_id in self._loading and status.bridge_id not in self._by_bridge:
                notes.append(f"Asking \u201c{status.name}\u201d for its voice deletions\u2026")
        self.bridges_label.setText("\n".join(notes))
        self.bridges_label.setVisible(bool(notes))

    def _show_schedules(self, statuses: list) -> None:
        selected = self.selected_schedule()
        paired = {s.bridge_id for s in statuses}
        several = len(paired) > 1
        schedules = [s for bridge_id, found in self._by_bridge.items() if bridge_id in paired for s in found]
        schedules.sort(key=lambda s: (self.speaker_name(s.bridge_id, s.speaker_id).casefold(), s.bridge_id, s.id))
        self.schedules = schedules
        table = self.schedules_table
        table.setRowCount(len(schedules))
        now = self.now()
        for row, schedule in enumerate(schedules):
            online = self._online.get(schedule.bridge_id, False)
            name = self.speaker_name(schedule.bridge_id, schedule.speaker_id)
            if several:
                name += f" ({self.bridge_name(schedule.bridge_id)})"
            if schedule.label:
                name += f" \u00b7 {schedule.label}"
            says = schedule.phrase + (" (your recording)" if schedule.audio == "recording" else "")
            try:
                when = schedule.describe()
            except ValueError:
                when = f"Custom: {schedule.rrule}"
            rule_tip = f"{schedule.rrule}\nfrom {schedule.dtstart}"
            cells = [(name, ""), (f"\u201c{says}\u201d", schedule.phrase), (when, rule_tip)]
            next_item = self._next_run_cell(schedule, online, now)
            last_item = self._last_run_cell(schedule, now)
            for column, (text, tip) in enumerate(cells):
                item = QTableWidgetItem(text)
                if tip:
                    item.setToolTip(tip)
                if not schedule.enabled or not online:
                    item.setForeground(QBrush(self.palette().placeholderText().color()))
                table.setItem(row, column, item)
            table.setItem(row, 3, next_item)
            table.setItem(row, 4, last_item)
        table.resizeColumnsToContents()
        for column, limit in ((0, 260), (1, 330), (2, 260), (3, 230)):
            table.setColumnWidth(column, min(table.columnWidth(column) + 12, limit))
        table.setVisible(bool(schedules))
        self.schedules_empty.setVisible(not schedules)
        if selected is not None:
            self.select_schedule(selected.bridge_id, selected.id)

    def _next_run_cell(self, schedule: VoiceSchedule, online: bool, now: float) -> QTableWidgetItem:
        busy = self._busy.get((schedule.bridge_id, schedule.id))
        if busy:
            return QTableWidgetItem(busy)
        if not schedule.enabled:
            item = QTableWidgetItem("Paused")
            item.setToolTip("Not in force: edit it and tick \u201cIn force\u201d to run it again")
            return item
        upcoming = [t for t in schedule.next_runs if t]
        text = capitalised(moment_text(upcoming[0], now)) if upcoming else "\u2013"
        tips = ["Next: " + ", ".join(moment_text(t, now) for t in upcoming)] if upcoming else []
        if not online:
            text += " (bridge offline)"
        item = QTableWidgetItem(text)
        prerequisite = schedule.prerequisite
        if prerequisite is not None and not prerequisite.enabled:
            item.setText(text + " \u2013 will be skipped")
            item.setForeground(QBrush(WARNING_COLOR))
            tips.append(f"The bridge skips it until \u201c{prerequisite.name}\u201d is recorded as On on the "
                        "Opt-outs page.")
        item.setToolTip("\n".join(tips))
        return item

    def _last_run_cell(self, schedule: VoiceSchedule, now: float) -> QTableWidgetItem:
        last = schedule.last_run
        # Its own runs, and "Run now" of the same words to the same speaker (the bridge ties those to no schedule).
        newer = [r for r in self.feed.runs() if r.bridge_id == schedule.bridge_id and (
            r.schedule_id == schedule.id or (r.schedule_id is None and r.speaker_id == schedule.speaker_id
                                             and r.phrase == schedule.phrase))]
        if newer and (last is None or run_time(newer[0]) >= run_time(last)):
            last = newer[0]
        if last is None:
            return QTableWidgetItem("Not run yet")
        if last.state != "done":
            return QTableWidgetItem(last.title)  # "Running: watching for the upload"
        short = last.title.split(":", 1)[0]  # "Deleted", "Not confirmed", "Skipped"
        item = QTableWidgetItem(f"{short} ({moment_text(run_time(last), now)})")
        item.setToolTip(f"{last.title}.\n{capitalised(last.why)}")
        if last.failed:
            item.setForeground(QBrush(FAILED_COLOR))
        return item

    def _show_runs(self) -> None:
        self.runs = self.feed.runs(100)
        table = self.runs_table
        table.setRowCount(len(self.runs))
        now = self.now()
        for row, run in enumerate(self.runs):
            name = self.speaker_name(run.bridge_id, run.speaker_id)
            if run.state != "done":
                outcome, why = "In progress", phase_text(run, name)
            else:
                outcome, why = run.title, capitalised(run.why)
            when = capitalised(moment_text(run.finished_at or run_time(run), now))
            for column, text in enumerate((when, name, outcome, why)):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setToolTip(f"\u201c{run.phrase}\u201d\n{why}")
                if run.state == "done" and run.failed:
                    item.setForeground(QBrush(FAILED_COLOR))
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        for column, limit in ((0, 170), (1, 220), (2, 330)):
            table.setColumnWidth(column, min(table.columnWidth(column) + 12, limit))
        table.setVisible(bool(self.runs))
        self.runs_empty.setVisible(not self.runs)

    def failed_today(self) -> int:
        start = self.now() - 86400
        return sum(1 for run in self.feed.runs(50) if run.state == "done" and run.failed and run_time(run) >= start)

    # -- selection ------------------------------------------------------------------------------------------
    def selected_schedule(self) -> VoiceSchedule | None:
        model = self.schedules_table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        if not rows or rows[0].row() >= len(self.schedules):
            return None
        return self.schedules[rows[0].row()]

    def select_schedule(self, bridge_id: str, schedule_id: int) -> bool:
        for row, schedule in enumerate(self.schedules):
            if (schedule.bridge_id, schedule.id) == (bridge_id, schedule_id):
                self.schedules_table.selectRow(row)
                return True
        return False

    def _update_buttons(self) -> None:
        schedule = self.selected_schedule()
        online = schedule is not None and self._online.get(schedule.bridge_id, False)
        busy = schedule is not None and (schedule.bridge_id, schedule.id) in self._busy
        starting = schedule is not None and (schedule.bridge_id, schedule.speaker_id) in self._starting
        reason = "" if schedule is None or online else \
            f"\u201c{self.bridge_name(schedule.bridge_id)}\u201d is offline"
        for button in (self.edit_button, self.delete_button, self.run_button):
            button.setEnabled(bool(online) and not busy)
        running = any(r.bridge_id == getattr(schedule, "bridge_id", None)
                      and r.speaker_id == getattr(schedule, "speaker_id", None) for r in self.feed.running())
        self.run_button.setEnabled(bool(online) and not busy and not starting and not running)
        self.run_button.setText("Starting\u2026" if starting else "&Run now")
        self.delete_button.setText("Deleting\u2026" if busy and self._busy.get(
            (schedule.bridge_id, schedule.id), "").startswith("Deleting") else "&Delete")
        self.edit_button.setToolTip(reason)
        self.delete_button.setToolTip(reason or "Delete the schedule from its bridge (Delete; undo with Ctrl+Z)")
        self.run_button.setToolTip(reason or ("The speaker is busy with a voice deletion now" if running else
                                              "Say the command to the speaker now and watch what it does"))
        self.add_button.setEnabled(any(s.online for s in self._statuses()))
        self.add_button.setToolTip("Schedule a voice deletion (Ctrl+N)" if self.add_button.isEnabled() else
                                   "No bridge is online: schedules are saved on a bridge")

    # -- the dialog -----------------------------------------------------------------------------------------
    def speakers(self):
        return bridge_speakers(self._statuses(), self._optouts)

    def open_dialog(self, schedule: VoiceSchedule | None = None, *, speaker_key: str | None = None,
                    vendor: str | None = None, phrase: str | None = None) -> VoiceScheduleDialog | None:
        if self.adapter is None or not self._statuses():
            self.status_message.emit("Pair a bridge first (Bridges page): voice deletions are kept and run there.")
            return None
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = VoiceScheduleDialog(self.adapter, self.speakers(), self._optouts, schedule=schedule,
                                     speaker_key=speaker_key, vendor=vendor, phrase=phrase, clock=self._clock,
                                     parent=self)
        dialog.saved.connect(lambda value, d=dialog: self._saved(d, value))
        dialog.optout_requested.connect(self.optout_requested)
        self.dialog = dialog
        dialog.show()
        return dialog

    def edit_selected(self) -> None:
        schedule = self.selected_schedule()
        if schedule is not None and self._online.get(schedule.bridge_id):
            self.open_dialog(schedule)

    def _saved(self, dialog: VoiceScheduleDialog, value) -> None:
        speaker = dialog.speaker()
        bridge_id = speaker.bridge_id if speaker is not None else None
        try:
            schedule = as_schedule(bridge_id or "", value)
        except (ValueError, TypeError):
            self.reload(bridge_id)
            return
        self._replace(schedule)
        self.redraw()
        self.select_schedule(schedule.bridge_id, schedule.id)
        name = self.speaker_name(schedule.bridge_id, schedule.speaker_id)
        nexts = [t for t in schedule.next_runs if t]
        self.status_message.emit(f"Saved the voice deletion for {name}" +
                                 (f"; it first runs {moment_text(nexts[0], self.now())}." if nexts else "."))

    # -- deleting and undo ------------------------------------------------------------------------------------
    def delete_selected(self) -> None:
        schedule = self.selected_schedule()
        if schedule is None or not self._online.get(schedule.bridge_id):
            return
        key = (schedule.bridge_id, schedule.id)
        if key in self._busy:
            return
        self._busy[key] = "Deleting\u2026"
        self.redraw()
        self.adapter.call("delete_deletion_schedule", schedule.bridge_id, schedule.id,
                          on_done=lambda outcome: self._deleted(schedule, outcome))

    def _deleted(self, schedule: VoiceSchedule, outcome: Outcome) -> None:
        self._busy.pop((schedule.bridge_id, schedule.id), None)
        name = self.speaker_name(schedule.bridge_id, schedule.speaker_id)
        if not outcome.ok and getattr(outcome.error, "status", None) != 404:
            self.status_message.emit(f"The voice deletion for {name} was not deleted: {outcome.message}")
            self.redraw()
            return
        listed = self._by_bridge.get(schedule.bridge_id, [])
        self._by_bridge[schedule.bridge_id] = [s for s in listed if s.id != schedule.id]
        self.redraw()
        self.removed.emit(f"the voice deletion for {name}", lambda done: self.restore(schedule, done))
        self.status_message.emit(f"Deleted the voice deletion for {name} from its bridge. Undo with Ctrl+Z.")

    def restore(self, schedule: VoiceSchedule, done: Callable[[bool, str], None]) -> None:
        """Add a deleted schedule back (a new id on the bridge); `done(ok, message)`."""
        name = self.speaker_name(schedule.bridge_id, schedule.speaker_id)
        if not self._online.get(schedule.bridge_id):
            done(False, f"\u201c{self.bridge_name(schedule.bridge_id)}\u201d is offline, so the voice deletion for "
                        f"{name} cannot be put back yet. Press Ctrl+Z again when it is back.")
            return
        fields = schedule.fields()

        def added(outcome: Outcome) -> None:
            if not outcome.ok:
                done(False, f"The voice deletion for {name} could not be put back: {outcome.message}. "
                            "Press Ctrl+Z to try again.")
                return
            restored = as_schedule(schedule.bridge_id, outcome.value)
            self._replace(restored)
            self.redraw()
            self.select_schedule(restored.bridge_id, restored.id)
            done(True, f"Put back the voice deletion for {name}.")

        self.status_message.emit(f"Putting back the voice deletion for {name}\u2026")
        self.adapter.call("save_deletion_schedule", schedule.bridge_id, fields, on_done=added)

    # -- running now ------------------------------------------------------------------------------------------
    def run_selected(self) -> None:
        schedule = self.selected_schedule()
        if schedule is None or not self.run_button.isEnabled():
            return
        self.run_now(schedule.bridge_id, {
            "speaker_id": schedule.speaker_id, "vendor": schedule.vendor, "phrase": schedule.phrase,
            "audio": schedule.audio, "recording": schedule.recording})

    def run_now(self, bridge_id: str, fields: dict, progress: RunProgress | None = None,
                on_started: Callable[[Outcome], None] | None = None) -> None:
        """Ask the bridge to run a voice deletion now; `progress` (default: the section's) follows it.

        The prerequisite is read from the Opt-outs page now, so what the user just recorded counts.
        """
        progress = progress or self.progress
        speaker_id = fields["speaker_id"]
        name = self.speaker_name(bridge_id, speaker_id)
        fields = dict(fields)
        if self._optouts is not None:
            fields["prerequisite"] = prerequisite_for(self._optouts, bridge_key(bridge_id, speaker_id),
                                                      fields.get("vendor") or "")
        else:
            fields.setdefault("prerequisite", None)
        self._starting.add((bridge_id, speaker_id))
        progress.starting(name, fields.get("phrase") or "")
        self._update_buttons()

        def started(outcome: Outcome) -> None:
            self._starting.discard((bridge_id, speaker_id))
            if outcome.ok:
                try:
                    run = self.feed.add(as_run(bridge_id, outcome.value))
                except (ValueError, TypeError) as error:
                    outcome = Outcome(error=ValueError(f"the bridge's answer could not be read ({error})"))
                else:
                    progress.follow(run, name)
                    # A run whose checks fail can end before the bridge's answer arrives: its outcome came with
                    # its event (and its notice), which "started" must not cover up.
                    if run.state != "done":
                        self.status_message.emit(f"{name}: the bridge started the voice deletion.")
                        if not self._poll_timer.isActive():
                            self._poll_timer.start()
            if not outcome.ok:
                progress.failed(outcome.message)
                self.status_message.emit(f"The voice deletion for {name} did not start: {outcome.message}")
            self._update_buttons()
            if on_started is not None:
                on_started(outcome)

        self.adapter.call("run_deletion", bridge_id, fields, on_done=started)

    def _poll_running(self) -> None:
        """Ask the bridges how far their running runs got (each phase is saved there as it begins)."""
        pollable = [r for r in self.feed.running() if self._online.get(r.bridge_id)]
        if not pollable or not self._alive():
            self._poll_timer.stop()  # an offline bridge's runs come with the sync when it is back
            return
        for run in (r for r in pollable if r.key not in self._polling):
            self._polling.add(run.key)
            self.adapter.call("deletion_runs", run.bridge_id, after_id=max(run.id - 1, 0), limit=1,
                              on_done=lambda outcome, key=run.key: self._polled(key, outcome))

    def _polled(self, key: tuple[str, int], outcome: Outcome) -> None:
        self._polling.discard(key)
        if not outcome.ok or not self._alive():
            return
        for run in outcome.value or []:
            if run.key == key:
                self.feed.update(run)

    def _run_updated(self, run: VoiceRun) -> None:
        if not self._alive():
            return
        if run.state != "done" and self.adapter is not None and not self._poll_timer.isActive():
            self._poll_timer.start()
        name = self.speaker_name(run.bridge_id, run.speaker_id)
        if self.progress.follows(run):
            self.progress.show_run(run)
        elif run.state != "done" and not self.progress.running:
            self.progress.follow(run, name)  # a scheduled run the bridge started
        if run.state == "done":
            if run.schedule_id is not None:
                self._load(run.bridge_id)  # its next runs and last outcome moved on
            if self.progress.follows(run):
                self.status_message.emit(f"{name}: {run.title}.")
        self._update_buttons()
