"""Where one speaker sends data: its destinations, bytes per organisation over time, and its blocks.

Opened from a speaker's row on the Bridges page. Every request goes through the BridgeAdapter (the bridge
manager's workers), and the answers come back on the GUI thread; while the dialog is shown it refreshes
every REFRESH_MS, one round of requests at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.bridge_client import Outcome
from app.bridge_client.destinations import Destination, NewOrganisation
from app.bridge_client.errors import RequestRejected
from app.destinations import new_organisation_notice
from ui import theme
from ui.destinations.blocks_panel import BlocksPanel
from ui.destinations.chart import OrganisationChart
from ui.destinations.table_model import DESTINATION_ROLE, SORT_ROLE, Column, DestinationsModel

log = logging.getLogger(__name__)

REFRESH_MS = 10_000
#: (label, seconds back; None = everything the bridge keeps, drawn as its last 7 days).
RANGES: tuple[tuple[str, float | None], ...] = (
    ("Last hour", 3600.0), ("Last 24 hours", 86400.0), ("Last 7 days", 7 * 86400.0), ("Everything kept", None))
NOT_TRACKED = ("This bridge does not track destinations yet. Add a [destinations] section to its config "
               "(see the README, “Destinations”), then restart it.")


class DestinationsDialog(QDialog):
    """One speaker's destinations and blocks (non-modal).

    Attributes:
        adapter: the BridgeAdapter. bridge_id, speaker_id, speaker_name: whose.
        model, proxy, table: the destinations. chart: bytes per organisation.
        range_combo, direction_combo: what the table and chart cover.
        block_name_button, block_organisation_button: act on the selected destination.
        blocks_panel: the blocks in force and the presets.
        status_label: the last problem (or how fresh the figures are).
        notice_label, notices: the newest three organisations the speaker began to talk to while it was open.
        confirm_box: the last confirmation asked. refresh_timer: runs while the dialog is shown.
        loaded: completed refresh rounds.
    """

    def __init__(self, adapter, bridge_id: str, speaker_id: str, speaker_name: str, parent: QWidget | None = None,
                 *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.adapter = adapter
        self.bridge_id = bridge_id
        self.speaker_id = speaker_id
        self.speaker_name = speaker_name
        self._clock = clock
        self._pending = 0
        self._again = False
        self._presets_loaded = False
        self.loaded = 0
        self.notices: list[tuple[str, str]] = []
        self.confirm_box: QMessageBox | None = None
        self.setWindowTitle(f"Where {speaker_name} sends data")
        self.resize(900, 720)

        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(theme.heading(f"Where {speaker_name} sends data", 1, self))
        layout.addWidget(theme.paragraph(
            "The bridge reads the names the speaker looks up and the server names of its encrypted connections "
            "(never their content) and counts the bytes to each. Names come with the organisation that runs them "
            "where Earmuff's sourced list knows it.", self, role="hint"))
        self.notice_label = theme.paragraph("", self)
        self.notice_label.setAccessibleName("New organisations")
        self.notice_label.setVisible(False)
        layout.addWidget(self.notice_label)

        tools = QHBoxLayout()
        self.range_combo = QComboBox(self)
        self.range_combo.setAccessibleName("Time range")
        for label, _seconds in RANGES:
            self.range_combo.addItem(label)
        self.range_combo.setCurrentIndex(1)
        self.range_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        range_label = QLabel("&Range:", self)
        range_label.setBuddy(self.range_combo)
        tools.addWidget(range_label)
        tools.addWidget(self.range_combo)
        self.direction_combo = QComboBox(self)
        self.direction_combo.setAccessibleName("Chart direction")
        self.direction_combo.addItem("Sent by the speaker", "up")
        self.direction_combo.addItem("Received by the speaker", "down")
        self.direction_combo.currentIndexChanged.connect(
            lambda _i: self.chart.set_direction(self.direction_combo.currentData()))
        tools.addWidget(self.direction_combo)
        tools.addStretch(1)
        self.refresh_button = QPushButton("&Refresh", self)
        self.refresh_button.clicked.connect(self.refresh)
        tools.addWidget(self.refresh_button)
        layout.addLayout(tools)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.chart = OrganisationChart(splitter)
        splitter.addWidget(self.chart)
        table_box = QWidget(splitter)
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        self.model = DestinationsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(table_box)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName(f"Destinations of {speaker_name}")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.UP, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(Column.NAME, QHeaderView.ResizeMode.Stretch)
        for column in Column:
            if column != Column.NAME:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        table_layout.addWidget(self.table, 1)
        actions = QHBoxLayout()
        self.block_name_button = QPushButton("Block this &name", table_box)
        self.block_name_button.setToolTip("Drop the speaker's traffic to this name and every name under it")
        self.block_name_button.clicked.connect(self.block_selected_name)
        actions.addWidget(self.block_name_button)
        self.block_organisation_button = QPushButton("Block the &organisation…", table_box)
        self.block_organisation_button.clicked.connect(self.block_selected_organisation)
        actions.addWidget(self.block_organisation_button)
        actions.addStretch(1)
        table_layout.addLayout(actions)
        splitter.addWidget(table_box)
        blocks_scroll = QScrollArea(splitter)
        blocks_scroll.setWidgetResizable(True)
        blocks_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.blocks_panel = BlocksPanel(blocks_scroll)
        self.blocks_panel.unblock_requested.connect(self.unblock)
        self.blocks_panel.preset_requested.connect(self.block_preset)
        blocks_scroll.setWidget(self.blocks_panel)
        splitter.addWidget(blocks_scroll)
        splitter.setSizes([220, 300, 180])
        layout.addWidget(splitter, 1)

        self.status_label = theme.paragraph("Loading…", self, role="hint")
        self.status_label.setAccessibleName("Destinations status")
        layout.addWidget(self.status_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        new_org = getattr(adapter, "new_destination_org", None)
        if new_org is not None:
            new_org.connect(self._new_organisation)
        changed = getattr(adapter, "blocks_changed", None)
        if changed is not None:
            changed.connect(self._blocks_changed)
        self._update_buttons()

    # -- showing ---------------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.refresh()
        self.refresh_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        self.refresh_timer.stop()
        super().hideEvent(event)

    def selected(self) -> Destination | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(DESTINATION_ROLE) if rows else None

    def range(self) -> tuple[float | None, float]:
        """(start or None for everything, end) of the range chosen."""
        now = self._clock()
        seconds = RANGES[self.range_combo.currentIndex()][1]
        return (None if seconds is None else now - seconds), now

    def refresh(self) -> None:
        """Ask the bridge for the destinations, the chart and the blocks (unless the last round is still out)."""
        if self._pending:
            self._again = True  # once the round out there is back
            return
        start, end = self.range()
        calls: list[tuple[str, tuple, dict, Callable[[Outcome], None]]] = [
            ("destinations", (self.bridge_id, self.speaker_id), {"start": start, "end": end} if start else {},
             self._destinations_loaded),
            ("destination_history", (self.bridge_id, self.speaker_id, start or end - 7 * 86400.0, end), {},
             self._history_loaded),
            ("blocks", (self.bridge_id, self.speaker_id), {}, self._blocks_loaded),
        ]
        if not self._presets_loaded:
            calls.append(("block_presets", (self.bridge_id,), {}, self._presets_loaded_now))
        self._pending = len(calls)
        for method, args, kwargs, done in calls:
            self.adapter.call(method, *args, on_done=self._counted(done), **kwargs)

    def _counted(self, done: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
        def handle(outcome: Outcome) -> None:
            self._pending = max(0, self._pending - 1)
            done(outcome)
            if not self._pending:
                self.loaded += 1
                if self._again:
                    self._again = False
                    self.refresh()
        return handle

    def _failed(self, outcome: Outcome) -> bool:
        if outcome.ok:
            return False
        error = outcome.error
        if isinstance(error, RequestRejected) and error.status == 404 and "does not track destinations" in error.detail:
            self.status_label.setText(NOT_TRACKED)
        else:
            self.status_label.setText(f"Could not get the figures: {outcome.message}")
        return True

    def _destinations_loaded(self, outcome: Outcome) -> None:
        if self._failed(outcome):
            return
        selected = self.selected()
        self.model.set_destinations(outcome.value)
        if selected is not None:
            for row in range(self.proxy.rowCount()):
                index = self.proxy.index(row, 0)
                if index.data(DESTINATION_ROLE).name == selected.name:
                    self.table.selectRow(row)
                    break
        self._update_buttons()
        count = len(outcome.value)
        self.status_label.setText(
            f"{count} destination{'s' if count != 1 else ''}; updated {time.strftime('%H:%M:%S')}."
            if count else "No traffic to the internet seen in this range.")

    def _history_loaded(self, outcome: Outcome) -> None:
        if not self._failed(outcome):
            self.chart.set_history(outcome.value, self.direction_combo.currentData())

    def _blocks_loaded(self, outcome: Outcome) -> None:
        if not self._failed(outcome):
            self.blocks_panel.set_blocks(outcome.value)

    def _presets_loaded_now(self, outcome: Outcome) -> None:
        if self._failed(outcome):
            return
        self._presets_loaded = True
        self.blocks_panel.set_blocks(self.blocks_panel.blocks, outcome.value)

    def _update_buttons(self) -> None:
        destination = self.selected()
        named = destination is not None and not _is_address(destination.name)
        self.block_name_button.setEnabled(named and not destination.blocked_by)
        self.block_organisation_button.setEnabled(named and destination.organisation is not None)
        if destination is not None and destination.organisation:
            self.block_organisation_button.setText(f"Block everything of {destination.organisation}…")
        else:
            self.block_organisation_button.setText("Block the &organisation…")

    # -- blocking --------------------------------------------------------------------------------------------
    def block_selected_name(self) -> None:
        destination = self.selected()
        if destination is not None:
            self._add_block("name", destination.name)

    def block_selected_organisation(self) -> None:
        destination = self.selected()
        if destination is None or not destination.organisation:
            return
        organisation = destination.organisation
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Block a whole organisation?")
        box.setText(f"Block everything {self.speaker_name} sends to {organisation}?")
        box.setInformativeText(
            f"If {organisation} makes or runs this speaker, it will probably stop working (voice requests go "
            f"there too). Blocking single names, or a telemetry preset, is gentler. You can undo it any time.")
        block = box.addButton(f"Block {organisation}", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _r: box.clickedButton() is block and self._add_block("organisation",
                                                                                       organisation))
        self.confirm_box = box
        box.open()

    def block_preset(self, preset_id: str) -> None:
        self._add_block("preset", preset_id)

    def _add_block(self, kind: str, value: str) -> None:
        self.status_label.setText("Blocking…")
        self.adapter.call("add_block", self.bridge_id, self.speaker_id, kind, value, on_done=self._block_done)

    def unblock(self, block_id: int) -> None:
        self.status_label.setText("Unblocking…")
        self.adapter.call("remove_block", self.bridge_id, self.speaker_id, block_id, on_done=self._block_done)

    def _block_done(self, outcome: Outcome) -> None:
        if not self._failed(outcome):
            self.status_label.setText("Done. The bridge enforces it from now on." if outcome.value is not None
                                      else "Unblocked.")
        self.refresh()

    # -- news ------------------------------------------------------------------------------------------------
    def _new_organisation(self, news: NewOrganisation) -> None:
        if news.bridge_id != self.bridge_id or news.speaker_id != self.speaker_id:
            return
        title, message = new_organisation_notice(news, self.speaker_name)
        self.notices = [*self.notices[-2:], (f"<b>{title}</b> at {time.strftime('%H:%M', time.localtime(news.time))}",
                                             message)]
        self.notice_label.setText("<br>".join(text for text, _message in self.notices))
        self.notice_label.setToolTip("\n\n".join(message for _text, message in self.notices))
        self.notice_label.setVisible(True)
        if self.isVisible():
            self.refresh()

    def _blocks_changed(self, bridge_id: str, speaker_id: str) -> None:
        if (bridge_id, speaker_id) == (self.bridge_id, self.speaker_id) and self.isVisible():
            self.refresh()


def _is_address(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
