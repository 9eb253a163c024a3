"""One speaker's mute: a toggle, what the bridge commanded versus what the sense line confirms, and shortcuts."""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, QLocale, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.bridge_client import SpeakerState
from ui import theme

HOUR_S = 3600.0

# The toggle's checked (muted) state must read at a glance, not as a barely darker button.
TOGGLE_STYLE = """
QPushButton#mute_toggle {
    padding: 5px 14px;
}
QPushButton#mute_toggle:checked {
    background: palette(highlight);
    color: palette(highlighted-text);
    border: 1px solid palette(highlight);
    border-radius: 4px;
    font-weight: bold;
}
QPushButton#mute_toggle:checked:disabled {
    background: palette(mid);
    border-color: palette(mid);
}
"""


def state_text(state: SpeakerState) -> tuple[str, bool]:
    """What the speaker's mute is, in words, and whether it is an alarm (a mismatch)."""
    if state.confirmation == "mismatch":
        return (f"MISMATCH: the speaker did not {'mute' if state.muted else 'unmute'}", True)
    what = "Muted" if state.muted else "Not muted"
    if state.confirmation == "confirmed":
        return f"{what} · confirmed by the mute light", False
    if not state.has_sense:
        return f"{what} · not confirmed (no sense line)", False
    return f"{what} · not confirmed yet", False


def format_when(epoch: float, now: float | None = None) -> str:
    """'14:02' today, else '12 Mar 14:02' (the user's locale)."""
    moment = QDateTime.fromMSecsSinceEpoch(int(epoch * 1000))
    today = QDateTime.fromMSecsSinceEpoch(int((now if now is not None else time.time()) * 1000)).date()
    locale = QLocale()
    clock = locale.toString(moment.time(), QLocale.FormatType.ShortFormat)
    if moment.date() == today:
        return clock
    return f"{locale.toString(moment.date(), 'd MMM')} {clock}"


def change_text(state: SpeakerState) -> str:
    """Who or what set the current state, and when."""
    if not state.changed_at:
        return ""
    when = format_when(state.changed_at)
    by = {
        "schedule": "by a schedule",
        "override": "with the button on the bridge",
        "startup": "when the bridge started",
    }.get(state.source, f"by {state.requested_by}" if state.requested_by else "")
    reason = f" ({state.reason})" if state.reason else ""
    return f"Since {when} {by}{reason}".rstrip()


