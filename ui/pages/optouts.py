"""Opt-outs page: a checklist of each vendor's privacy settings."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui import theme
from ui.pages.empty_state import EmptyState


class OptOutsPage(QWidget):
    """Says what the opt-out checklist will hold.

    Attributes:
        empty_state: the explanation shown until the checklist exists.
    """

    page_key = "optouts"
    page_title = "Opt-outs"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = theme.page_layout(self, self.page_title)
        self.empty_state = EmptyState(
            "A checklist of your speakers' privacy settings",
            "For the makers of the speakers Earmuff finds (Amazon, Google, Apple, Sonos and others), this "
            "page will list the privacy settings worth changing: what each one does, where to find it, "
            "step by step, with the vendor's own page as the source. You tick off what you have done, and "
            "Earmuff reminds you to check again when vendors quietly change things.",
            note="The checklist comes in a later Earmuff release.",
            parent=self,
        )
        layout.addWidget(self.empty_state, 1)
