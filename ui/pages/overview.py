"""Overview page: how many speakers there are, where, and which are online; or the first-run search."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.devices import Device, DeviceStatus
from ui import theme
from ui.models.devices_model import DevicesModel, Scope, status_icon
from ui.pages.empty_state import EmptyState

NO_ROOM = "No room yet"
CARD_COLUMNS = 3
NAMES_PER_CARD = 6


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def status_summary(devices: list[Device]) -> str:
    """'2 online · 1 offline · 1 added by hand', leaving out zeros (but never empty)."""
    counts = {status: sum(1 for d in devices if d.status is status) for status in DeviceStatus}
    parts = [f"{counts[DeviceStatus.ONLINE]} online"]
    if counts[DeviceStatus.OFFLINE] or not counts[DeviceStatus.MANUAL]:
        parts.append(f"{counts[DeviceStatus.OFFLINE]} offline")
    if counts[DeviceStatus.MANUAL]:
        parts.append(f"{counts[DeviceStatus.MANUAL]} added by hand")
    return " · ".join(parts)


class RoomCard(QFrame):
    """One room: its speaker count, status counts and the speakers' names with a status dot."""

    def __init__(self, room: str, speakers: list[Device], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"{room}: {plural(len(speakers), 'speaker')}, {status_summary(speakers)}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(4)
        title = QLabel(room, self)
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        title.setFont(font)
        layout.addWidget(title)
        layout.addWidget(theme.paragraph(f"{plural(len(speakers), 'speaker')} · {status_summary(speakers)}", self,
                                         role="hint"))
        ordered = sorted(speakers, key=lambda d: (d.status is not DeviceStatus.ONLINE, d.name.casefold()))
        for device in ordered[:NAMES_PER_CARD]:
            row = QHBoxLayout()
            row.setSpacing(6)
            dot = QLabel(self)
            dot.setPixmap(status_icon(device.status).pixmap(10, 10))
            dot.setToolTip(device.status.label)
            row.addWidget(dot, 0, Qt.AlignmentFlag.AlignVCenter)
            name = QLabel(device.name, self)
            name.setToolTip(" · ".join(x for x in (device.model, device.vendor, device.status.label) if x))
            row.addWidget(name, 1)
            layout.addLayout(row)
        if len(ordered) > NAMES_PER_CARD:
            layout.addWidget(theme.paragraph(f"and {len(ordered) - NAMES_PER_CARD} more", self, role="hint"))
        layout.addStretch(1)


class StatTile(QFrame):
    """A big number over a short label ("3" / "online"), with a status dot when it counts a status."""

    def __init__(self, label: str, status: DeviceStatus | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(130)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 12)
        layout.setSpacing(2)
        self.number_label = QLabel("0", self)
        font = self.number_label.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        self.number_label.setFont(font)
        layout.addWidget(self.number_label)
        caption = QHBoxLayout()
        caption.setSpacing(6)
        if status is not None:
            dot = QLabel(self)
            dot.setPixmap(status_icon(status).pixmap(10, 10))
            caption.addWidget(dot)
        self.caption_label = QLabel(label, self)
        caption.addWidget(self.caption_label, 1)
        layout.addLayout(caption)
        self._label = label

    def set_number(self, number: int) -> None:
        self.number_label.setText(str(number))
        self.setAccessibleName(f"{number} {self._label}")


class OverviewPage(QWidget):
    """Speaker counts by room and status, or a friendly "looking for speakers" state on first run.

    Attributes:
        first_run: the EmptyState with a busy bar, shown while no speaker is known.
        headline_label, status_label, others_label: the summary texts.
        cards_grid: one RoomCard per room (rooms with speakers only).
    """

    page_key = "overview"
    page_title = "Overview"

    def __init__(
        self,
        model: DevicesModel,
        *,
        show_speakers: Callable[[], None],
        add_speaker: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        layout = theme.page_layout(self, self.page_title)
        self._stack = QStackedWidget(self)
        layout.addWidget(self._stack, 1)

        self.first_run = EmptyState(
            "Looking for speakers on your network…",
            "Earmuff listens for the announcements smart speakers make on your home network, without "
            "any cloud account. Most speakers answer within a few seconds.",
            note="Some speakers, such as certain Amazon Echo models, never announce themselves. "
            "You can add those by their IP address.",
            busy=True,
            action=("Add speaker by IP address…", add_speaker),
            parent=self,
        )
        self._stack.addWidget(self.first_run)

        summary = QWidget(self)
        column = QVBoxLayout(summary)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(theme.BLOCK_SPACING)
        self.headline_label = theme.heading("", 2, summary)
        self.headline_label.setWordWrap(True)
        column.addWidget(self.headline_label)
        tiles = QHBoxLayout()
        tiles.setSpacing(12)
        self.online_tile = StatTile("online", DeviceStatus.ONLINE, summary)
        self.offline_tile = StatTile("offline", DeviceStatus.OFFLINE, summary)
        self.manual_tile = StatTile("added by hand", DeviceStatus.MANUAL, summary)
        self.rooms_tile = StatTile("rooms", None, summary)
        for tile in (self.online_tile, self.offline_tile, self.manual_tile, self.rooms_tile):
            tiles.addWidget(tile)
        tiles.addStretch(1)
        column.addLayout(tiles)
        self.status_label = theme.paragraph("", summary)
        self.status_label.setVisible(False)  # the tiles say it; kept as one sentence for screen readers
        self.status_label.setAccessibleName("Speaker status summary")

        column.addSpacing(6)
        column.addWidget(theme.heading("By room", 2, summary))
        self.room_hint = theme.paragraph(
            "Tip: give each speaker a room on the Speakers page (select it and press F2).", summary, role="hint"
        )
        column.addWidget(self.room_hint)

        cards_host = QWidget(summary)
        self.cards_grid = QGridLayout(cards_host)
        self.cards_grid.setContentsMargins(0, 0, 0, 0)
        self.cards_grid.setHorizontalSpacing(12)
        self.cards_grid.setVerticalSpacing(12)
        scroll = QScrollArea(summary)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(cards_host)
        column.addWidget(scroll, 1)

        self.others_label = theme.paragraph("", summary, role="hint")
        column.addWidget(self.others_label)
        buttons = QHBoxLayout()
        self.open_speakers_button = QPushButton("Show all speakers", summary)
        self.open_speakers_button.clicked.connect(show_speakers)
        buttons.addWidget(self.open_speakers_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        self._stack.addWidget(summary)

        # Discovery can report dozens of changes in a burst; redraw once per burst.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(150)
        self._refresh_timer.timeout.connect(self.refresh)
        model.changed.connect(self._refresh_timer.start)
        self.refresh()

    @property
    def showing_first_run(self) -> bool:
        return self._stack.currentIndex() == 0

    def refresh(self) -> None:
        devices = self.model.devices()
        speakers = [d for d in devices if Scope.SPEAKERS.accepts(d)]
        self._stack.setCurrentIndex(0 if not speakers else 1)
        self.first_run.set_busy(not speakers)
        if not speakers:
            return
        self.headline_label.setText(f"{plural(len(speakers), 'smart speaker')} in your home")
        self.status_label.setText(status_summary(speakers).capitalize() + ".")
        self.headline_label.setAccessibleName(f"{self.headline_label.text()}: {self.status_label.text()}")
        counts = {status: sum(1 for d in speakers if d.status is status) for status in DeviceStatus}
        self.online_tile.set_number(counts[DeviceStatus.ONLINE])
        self.offline_tile.set_number(counts[DeviceStatus.OFFLINE])
        self.manual_tile.set_number(counts[DeviceStatus.MANUAL])
        self.manual_tile.setVisible(counts[DeviceStatus.MANUAL] > 0)

        rooms: dict[str, list[Device]] = {}
        for device in speakers:
            rooms.setdefault(device.room or NO_ROOM, []).append(device)
        order = sorted(rooms, key=lambda room: (room == NO_ROOM, room.casefold()))
        self.room_hint.setVisible(NO_ROOM in rooms)
        self.rooms_tile.set_number(len([room for room in rooms if room != NO_ROOM]))
        while self.cards_grid.count():
            widget = self.cards_grid.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # now, not when deleteLater gets to it
                widget.deleteLater()
        for position, room in enumerate(order):
            self.cards_grid.addWidget(RoomCard(room, rooms[room]), position // CARD_COLUMNS, position % CARD_COLUMNS,
                                      Qt.AlignmentFlag.AlignTop)
        self.cards_grid.setRowStretch(len(order) // CARD_COLUMNS + 1, 1)
        for col in range(CARD_COLUMNS):
            self.cards_grid.setColumnStretch(col, 1)

        others = sum(1 for d in devices if Scope.OTHER.accepts(d))
        bridges = sum(1 for d in devices if Scope.BRIDGES.accepts(d))
        extras = []
        if others:
            extras.append(plural(others, "other device") + " that " + ("is not a speaker" if others == 1
                                                                        else "are not speakers"))
        if bridges:
            extras.append(plural(bridges, "Earmuff bridge"))
        self.others_label.setText("Also on your network: " + " and ".join(extras) + "." if extras else "")
        self.others_label.setVisible(bool(extras))
