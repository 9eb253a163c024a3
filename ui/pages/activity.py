"""Activity page: every activation from every bridge, filtered, charted per day, explained, exportable.

Reads the app's activation cache (`ctx.activations`), which the bridges keep filled even while this
page is closed; live "activation_started" events add a row "in progress" on top until the activation
ends and its record arrives. Cache changes come in as `activations_changed` and are re-read in one go
(the selection and the scroll position stay where they were).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QDate,
    QItemSelectionModel,
    QModelIndex,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.activations import CRITICAL_FLAG, FLAG_TEXT, FLAG_TITLE, ActivationRecord
from app.destinations import activation_summary
from app.bridge_client import BridgeStatus, Connection
from ui import theme
from ui.models.activity_model import (
    CRITICAL_COLOR,
    ActivityModel,
    Column,
    InProgress,
    Row,
    count_per_day,
    duration_text,
    local_time,
    rate_text,
    size_text,
    when_text,
    write_csv,
)
from ui.pages.empty_state import EmptyState
from ui.widgets.day_chart import DayChart

log = logging.getLogger(__name__)

#: How long after the last "activations changed" the cache is read again (a sync brings many at once).
RELOAD_MS = 300

RANGES = (("Today", "today"), ("Last 7 days", "7d"), ("Last 30 days", "30d"), ("All time", "all"),
          ("Choose dates\u2026", "custom"))
DEFAULT_RANGE = "7d"
RANGE_DAYS = {"today": 1, "7d": 7, "30d": 30}

SpeakerKey = tuple[str, str]
KEEP = object()  # set_filters: leave this filter as it is


def midnight(day: dt.date) -> float:
    """Epoch seconds of the local midnight starting `day`."""
    return dt.datetime.combine(day, dt.time()).timestamp()


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


class ActivityPage(QWidget):
    """The activity log: filters, a per-day chart, the table and the selected activation's details.

    Attributes:
        model: the ActivityModel the table shows (already filtered).
        no_bridge_state: shown while no bridge is paired and nothing is cached.
        no_activations_state: a bridge is paired but no activation was recorded yet.
        speaker_combo, range_combo, from_edit, to_edit, flagged_check: the filters.
        range_error_label: why the chosen dates cannot be used.
        summary_label: how many activations the filter shows.
        chart: the DayChart of the filtered activations.
        table: the activations; no_match_label / show_all_button: shown instead when nothing matches.
        details: the selected activation explained (Enter on a row moves the focus here).
        export_action (Ctrl+E), export_button: export the rows shown to CSV.
        export_dialog, export_error_box: the last file dialog / error message (for tests and the user).

    Signals:
        status_message(str): something to say in the window's status bar.
        deletion_requested(ActivationRecord): "Delete this recording…" was pressed (the window offers the ways).
    """

    page_key = "activity"
    page_title = "Activity"

    status_message = Signal(str)
    deletion_requested = Signal(object)

    def __init__(self, show_bridges: Callable[[], None], adapter=None, ctx=None, *,
                 clock: Callable[[], float] = time.time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.adapter = adapter
        self._destinations: dict[tuple[str, int], str | None] = {}  # (bridge, activation) -> where it went
        self.ctx = ctx
        self._clock = clock
        self._statuses: dict[str, BridgeStatus] = {}
        self._in_progress: dict[SpeakerKey, InProgress] = {}
        self._names: dict[SpeakerKey, str] = {}
        self._wanted: tuple[str, str, float] | None = None
        self._previous_range = DEFAULT_RANGE
        self._dirty = True
        self._export_dir = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) \
            or str(Path.home())
        self.export_dialog: QFileDialog | None = None
        self.export_error_box: QMessageBox | None = None

        layout = theme.page_layout(self, self.page_title)
        self._stack = QStackedWidget(self)
        layout.addWidget(self._stack, 1)
        self.no_bridge_state = EmptyState(
            "Your speakers' activity log appears once a bridge is paired",
            "Every time a speaker sends a recording to the internet, including the times it woke up when "
            "nobody asked, Earmuff lists it here: when, which speaker, for how long and how much it sent, "
            "and whether something was wrong (it was muted, it was quiet time, nobody was speaking).\n\n"
            "This needs an Earmuff bridge: a small Raspberry Pi that your speaker connects through.",
            note="A paired bridge keeps the log even while this computer is off.",
            action=("Show bridges on my network", show_bridges),
            parent=self._stack,
        )
        self._stack.addWidget(self.no_bridge_state)
        self.no_activations_state = EmptyState(
            "No activations yet",
            "Your bridge is watching. The next time a speaker sends a recording to the internet, it "
            "appears here with its time, its size and anything unusual about it.",
            note="Try it: say your speaker's wake word and ask it something.",
            parent=self._stack,
        )
        self._stack.addWidget(self.no_activations_state)
        self._stack.addWidget(self._build_content())

        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_MS)
        self._reload_timer.timeout.connect(self.refresh)
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self._bridge_removed)
            adapter.activation_event.connect(self._activation_event)
            adapter.activations_changed.connect(self._reload_timer.start)
            for status in adapter.statuses():
                self._statuses[status.bridge_id] = status
        self.refresh(force=True)

    # -- building ---------------------------------------------------------------------------------------
    def _build_content(self) -> QWidget:
        content = QWidget(self._stack)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.speaker_combo = QComboBox(content)
        self.speaker_combo.setAccessibleName("Speaker")
        self.speaker_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.speaker_combo.addItem("All speakers", "")
        speaker_label = QLabel("&Speaker:", content)
        speaker_label.setBuddy(self.speaker_combo)
        bar.addWidget(speaker_label)
        bar.addWidget(self.speaker_combo)
        bar.addSpacing(10)
        self.range_combo = QComboBox(content)
        self.range_combo.setAccessibleName("Time range")
        for text, key in RANGES:
            self.range_combo.addItem(text, key)
        self.range_combo.setCurrentIndex(self.range_combo.findData(DEFAULT_RANGE))
        range_label = QLabel("&When:", content)
        range_label.setBuddy(self.range_combo)
        bar.addWidget(range_label)
        bar.addWidget(self.range_combo)
        today = QDate.currentDate()
        self.from_edit = self._date_edit(today.addDays(-6), "First day", content)
        self.to_label = QLabel("to", content)
        self.to_edit = self._date_edit(today, "Last day", content)
        bar.addWidget(self.from_edit)
        bar.addWidget(self.to_label)
        bar.addWidget(self.to_edit)
        bar.addSpacing(10)
        self.flagged_check = QCheckBox("&Flagged only", content)
        self.flagged_check.setToolTip("Only activations with something wrong: sent while muted, during quiet "
                                      "time, or with nobody speaking nearby")
        bar.addWidget(self.flagged_check)
        bar.addStretch(1)
        self.export_action = QAction("&Export to CSV\u2026", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # only while the page shows
        self.export_action.triggered.connect(self.choose_export_file)
        self.addAction(self.export_action)
        self.export_button = QPushButton("&Export CSV\u2026", content)
        self.export_button.setToolTip("Save the activations shown as a spreadsheet file (Ctrl+E)")
        self.export_button.clicked.connect(self.choose_export_file)
        bar.addWidget(self.export_button)
        column.addLayout(bar)

        self.range_error_label = theme.paragraph("", content, role="error")
        self.range_error_label.setAccessibleName("Date range problem")
        self.range_error_label.setVisible(False)
        column.addWidget(self.range_error_label)
        self.summary_label = QLabel("", content)
        self.summary_label.setAccessibleName("Activations shown")
        column.addWidget(self.summary_label)

        self.chart = DayChart(content)
        self.model = ActivityModel(self, now=self._clock)
        self.model.bridge_name = self.bridge_name
        self.table = QTableView(content)
        self.table.setAccessibleName("Activations")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; the arrows move between rows
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in ((Column.WHEN, 185), (Column.SPEAKER, 170), (Column.DURATION, 85), (Column.SENT, 90),
                           (Column.PEAK, 100), (Column.CONFIDENCE, 95)):
            header.resizeSection(col, width)
        self.table.setSortingEnabled(True)
        header.setSortIndicator(Column.WHEN, Qt.SortOrder.DescendingOrder)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_details())
        self.table.activated.connect(self.open_details)

        results = QStackedWidget(content)
        results.addWidget(self.table)
        no_match = QWidget(results)
        no_match_column = QVBoxLayout(no_match)
        no_match_column.addStretch(1)
        self.no_match_label = theme.paragraph("", no_match)
        self.no_match_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        no_match_column.addWidget(self.no_match_label)
        self.show_all_button = QPushButton("Show &all activations", no_match)
        self.show_all_button.clicked.connect(self.clear_filters)
        no_match_column.addWidget(self.show_all_button, 0, Qt.AlignmentFlag.AlignHCenter)
        no_match_column.addStretch(2)
        results.addWidget(no_match)
        self._results = results

        self.details = QTextBrowser(content)
        self.details.setAccessibleName("Activation details")
        self.details.setOpenLinks(False)
        self.details.setMinimumWidth(260)
        self.delete_button = QPushButton("&Delete this recording…", content)
        self.delete_button.setToolTip("The ways to delete this recording at the speaker's company: a voice command "
                                      "through the bridge, the company's own page, or a legal request.")
        self.delete_button.setEnabled(False)
        self.delete_button.clicked.connect(self._request_deletion)
        details_box = QWidget(content)
        details_column = QVBoxLayout(details_box)
        details_column.setContentsMargins(0, 0, 0, 0)
        details_column.addWidget(self.details, 1)
        details_column.addWidget(self.delete_button)

        # The chart and the selected activation side by side on top; the table gets the full width.
        upper = QSplitter(Qt.Orientation.Horizontal, content)
        upper.addWidget(self.chart)
        upper.addWidget(details_box)
        upper.setStretchFactor(0, 2)
        upper.setStretchFactor(1, 1)
        upper.setSizes([640, 360])
        upper.setChildrenCollapsible(False)
        self._splitter = QSplitter(Qt.Orientation.Vertical, content)
        self._splitter.addWidget(upper)
        self._splitter.addWidget(results)
        self._splitter.setStretchFactor(0, 2)
        self._splitter.setStretchFactor(1, 3)
        self._splitter.setSizes([230, 400])
        self._splitter.setChildrenCollapsible(False)
        column.addWidget(self._splitter, 1)

        chain = (self.speaker_combo, self.range_combo, self.from_edit, self.to_edit, self.flagged_check,
                 self.export_button, self.table, self.details, self.delete_button)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self.speaker_combo.currentIndexChanged.connect(lambda _i: self._apply())
        self.range_combo.currentIndexChanged.connect(self._range_changed)
        self.from_edit.dateChanged.connect(lambda _d: self._apply())
        self.to_edit.dateChanged.connect(lambda _d: self._apply())
        self.flagged_check.toggled.connect(lambda _c: self._apply())
        self._set_custom_visible(False)
        return content

    @staticmethod
    def _date_edit(date: QDate, name: str, parent: QWidget) -> QDateEdit:
        edit = QDateEdit(date, parent)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("d MMM yyyy")
        edit.setAccessibleName(name)
        return edit

    # -- names --------------------------------------------------------------------------------------------
    def bridge_name(self, bridge_id: str) -> str:
        status = self._statuses.get(bridge_id)
        return status.name if status is not None else ""

    def speaker_name(self, key: SpeakerKey) -> str:
        status = self._statuses.get(key[0])
        state = status.speaker(key[1]) if status is not None else None
        return state.name if state is not None else self._names.get(key, key[1])

    # -- bridges and live events ---------------------------------------------------------------------------
    def _bridge_updated(self, status: BridgeStatus) -> None:
        known = self._statuses.get(status.bridge_id)
        self._statuses[status.bridge_id] = status
        dropped = self._drop_in_progress(status.bridge_id) if status.connection is not Connection.ONLINE else False
        if known is None or dropped or known.name != status.name or known.speakers != status.speakers:
            self.refresh()

    def _bridge_removed(self, bridge_id: str) -> None:
        self._statuses.pop(bridge_id, None)
        self._drop_in_progress(bridge_id)
        self.refresh()

    def _drop_in_progress(self, bridge_id: str) -> bool:
        """An offline bridge cannot tell how its activations end: their rows would claim too much."""
        keys = [key for key in self._in_progress if key[0] == bridge_id]
        for key in keys:
            del self._in_progress[key]
        return bool(keys)

    def _activation_event(self, bridge_id: str, kind: str, data: dict) -> None:
        speaker_id = data.get("speaker_id")
        if not isinstance(speaker_id, str) or not speaker_id:
            return
        key = (bridge_id, speaker_id)
        if kind == "activation_started":
            start = data.get("start")
            confidence = data.get("confidence")
            self._in_progress[key] = InProgress(
                bridge_id=bridge_id, speaker_id=speaker_id, speaker_name=self.speaker_name(key),
                start=float(start) if isinstance(start, (int, float)) else self._clock(),
                confidence=float(confidence) if isinstance(confidence, (int, float)) else 0.0,
                flags=frozenset(f for f in data.get("flags") or () if isinstance(f, str)))
        elif kind == "activation_ended":
            self._in_progress.pop(key, None)
        else:
            return
        self.refresh()

    # -- filters ----------------------------------------------------------------------------------------
    def _range_changed(self, _index: int) -> None:
        custom = self.range_combo.currentData() == "custom"
        if custom:
            first, last = self._range_days(self._previous_range)
            for edit, day in ((self.from_edit, first), (self.to_edit, last)):
                edit.blockSignals(True)
                edit.setDate(QDate(day.year, day.month, day.day))
                edit.blockSignals(False)
        else:
            self._previous_range = self.range_combo.currentData()
        self._set_custom_visible(custom)
        self._apply()

    def _set_custom_visible(self, visible: bool) -> None:
        for widget in (self.from_edit, self.to_label, self.to_edit):
            widget.setVisible(visible)

    def _range_days(self, key: str) -> tuple[dt.date, dt.date]:
        """The days a preset covers; "all" starts on the oldest day shown now (or today)."""
        today = local_time(self._clock()).date()
        if key in RANGE_DAYS:
            return today - dt.timedelta(days=RANGE_DAYS[key] - 1), today
        oldest = self.model.records
        return min([local_time(r.start).date() for r in oldest] + [today]), today

    def chosen_days(self) -> tuple[dt.date, dt.date] | None:
        """The custom dates, or None when they are the wrong way round."""
        first, last = self.from_edit.date().toPython(), self.to_edit.date().toPython()
        return (first, last) if first <= last else None

    def selected_speaker(self) -> SpeakerKey | None:
        return self._speaker_of(self.speaker_combo.currentData())

    # QComboBox finds items by their data with QVariant equality, which a Python tuple does not have.
    @staticmethod
    def _speaker_data(key: SpeakerKey | None) -> str:
        return "\x1f".join(key) if key else ""

    @staticmethod
    def _speaker_of(data: str) -> SpeakerKey | None:
        bridge_id, _, speaker_id = (data or "").partition("\x1f")
        return (bridge_id, speaker_id) if speaker_id else None

    def set_filters(self, *, speaker: SpeakerKey | None | object = KEEP, range_key: str | None = None,
                    days: tuple[dt.date, dt.date] | None = None, flagged_only: bool | None = None) -> None:
        """Set several filters at once and apply them once; `speaker` None means all speakers."""
        widgets = (self.speaker_combo, self.range_combo, self.from_edit, self.to_edit, self.flagged_check)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            if speaker is not KEEP:
                self.speaker_combo.setCurrentIndex(max(self.speaker_combo.findData(self._speaker_data(speaker)), 0))
            if days is not None:
                range_key = "custom"
                self.from_edit.setDate(QDate(days[0].year, days[0].month, days[0].day))
                self.to_edit.setDate(QDate(days[1].year, days[1].month, days[1].day))
            if range_key is not None:
                self.range_combo.setCurrentIndex(self.range_combo.findData(range_key))
                if range_key != "custom":
                    self._previous_range = range_key
                self._set_custom_visible(range_key == "custom")
            if flagged_only is not None:
                self.flagged_check.setChecked(flagged_only)
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._apply()

    def clear_filters(self) -> None:
        """All speakers, all time, flagged or not."""
        self.set_filters(speaker=None, range_key="all", flagged_only=False)

    def _filters_show_everything(self) -> bool:
        return (self.selected_speaker() is None and self.range_combo.currentData() == "all"
                and not self.flagged_check.isChecked())

    # -- reading the cache ------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Read the cache again (now if the page shows or `force`, else the next time it is shown)."""
        self._reload_timer.stop()
        if self.adapter is not None and not self.adapter.attached:
            return  # the window has closed: the cache may be closed already
        if not force and not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        cached, paired = self._known_speakers()
        self._update_speaker_combo(cached | paired | set(self._in_progress))
        if not cached and not self._in_progress:
            self._stack.setCurrentIndex(1 if self._statuses else 0)
            self.model.set_rows([], [])
            self._show_details()
            return
        self._stack.setCurrentIndex(2)
        self._apply()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self.refresh(force=True)

    def _known_speakers(self) -> tuple[set[SpeakerKey], set[SpeakerKey]]:
        """Speakers with cached activations, and the paired bridges' speakers."""
        cached = set(self.ctx.activations.count_since(0.0)) if self.ctx is not None else set()
        for key in cached - set(self._names):  # named as the bridge called them then (it may be gone)
            found = self.ctx.activations.query(speakers=[key], limit=1)
            self._names[key] = found[0].speaker_name if found else key[1]
        paired = {(s.bridge_id, sp.speaker_id) for s in self._statuses.values() for sp in s.speakers}
        return cached, paired

    def _update_speaker_combo(self, keys: set[SpeakerKey]) -> None:
        several_bridges = len({key[0] for key in keys}) > 1
        entries = []
        for key in keys:
            name = self.speaker_name(key)
            bridge = self.bridge_name(key[0]) or "a bridge no longer paired"
            entries.append((f"{name} ({bridge})" if several_bridges else name, key))
        entries.sort(key=lambda entry: entry[0].casefold())
        current = [(self.speaker_combo.itemText(i), self._speaker_of(self.speaker_combo.itemData(i)))
                   for i in range(1, self.speaker_combo.count())]
        if current == entries:
            return
        chosen = self.selected_speaker()
        self.speaker_combo.blockSignals(True)
        try:
            while self.speaker_combo.count() > 1:
                self.speaker_combo.removeItem(1)
            for text, key in entries:
                self.speaker_combo.addItem(text, self._speaker_data(key))
            self.speaker_combo.setCurrentIndex(max(0, self.speaker_combo.findData(self._speaker_data(chosen))))
        finally:
            self.speaker_combo.blockSignals(False)

    def _apply(self) -> None:
        """Query the cache with the filters and show the result; keeps the selection and the scroll."""
        if self._stack.currentIndex() != 2:
            return
        key = self.range_combo.currentData()
        today = local_time(self._clock()).date()
        days = self.chosen_days() if key == "custom" else self._range_days(key)
        self.range_error_label.setVisible(days is None)
        if days is None:
            self.range_error_label.setText(
                "The \u201cfrom\u201d day is after the \u201cto\u201d day. Choose a first day on or before the "
                "last day.")
            self._show_rows([], [], None, "Nothing to show until the dates are fixed.")
            return
        speaker = self.selected_speaker()
        flagged_only = self.flagged_check.isChecked()
        everything = key == "all"
        start, end = midnight(days[0]), midnight(days[1] + dt.timedelta(days=1))
        records = self.ctx.activations.query(
            start=None if everything else start, end=None if everything else end,
            speakers=[speaker] if speaker is not None else None, flagged_only=flagged_only) \
            if self.ctx is not None else []
        if everything:
            days = (min([local_time(r.start).date() for r in records[-1:]] + [today]), today)
        else:
            records = [r for r in records if start <= r.start < end]  # the days an activation started on
        live = [row for row in self._in_progress.values()
                if (speaker is None or row.key == speaker) and (row.flagged or not flagged_only)
                and (everything or start <= row.start < end)]
        self._show_rows(records, live, days, "No activation matches these filters.")

    def _show_rows(self, records: list[ActivationRecord], live: list[InProgress],
                   days: tuple[dt.date, dt.date] | None, nothing_text: str) -> None:
        selected = self.selected_row()
        # Scrolled down (per item: the scroll value is the top row), the same row stays on top; at the
        # top, new activations come into view.
        top = self.table.verticalScrollBar().value()
        anchor = self.model.row_at(top) if 0 < top < self.model.rowCount() else None
        self.model.set_rows(records, live)
        wanted = self._wanted or ((selected.bridge_id, selected.speaker_id, selected.start) if selected else None)
        found = self.model.find(*wanted) if wanted is not None else -1
        if found >= 0:
            self._select(found, scroll=False)
        if found >= 0 and self._wanted is not None:
            self._wanted = None
            self.table.scrollTo(self.model.index(found, 0), QAbstractItemView.ScrollHint.PositionAtCenter)
        else:  # after selecting, which scrolls to the selection
            row = self.model.find(anchor.bridge_id, anchor.speaker_id, anchor.start) if anchor is not None else -1
            self.table.verticalScrollBar().setValue(max(row, 0))
        self._show_details()

        shown = records or live
        self._results.setCurrentIndex(0 if shown else 1)
        self.no_match_label.setText(nothing_text)
        self.show_all_button.setVisible(days is not None and not self._filters_show_everything())
        self.chart.setVisible(days is not None and bool(shown))
        self.export_button.setEnabled(bool(records))
        if days is not None:
            keys = sorted({r.key for r in records}, key=lambda k: self.speaker_name(k).casefold())
            names = {key: self.speaker_name(key) for key in keys}
            self.chart.set_data(days[0], days[1], count_per_day(records), names,
                                today=local_time(self._clock()).date())
        flagged = sum(1 for r in records if r.flagged)
        parts = [plural(len(records), "activation"), f"{flagged} flagged"]
        if live:
            parts.append(f"{len(live)} in progress")
        if days is not None:
            parts.append(self.range_combo.currentText() if self.range_combo.currentData() != "custom" else
                         f"{days[0]:%d %b %Y} to {days[1]:%d %b %Y}")
        self.summary_label.setText(" \u00b7 ".join(parts))

    # -- selection and details ------------------------------------------------------------------------------
    def selected_row(self) -> Row | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _select(self, row: int, *, scroll: bool = True) -> None:
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        if scroll:
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def show_activation(self, bridge_id: str, speaker_id: str, start: float) -> bool:
        """Select that activation (widening the filters if they hide it); True if it is shown now.

        One that is not in the cache yet (its end is still on the way) is selected when it arrives.
        """
        self.refresh(force=True)
        row = self.model.find(bridge_id, speaker_id, start)
        if row < 0 and not self._filters_show_everything():
            self.clear_filters()
            row = self.model.find(bridge_id, speaker_id, start)
        if row < 0:
            self._wanted = (bridge_id, speaker_id, start)
            return False
        self._wanted = None
        self._select(row)
        self.table.setFocus()
        return True

    def open_details(self, index: QModelIndex | None = None) -> None:
        """Enter or a double click on a row: show its details and move the keyboard focus there."""
        if index is not None and index.isValid():
            self._select(index.row(), scroll=False)
        self.details.setFocus()

    def _request_deletion(self) -> None:
        row = self.selected_row()
        if isinstance(row, ActivationRecord):
            self.deletion_requested.emit(row)

    def _show_details(self) -> None:
        row = self.selected_row()
        self.delete_button.setEnabled(isinstance(row, ActivationRecord))
        if row is None:
            self.details.setHtml("<p>Select an activation to see what it sent and what its flags mean.</p>")
            return
        if isinstance(row, ActivationRecord):
            self._ask_destinations(row)
        self.details.setHtml(self.details_html(row))

    def _ask_destinations(self, row: ActivationRecord) -> None:
        """Ask the row's bridge, once, where the activation's bytes went; the details show it when it answers."""
        key = (row.bridge_id, row.activation_id)
        if key in self._destinations or self.adapter is None:
            return
        status = self.adapter.manager.status(row.bridge_id)
        if status is None or not status.online:
            return  # asked again when the row is shown with its bridge back
        self._destinations[key] = None  # asking

        def done(outcome) -> None:
            if outcome.ok:
                text = activation_summary(outcome.value, shown=3) or "no destination was recorded for it"
                if not outcome.value.complete:
                    del self._destinations[key]  # not worked out yet: ask again next time
                    return
            elif getattr(outcome.error, "status", None) == 404:
                text = "not recorded by this bridge (it does not track destinations)"
            else:
                text = f"the bridge could not say ({outcome.message})"
            self._destinations[key] = text
            current = self.selected_row()
            if isinstance(current, ActivationRecord) and (current.bridge_id, current.activation_id) == key:
                self.details.setHtml(self.details_html(current))

        self.adapter.call("activation_destinations", row.bridge_id, row.activation_id, on_done=done)

    def details_html(self, row: Row) -> str:
        name = html.escape(row.speaker_name)
        bridge = self.bridge_name(row.bridge_id)
        now = self._clock()
        parts = [f"<h3>{name}</h3>"]
        if bridge:
            parts.append(f"<p>on {html.escape(bridge)}</p>")
        if isinstance(row, InProgress):
            parts.append(f"<p><b>Started:</b> {when_text(row.start, now)}, still sending.</p>")
        else:
            parts.append(f"<p><b>When:</b> {when_text(row.start, now)} to {local_time(row.end):%H:%M:%S} "
                         f"({duration_text(row.duration_s)})</p>")
            parts.append(f"<p><b>Sent:</b> {size_text(row.bytes_up)} ({row.bytes_up:,} bytes), at most "
                         f"{rate_text(row.peak_rate)}</p>")
            sent_to = self._destinations.get((row.bridge_id, row.activation_id))
            if sent_to:
                parts.append(f"<p><b>Sent to:</b> {html.escape(sent_to)}</p>")
        parts.append(f"<p><b>Detector confidence:</b> {row.confidence:.0%}</p>")
        flags = row.ordered_flags()
        if flags:
            parts.append("<h4>What was wrong</h4>")
            for flag in flags:
                # "Uploaded while muted: the mute did not hold. ...": the words before the colon in bold.
                text = FLAG_TEXT.get(flag, f"{FLAG_TITLE.get(flag, flag)}: flagged by the bridge.")
                head, _, rest = text.partition(": ")
                color = f' style="color:{CRITICAL_COLOR}"' if flag == CRITICAL_FLAG else ""
                parts.append(f"<p><b{color}>{html.escape(head)}:</b> {html.escape(rest)}</p>")
        else:
            parts.append("<p>Not flagged: nothing unusual was noticed about this upload.</p>")
        return "".join(parts)

    # -- export --------------------------------------------------------------------------------------------
    def choose_export_file(self) -> None:
        """Ctrl+E: ask where to save the activations shown, then write them there."""
        if self._stack.currentIndex() != 2 or not self.export_button.isEnabled():
            self.status_message.emit("There are no activations to export with these filters.")
            return
        today = local_time(self._clock()).date()
        suggested = str(Path(self._export_dir) / f"earmuff-activity-{today:%Y-%m-%d}.csv")
        dialog = QFileDialog(self, "Export activity as CSV", suggested, "CSV files (*.csv);;All files (*)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.selectFile(suggested)
        dialog.fileSelected.connect(self.export_csv)
        self.export_dialog = dialog
        dialog.open()

    def export_csv(self, path: str) -> bool:
        """Write the finished activations shown (in the table's order) to `path`; say how it went."""
        records = self.model.records
        try:
            count = write_csv(path, records, self.bridge_name)
        except OSError as error:
            log.warning("could not export the activity to %s: %s", path, error)
            box = QMessageBox(QMessageBox.Icon.Warning, "Earmuff could not export the activity",
                              f"Could not write \u201c{path}\u201d: {error.strerror or error}.",
                              QMessageBox.StandardButton.Ok, self)
            box.setInformativeText("Nothing was saved there. Choose another folder, for example your "
                                   "Documents folder, and try again.")
            self.export_error_box = box
            box.open()
            return False
        self._export_dir = str(Path(path).parent)
        self.status_message.emit(f"Exported {plural(count, 'activation')} to {path}.")
        return True
