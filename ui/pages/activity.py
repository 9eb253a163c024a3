"""Activity page: the log of every upload and activation, recorded by a paired bridge."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui import theme
from ui.pages.empty_state import EmptyState


class ActivityPage(QWidget):
    """Says what the activity log will hold.

    Attributes:
        empty_state: the explanation shown until the log exists.
    """

    page_key = "activity"
    page_title = "Activity"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = theme.page_layout(self, self.page_title)
        self.empty_state = EmptyState(
            "Your speakers' activity log will be here",
            "Every time a speaker uploads audio or wakes up, including the times it woke up when nobody "
            "asked, Earmuff will list it here: when, which speaker, for how long and how much it sent. "
            "You will be able to search it and see what happened while you were out.",
            note="The activity log comes with the bridge release: a paired bridge records it, "
            "even while this computer is off.",
            parent=self,
        )
        layout.addWidget(self.empty_state, 1)
