"""A vendor portal's steps to delete recordings, with its links (opened in the browser) and where the steps
come from."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from ui import theme
from ui.deletions.fitted_label import FittedLabel


def steps_html(guide) -> str:
    steps = "".join(f"<li style='margin-bottom:4px'>{html.escape(step)}</li>" for step in guide.steps)
    links = "".join(f"<li><a href='{html.escape(url, quote=True)}'>{html.escape(label)}</a></li>"
                    for label, url in guide.links)
    parts = [f"<ol>{steps}</ol>"]
    if links:
        parts.append(f"<p><b>Links</b> (they open in your browser):</p><ul>{links}</ul>")
    return "".join(parts)


class StepsDialog(QDialog):
    """Shows one PortalGuide.

    Attributes:
        guide: the PortalGuide; scope_label, steps_label (links clickable), source_label, message_label.
        reminder_button: present when a reminder is offered.
        opened: the URLs opened from here.

    Signals:
        reminder_requested(str guide_id): the user wants to be reminded to do this regularly.
    """

    reminder_requested = Signal(str)

    def __init__(self, guide, *, offer_reminder: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guide = guide
        self.opened: list[str] = []
        self.setWindowTitle(guide.title)
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        layout.setSpacing(theme.BLOCK_SPACING)
        layout.addWidget(theme.heading(guide.title, 2, self))
        self.scope_label = FittedLabel(guide.scope, self)
        layout.addWidget(self.scope_label)
        self.steps_label = QLabel(steps_html(guide), self)
        self.steps_label.setWordWrap(True)
        self.steps_label.setTextFormat(Qt.TextFormat.RichText)
        self.steps_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.steps_label.setOpenExternalLinks(False)
        self.steps_label.linkActivated.connect(self.open_link)
        self.steps_label.setAccessibleName("Steps")
        layout.addWidget(self.steps_label)
        sources = ", ".join(f"<a href='{html.escape(url, quote=True)}'>{html.escape(key)}</a>"
                            for key, url in guide.sources)
        self.source_label = FittedLabel(
            f"Sources: {sources}. Last checked {guide.last_verified:%d %B %Y}. Vendors move things: if a step does "
            "not match what you see, look for the nearest match.", self, role="hint")
        self.source_label.setTextFormat(Qt.TextFormat.RichText)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.source_label.linkActivated.connect(self.open_link)
        layout.addWidget(self.source_label)
        self.message_label = FittedLabel("", self, role="hint")
        self.message_label.setAccessibleName("Last action")
        layout.addWidget(self.message_label)
        layout.addStretch(1)  # spare height goes below the content, not between its lines
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.reminder_button: QPushButton | None = None
        if offer_reminder:
            self.reminder_button = QPushButton("&Remind me regularly\u2026", self)
            self.reminder_button.setToolTip("Add a reminder on the Deletions page to do this again")
            self.reminder_button.clicked.connect(self._remind)
            buttons.addButton(self.reminder_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        # Tab reaches each link in the steps; Enter opens it.
        self.steps_label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def open_link(self, url: str) -> bool:
        opened = QDesktopServices.openUrl(QUrl(url))
        if opened:
            self.opened.append(url)
        self.message_label.setText(f"Opened {url} in your browser." if opened else
                                   f"Could not open a browser. The address is {url}")
        return opened

    def _remind(self) -> None:
        self.reminder_requested.emit(self.guide.id)
        self.accept()
