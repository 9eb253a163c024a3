"""Live page: per speaker, what it sends (uplink) and what the room hears (microphone), on one time axis.

The page connects the bridge adapter's news to the Live view's buffers: coalesced samples and
microphone records, activations, mute states, bridges going offline. It owns the toolbar (pause,
back to live, zoom, downlink, which speakers), the desktop microphone (metered only while the page
is shown and the user enabled it in Settings) and the history requests. Before any bridge is
paired it keeps explaining what the graphs will show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.audio import MicrophoneMeter, MicState, MicStatus
from app.bridge_client import BridgeStatus, Connection, Outcome, SpeakerState
from ui import theme
from ui.live.buffers import severity
from ui.live.series import LiveData, SpeakerSeries, confirmation_code
from ui.live.speaker_row import (
    ACTIVATION_COLORS,
    CONFIRMED_COLOR,
    DOWN_COLOR,
    LEVEL_COLOR,
    MISMATCH_COLOR,
    MUTED_COLOR,
    SPEECH_COLOR,
    UNCONFIRMED_COLOR,
    UP_COLOR,
    clock_text,
)
from ui.live.view import ZOOM_STEP, LiveView
from ui.pages.empty_state import EmptyState

log = logging.getLogger(__name__)

#: How long after the last "activations changed" the shown spans are read again from the cache.
ACTIVATIONS_RELOAD_MS = 300


def speaker_key(bridge_id: str, speaker_id: str) -> str:
    """How a speaker is named in settings.live_speakers."""
    return f"{bridge_id}/{speaker_id}"


def duration_text(seconds: float) -> str:
    if seconds >= 3600:
        hours = seconds / 3600
        return f"{hours:.0f} h" if hours >= 10 or hours.is_integer() else f"{hours:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def offline_text(status: BridgeStatus) -> str | None:
    """Why a bridge's rows are greyed: None while it is online or still connecting."""
    if status.connection in (Connection.ONLINE, Connection.CONNECTING):
        return None
    why = status.problem or status.connection.label
    return f"{status.name} is offline: {why}"


def legend_html() -> str:
    def swatch(color: str, text: str, glyph: str = "\u25a0") -> str:
        return f'<span style="color:{color}">{glyph}</span>&nbsp;{text}'

    bar = "\u25ac"
    return (
        "<b>Uplink</b> " + " &nbsp;".join((
            swatch(UP_COLOR, "sent", bar), swatch(DOWN_COLOR, "received", bar),
            swatch(ACTIVATION_COLORS[0], "activation"), swatch(ACTIVATION_COLORS[1], "flagged"),
            swatch(ACTIVATION_COLORS[2], "while muted"))) +
        " &nbsp; <b>Mute</b> " + " &nbsp;".join((
            swatch(MUTED_COLOR, "commanded", bar), swatch(CONFIRMED_COLOR, "confirmed", bar),
            swatch(UNCONFIRMED_COLOR, "no sense line", bar), swatch(MISMATCH_COLOR, "not holding", bar))) +
        " &nbsp; <b>Room</b> " + " &nbsp;".join((
            swatch(LEVEL_COLOR, "level", bar), swatch(SPEECH_COLOR, "speech", bar)))
    )


