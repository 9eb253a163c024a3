"""Bridges page: paired bridges with their speakers' mute controls, bridges found on the network, pairing."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.bridge_client import BridgeStatus, CommandFailure, Connection, Outcome, SpeakerState
from app.devices import Device, DeviceStatus
from ui import theme
from ui.bridge_adapter import BridgeAdapter
from ui.destinations.dialog import DestinationsDialog
from ui.dialogs.pair_bridge import PairBridgeDialog
from ui.dialogs.schedule_editor import ScheduleEditor
from ui.models.devices_model import DEVICE_ROLE, Column, DeviceFilterProxy, DevicesModel, Scope, status_icon
from ui.pages.empty_state import EmptyState
from ui.widgets.mute_control import MuteControl, format_when

log = logging.getLogger(__name__)

BRIDGE_SERVICE = "_earmuff._tcp.local."
_DOTS = {
    Connection.ONLINE: DeviceStatus.ONLINE,
    Connection.CONNECTING: DeviceStatus.MANUAL,
}


def connection_text(status: BridgeStatus) -> str:
    """'Online', 'Offline · last contact 14:02', 'Certificate changed'..."""
    if status.connection is Connection.OFFLINE:
        seen = f"last contact {format_when(status.last_contact)}" if status.last_contact else "not reached yet"
        return f"Offline · {seen}"
    return status.connection.label


def advertised_address(device: Device) -> tuple[str, int] | None:
    """Host and port from a discovered bridge's advert."""
    for service in device.services:
        if service.service_type.lower() == BRIDGE_SERVICE and service.port:
            addresses = service.addresses or device.addresses
            if addresses:
                return addresses[0].split("%")[0], service.port
    return None


def advertised_fingerprint_prefix(device: Device) -> str | None:
    for service in device.services:
        if service.service_type.lower() == BRIDGE_SERVICE and service.get("fp"):
            return service.get("fp")
    return None


