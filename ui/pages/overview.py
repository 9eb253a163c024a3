"""Overview page: how many speakers there are, where, and which are online; or the first-run search.

With a bridge paired it also says, per speaker on a bridge, what happened today (activations, flagged
ones), how its mute stands and when the bridge was last heard from, and lists on top what needs the
user's attention: an upload while muted, other flagged uploads today, a mute that does not hold or is
not confirmed, a bridge that is offline.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
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

from app.bridge_client import BridgeStatus, Connection, SpeakerState
from app.devices import Device, DeviceStatus
from app.optouts.reminders import summary_text
from ui import theme
from ui.models.devices_model import DevicesModel, Scope, status_icon
from ui.pages.bridges import connection_text
from ui.pages.empty_state import EmptyState
from ui.widgets.mute_control import state_text

NO_ROOM = "No room yet"
CARD_COLUMNS = 3
NAMES_PER_CARD = 6
#: How often the "today" counts and contact times are read again even if no bridge news came.
TODAY_REFRESH_MS = 60_000
CRITICAL_COLOR = "#c62828"
WARNING_COLOR = "#ef6c00"


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


@dataclass(frozen=True)
class Attention:
    """Something on the Overview that needs the user: `critical` ones are privacy failures."""

    text: str
    bridge_id: str
    speaker_id: str | None = None  # None: the whole bridge
    critical: bool = False

    def concerns(self, speaker: SpeakerToday) -> bool:
        return self.bridge_id == speaker.bridge.bridge_id and self.speaker_id in (None, speaker.state.speaker_id)


@dataclass(frozen=True)
class SpeakerToday:
    """One speaker on a bridge, as the Overview shows it."""

    bridge: BridgeStatus
    state: SpeakerState
    activations: int = 0
    flagged: int = 0
    while_muted: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return self.bridge.bridge_id, self.state.speaker_id


def local_midnight(now: float) -> float:
    """Epoch seconds of the start of today, in this computer's time zone."""
    return dt.datetime.combine(dt.datetime.fromtimestamp(now).date(), dt.time()).timestamp()


def attention_items(speakers: list[SpeakerToday], bridges: list[BridgeStatus]) -> list[Attention]:
    """What needs the user's attention, most serious first."""
    items: list[Attention] = []
    offline = set()
    for bridge in bridges:
        if bridge.connection is Connection.CONNECTING or bridge.online:
            continue
        offline.add(bridge.bridge_id)
        what = "needs pairing again" if bridge.connection.needs_pairing else connection_text(bridge).lower()
        items.append(Attention(f"{bridge.name} {'is ' if not bridge.connection.needs_pairing else ''}{what}: "
                               "Earmuff cannot see what its speakers send.", bridge.bridge_id))
    for speaker in speakers:
        name, state = speaker.state.name, speaker.state
        bridge_id, speaker_id = speaker.key
        if speaker.while_muted:
            times = "" if speaker.while_muted == 1 else f" {speaker.while_muted} times"
            items.append(Attention(f"{name} uploaded while muted{times} today: its mute did not hold.",
                                   bridge_id, speaker_id, critical=True))
        others = speaker.flagged - speaker.while_muted
        if others > 0:
            items.append(Attention(f"{name}: {plural(others, 'flagged upload')} today.", bridge_id, speaker_id))
        if bridge_id in offline:
            continue  # its mute state is the last one seen, not news
        if state.confirmation == "mismatch":
            if state.muted:
                items.append(Attention(f"{name}: the mute is not holding (the mute light says otherwise).",
                                       bridge_id, speaker_id, critical=True))
            else:
                items.append(Attention(f"{name} did not unmute.", bridge_id, speaker_id))
        elif state.muted and state.has_sense and state.confirmation != "confirmed":
            items.append(Attention(f"{name}: mute not confirmed yet.", bridge_id, speaker_id))
    items.sort(key=lambda item: not item.critical)
    return items