class LivePage(QWidget):
    """The Live page: the empty explanation until a bridge is paired, then the toolbar and the graphs.

    Attributes:
        empty_state: shown while no bridge is paired.
        data: the LiveData (rings, history, activations) the graphs are drawn from.
        view: the LiveView with one SpeakerRow per chosen speaker.
        pause_button, live_button, zoom_in_button, zoom_out_button, range_label: the time controls.
        downlink_check: also draw the downlink.
        speakers_button: its menu picks the speakers shown (settings.live_speakers).
        no_speakers_label: shown when the pick leaves nothing to show.
        meter: the desktop MicrophoneMeter while it runs (None otherwise).

    Signals:
        mic_readings(list), mic_status(object): the desktop meter's news, carried to the GUI thread.
    """

    page_key = "live"
    page_title = "Live"

    mic_readings = Signal(list)
    mic_status = Signal(object)

    def __init__(self, show_bridges: Callable[[], None], adapter=None, ctx=None, *,
                 clock: Callable[[], float] = time.time,
                 meter_factory: Callable[..., MicrophoneMeter] = MicrophoneMeter,
                 parent: QWidget | None = None) -> None:
        """`meter_factory(device, on_reading=, on_status=)` makes the desktop microphone's meter."""
        super().__init__(parent)
        self.adapter = adapter
        self.ctx = ctx
        self.meter = None
        self._clock = clock
        self._meter_factory = meter_factory
        self._statuses: dict[str, BridgeStatus] = {}
        self._speaker_actions: dict[tuple[str, str], QAction] = {}
        layout = theme.page_layout(self, self.page_title)
        self._stack = QStackedWidget(self)
        layout.addWidget(self._stack, 1)

        self.empty_state = EmptyState(
            "Live graphs appear once a bridge is paired",
            "For each speaker, Earmuff draws two live graphs: its uplink (how much it sends to the "
            "internet, second by second) and its microphone activity (when the room hears speech). You "
            "see the moment a speaker starts sending your voice away, even when nobody said its wake word.\n\n"
            "This needs an Earmuff bridge: a small Raspberry Pi that your speaker connects through.",
            note="Pair a bridge on the Bridges page; its speakers then appear here.",
            action=("Show bridges on my network", show_bridges),
            parent=self._stack,
        )
        self._stack.addWidget(self.empty_state)

        self.data = LiveData()
        self.view = LiveView(self.data, clock=clock,
                             fetch_history=self._fetch_history if adapter is not None else None)
        self._stack.addWidget(self._build_graphs(self.view))

        self._activations_timer = QTimer(self)
        self._activations_timer.setSingleShot(True)
        self._activations_timer.setInterval(ACTIVATIONS_RELOAD_MS)
        self._activations_timer.timeout.connect(self._reload_activations)
        self.mic_readings.connect(self._desktop_readings)
        self.mic_status.connect(self._desktop_status)
        self.view.window_changed.connect(self._window_changed)

        settings = getattr(ctx, "settings", None)
        if settings is not None:
            self.downlink_check.setChecked(settings.live_show_downlink)
            self.view.set_show_downlink(settings.live_show_downlink)
            self.view.set_desktop_mic(settings.desktop_mic_enabled)
        self.downlink_check.toggled.connect(self._downlink_toggled)
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self._bridge_removed)
            adapter.speaker_state.connect(self._speaker_state)
            adapter.samples_arrived.connect(self._samples)
            adapter.activation_event.connect(self._activation)
            adapter.activations_changed.connect(self._activations_changed)
            for status in adapter.statuses():
                self._bridge_updated(status)
        self._update_rows()
        self._window_changed(*self.view.x_range(), self.view.paused)

    def _build_graphs(self, view: LiveView) -> QWidget:
        page = QWidget(self._stack)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.pause_button = QPushButton("Pause", page)
        self.pause_button.setToolTip("Stop the graphs where they are; data keeps coming in (Space)")
        self.pause_button.clicked.connect(view.toggle_pause)
        bar.addWidget(self.pause_button)
        self.live_button = QPushButton("Back to live", page)
        self.live_button.setToolTip("Follow the present again (Home)")
        self.live_button.clicked.connect(view.resume)
        bar.addWidget(self.live_button)
        self.zoom_out_button = QPushButton("\u2212", page)
        self.zoom_out_button.setAccessibleName("Zoom out")
        self.zoom_out_button.setToolTip("Show a longer time (\u2212); up to the last 24 hours")
        self.zoom_out_button.clicked.connect(lambda: view.zoom(ZOOM_STEP))
        self.zoom_in_button = QPushButton("+", page)
        self.zoom_in_button.setAccessibleName("Zoom in")
        self.zoom_in_button.setToolTip("Show a shorter time (+)")
        self.zoom_in_button.clicked.connect(lambda: view.zoom(1 / ZOOM_STEP))
        for button in (self.zoom_out_button, self.zoom_in_button):
            button.setFixedWidth(34)
            bar.addWidget(button)
        self.range_label = QLabel(page)
        self.range_label.setAccessibleName("Time shown")
        bar.addWidget(self.range_label, 1)
        self.downlink_check = QCheckBox("Show &downlink", page)
        self.downlink_check.setToolTip("Also draw what the speaker receives (dashed)")
        bar.addWidget(self.downlink_check)
        self.speakers_button = QToolButton(page)
        self.speakers_button.setText("Speakers")
        self.speakers_button.setToolTip("Choose which speakers to show")
        self.speakers_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.speakers_menu = QMenu(self.speakers_button)
        self.speakers_button.setMenu(self.speakers_menu)
        bar.addWidget(self.speakers_button)
        column.addLayout(bar)

        legend = QLabel(legend_html(), page)
        legend.setTextFormat(Qt.TextFormat.RichText)
        legend.setWordWrap(True)
        legend.setProperty("role", "hint")
        column.addWidget(legend)
        hint = theme.paragraph(
            "Drag or scroll a graph to look back (up to 24 hours); hover for exact values. "
            "Space pauses, + and \u2212 zoom, Home goes back to live.", page, role="hint")
        column.addWidget(hint)
        self.no_speakers_label = theme.paragraph(
            "No speaker is chosen. Pick some with the Speakers button.", page, role="hint")
        self.no_speakers_label.setVisible(False)
        column.addWidget(self.no_speakers_label)
        column.addWidget(view, 1)
        return page

    # -- bridges -----------------------------------------------------------------------------------
    def _bridge_updated(self, status: BridgeStatus) -> None:
        known = self._statuses.get(status.bridge_id)
        self._statuses[status.bridge_id] = status
        now = self._clock()
        for speaker in status.speakers:
            if known is None or known.speaker(speaker.speaker_id) != speaker:
                self._note_state(status.bridge_id, speaker, now)
        self.view.set_offline(status.bridge_id, offline_text(status))
        if known is None or [s.speaker_id for s in known.speakers] != [s.speaker_id for s in status.speakers] \
                or known.name != status.name or [s.name for s in known.speakers] != [s.name for s in status.speakers]:
            self._update_rows()

    def _bridge_removed(self, bridge_id: str) -> None:
        self._statuses.pop(bridge_id, None)
        self.view.set_offline(bridge_id, None)
        self.data.forget_bridge(bridge_id)
        self._update_rows()

    def _speaker_state(self, bridge_id: str, state: SpeakerState) -> None:
        self._note_state(bridge_id, state, self._clock())

    def _note_state(self, bridge_id: str, state: SpeakerState, now: float) -> None:
        self.data.series(bridge_id, state.speaker_id).confirmed.set(
            now, confirmation_code(state.confirmation, state.sensed_muted))

    def _samples(self, records: list) -> None:
        self.data.ingest(records)

    def _activation(self, bridge_id: str, kind: str, data: dict) -> None:
        self.data.activation(bridge_id, kind, data)

    # -- rows and the speaker picker --------------------------------------------------------------
    def all_speakers(self) -> list[tuple[tuple[str, str], str, str]]:
        """Every paired bridge's speakers: (key, speaker name, bridge name), bridges by name."""
        found = []
        for status in sorted(self._statuses.values(), key=lambda s: (s.name.lower(), s.bridge_id)):
            for speaker in status.speakers:
                found.append(((status.bridge_id, speaker.speaker_id), speaker.name, status.name))
        return found

    def chosen_keys(self) -> set[tuple[str, str]] | None:
        """The speakers picked in settings (None: all)."""
        text = getattr(getattr(self.ctx, "settings", None), "live_speakers", "")
        if not text:
            return None
        chosen = set()
        for part in text.split(","):
            bridge_id, _, speaker_id = part.strip().partition("/")
            if bridge_id and speaker_id:
                chosen.add((bridge_id, speaker_id))
        return chosen

    def _update_rows(self) -> None:
        speakers = self.all_speakers()
        self._stack.setCurrentIndex(1 if self._statuses else 0)
        chosen = self.chosen_keys()
        entries = [(key, name, f"on {bridge}") for key, name, bridge in speakers if chosen is None or key in chosen]
        self.view.set_rows(entries)
        self.no_speakers_label.setVisible(bool(speakers) and not entries)
        self._rebuild_menu(speakers, chosen)
        self._activations_changed()
        self._update_meter()

    def _rebuild_menu(self, speakers, chosen) -> None:
        self.speakers_menu.clear()
        self._speaker_actions.clear()
        for key, name, bridge in speakers:
            action = self.speakers_menu.addAction(f"{name} ({bridge})")
            action.setCheckable(True)
            action.setChecked(chosen is None or key in chosen)
            action.toggled.connect(self._pick_changed)
            self._speaker_actions[key] = action
        self.speakers_menu.addSeparator()
        self.speakers_menu.addAction("Show all", self.show_all_speakers)

    def set_speaker_shown(self, key: tuple[str, str], shown: bool) -> None:
        action = self._speaker_actions.get(key)
        if action is not None:
            action.setChecked(shown)

    def show_all_speakers(self) -> None:
        self._save(live_speakers="")
        self._update_rows()

    def _pick_changed(self, _checked: bool) -> None:
        picked = [key for key, action in self._speaker_actions.items() if action.isChecked()]
        text = "" if len(picked) == len(self._speaker_actions) else ",".join(speaker_key(*k) for k in picked)
        if not picked:
            text = ","  # nothing chosen: not the same as "" (all)
        self._save(live_speakers=text)
        self._update_rows()

    def _downlink_toggled(self, show: bool) -> None:
        self.view.set_show_downlink(show)
        self._save(live_show_downlink=show)

    def _save(self, **changes) -> None:
        ctx = self.ctx
        if ctx is None:
            return
        try:
            update = getattr(ctx, "update_settings", None)
            if update is not None:
                update(**changes)
            else:
                ctx.save_settings(replace(ctx.settings, **changes))
        except (OSError, ValueError) as error:
            log.warning("could not remember the Live page's choice: %s", error)

    # -- history and activations from the app's cache --------------------------------------------------
    def _fetch_history(self, series: SpeakerSeries, start: float, end: float, done) -> None:
        def finished(outcome: Outcome) -> None:
            if not outcome.ok:
                done(None, outcome.message)
                return
            self._load_activations([series.key], start, end)
            done(outcome.value, "")

        self.adapter.call("traffic_history", series.bridge_id, series.speaker_id, start, end, on_done=finished)

    def _load_activations(self, keys, start: float | None, end: float | None) -> None:
        repository = getattr(self.ctx, "activations", None)
        if repository is None or not keys:
            return
        for record in repository.query(start=start, end=end, speakers=keys):
            self.data.series(record.bridge_id, record.speaker_id).activations.ended(
                record.activation_id, record.start, record.end, severity(record.flags))

    def _activations_changed(self) -> None:
        if self.isVisible():  # else when the page is shown again
            self._activations_timer.start()

    def _reload_activations(self) -> None:
        """The cache changed (a sync after connecting, or a live activation): show what falls in the window."""
        x0, _x1 = self.view.x_range()
        self._load_activations(list(self.view.rows), x0, None)

    # -- the desktop microphone -------------------------------------------------------------------------
    def apply_settings(self, settings) -> None:
        """Settings were saved: follow the microphone choice (restarting the meter for another device)."""
        device_changed = self.meter is not None and getattr(self.meter, "device", None) != settings.desktop_mic_device
        if device_changed or not settings.desktop_mic_enabled:
            self._stop_meter()
        self.view.set_desktop_mic(settings.desktop_mic_enabled)
        self._update_meter()

    def _update_meter(self) -> None:
        settings = getattr(self.ctx, "settings", None)
        wanted = bool(settings is not None and settings.desktop_mic_enabled and self.isVisible() and self._statuses)
        if wanted and self.meter is None:
            self.meter = self._meter_factory(settings.desktop_mic_device, on_reading=self._readings_from_meter,
                                 on_status=self._status_from_meter)
            self.view.set_desktop_mic(True, "")
            self.meter.start()
        elif not wanted:
            self._stop_meter()

    def _stop_meter(self) -> None:
        meter, self.meter = self.meter, None
        if meter is not None:
            meter.stop()

    def _readings_from_meter(self, readings: list) -> None:  # on the meter's thread
        try:
            self.mic_readings.emit(readings)
        except RuntimeError:
            log.debug("microphone readings after the Live page was deleted")

    def _status_from_meter(self, status: MicStatus) -> None:  # on the meter's thread
        try:
            self.mic_status.emit(status)
        except RuntimeError:
            log.debug("microphone status after the Live page was deleted")

    def _desktop_readings(self, readings: list) -> None:
        if self.meter is None:
            return
        self.data.ingest_desktop((r.time for r in readings), (r.level_dbfs for r in readings),
                                 (r.speech for r in readings))

    def _desktop_status(self, status: MicStatus) -> None:
        if self.meter is None:
            return
        fine = status.state in (MicState.RUNNING, MicState.STARTING, MicState.OFF)
        self.view.set_desktop_mic(True, "" if fine else status.message)

    # -- time controls ---------------------------------------------------------------------------------
    def _window_changed(self, x0: float, x1: float, paused: bool) -> None:
        width = duration_text(x1 - x0)
        if paused:
            self.range_label.setText(f"Paused \u00b7 {clock_text(x0)} \u2013 {clock_text(x1)} ({width})")
            self.pause_button.setText("Resume")
        else:
            self.range_label.setText(f"Live \u00b7 the last {width}")
            self.pause_button.setText("Pause")
        self.live_button.setEnabled(paused)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space:
            self.view.toggle_pause()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.view.zoom(1 / ZOOM_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.view.zoom(ZOOM_STEP)
        elif key == Qt.Key.Key_Home:
            self.view.resume()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # -- life ------------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._update_meter()
        self._activations_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._stop_meter()  # the microphone is metered only while someone looks at it
        self._activations_timer.stop()
        super().hideEvent(event)
