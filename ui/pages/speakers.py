"""Speakers page: the speakers table, their groups, other devices, and the details of the one selected."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.devices import Device, DeviceStatus
from ui import theme
from ui.device_details import DeviceDetails
from ui.models.devices_model import Column, DeviceFilterProxy, DevicesModel, Scope, status_icon
from ui.pages.empty_state import EmptyState

SPEAKER_COLUMNS = (
    Column.NAME, Column.ROOM, Column.VENDOR, Column.MODEL, Column.ADDRESSES, Column.STATUS, Column.LAST_SEEN,
)
OTHER_COLUMNS = (
    Column.NAME, Column.KIND, Column.VENDOR, Column.MODEL, Column.ADDRESSES, Column.STATUS, Column.LAST_SEEN,
)
COLUMN_WIDTHS = {Column.ROOM: 95, Column.VENDOR: 72, Column.MODEL: 125, Column.KIND: 100, Column.ADDRESSES: 92,
                 Column.STATUS: 82, Column.LAST_SEEN: 78}
OTHER_TABLE_ROWS = 4
GROUPS_VISIBLE_ROWS = 6


def make_device_table(proxy: DeviceFilterProxy, columns: tuple[Column, ...], name: str, parent: QWidget) -> QTableView:
    """A read-only, sortable, row-selecting table over `proxy` showing only `columns`."""
    table = QTableView(parent)
    table.setObjectName(name.lower().replace(" ", "_"))
    table.setAccessibleName(name)
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 12)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSectionsMovable(False)
    header.setStretchLastSection(False)
    for column in Column:
        table.setColumnHidden(column, column not in columns)
    for visual, column in enumerate(columns):  # show them in the order given
        header.moveSection(header.visualIndex(column), visual)
    for column, width in COLUMN_WIDTHS.items():
        table.setColumnWidth(column, width)
    header.setSectionResizeMode(Column.NAME, QHeaderView.ResizeMode.Stretch)
    header.setMinimumSectionSize(60)
    return table


class SpeakersPage(QWidget):
    """The speakers table (sortable, filterable), groups, other devices, and a details panel.

    Attributes:
        model: the shared DevicesModel.
        speakers_proxy, other_proxy: the rows of the two tables.
        speakers_table, other_table: the tables.
        filter_edit: filters both tables (Ctrl+F focuses it).
        groups_tree: each group with its members (shown when there are groups).
        other_toggle: expands/collapses "Other devices on your network".
        details: the DeviceDetails panel for the current device.
        rename_action (F2), forget_action (Delete), add_action: act on the current device / add one.
        current_device_id: the device last selected in either table.

    Signals:
        rename_requested(Device), forget_requested(Device), add_requested(): the main window opens the dialogs.
        current_changed(object): the selected Device, or None.
    """

    page_key = "speakers"
    page_title = "Speakers"

    rename_requested = Signal(object)
    forget_requested = Signal(object)
    add_requested = Signal()
    current_changed = Signal(object)

    def __init__(self, model: DevicesModel, *, show_other_devices: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.current_device_id: str | None = None
        layout = theme.page_layout(self, self.page_title)

        self._build_actions()
        layout.addLayout(self._build_toolbar())

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_lists())
        details_scroll = QScrollArea(self)
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.details = DeviceDetails(details_scroll)
        details_scroll.setWidget(self.details)
        details_scroll.setMinimumWidth(300)
        splitter.addWidget(details_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([720, 330])
        self.splitter = splitter
        layout.addWidget(splitter, 1)

        self.set_show_other_devices(show_other_devices)
        model.changed.connect(self._model_changed)
        model.groups_changed.connect(self._rebuild_groups)
        self._model_changed()
        self._rebuild_groups()

    # -- building -------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.rename_action = QAction("&Rename or choose room…", self)
        self.rename_action.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.rename_action.setToolTip("Give the selected device a name and a room (F2)")
        self.rename_action.triggered.connect(self._rename_current)
        self.forget_action = QAction("&Forget…", self)
        self.forget_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.forget_action.setToolTip("Remove an offline device from the list (Delete)")
        self.forget_action.triggered.connect(self._forget_current)
        self.add_action = QAction("&Add speaker by IP address…", self)
        self.add_action.setToolTip("For speakers that do not announce themselves, such as some Echo models")
        self.add_action.triggered.connect(self.add_requested)
        for action in (self.rename_action, self.forget_action):
            # Only while focus is on this page, so Delete/F2 in other widgets keep their meaning.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

    def _build_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter by name, room, vendor or address  (Ctrl+F)")
        self.filter_edit.setAccessibleName("Filter speakers")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(280)
        self.filter_edit.textChanged.connect(self._filter_changed)
        bar.addWidget(self.filter_edit, 1)
        bar.addSpacing(12)
        self.rename_button = self._action_button(self.rename_action, "Rename…")
        self.forget_button = self._action_button(self.forget_action, "Forget…")
        self.add_button = self._action_button(self.add_action, "Add by IP address…")
        for button in (self.rename_button, self.forget_button, self.add_button):
            bar.addWidget(button)
        return bar

    def _action_button(self, action: QAction, text: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(action.toolTip())
        button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
        button.clicked.connect(action.trigger)
        action.enabledChanged.connect(button.setEnabled)
        button.setEnabled(action.isEnabled())
        return button

    def _build_lists(self) -> QWidget:
        panel = QWidget(self)
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)

        self.speakers_proxy = DeviceFilterProxy(self.model, Scope.SPEAKERS, self)
        self.speakers_table = make_device_table(self.speakers_proxy, SPEAKER_COLUMNS, "Speakers", panel)
        self.speakers_table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.speakers_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._row_selected(self.speakers_proxy, current, self.other_table)
        )
        self.speakers_table.doubleClicked.connect(lambda _index: self.rename_action.trigger())

        self.no_match_label = theme.paragraph("", panel, role="hint")
        self.no_match_label.setVisible(False)
        column.addWidget(self.no_match_label)

        self._speakers_stack = QStackedWidget(panel)
        self.speakers_empty = EmptyState(
            "No speakers found yet",
            "Earmuff is listening for speakers on your network; they appear here as soon as they "
            "announce themselves, usually within a few seconds.",
            note="Some speakers (certain Amazon Echo models) never announce themselves: add those by IP address.",
            action=("Add speaker by IP address…", self.add_action.trigger),
            parent=panel,
        )
        self._speakers_stack.addWidget(self.speakers_table)
        self._speakers_stack.addWidget(self.speakers_empty)
        column.addWidget(self._speakers_stack, 4)

        self.groups_heading = theme.heading("Groups", 2, panel)
        column.addWidget(self.groups_heading)
        self.groups_tree = QTreeWidget(panel)
        self.groups_tree.setAccessibleName("Speaker groups")
        self.groups_tree.setHeaderHidden(True)
        self.groups_tree.setRootIsDecorated(True)
        self.groups_tree.setUniformRowHeights(True)
        self.groups_tree.itemActivated.connect(self._group_item_activated)
        column.addWidget(self.groups_tree)

        self.other_toggle = QToolButton(panel)
        self.other_toggle.setCheckable(True)
        self.other_toggle.setChecked(True)
        self.other_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.other_toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.other_toggle.setAutoRaise(True)
        self.other_toggle.setAccessibleName("Other devices on your network")
        self.other_toggle.toggled.connect(self._other_toggled)
        column.addWidget(self.other_toggle)
        self.other_note = theme.paragraph(
            "They announce themselves on your network but have no voice-assistant microphone, so they are "
            "not counted as speakers.",
            panel,
            role="hint",
        )
        column.addWidget(self.other_note)
        self.other_proxy = DeviceFilterProxy(self.model, Scope.OTHER, self)
        self.other_table = make_device_table(self.other_proxy, OTHER_COLUMNS, "Other devices", panel)
        self.other_table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        self.other_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._row_selected(self.other_proxy, current, self.speakers_table)
        )
        rows_height = self.other_table.verticalHeader().defaultSectionSize() * OTHER_TABLE_ROWS
        self.other_table.setMaximumHeight(rows_height + self.other_table.horizontalHeader().sizeHint().height() + 24)
        column.addWidget(self.other_table, 1)
        return panel

    # -- state -----------------------------------------------------------------------------------
    def current_device(self) -> Device | None:
        return self.model.device(self.current_device_id) if self.current_device_id else None

    def select_device(self, device_id: str) -> bool:
        """Select a device in whichever table lists it; False if neither does (e.g. filtered out)."""
        for table, proxy in ((self.speakers_table, self.speakers_proxy), (self.other_table, self.other_proxy)):
            row = proxy.row_of(device_id)
            if row >= 0:
                table.selectionModel().setCurrentIndex(
                    proxy.index(row, Column.NAME),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
                )
                table.scrollTo(proxy.index(row, Column.NAME))
                return True
        return False

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def set_show_other_devices(self, show: bool) -> None:
        """The user's setting: list non-speakers at all."""
        self._show_other = show
        self._update_other_section()

    def sort_state(self) -> tuple[int, int]:
        header = self.speakers_table.horizontalHeader()
        return header.sortIndicatorSection(), header.sortIndicatorOrder().value

    def restore_sort(self, column: int, order: int) -> None:
        if 0 <= column < len(Column) and not self.speakers_table.isColumnHidden(column):
            self.speakers_table.sortByColumn(column, Qt.SortOrder(order))

    # -- reactions -------------------------------------------------------------------------------
    def _row_selected(self, proxy: DeviceFilterProxy, current: QModelIndex, other_table: QTableView) -> None:
        if not current.isValid():
            return
        device = proxy.device_at(current.row())
        if device is None:
            return
        other_table.selectionModel().clearSelection()
        other_table.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate)
        self.current_device_id = device.device_id
        self._show_current()

    def _show_current(self) -> None:
        device = self.current_device()
        if device is None:
            self.current_device_id = None
        self.details.show_device(device, self.model.groups_of(device.device_id) if device else [])
        self.rename_action.setEnabled(device is not None)
        self.forget_action.setEnabled(device is not None and device.status is not DeviceStatus.ONLINE)
        self.forget_action.setToolTip(
            "Remove an offline device from the list (Delete)"
            if device is None or device.status is not DeviceStatus.ONLINE
            else "Only offline devices can be forgotten: an online one would come straight back"
        )
        self.forget_button.setToolTip(self.forget_action.toolTip())
        self.current_changed.emit(device)

    def _model_changed(self) -> None:
        speakers = sum(1 for d in self.model.devices() if Scope.SPEAKERS.accepts(d))
        self._speakers_stack.setCurrentIndex(0 if speakers else 1)
        self._update_other_section()
        self._update_no_match()
        if self.current_device_id and self.model.device(self.current_device_id) is None:
            self.current_device_id = None
        if self.current_device_id is None and self.speakers_proxy.rowCount():
            # Something useful in the details panel from the start, and F2 works straight away.
            first = self.speakers_proxy.device_at(0)
            if first is not None and self.select_device(first.device_id):
                return
        self._show_current()

    def _filter_changed(self, text: str) -> None:
        self.speakers_proxy.set_text_filter(text)
        self.other_proxy.set_text_filter(text)
        self._update_no_match()

    def _update_no_match(self) -> None:
        text = self.filter_edit.text().strip()
        hidden = bool(text) and self.speakers_proxy.rowCount() == 0 and self._speakers_stack.currentIndex() == 0
        if hidden:
            self.no_match_label.setText(f"No speakers match \u201c{text}\u201d. Clear the filter to see them all.")
        self.no_match_label.setVisible(hidden)

    def _update_other_section(self) -> None:
        count = sum(1 for d in self.model.devices() if Scope.OTHER.accepts(d))
        self.other_toggle.setText(f"Other devices on your network ({count})")
        visible = self._show_other and count > 0
        self.other_toggle.setVisible(visible)
        expanded = visible and self.other_toggle.isChecked()
        self.other_note.setVisible(expanded)
        self.other_table.setVisible(expanded)

    def _other_toggled(self, checked: bool) -> None:
        self.other_toggle.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        self._update_other_section()

    def _rebuild_groups(self) -> None:
        groups = self.model.groups()
        self.groups_tree.clear()
        for group in groups:
            members = [self.model.device(member_id) for member_id in group.member_ids]
            names = [m.name for m in members if m is not None]
            state = "" if group.online else " (offline)"
            item = QTreeWidgetItem([f"{group.name}: {group.kind.label.lower()}{state}"])
            item.setToolTip(0, "A group of speakers already listed above, not a speaker of its own")
            for member in members:
                if member is None:
                    continue
                child = QTreeWidgetItem([member.name + (f" ({member.room})" if member.room else "")])
                child.setIcon(0, status_icon(member.status))
                child.setData(0, Qt.ItemDataRole.UserRole, member.device_id)
                item.addChild(child)
            if not names:
                item.addChild(QTreeWidgetItem(["(Earmuff cannot tell yet which speakers play in it)"]))
            self.groups_tree.addTopLevelItem(item)
            item.setExpanded(True)
        rows = sum(1 + self.groups_tree.topLevelItem(i).childCount() for i in range(len(groups)))
        row_height = max(self.groups_tree.sizeHintForRow(0), self.fontMetrics().height() + 4)
        self.groups_tree.setFixedHeight(min(max(rows, 1), GROUPS_VISIBLE_ROWS) * row_height + 6)
        self.groups_heading.setText(f"Groups ({len(groups)})")
        self.groups_heading.setVisible(bool(groups))
        self.groups_tree.setVisible(bool(groups))
        if self.current_device_id:
            self._show_current()

    def _group_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        device_id = item.data(0, Qt.ItemDataRole.UserRole)
        if device_id:
            self.select_device(device_id)

    def _rename_current(self) -> None:
        device = self.current_device()
        if device is not None:
            self.rename_requested.emit(device)

    def _forget_current(self) -> None:
        device = self.current_device()
        if device is not None and device.status is not DeviceStatus.ONLINE:
            self.forget_requested.emit(device)
