"""A speaker's destination blocks (each with its drop count and an Unblock button) and the one-click presets."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.bridge_client.destinations import Block, BlockPreset
from app.destinations import human_bytes
from ui import theme


def drop_text(block: Block) -> str:
    """'Dropped 1,204 packets (88 kB)' or 'Nothing dropped yet'."""
    if not block.dropped_packets:
        return "Nothing dropped yet"
    plural = "" if block.dropped_packets == 1 else "s"
    return f"Dropped {block.dropped_packets:,} packet{plural} ({human_bytes(block.dropped_bytes)})"


def sources_text(preset: BlockPreset) -> str:
    lines = [preset.why]
    for source in preset.sources:
        where = source.get("url") or source.get("what") or ""
        lines.append(f"Source: {where} — {source.get('shows', '')}")
    if preset.caveat:
        lines.append(preset.caveat)
    return "\n".join(lines)


class BlocksPanel(QWidget):
    """Blocks in force and presets not yet used.

    Attributes:
        blocks: the Blocks shown. presets: every preset the bridge offers.
        unblock_buttons: block id -> its Unblock button. preset_buttons: preset id -> its Block button.
        empty_label: shown while there is no block.

    Signals:
        unblock_requested(int block_id), preset_requested(str preset_id).
    """

    unblock_requested = Signal(int)
    preset_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.blocks: list[Block] = []
        self.presets: list[BlockPreset] = []
        self.unblock_buttons: dict[int, QPushButton] = {}
        self.preset_buttons: dict[str, QPushButton] = {}
        self._rows: list[QWidget] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(theme.heading("Blocked for this speaker", 2, self))
        self._blocks_box = QVBoxLayout()
        self._blocks_box.setSpacing(2)
        layout.addLayout(self._blocks_box)
        self.empty_label = theme.paragraph(
            "Nothing is blocked. Select a destination above to block it, or use a preset below. The bridge drops "
            "the speaker's traffic to it, even while this computer is off; every block can be undone.",
            self, role="hint")
        layout.addWidget(self.empty_label)
        self.presets_heading = theme.heading("Telemetry presets", 2, self)
        layout.addWidget(self.presets_heading)
        self._presets_box = QVBoxLayout()
        self._presets_box.setSpacing(2)
        layout.addLayout(self._presets_box)
        self.no_presets_label = theme.paragraph(
            "Earmuff offers presets only for endpoints a source documents as telemetry; there are none for the "
            "other makers.", self, role="hint")
        layout.addWidget(self.no_presets_label)

    def set_blocks(self, blocks: Sequence[Block], presets: Sequence[BlockPreset] | None = None) -> None:
        self.blocks = list(blocks)
        if presets is not None:
            self.presets = list(presets)
        for row in self._rows:
            row.setParent(None)
            row.deleteLater()
        self._rows = []
        self.unblock_buttons = {}
        self.preset_buttons = {}
        for block in self.blocks:
            self._blocks_box.addWidget(self._block_row(block))
        self.empty_label.setVisible(not self.blocks)
        used = {b.value for b in self.blocks if b.kind == "preset"}
        offered = [p for p in self.presets if p.id not in used]
        for preset in offered:
            self._presets_box.addWidget(self._preset_row(preset))
        self.no_presets_label.setVisible(not offered)

    def _block_row(self, block: Block) -> QWidget:
        row = QFrame(self)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 2, 0, 2)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        title = QLabel(block.title, row)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        texts.addWidget(title)
        detail = drop_text(block)
        if block.addresses:
            detail += f" · {len(block.addresses)} address{'es' if len(block.addresses) != 1 else ''} now"
        detail_label = theme.paragraph(detail, row, role="hint")
        detail_label.setAccessibleName(f"{block.title} drops")
        texts.addWidget(detail_label)
        if block.also_affects:
            also = theme.paragraph("Also stops, at the same address: " + ", ".join(block.also_affects[:5]),
                                   row, role="hint")
            texts.addWidget(also)
        box.addLayout(texts, 1)
        button = QPushButton("Unblock", row)
        button.setAccessibleName(f"Unblock {block.title}")
        button.clicked.connect(lambda: self.unblock_requested.emit(block.id))
        box.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.unblock_buttons[block.id] = button
        self._rows.append(row)
        return row

    def _preset_row(self, preset: BlockPreset) -> QWidget:
        row = QFrame(self)
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 2, 0, 2)
        label = QLabel(f"{preset.title} ({', '.join(preset.names)})", row)
        label.setWordWrap(True)
        label.setToolTip(sources_text(preset))
        box.addWidget(label, 1)
        button = QPushButton("Block", row)
        button.setAccessibleName(f"Block {preset.title}")
        button.setToolTip(sources_text(preset))
        button.clicked.connect(lambda: self.preset_requested.emit(preset.id))
        box.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.preset_buttons[preset.id] = button
        self._rows.append(row)
        return row
