"""Look and feel shared by the pages: the app icon, heading styles, spacing."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.resources import resource_path

ICON_PATH = resource_path("icons", "earmuff.svg")

#: Outer margin of a page and the gap between its blocks, in pixels.
PAGE_MARGIN = 20
BLOCK_SPACING = 14

STYLE_SHEET = """
QListWidget#navigation {
    border: none;
    background: palette(window);
    font-size: 11pt;
    outline: 0;
}
QListWidget#navigation::item {
    padding: 9px 16px;
    border-radius: 6px;
    margin: 1px 6px;
}
QListWidget#navigation::item:selected {
    background: palette(highlight);
    color: palette(highlighted-text);
}
QLabel[role="hint"] {
    color: palette(placeholder-text);
}
QLabel[role="error"] {
    color: #b3261e;
}
QFrame[role="card"] {
    border: 1px solid palette(mid);
    border-radius: 8px;
    background: palette(base);
}
"""


@cache
def app_icon() -> QIcon:
    """Earmuff's icon (an empty icon if the SVG is missing from an odd install)."""
    return QIcon(str(ICON_PATH)) if ICON_PATH.exists() else QIcon()


def heading(text: str, level: int = 1, parent: QWidget | None = None) -> QLabel:
    """A page (level 1) or section (level 2) title."""
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * (1.6 if level == 1 else 1.2))
    font.setBold(True)
    label.setFont(font)
    return label


def paragraph(text: str, parent: QWidget | None = None, *, role: str | None = None) -> QLabel:
    """Wrapped body text; `role` ("hint", "error") picks a style from STYLE_SHEET."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    if role:
        label.setProperty("role", role)
    return label


def page_layout(page: QWidget, title: str) -> QVBoxLayout:
    """A page's outer layout with its title already in place."""
    layout = QVBoxLayout(page)
    layout.setContentsMargins(PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN, PAGE_MARGIN)
    layout.setSpacing(BLOCK_SPACING)
    layout.addWidget(heading(title, 1, page))
    return layout