class SpeakerTodayCard(QFrame):
    """A speaker on a bridge: today's activations and flagged ones, its mute, the bridge's last contact.

    Attributes:
        speaker: the SpeakerToday shown.
        title_label, today_label, mute_label, contact_label, attention_label: the texts.
        activity_button: opens the Activity page on this speaker's activations today.
    """

    def __init__(self, speaker: SpeakerToday, attention: list[Attention],
                 show_activity: Callable[[tuple[str, str]], None] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.speaker = speaker
        self.setProperty("role", "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(6)
        dot = QLabel(self)
        online = speaker.bridge.online
        dot.setPixmap(status_icon(DeviceStatus.ONLINE if online else DeviceStatus.OFFLINE).pixmap(10, 10))
        header.addWidget(dot, 0, Qt.AlignmentFlag.AlignVCenter)
        self.title_label = QLabel(speaker.state.name, self)
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title_label.setFont(font)
        header.addWidget(self.title_label, 1)
        self.badge = QLabel(self)
        self.badge.setVisible(bool(attention))
        if attention:
            critical = any(a.critical for a in attention)
            self.badge.setText(f"⚠ {len(attention)}")
            self.badge.setToolTip("\n".join(a.text for a in attention))
            self.badge.setStyleSheet(f"color: white; background: {CRITICAL_COLOR if critical else WARNING_COLOR};"
                                     " border-radius: 8px; padding: 1px 7px; font-weight: bold;")
        header.addWidget(self.badge)
        layout.addLayout(header)

        today = f"Today: {plural(speaker.activations, 'activation')}"
        if speaker.flagged:
            today += f" · {speaker.flagged} flagged"
        self.today_label = QLabel(today, self)
        if speaker.flagged:
            self.today_label.setStyleSheet(
                f"color: {CRITICAL_COLOR if speaker.while_muted else WARNING_COLOR}; font-weight: bold;")
        layout.addWidget(self.today_label)
        mute, alarm = state_text(speaker.state)
        self.mute_label = QLabel(mute, self)
        if alarm:
            self.mute_label.setProperty("role", "error")
        layout.addWidget(self.mute_label)
        self.contact_label = theme.paragraph(f"on {speaker.bridge.name} · {connection_text(speaker.bridge)}",
                                             self, role="hint")
        layout.addWidget(self.contact_label)
        self.attention_label = theme.paragraph("\n".join(a.text for a in attention), self)
        self.attention_label.setTextFormat(Qt.TextFormat.PlainText)
        self.attention_label.setStyleSheet(
            f"color: {CRITICAL_COLOR if any(a.critical for a in attention) else WARNING_COLOR};")
        self.attention_label.setVisible(bool(attention))
        layout.addWidget(self.attention_label)
        self.activity_button: QPushButton | None = None
        if show_activity is not None and speaker.activations:
            self.activity_button = QPushButton("Show today's activity", self)
            self.activity_button.setAccessibleName(f"Show {speaker.state.name}'s activity today")
            self.activity_button.clicked.connect(lambda: show_activity(speaker.key))
            row = QHBoxLayout()
            row.addWidget(self.activity_button)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addStretch(1)
        needs = f", needs attention: {'; '.join(a.text for a in attention)}" if attention else ""
        self.setAccessibleName(f"{speaker.state.name} on {speaker.bridge.name}: {today}, {mute}{needs}")


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
    """Speaker counts by room and status, or a friendly "looking for speakers" state on first run;
    with bridges, today's activity per bridge speaker and what needs attention.

    Attributes:
        first_run: the EmptyState with a busy bar, shown while no speaker is known.
        headline_label, status_label, others_label: the summary texts.
        cards_grid: one RoomCard per room (rooms with speakers only).
        attention_banner / attention_label: what needs attention (hidden when nothing does).
        bridge_heading, bridge_grid: one SpeakerTodayCard per speaker of every paired bridge.
        speaker_cards: (bridge_id, speaker_id) -> its SpeakerTodayCard, as shown now.
        attention: the Attention items shown.

    Signals:
        attention_changed(int count, bool critical, str summary): after the attention list changed.
    """

    page_key = "overview"
    page_title = "Overview"

    attention_changed = Signal(int, bool, str)

    def __init__(
        self,
        model: DevicesModel,
        *,
        show_speakers: Callable[[], None],
        add_speaker: Callable[[], None],
        adapter=None,
        activations=None,
        show_activity: Callable[[tuple[str, str]], None] | None = None,
        clock: Callable[[], float] = time.time,
        show_optouts: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`adapter`: the BridgeAdapter (None: no bridge section); `activations`: the ActivationRepository;
        `show_optouts`: opens the Opt-outs page at the first setting due for a re-check."""
        super().__init__(parent)
        self._show_optouts = show_optouts
        self.model = model
        self._adapter = adapter
        self._activations = activations
        self._show_activity = show_activity
        self._clock = clock
        self._statuses: dict[str, BridgeStatus] = {}
        self.attention: list[Attention] = []
        self.speaker_cards: dict[tuple[str, str], SpeakerTodayCard] = {}
        self._shown: tuple[list[SpeakerToday], list[Attention]] | None = None
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
        self.tiles_host = QWidget(summary)
        self.tiles_host.setLayout(tiles)
        tiles.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.tiles_host)
        self.status_label = theme.paragraph("", summary)
        self.status_label.setVisible(False)  # the tiles say it; kept as one sentence for screen readers
        self.status_label.setAccessibleName("Speaker status summary")

        self.attention_banner = QFrame(summary)
        self.attention_banner.setObjectName("attention_banner")
        banner = QVBoxLayout(self.attention_banner)
        banner.setContentsMargins(14, 10, 14, 10)
        banner.setSpacing(4)
        self.attention_title = QLabel("", self.attention_banner)
        font = self.attention_title.font()
        font.setBold(True)
        self.attention_title.setFont(font)
        banner.addWidget(self.attention_title)
        self.attention_label = theme.paragraph("", self.attention_banner)
        self.attention_label.setTextFormat(Qt.TextFormat.PlainText)
        self.attention_label.setAccessibleName("What needs attention")
        banner.addWidget(self.attention_label)
        self.attention_banner.setVisible(False)
        column.addWidget(self.attention_banner)

        # Privacy settings due for a re-check (from the Opt-outs page; hidden when none is due).
        self.recheck_banner = QFrame(summary)
        self.recheck_banner.setObjectName("recheck_banner")
        recheck = QHBoxLayout(self.recheck_banner)
        recheck.setContentsMargins(14, 10, 14, 10)
        self.recheck_label = theme.paragraph("", self.recheck_banner)
        self.recheck_label.setTextFormat(Qt.TextFormat.PlainText)
        self.recheck_label.setAccessibleName("Privacy settings to re-check")
        recheck.addWidget(self.recheck_label, 1)
        self.recheck_button = QPushButton("Check them…", self.recheck_banner)
        self.recheck_button.clicked.connect(self.show_due_optouts)
        recheck.addWidget(self.recheck_button)
        self.recheck_banner.setVisible(False)
        self.optouts_due: list = []
        column.addWidget(self.recheck_banner)

        cards_host = QWidget(summary)
        host_column = QVBoxLayout(cards_host)
        host_column.setContentsMargins(0, 0, 0, 0)
        host_column.setSpacing(theme.BLOCK_SPACING)
        self.bridge_heading = theme.heading("Today on your bridges", 2, cards_host)
        host_column.addWidget(self.bridge_heading)
        self.bridge_grid = QGridLayout()
        self.bridge_grid.setContentsMargins(0, 0, 0, 0)
        self.bridge_grid.setHorizontalSpacing(12)
        self.bridge_grid.setVerticalSpacing(12)
        host_column.addLayout(self.bridge_grid)
        self.bridge_heading.setVisible(False)

        self.rooms_heading = theme.heading("By room", 2, cards_host)
        host_column.addSpacing(6)
        host_column.addWidget(self.rooms_heading)
        self.room_hint = theme.paragraph(
            "Tip: give each speaker a room on the Speakers page (select it and press F2).", cards_host, role="hint"
        )
        host_column.addWidget(self.room_hint)
        self.cards_grid = QGridLayout()
        self.cards_grid.setContentsMargins(0, 0, 0, 0)
        self.cards_grid.setHorizontalSpacing(12)
        self.cards_grid.setVerticalSpacing(12)
        host_column.addLayout(self.cards_grid)
        host_column.addStretch(1)
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
        # Bridge news and new activations: read today's counts once per burst too.
        self._bridges_timer = QTimer(self)
        self._bridges_timer.setSingleShot(True)
        self._bridges_timer.setInterval(150)
        self._bridges_timer.timeout.connect(self.refresh)
        self._today_timer = QTimer(self)
        self._today_timer.setInterval(TODAY_REFRESH_MS)  # midnight resets the counts; contact times age
        self._today_timer.timeout.connect(self.refresh_bridges)
        self._today_timer.start()
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self._bridge_removed)
            adapter.speaker_state.connect(lambda *_: self._bridges_timer.start())
            adapter.activations_changed.connect(self._bridges_timer.start)
            adapter.activation_event.connect(lambda *_: self._bridges_timer.start())
            for status in adapter.statuses():
                self._statuses[status.bridge_id] = status
        self.refresh()

    def set_optouts_due(self, items: list) -> None:
        """Show (or hide, for none) the privacy settings due for a re-check: DueItems from the Opt-outs page."""
        self.optouts_due = list(items)
        self.recheck_banner.setVisible(bool(items))
        self.recheck_label.setText(summary_text(items) if items else "")
        self.recheck_button.setVisible(self._show_optouts is not None)

    def show_due_optouts(self) -> None:
        if self._show_optouts is not None:
            self._show_optouts()

    @property
    def showing_first_run(self) -> bool:
        return self._stack.currentIndex() == 0

    def _bridge_updated(self, status: BridgeStatus) -> None:
        self._statuses[status.bridge_id] = status
        self._bridges_timer.start()

    def _bridge_removed(self, bridge_id: str) -> None:
        self._statuses.pop(bridge_id, None)
        self._bridges_timer.start()

    def _current_statuses(self) -> list[BridgeStatus]:
        """The bridges by name, with each speaker's newest state (speaker_state news included)."""
        if self._adapter is not None:
            for status in self._adapter.statuses():
                self._statuses[status.bridge_id] = status
        return sorted(self._statuses.values(), key=lambda s: (s.name.casefold(), s.bridge_id))

    def refresh(self) -> None:
        devices = self.model.devices()
        speakers = [d for d in devices if Scope.SPEAKERS.accepts(d)]
        bridge_speakers = self.refresh_bridges()
        self._stack.setCurrentIndex(0 if not speakers and not bridge_speakers else 1)
        self.first_run.set_busy(not speakers and not bridge_speakers)
        for widget in (self.tiles_host, self.rooms_heading, self.open_speakers_button):
            widget.setVisible(bool(speakers))
        self.bridge_heading.setVisible(bool(speakers) and bool(bridge_speakers))  # else the headline says it
        if not speakers:
            self.headline_label.setText(f"Today on your bridges: {plural(bridge_speakers, 'speaker')}")
            self.room_hint.setVisible(False)
            self._clear(self.cards_grid)
            self.others_label.setVisible(False)
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
        self._clear(self.cards_grid)
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

    @staticmethod
    def _clear(grid: QGridLayout) -> None:
        while grid.count():
            widget = grid.takeAt(0).widget()
            if widget is not None:
                widget.hide()  # now, not when deleteLater gets to it
                widget.deleteLater()

    # -- bridges -----------------------------------------------------------------------------------------
    def speakers_today(self, bridges: list[BridgeStatus]) -> list[SpeakerToday]:
        """The bridges' speakers with today's counts (local midnight on)."""
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        muted_uploads: dict[tuple[str, str], int] = {}
        # A detached adapter means the window has closed: the cache may be closed already.
        if self._activations is not None and bridges and self._adapter.attached:
            since = local_midnight(self._clock())
            counts = self._activations.count_since(since)
            for record in self._activations.query(start=since, flagged_only=True):
                if record.critical and record.start >= since:
                    muted_uploads[record.key] = muted_uploads.get(record.key, 0) + 1
        found = []
        for bridge in bridges:
            for state in bridge.speakers:
                key = (bridge.bridge_id, state.speaker_id)
                total, flagged = counts.get(key, (0, 0))
                found.append(SpeakerToday(bridge, state, total, flagged, muted_uploads.get(key, 0)))
        return found

    def refresh_bridges(self) -> int:
        """Redraw the bridge speakers' cards and the attention list; returns how many speakers there are."""
        bridges = self._current_statuses()
        speakers = self.speakers_today(bridges)
        attention = attention_items(speakers, bridges)
        if (speakers, attention) == self._shown:
            return len(speakers)  # rebuilding would only take the keyboard focus away from a card
        self._shown = (speakers, attention)
        self._clear(self.bridge_grid)
        self.speaker_cards = {}
        for position, speaker in enumerate(speakers):
            card = SpeakerTodayCard(speaker, [a for a in attention if a.concerns(speaker)], self._show_activity)
            self.speaker_cards[speaker.key] = card
            self.bridge_grid.addWidget(card, position // CARD_COLUMNS, position % CARD_COLUMNS,
                                       Qt.AlignmentFlag.AlignTop)
        for col in range(CARD_COLUMNS):
            self.bridge_grid.setColumnStretch(col, 1)

        critical = any(item.critical for item in attention)
        if attention:
            self.attention_title.setText(f"\u26a0 {plural(len(attention), 'thing needs', 'things need')} "
                                         "your attention")
            self.attention_label.setText("\n".join(f"\u2022 {item.text}" for item in attention))
            color = CRITICAL_COLOR if critical else WARNING_COLOR
            self.attention_banner.setStyleSheet(
                f"QFrame#attention_banner {{ border: 1px solid {color}; border-left: 5px solid {color}; "
                f"border-radius: 6px; background: palette(base); }} QLabel {{ color: {color}; }}")
        self.attention_banner.setVisible(bool(attention))
        self.attention_banner.setAccessibleName(self.attention_title.text() if attention else "")
        if attention != self.attention:
            self.attention = attention
            self.attention_changed.emit(len(attention), critical, "\n".join(item.text for item in attention))
        return len(speakers)
