"""The details panel: everything Earmuff knows about one device, down to its raw TXT records."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.devices import Device, DeviceStatus, Group
from app.discovery.records import ServiceRecord
from ui import theme
from ui.models.devices_model import absolute_time_text, primary_addresses

# Friendly names for the service types speakers advertise; unknown types show as they are.
SERVICE_LABELS = {
    "_googlecast._tcp.local.": "Google Cast",
    "_airplay._tcp.local.": "AirPlay",
    "_raop._tcp.local.": "AirPlay audio (RAOP)",
    "_companion-link._tcp.local.": "Apple companion link",
    "_homekit._tcp.local.": "HomeKit",
    "_sonos._tcp.local.": "Sonos",
    "_spotify-connect._tcp.local.": "Spotify Connect",
    "_amzn-wplay._tcp.local.": "Amazon media",
    "_amzn-alexa._tcp.local.": "Alexa built-in",
    "_soundtouch._tcp.local.": "Bose SoundTouch",
    "_heos-audio._tcp.local.": "HEOS",
    "_linkplay._tcp.local.": "LinkPlay",
    "_meshcop._udp.local.": "Thread border router",
    "_earmuff._tcp.local.": "Earmuff bridge",
}


ZERO_WIDTH_SPACE = "\u200b"


def breakable(text: str) -> str:
    """Lets a long host name or id wrap after its dots, dashes and colons instead of being cut off."""
    if len(text) <= 32:
        return text
    for mark in ".-:,":
        text = text.replace(mark, mark + ZERO_WIDTH_SPACE)
    return text


def service_label(service_type: str) -> str:
    return SERVICE_LABELS.get(service_type.lower(), service_type)


class DeviceDetails(QWidget):
    """Shows one Device: identity, addresses, groups, and each advertised service with its raw records.

    Attributes:
        device: the snapshot shown, or None.
        title_label, subtitle_label: name and "kind · model by vendor".
        facts: the QFormLayout of plain facts (room, status, addresses...).
        services_tree: one top-level item per service; children are its fields and TXT entries.
        copy_button: copies `as_text()` to the clipboard (for a bug report or a forum post).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device: Device | None = None
        self._groups: list[Group] = []
        self.setAccessibleName("Device details")
        self.setMinimumWidth(280)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._stack = QStackedWidget(self)
        outer.addWidget(self._stack)

        self._placeholder = theme.paragraph(
            "Select a speaker to see what it tells your network about itself: its addresses and every "
            "service it announces, with the raw records.",
            self,
            role="hint",
        )
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setContentsMargins(24, 24, 24, 24)
        self._stack.addWidget(self._placeholder)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.title_label = theme.heading("", 2, body)
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title_label)
        self.subtitle_label = theme.paragraph("", body, role="hint")
        layout.addWidget(self.subtitle_label)

        self.facts = QFormLayout()
        self.facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.facts.setHorizontalSpacing(14)
        self.facts.setVerticalSpacing(4)
        layout.addLayout(self.facts)

        header = QHBoxLayout()
        self._services_heading = theme.heading("Announced services", 2, body)
        header.addWidget(self._services_heading, 1)
        self.copy_button = QPushButton("Copy details", body)
        self.copy_button.setToolTip("Copy everything shown here as text")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        header.addWidget(self.copy_button)
        layout.addLayout(header)

        self._services_note = theme.paragraph("", body, role="hint")
        layout.addWidget(self._services_note)

        self.services_tree = QTreeWidget(body)
        self.services_tree.setAccessibleName("Announced services and their raw records")
        self.services_tree.setColumnCount(2)
        self.services_tree.setHeaderLabels(["Record", "Value"])
        self.services_tree.setAlternatingRowColors(True)
        self.services_tree.setUniformRowHeights(True)
        self.services_tree.header().setStretchLastSection(True)
        self.services_tree.setColumnWidth(0, 170)
        layout.addWidget(self.services_tree, 1)
        self._stack.addWidget(body)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    # ------------------------------------------------------------------
    def show_device(self, device: Device | None, groups: list[Group] = ()) -> None:
        """Show `device` (None: the placeholder). Keeps expansion and scroll when it is the same device."""
        same = device is not None and self.device is not None and device.device_id == self.device.device_id
        if same and device == self.device and list(groups) == self._groups:
            return
        expanded = self._expanded_services() if same else None
        scroll = self.services_tree.verticalScrollBar().value() if same else 0
        self.device = device
        self._groups = list(groups)
        if device is None:
            self._stack.setCurrentIndex(0)
            return
        self._stack.setCurrentIndex(1)
        self.title_label.setText(device.name)
        self.title_label.setAccessibleName(device.name)
        made_by = " by ".join(x for x in (device.model, device.vendor) if x)
        self.subtitle_label.setText(" · ".join(x for x in (device.kind.label, made_by) if x))
        self._fill_facts(device)
        self._fill_services(device, expanded)
        self.services_tree.verticalScrollBar().setValue(scroll)

    def _fill_facts(self, device: Device) -> None:
        while self.facts.rowCount():
            self.facts.removeRow(0)
        rows: list[tuple[str, str]] = [("Room", device.room or "Not set (press F2 to choose one)")]
        status = device.status.label
        if device.status is DeviceStatus.MANUAL:
            status += ": it does not announce itself, so Earmuff cannot tell when it is on"
        rows.append(("Status", status))
        if device.user_name and device.advertised_name and device.user_name != device.advertised_name:
            rows.append(("Calls itself", device.advertised_name))
        rows.append(("Addresses", primary_addresses(device) or "None known"))
        if device.hosts:
            rows.append(("Host names", ", ".join(device.hosts)))
        if device.mac:
            rows.append(("Hardware address", device.mac))
        for group in self._groups:
            rows.append(("Plays in", f"{group.name} ({group.kind.label.lower()})"))
        if device.first_seen:
            rows.append(("First seen", absolute_time_text(device.first_seen)))
        if device.last_seen:
            rows.append(("Last seen", "Now" if device.online else absolute_time_text(device.last_seen)))
        rows.append(("Earmuff id", device.device_id))
        if device.rule_ids:
            rows.append(("Identified by", ", ".join(device.rule_ids)))
        for label, value in rows:
            field = QLabel(breakable(value))
            field.setToolTip(value if len(value) > 40 else "")
            field.setWordWrap(True)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setAccessibleName(f"{label}: {value}")
            self.facts.addRow(f"{label}:", field)

    def _fill_services(self, device: Device, expanded: set[tuple[str, str]] | None) -> None:
        tree = self.services_tree
        tree.clear()
        count = len(device.services)
        offline = device.status is not DeviceStatus.ONLINE
        heading = "Last announced services" if offline and count else "Announced services"
        self._services_heading.setText(f"{heading} ({count})" if count else heading)
        if device.status is DeviceStatus.MANUAL and not count:
            note = "It was added by IP address and announces nothing on the network."
        elif offline and count:
            note = "It is offline. These are the services it announced when it was last seen."
        elif offline:
            note = "It is not announcing anything right now. Its services will be listed here when it is back."
        else:
            note = ""
        self._services_note.setText(note)
        self._services_note.setVisible(bool(note))
        tree.setVisible(bool(count))
        for record in sorted(device.services, key=lambda r: (service_label(r.service_type), r.name)):
            item = self._service_item(record)
            tree.addTopLevelItem(item)
            item.setExpanded(expanded is None or record.key in expanded)
            txt_item = item.child(item.childCount() - 1)
            txt_item.setExpanded(expanded is None or record.key in expanded)
        tree.resizeColumnToContents(0)
        tree.setColumnWidth(0, min(max(tree.columnWidth(0), 140), 260))

    def _service_item(self, record: ServiceRecord) -> QTreeWidgetItem:
        item = QTreeWidgetItem([service_label(record.service_type), record.instance])
        item.setData(0, Qt.ItemDataRole.UserRole, record.key)
        font = item.font(0)
        font.setBold(True)
        item.setFont(0, font)
        item.setToolTip(1, record.name)
        fields = [
            ("Type", record.service_type),
            ("Instance name", record.instance),
            ("Host", record.server or "(none)"),
            ("Port", "(none)" if record.port is None else str(record.port)),
            ("Addresses", ", ".join(record.addresses) or "(none)"),
        ]
        if record.seen_at:
            fields.append(("Received", absolute_time_text(record.seen_at)))
        for label, value in fields:
            self._add_value(item, label, value)
        entries = record.entries
        txt = QTreeWidgetItem([f"TXT record ({len(entries)} {'entry' if len(entries) == 1 else 'entries'})", ""])
        item.addChild(txt)
        for entry in entries:
            child = self._add_value(txt, entry.key, entry.display_value())
            if entry.is_binary:
                child.setToolTip(1, f"Binary value ({len(entry.value or b'')} bytes), shown as hexadecimal")
            elif entry.value is None:
                child.setToolTip(1, "A key with no '=': a flag that is simply present")
        if not entries:
            self._add_value(txt, "(empty)", "")
        return item

    def _add_value(self, parent: QTreeWidgetItem, label: str, value: str) -> QTreeWidgetItem:
        child = QTreeWidgetItem([label, value])
        child.setFont(1, self._mono)
        child.setToolTip(1, value)
        parent.addChild(child)
        return child

    def _expanded_services(self) -> set[tuple[str, str]]:
        tree = self.services_tree
        return {
            tuple(tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole))
            for i in range(tree.topLevelItemCount())
            if tree.topLevelItem(i).isExpanded()
        }

    # ------------------------------------------------------------------
    def as_text(self) -> str:
        """Everything shown, as plain text: facts, then each service with `key = value` TXT lines."""
        device = self.device
        if device is None:
            return ""
        lines = [device.name, self.subtitle_label.text()]
        for row in range(self.facts.rowCount()):
            label = self.facts.itemAt(row, QFormLayout.ItemRole.LabelRole).widget().text()
            value = self.facts.itemAt(row, QFormLayout.ItemRole.FieldRole).widget().text()
            value = value.replace(ZERO_WIDTH_SPACE, "")
            lines.append(f"{label} {value}")
        for record in device.services:
            lines += [
                "",
                f"{service_label(record.service_type)}: {record.name}",
                f"  type = {record.service_type}",
                f"  instance = {record.instance}",
                f"  host = {record.server}",
                f"  port = {record.port}",
                f"  addresses = {', '.join(record.addresses)}",
            ]
            lines += [f"  txt: {entry.key} = {entry.display_value()}" for entry in record.entries]
        return "\n".join(lines)

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.as_text())
