"""Deletions page: scheduled deletion of voice recordings and legal erasure requests."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui import theme
from ui.pages.empty_state import EmptyState


class DeletionsPage(QWidget):
    """Says what deletion scheduling and legal requests will offer.

    Attributes:
        empty_state: the explanation shown until deletions exist.
    """

    page_key = "deletions"
    page_title = "Deletions"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = theme.page_layout(self, self.page_title)
        self.empty_state = EmptyState(
            "Deleting what your speakers recorded",
            "Here you will schedule regular deletion of your voice recordings, for example "
            "\u201cAlexa, delete everything I said today\u201d played by a bridge every night and checked "
            "on the wire, and send formal erasure requests under GDPR or CCPA, with their legal deadlines "
            "tracked for you.",
            note="Deletions come in a later Earmuff release.",
            parent=self,
        )
        layout.addWidget(self.empty_state, 1)