class BridgeCard(QFrame):
    """One paired bridge: how it is connected, its speakers with mute controls, and what can be done.

    Attributes:
        status: the BridgeStatus shown.
        title_label, connection_label, address_label, problem_label: the texts.
        repair_button (certificate changed / token refused), retry_button (offline), forget_button.
        controls: speaker id -> MuteControl.
        no_speakers_label: shown while the bridge lists no speakers.

    Signals:
        mute_requested(str bridge_id, str speaker_id, bool muted), mute_for_requested(str, str, float seconds),
        schedules_requested(str bridge_id, str speaker_id), destinations_requested(str bridge_id, str speaker_id),
        repair_requested(str bridge_id),
        retry_requested(str bridge_id), forget_requested(str bridge_id).
    """

    mute_requested = Signal(str, str, bool)
    mute_for_requested = Signal(str, str, float)
    schedules_requested = Signal(str, str)
    destinations_requested = Signal(str, str)
    repair_requested = Signal(str)
    retry_requested = Signal(str)
    forget_requested = Signal(str)

    def __init__(self, status: BridgeStatus, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = status
        self.controls: dict[str, MuteControl] = {}
        self._separators: list[QFrame] = []
        self.setProperty("role", "card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)

        header = QHBoxLayout()
        header.setSpacing(8)
        self.dot = QLabel(self)
        header.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignVCenter)
        self.title_label = theme.heading(status.name, 2, self)
        header.addWidget(self.title_label)
        self.connection_label = QLabel(self)
        self.connection_label.setProperty("role", "hint")
        header.addWidget(self.connection_label, 1, Qt.AlignmentFlag.AlignVCenter)
        self.retry_button = QPushButton("Try &now", self)
        self.retry_button.setToolTip("Try to reach the bridge now instead of waiting")
        self.retry_button.clicked.connect(lambda: self.retry_requested.emit(self.status.bridge_id))
        header.addWidget(self.retry_button)
        self.repair_button = QPushButton("&Re-pair…", self)
        self.repair_button.clicked.connect(lambda: self.repair_requested.emit(self.status.bridge_id))
        header.addWidget(self.repair_button)
        self.forget_button = QPushButton("Forget bridge…", self)
        self.forget_button.clicked.connect(lambda: self.forget_requested.emit(self.status.bridge_id))
        header.addWidget(self.forget_button)
        layout.addLayout(header)

        self.address_label = theme.paragraph("", self, role="hint")
        layout.addWidget(self.address_label)
        self.problem_label = theme.paragraph("", self, role="error")
        self.problem_label.setAccessibleName(f"{status.name} problem")
        self.problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.problem_label)

        self._speakers_box = QVBoxLayout()
        self._speakers_box.setSpacing(0)
        layout.addLayout(self._speakers_box)
        self.no_speakers_label = theme.paragraph("", self, role="hint")
        layout.addWidget(self.no_speakers_label)
        self.set_status(status)

    def set_status(self, status: BridgeStatus) -> None:
        self.status = status
        online = status.online
        self.setAccessibleName(f"Bridge {status.name}, {connection_text(status)}")
        self.title_label.setText(status.name)
        self.dot.setPixmap(status_icon(_DOTS.get(status.connection, DeviceStatus.OFFLINE)).pixmap(12, 12))
        self.dot.setToolTip(status.connection.label)
        self.connection_label.setText(connection_text(status))
        zone = f" · time zone {status.time_zone}" if status.time_zone else ""
        self.address_label.setText(f"{status.host}:{status.port}{zone}")
        problem = status.problem if not online else ""
        if status.connection is Connection.OFFLINE and problem:
            problem += " Earmuff keeps trying; the states below are the last ones it saw."
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        self.repair_button.setVisible(status.connection.needs_pairing)
        self.repair_button.setAccessibleName(f"Pair again with {status.name}")
        self.retry_button.setVisible(status.connection is Connection.OFFLINE)
        self.forget_button.setAccessibleName(f"Forget {status.name}")

        wanted = [s.speaker_id for s in status.speakers]
        if list(self.controls) != wanted:
            self._rebuild_controls(status.speakers)
        else:
            for state in status.speakers:
                self.controls[state.speaker_id].set_state(state)
        if status.connection is Connection.CONNECTING:
            reason = f"Not available until Earmuff reaches {status.name}."
        else:
            reason = f"Not available while the bridge is offline. {status.problem}".strip()
        for control in self.controls.values():
            control.set_online(online, "" if online else reason)
        if not status.speakers:
            self.no_speakers_label.setText(
                "Waiting for the bridge to list its speakers…" if status.connection in (
                    Connection.CONNECTING, Connection.ONLINE) else "No speakers known for this bridge yet.")
        self.no_speakers_label.setVisible(not status.speakers)

    def set_speaker_state(self, state: SpeakerState) -> None:
        control = self.controls.get(state.speaker_id)
        if control is not None:
            control.set_state(state)

    def _rebuild_controls(self, speakers: tuple[SpeakerState, ...]) -> None:
        for widget in (*self.controls.values(), *self._separators):
            self._speakers_box.removeWidget(widget)
            widget.deleteLater()
        self.controls = {}
        self._separators = []
        bridge_id = self.status.bridge_id
        for index, state in enumerate(speakers):
            if index:
                line = QFrame(self)
                line.setFrameShape(QFrame.Shape.HLine)
                line.setFrameShadow(QFrame.Shadow.Sunken)
                self._speakers_box.addWidget(line)
                self._separators.append(line)
            control = MuteControl(state, self)
            control.mute_requested.connect(lambda sid, muted: self.mute_requested.emit(bridge_id, sid, muted))
            control.mute_for_requested.connect(lambda sid, s: self.mute_for_requested.emit(bridge_id, sid, s))
            control.schedules_requested.connect(lambda sid: self.schedules_requested.emit(bridge_id, sid))
            control.destinations_requested.connect(lambda sid: self.destinations_requested.emit(bridge_id, sid))
            self._speakers_box.addWidget(control)
            self.controls[state.speaker_id] = control


class FoundBridgeRow(QWidget):
    """A bridge announced on the network that is not paired: name, address and "Pair…".

    Signals:
        pair_requested(Device).
    """

    pair_requested = Signal(object)

    def __init__(self, device: Device, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 2)
        dot = QLabel(self)
        dot.setPixmap(status_icon(device.status).pixmap(10, 10))
        dot.setToolTip(device.status.label)
        row.addWidget(dot)
        self.name_label = QLabel(device.name, self)
        row.addWidget(self.name_label)
        where = advertised_address(device)
        address = f"{where[0]}:{where[1]}" if where else ", ".join(device.addresses) or "address unknown"
        if not device.online:
            address += " · not announcing itself right now"
        self.address_label = QLabel(address, self)
        self.address_label.setProperty("role", "hint")
        row.addWidget(self.address_label, 1)
        self.pair_button = QPushButton("Pair…", self)
        self.pair_button.setAccessibleName(f"Pair with {device.name}")
        self.pair_button.setEnabled(where is not None)
        self.pair_button.clicked.connect(lambda: self.pair_requested.emit(self.device))
        row.addWidget(self.pair_button)


