"""Live page: per-speaker uplink and microphone graphs, once a bridge is paired."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from ui import theme
from ui.pages.empty_state import EmptyState


class LivePage(QWidget):
    """Says what the live graphs will show and what they need; links to the Bridges page.

    Attributes:
        empty_state: the explanation shown until graphs exist.
    """

    page_key = "live"
    page_title = "Live"

    def __init__(self, show_bridges: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = theme.page_layout(self, self.page_title)
        self.empty_state = EmptyState(
            "Live graphs appear once a bridge is paired",
            "For each speaker, Earmuff will draw two live graphs: its uplink (how much it sends to the "
            "internet, second by second) and its microphone activity (when the room hears speech). You will "
            "see the moment a speaker starts sending your voice away, even when nobody said its wake word.\n\n"
            "This needs an Earmuff bridge: a small Raspberry Pi that your speaker connects through.",
            note="Pairing a bridge comes with the next Earmuff release.",
            action=("Show bridges on my network", show_bridges),
            parent=self,
        )
        layout.addWidget(self.empty_state, 1)
