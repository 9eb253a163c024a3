"""A voice deletion run as it happens: which step the bridge is at, then what came of it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.deletions.voice import VoiceRun
from ui import theme

PHASES = ("checking", "lifting", "playing", "watching", "restoring", "done")
PHASE_TEXT = {
    "checking": "Checking the speaker and the phrase\u2026",
    "lifting": "Lifting the mute so {name} can hear the phrase\u2026",
    "playing": "Playing \u201c{phrase}\u201d\u2026",
    "watching": "Watching for {name} to send the command on\u2026",
    "restoring": "Putting the mute back as it was\u2026",
    "done": "Finished.",
}
FAILED_COLOR = "#c62828"
DONE_COLOR = "#2e7d32"


def phase_text(run: VoiceRun, name: str) -> str:
    text = PHASE_TEXT.get(run.phase, f"{run.phase}\u2026").format(name=name, phrase=run.phrase)
    if run.attempts > 1 and run.phase in ("playing", "watching"):
        text += " (second try: nothing was seen the first time)"
    return text


class RunProgress(QFrame):
    """Shows one run: a step bar while it runs, then its outcome in plain words.

    Attributes:
        title_label: the speaker and the phrase; bar: the steps; detail_label: the step, or the outcome and why.
        run: the VoiceRun shown last (None before the bridge answered); bridge_id, run_id: the run followed.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setAccessibleName("Voice deletion in progress")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        self.title_label = QLabel("", self)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title_label)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, len(PHASES))
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)
        self.bar.setAccessibleName("Steps done")
        layout.addWidget(self.bar)
        self.detail_label = theme.paragraph("", self)
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.detail_label.setAccessibleName("Voice deletion step")
        layout.addWidget(self.detail_label)
        self.run: VoiceRun | None = None
        self.bridge_id = ""
        self.run_id: int | None = None
        self._name = ""

    def starting(self, name: str, phrase: str) -> None:
        """Asked the bridge; no answer yet."""
        self.run, self.bridge_id, self.run_id, self._name = None, "", None, name
        self.title_label.setText(f"{name}: \u201c{phrase}\u201d")
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self._detail("Asking the bridge to start\u2026", "")
        self.setVisible(True)

    def follow(self, run: VoiceRun, name: str) -> None:
        self.bridge_id, self.run_id, self._name = run.bridge_id, run.id, name
        self.title_label.setText(f"{name}: \u201c{run.phrase}\u201d")
        self.show_run(run)

    def follows(self, run: VoiceRun) -> bool:
        return (run.bridge_id, run.id) == (self.bridge_id, self.run_id)

    def show_run(self, run: VoiceRun) -> None:
        self.run = run
        self.setVisible(True)
        if run.state == "done":
            self.bar.setVisible(False)
            color = FAILED_COLOR if run.failed else DONE_COLOR
            why = run.why[:1].upper() + run.why[1:]
            self._detail(f"{run.title}. {why}".strip() + ("" if why.endswith(".") or not why else "."), color)
            self.setAccessibleName("Voice deletion outcome")
            return
        self.setAccessibleName("Voice deletion in progress")
        self.bar.setVisible(True)
        self.bar.setRange(0, len(PHASES))
        self.bar.setValue(PHASES.index(run.phase) + 1 if run.phase in PHASES else 0)
        self._detail(phase_text(run, self._name), "")

    def failed(self, message: str) -> None:
        """The bridge did not start the run."""
        self.bar.setVisible(False)
        self._detail(f"Not started: {message}", FAILED_COLOR)
        self.setVisible(True)

    @property
    def running(self) -> bool:
        return self.isVisible() and self.bar.isVisible()

    def _detail(self, text: str, color: str) -> None:
        self.detail_label.setText(text)
        self.detail_label.setStyleSheet(f"color: {color};" if color else "")
