"""The About box: what Earmuff is, its version, and where it keeps its data."""

from __future__ import annotations

from importlib import metadata

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui import theme


def app_version() -> str:
    try:
        return metadata.version("earmuff")
    except metadata.PackageNotFoundError:
        return "development version"


class AboutDialog(QDialog):
    """Name, version, purpose, privacy promise, data locations and licence.

    Attributes:
        details_label: the data directory, log file and library versions (selectable).
    """

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Earmuff")
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)

        top = QHBoxLayout()
        icon = QLabel(self)
        icon.setPixmap(theme.app_icon().pixmap(64, 64))
        icon.setAccessibleName("Earmuff icon")
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(theme.heading("Earmuff", 1, self))
        text.addWidget(QLabel(f"Version {app_version()}", self))
        top.addLayout(text, 1)
        layout.addLayout(top)

        layout.addWidget(
            theme.paragraph(
                "Earmuff finds the smart speakers in your home, shows when they send your voice away, and "
                "helps you mute them, opt out and get recordings deleted.\n\n"
                "Nothing leaves your home network: Earmuff needs no account, and it never stores room "
                "audio.",
                self,
            )
        )
        demo = "\nRunning the demo: a simulated home on 127.0.0.1." if getattr(ctx, "demo", False) else ""
        self.details_label = theme.paragraph(
            f"Your data: {ctx.data_dir}\nLog file: {ctx.log_path}{demo}\n"
            f"Qt {qVersion()}, PySide {PySide6.__version__}. Licensed under the Apache License 2.0.",
            self,
            role="hint",
        )
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details_label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)