class BridgesPage(QWidget):
    """Paired bridges (online or offline, their speakers with mute controls), bridges found on the network,
    and pairing. Opens its own dialogs; every request runs on the bridge manager's workers.

    Attributes:
        model, proxy: the shared devices and the discovered bridges among them.
        adapter: the BridgeAdapter (None: no bridge manager, pairing unavailable).
        cards: bridge id -> BridgeCard of paired bridges.
        found_rows: device id -> FoundBridgeRow of unpaired bridges.
        add_button: "Add bridge by address…".
        pairing_note: how pairing works.
        empty_state: shown while there is neither a paired nor a found bridge.
        pair_dialog, schedule_editor, forget_box: the dialogs opened last.
        destination_dialogs: (bridge id, speaker id) -> its DestinationsDialog, once opened.

    Signals:
        status_message(str): a short note for the status bar.
    """

    page_key = "bridges"
    page_title = "Bridges"

    status_message = Signal(str)

    def __init__(self, model: DevicesModel, adapter: BridgeAdapter | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.adapter = adapter
        self.cards: dict[str, BridgeCard] = {}
        self.found_rows: dict[str, FoundBridgeRow] = {}
        self.pair_dialog: PairBridgeDialog | None = None
        self.schedule_editor: ScheduleEditor | None = None
        self.forget_box: QMessageBox | None = None
        self.destination_dialogs: dict[tuple[str, str], DestinationsDialog] = {}

        layout = theme.page_layout(self, self.page_title)
        layout.addWidget(theme.paragraph(
            "An Earmuff bridge is a small Raspberry Pi beside your speaker. It mutes the speaker in hardware, "
            "on your schedules, even while this computer is off, and tells Earmuff whether the mute is confirmed.",
            self))
        tools = QHBoxLayout()
        self.add_button = QPushButton("&Add bridge by address…", self)
        self.add_button.clicked.connect(lambda: self.open_pair_dialog())
        self.add_button.setEnabled(adapter is not None)
        tools.addWidget(self.add_button)
        tools.addStretch(1)
        layout.addLayout(tools)

        self._stack = QStackedWidget(self)
        scroll = QScrollArea(self._stack)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        content = QWidget(scroll)
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 8, 0)
        body.setSpacing(theme.BLOCK_SPACING)
        self.paired_heading = theme.heading("Paired bridges", 2, content)
        body.addWidget(self.paired_heading)
        self._cards_box = QVBoxLayout()
        self._cards_box.setSpacing(theme.BLOCK_SPACING)
        body.addLayout(self._cards_box)
        self.no_paired_label = theme.paragraph(
            "No bridge is paired with this computer yet. Pair one found below, or add one by its address.",
            content, role="hint")
        body.addWidget(self.no_paired_label)
        self.found_heading = theme.heading("Found on your network", 2, content)
        body.addWidget(self.found_heading)
        self._found_box = QVBoxLayout()
        self._found_box.setSpacing(2)
        body.addLayout(self._found_box)
        self.no_found_label = theme.paragraph(
            "No other bridge announces itself on your network right now.", content, role="hint")
        body.addWidget(self.no_found_label)
        self.pairing_note = theme.paragraph(
            "Pairing needs the 6-digit code the bridge shows: run “earmuff-bridge pair-code” on the bridge. "
            "Earmuff keeps the bridge's key in your system's keyring.", content, role="hint")
        body.addWidget(self.pairing_note)
        body.addStretch(1)
        scroll.setWidget(content)
        self._stack.addWidget(scroll)
        self.empty_state = EmptyState(
            "No bridges yet",
            "A bridge running earmuff-bridge announces itself on your network and appears here "
            "automatically. You can also add one by its address.",
            note="Pairing needs the 6-digit code the bridge shows (earmuff-bridge pair-code).",
            action=("Add bridge by address…", lambda: self.open_pair_dialog()) if adapter is not None else None,
            parent=self._stack,
        )
        self._stack.addWidget(self.empty_state)
        layout.addWidget(self._stack, 1)

        self.proxy = DeviceFilterProxy(model, Scope.BRIDGES, self)
        self.proxy.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
        model.changed.connect(self._update_found)
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self._bridge_removed)
            adapter.speaker_state.connect(self._speaker_state)
            adapter.command_failed.connect(self._command_failed)
            for status in adapter.statuses():
                self._bridge_updated(status)
        self._update_found()

    # -- paired bridges --------------------------------------------------------------------------------
    def _bridge_updated(self, status: BridgeStatus) -> None:
        card = self.cards.get(status.bridge_id)
        if card is None:
            card = BridgeCard(status, self)
            card.mute_requested.connect(self.set_mute)
            card.mute_for_requested.connect(self.mute_for)
            card.schedules_requested.connect(self.open_schedules)
            card.destinations_requested.connect(self.open_destinations)
            card.repair_requested.connect(self.repair)
            card.retry_requested.connect(self._retry)
            card.forget_requested.connect(self.confirm_forget)
            self.cards[status.bridge_id] = card
            self._cards_box.addWidget(card)
        else:
            card.set_status(status)
        self._update_found()

    def _bridge_removed(self, bridge_id: str) -> None:
        for key in [k for k in self.destination_dialogs if k[0] == bridge_id]:
            self.destination_dialogs.pop(key).close()
        card = self.cards.pop(bridge_id, None)
        if card is not None:
            self._cards_box.removeWidget(card)
            card.deleteLater()
        self._update_found()

    def _speaker_state(self, bridge_id: str, state: SpeakerState) -> None:
        card = self.cards.get(bridge_id)
        if card is not None:
            card.set_speaker_state(state)

    def _command_failed(self, failure: CommandFailure) -> None:
        card = self.cards.get(failure.bridge_id)
        control = card.controls.get(failure.speaker_id) if card and failure.speaker_id else None
        if control is not None:
            control.command_failed(f"Could not {failure.action}: {failure.message}")
        self.status_message.emit(f"Could not {failure.action} {control.state.name if control else ''}: "
                                 f"{failure.message}".replace("  ", " "))

    def control(self, bridge_id: str, speaker_id: str) -> MuteControl | None:
        card = self.cards.get(bridge_id)
        return card.controls.get(speaker_id) if card else None

    def set_mute(self, bridge_id: str, speaker_id: str, muted: bool) -> None:
        if self.adapter is None:
            return
        control = self.control(bridge_id, speaker_id)
        self.adapter.call("set_mute", bridge_id, speaker_id, muted,
                          on_done=lambda outcome: self._mute_done(control, outcome))

    def mute_for(self, bridge_id: str, speaker_id: str, seconds: float) -> None:
        if self.adapter is None:
            return
        control = self.control(bridge_id, speaker_id)
        self.adapter.call("mute_for", bridge_id, speaker_id, seconds,
                          on_done=lambda outcome: self._mute_done(control, outcome))

    @staticmethod
    def _mute_done(control: MuteControl | None, outcome: Outcome) -> None:
        if control is None:
            return
        if outcome.ok:
            control.command_done(outcome.value)
        # failures arrive as command_failed too, with the action named; the control shows that one

    def _retry(self, bridge_id: str) -> None:
        if self.adapter is not None:
            self.adapter.manager.retry(bridge_id)

    # -- found bridges ------------------------------------------------------------------------------------
    def found_devices(self) -> list[Device]:
        """Bridges announced on the network that are not paired with this computer."""
        devices = []
        for row in range(self.proxy.rowCount()):
            device = self.proxy.index(row, Column.NAME).data(DEVICE_ROLE)
            if device is None:
                continue
            if device.device_id in self.cards:
                where = advertised_address(device)
                if where and self.adapter is not None and device.online:
                    self.adapter.manager.address_seen(device.device_id, *where)
                continue
            devices.append(device)
        return devices

    def _update_found(self) -> None:
        devices = self.found_devices()
        current = {d.device_id: d for d in devices}
        for device_id in list(self.found_rows):
            if device_id not in current or self.found_rows[device_id].device != current[device_id]:
                row = self.found_rows.pop(device_id)
                self._found_box.removeWidget(row)
                row.deleteLater()
        for device in devices:
            if device.device_id not in self.found_rows:
                row = FoundBridgeRow(device, self)
                row.pair_button.setEnabled(row.pair_button.isEnabled() and self.adapter is not None)
                row.pair_requested.connect(self.pair_found)
                self.found_rows[device.device_id] = row
                self._found_box.insertWidget(devices.index(device), row)
        self.no_found_label.setVisible(not self.found_rows)
        self.no_paired_label.setVisible(not self.cards)
        self._stack.setCurrentIndex(0 if (self.cards or self.found_rows) else 1)

    # -- dialogs ------------------------------------------------------------------------------------------
    def open_pair_dialog(self, address: str = "", *, expected_id: str | None = None,
                         expected_fingerprint_prefix: str | None = None, pinned_fingerprint: str | None = None,
                         title: str = "Pair with a bridge", replaces: str | None = None) -> PairBridgeDialog | None:
        """Open the pairing dialog. `replaces`: the paired bridge this pairing stands in for (re-pairing);
        if the bridge now has another id (it was reset), the old entry is forgotten."""
        if self.adapter is None:
            return None
        dialog = PairBridgeDialog(self.adapter, address=address, expected_id=expected_id,
                                  expected_fingerprint_prefix=expected_fingerprint_prefix,
                                  pinned_fingerprint=pinned_fingerprint, title=title, parent=self)
        dialog.paired.connect(lambda bridge: self._paired(bridge, replaces))
        self.pair_dialog = dialog
        dialog.open()
        return dialog

    def pair_found(self, device: Device) -> None:
        where = advertised_address(device)
        if where is None:
            return
        host, port = where
        shown = f"[{host}]" if ":" in host else host
        self.open_pair_dialog(f"{shown}:{port}", expected_id=device.device_id,
                              expected_fingerprint_prefix=advertised_fingerprint_prefix(device),
                              title=f"Pair with {device.name}")

    def repair(self, bridge_id: str) -> None:
        card = self.cards.get(bridge_id)
        if card is None:
            return
        status = card.status
        shown = f"[{status.host}]" if ":" in status.host else status.host
        self.open_pair_dialog(f"{shown}:{status.port}", expected_id=bridge_id, pinned_fingerprint=status.fingerprint,
                              title=f"Pair again with {status.name}", replaces=bridge_id)

    def _paired(self, bridge, replaces: str | None = None) -> None:
        self.status_message.emit(f"Paired with {bridge.name}.")
        if replaces and replaces != bridge.bridge_id and replaces in self.cards and self.adapter is not None:
            self.adapter.call("forget", replaces, on_done=lambda _outcome: None)

    def open_schedules(self, bridge_id: str, speaker_id: str) -> ScheduleEditor | None:
        card = self.cards.get(bridge_id)
        if card is None or self.adapter is None:
            return None
        speaker = card.status.speaker(speaker_id) if speaker_id else None
        editor = ScheduleEditor(self.adapter, card.status, speaker, self)
        self.schedule_editor = editor
        editor.open()
        return editor

    def open_destinations(self, bridge_id: str, speaker_id: str) -> DestinationsDialog | None:
        """Open (or raise) the speaker's Destinations dialog."""
        card = self.cards.get(bridge_id)
        if card is None or self.adapter is None:
            return None
        dialog = self.destination_dialogs.get((bridge_id, speaker_id))
        if dialog is None:
            speaker = card.status.speaker(speaker_id)
            dialog = DestinationsDialog(self.adapter, bridge_id, speaker_id, speaker.name if speaker else speaker_id,
                                        self)
            self.destination_dialogs[(bridge_id, speaker_id)] = dialog
        dialog.show()
        dialog.raise_()
        return dialog

    def confirm_forget(self, bridge_id: str) -> None:
        card = self.cards.get(bridge_id)
        if card is None:
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Forget this bridge?")
        box.setText(f"Forget “{card.status.name}”?")
        box.setInformativeText(
            "Earmuff asks the bridge to drop this computer's key (if it can reach it), removes the key from your "
            "keyring and stops showing the bridge. The bridge keeps muting on its schedules; pair again to "
            "control it.")
        forget = box.addButton("Forget", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _result: self._forget_answered(box, forget, bridge_id))
        self.forget_box = box
        box.open()

    def _forget_answered(self, box: QMessageBox, forget_button, bridge_id: str) -> None:
        if box.clickedButton() is not forget_button or self.adapter is None:
            return
        self.adapter.call("forget", bridge_id, on_done=self._forgotten)

    def _forgotten(self, outcome: Outcome) -> None:
        if not outcome.ok:
            self.status_message.emit(f"Could not forget the bridge: {outcome.message}")
            return
        result = outcome.value
        self.status_message.emit(" ".join(("Bridge forgotten.", *result.notes)))
