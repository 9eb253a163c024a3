"""How the Opt-outs page looks: status colours and dots, badges, and dates in words."""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QLocale, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from app.optouts.recheck import DAY_S, Recheck

#: Status level (PrivacyStatus.level, plus "unlinked") -> colour.
LEVEL_COLOURS = {
    "protected": "#1b7f3b",
    "incomplete": "#9a6700",
    "attention": "#b3261e",
    "empty": "#8a8a8a",
    "unlinked": "#8a8a8a",
}

STATE_LEVELS = {
    Recheck.TODO: "incomplete",
    Recheck.OK: "protected",
    Recheck.DUE_SOON: "incomplete",
    Recheck.DUE: "attention",
    Recheck.OVERDUE: "attention",
    Recheck.CHANGED: "attention",
    Recheck.VENDOR_CHANGED: "attention",
    Recheck.RETIRED: "empty",
}

STYLE_SHEET = """
QLabel[badge="true"] {
    border-radius: 8px;
    padding: 1px 7px;
    font-size: 8.5pt;
}
QLabel[badge="true"][level="protected"] { background: #dcefe2; color: #14532d; }
QLabel[badge="true"][level="incomplete"] { background: #fbefd5; color: #6b4700; }
QLabel[badge="true"][level="attention"] { background: #f9dedc; color: #8c1d18; }
QLabel[badge="true"][level="empty"] { background: palette(midlight); color: palette(text); }
QLabel[badge="true"][level="unverified"] { background: #e8e2f4; color: #4a3a7a; }
QLabel[level_text="protected"] { color: #1b7f3b; font-weight: bold; }
QLabel[level_text="incomplete"] { color: #9a6700; font-weight: bold; }
QLabel[level_text="attention"] { color: #b3261e; font-weight: bold; }
QLabel[level_text="empty"] { color: palette(placeholder-text); font-weight: bold; }
QFrame[role="banner"] {
    border: 1px solid palette(mid);
    border-radius: 6px;
    background: palette(alternate-base);
}
QFrame[role="banner"][level="attention"] { border-color: #e0a8a3; background: #fdf1f0; }
QFrame[role="card"][retired="true"] { background: palette(window); }
QToolButton#details_toggle { border: none; padding: 2px 0; }
"""

_dots: dict[str, QIcon] = {}


def level_icon(level: str) -> QIcon:
    """A 12 px coloured dot for a status level."""
    icon = _dots.get(level)
    if icon is None:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(LEVEL_COLOURS.get(level, "#8a8a8a")))
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        icon = _dots[level] = QIcon(pixmap)
    return icon


def badge(text: str, level: str, parent: QWidget | None = None) -> QLabel:
    """A small rounded label ("Re-check due", "Unverified")."""
    label = QLabel(text, parent)
    label.setProperty("badge", True)
    label.setProperty("level", level)
    return label


def set_badge(label: QLabel, text: str, level: str) -> None:
    label.setText(text)
    if label.property("level") != level:
        label.setProperty("level", level)
        label.style().unpolish(label)
        label.style().polish(label)


def set_level_text(label: QLabel, level: str) -> None:
    if label.property("level_text") != level:
        label.setProperty("level_text", level)
        label.style().unpolish(label)
        label.style().polish(label)


def day_text(epoch: float) -> str:
    """'24 Feb 2027' in the user's locale."""
    moment = QDateTime.fromMSecsSinceEpoch(int(epoch * 1000))
    return QLocale().toString(moment.date(), "d MMM yyyy")


def ago_text(epoch: float, now: float) -> str:
    """'today', 'yesterday', '12 days ago', then the date."""
    days = int((now - epoch) // DAY_S)
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 60:
        return f"{days} days ago"
    return f"on {day_text(epoch)}"


def until_text(epoch: float, now: float) -> str:
    """'in 12 days', 'tomorrow', 'today', '3 days ago' for a due date."""
    days = int((epoch - now) // DAY_S) if epoch >= now else -int((now - epoch) // DAY_S)
    if days > 1:
        return f"in {days} days ({day_text(epoch)})"
    if days == 1:
        return "tomorrow"
    if days == 0:
        return "today"
    return f"{-days} day{'s' if days != -1 else ''} ago ({day_text(epoch)})"