class MuteControl(QFrame):
    """A speaker managed by a bridge: name, mute toggle, state texts, "Mute for 1 hour" and "Schedules…".

    Attributes:
        speaker_id: the bridge's id for the speaker.
        state: the last SpeakerState shown.
        name_label, state_label, detail_label, error_label: the texts.
        toggle: checked = muted; clicking asks the bridge to change it.
        hour_button, schedules_button, destinations_button: the shortcuts.

    Signals:
        mute_requested(str speaker_id, bool muted), mute_for_requested(str speaker_id, float seconds),
        schedules_requested(str speaker_id), destinations_requested(str speaker_id).
    """

    mute_requested = Signal(str, bool)
    mute_for_requested = Signal(str, float)
    schedules_requested = Signal(str)
    destinations_requested = Signal(str)

    def __init__(self, state: SpeakerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.speaker_id = state.speaker_id
        self.state = state
        self._online = True
        self._offline_reason = ""
        self._pending: bool | None = None  # the mute state asked for and not yet seen
        self.setObjectName("mute_control")

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 6, 0, 6)
        row.setSpacing(12)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.name_label = QLabel(state.name, self)
        font = self.name_label.font()
        font.setBold(True)
        self.name_label.setFont(font)
        texts.addWidget(self.name_label)
        self.state_label = QLabel(self)
        self.state_label.setAccessibleName(f"{state.name} mute state")
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self.state_label)
        self.detail_label = theme.paragraph("", self, role="hint")
        texts.addWidget(self.detail_label)
        self.error_label = theme.paragraph("", self, role="error")
        self.error_label.setAccessibleName(f"{state.name} error")
        self.error_label.setVisible(False)
        texts.addWidget(self.error_label)
        row.addLayout(texts, 1)

        self.toggle = QPushButton(self)
        self.toggle.setObjectName("mute_toggle")
        self.toggle.setStyleSheet(TOGGLE_STYLE)
        self.toggle.setCheckable(True)
        self.toggle.setMinimumWidth(110)
        self.toggle.setAccessibleName(f"Mute {state.name}")
        self.toggle.clicked.connect(self._toggled)
        row.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hour_button = QPushButton("Mute for 1 hour", self)
        self.hour_button.setAccessibleName(f"Mute {state.name} for 1 hour")
        self.hour_button.setToolTip("Mute now; the bridge unmutes it again after an hour.")
        self.hour_button.clicked.connect(lambda: self._ask_for_hour())
        row.addWidget(self.hour_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.schedules_button = QPushButton("Schedules…", self)
        self.schedules_button.setAccessibleName(f"Schedules for {state.name}")
        self.schedules_button.setToolTip("Mute this speaker at set times, kept by the bridge.")
        self.schedules_button.clicked.connect(lambda: self.schedules_requested.emit(self.speaker_id))
        row.addWidget(self.schedules_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.destinations_button = QPushButton("Destinations…", self)
        self.destinations_button.setAccessibleName(f"Destinations of {state.name}")
        self.destinations_button.setToolTip("Where this speaker sends data, and what the bridge blocks for it.")
        self.destinations_button.clicked.connect(lambda: self.destinations_requested.emit(self.speaker_id))
        row.addWidget(self.destinations_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.set_state(state)

    # -- showing --------------------------------------------------------------------------------
    def set_state(self, state: SpeakerState) -> None:
        self.state = state
        if self._pending is not None and state.muted == self._pending:
            self._pending = None
        self.name_label.setText(state.name)
        self._refresh()

    def set_online(self, online: bool, reason: str = "") -> None:
        """Offline: the controls are disabled with `reason`, and the state is shown as last known."""
        self._online = online
        self._offline_reason = reason
        if not online:
            self._pending = None
        self._refresh()

    def command_failed(self, message: str) -> None:
        """The last request did not go through: show why and the real state again."""
        self._pending = None
        self.error_label.setText(message)
        self.error_label.setVisible(True)
        self._refresh()

    def command_done(self, state: SpeakerState | None = None) -> None:
        self._pending = None
        self.error_label.setVisible(False)
        if state is not None:
            self.set_state(state)
        else:
            self._refresh()

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def _refresh(self) -> None:
        state = self.state
        text, alarm = state_text(state)
        if not self._online:
            text = f"Last known: {text}"
        self.state_label.setText(text)
        self.state_label.setProperty("role", "error" if alarm else None)
        font = self.state_label.font()
        font.setBold(alarm)
        self.state_label.setFont(font)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)
        self.detail_label.setText(change_text(state))
        self.detail_label.setVisible(bool(self.detail_label.text()))

        shown_muted = state.muted if self._pending is None else self._pending
        self.toggle.setChecked(shown_muted)
        if self._pending is not None:
            self.toggle.setText("Muting…" if self._pending else "Unmuting…")
        else:
            self.toggle.setText("Muted" if state.muted else "Mute")
        enabled = self._online and self._pending is None
        for button in (self.toggle, self.hour_button, self.schedules_button, self.destinations_button):
            button.setEnabled(self._online if button in (self.schedules_button, self.destinations_button)
                              else enabled)
        if not self._online:
            tip = self._offline_reason or "The bridge is offline."
            for button in (self.toggle, self.hour_button, self.schedules_button, self.destinations_button):
                button.setToolTip(tip)
        else:
            self.toggle.setToolTip(
                f"Muted. Click to unmute {state.name}." if state.muted else f"Click to mute {state.name}.")
            self.hour_button.setToolTip("Mute now; the bridge unmutes it again after an hour.")
            self.schedules_button.setToolTip("Mute this speaker at set times, kept by the bridge.")
            self.destinations_button.setToolTip("Where this speaker sends data, and what the bridge blocks for it.")
        self.toggle.setAccessibleDescription(text)

    # -- asking -------------------------------------------------------------------------------------
    def _toggled(self, checked: bool) -> None:
        if not self._online:
            self._refresh()
            return
        self._pending = checked
        self.error_label.setVisible(False)
        self._refresh()
        self.mute_requested.emit(self.speaker_id, checked)

    def _ask_for_hour(self) -> None:
        self._pending = True
        self.error_label.setVisible(False)
        self._refresh()
        self.mute_for_requested.emit(self.speaker_id, HOUR_S)
