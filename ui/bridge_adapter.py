"""Turns the BridgeManager's listener callbacks and command results into Qt signals on the GUI thread.

The manager calls listeners and command callbacks on its own threads. The
adapter lives on the GUI thread; signals emitted from other threads reach its
slots through queued connections, so widgets only ever see bridge news on the
GUI thread. Commands go through `call(...)`: the manager runs them on its
worker pool and the result-or-error comes back to the given slot here.

Samples (10 Hz per speaker, plus microphone readings) are not one signal each: they queue here and
go out together as `samples_arrived(list)` at most every SAMPLE_BATCH_S, so the graphs redraw once
per batch and the GUI thread is not woken forty times a second.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.bridge_client import BridgeAlarm, BridgeStatus, CommandFailure, Outcome, SpeakerState

log = logging.getLogger(__name__)

#: The shortest time between two `samples_arrived` signals.
SAMPLE_BATCH_S = 0.1


class _Forwarder:
    """The plain BridgeListener the manager holds; cut on detach so late callbacks are dropped."""

    def __init__(self, adapter: BridgeAdapter) -> None:
        self._adapter: BridgeAdapter | None = adapter

    def cut(self) -> None:
        self._adapter = None

    def _emit(self, name: str, *args: Any) -> None:
        adapter = self._adapter
        if adapter is None:
            return
        try:
            getattr(adapter, name).emit(*args)
        except RuntimeError:  # the C++ side is gone: the window closed
            log.debug("bridge event %s after the adapter was deleted", name)

    def bridge_updated(self, status: BridgeStatus) -> None:
        self._emit("bridge_updated", status)

    def bridge_removed(self, bridge_id: str) -> None:
        self._emit("bridge_removed", bridge_id)

    def speaker_state(self, bridge_id: str, state: SpeakerState) -> None:
        self._emit("speaker_state", bridge_id, state)

    def schedules_changed(self, bridge_id: str) -> None:
        self._emit("schedules_changed", bridge_id)

    def alarm(self, alarm: BridgeAlarm) -> None:
        self._emit("alarm", alarm)

    def command_failed(self, failure: CommandFailure) -> None:
        self._emit("command_failed", failure)

    def sample(self, bridge_id: str, record: dict) -> None:
        adapter = self._adapter
        if adapter is not None:
            adapter._queue_sample(bridge_id, record)

    def activation(self, bridge_id: str, kind: str, data: dict) -> None:
        self._emit("activation_event", bridge_id, kind, data)

    def activations_changed(self) -> None:
        self._emit("activations_changed")

    def new_destination_org(self, news) -> None:
        self._emit("new_destination_org", news)

    def blocks_changed(self, bridge_id: str, speaker_id: str) -> None:
        self._emit("blocks_changed", bridge_id, speaker_id)

    def deletion_run(self, bridge_id: str, data: dict) -> None:
        self._emit("deletion_run", bridge_id, data)

    def deletion_runs_synced(self, bridge_id: str, records: list) -> None:
        self._emit("deletion_runs_synced", bridge_id, list(records))

    def voice_runs_saved(self, runs: list) -> None:
        self._emit("voice_runs_saved", list(runs))


class BridgeAdapter(QObject):
    """Listens to a BridgeManager and re-emits its news as signals; runs its commands for the widgets.

    Attributes:
        manager: the BridgeManager.

    Signals:
        bridge_updated(BridgeStatus), bridge_removed(str bridge_id), speaker_state(str bridge_id, SpeakerState),
        schedules_changed(str bridge_id), alarm(BridgeAlarm), command_failed(CommandFailure).
        samples_arrived(list): stream sample and mic records (dicts with "bridge_id" added), oldest first.
        activation_event(str bridge_id, str kind, dict data): "activation_started" or "activation_ended".
        activations_changed(): the app's activation cache has new or changed rows (needs `recorder`).
        new_destination_org(NewOrganisation): a speaker sent data to an organisation for the first time.
        blocks_changed(str bridge_id, str speaker_id): a speaker's destination blocks changed.
        deletion_run(str bridge_id, dict run): a voice deletion run started, moved on or ended (the bridge's run JSON).
        deletion_runs_synced(str bridge_id, list runs): runs fetched on (re)connecting (those the app had not seen).
        voice_runs_saved(list): VoiceRuns the app's cache stored that were new or changed (needs `voice_recorder`).
    """

    bridge_updated = Signal(object)
    bridge_removed = Signal(str)
    speaker_state = Signal(str, object)
    schedules_changed = Signal(str)
    alarm = Signal(object)
    command_failed = Signal(object)
    samples_arrived = Signal(list)
    activation_event = Signal(str, str, dict)
    activations_changed = Signal()
    new_destination_org = Signal(object)
    blocks_changed = Signal(str, str)
    deletion_run = Signal(str, dict)
    deletion_runs_synced = Signal(str, list)
    voice_runs_saved = Signal(list)
    _finished = Signal(int, object)  # request id, Outcome: from a worker thread to the GUI thread
    _samples_waiting = Signal()      # from a stream thread: the sample queue was empty and is not now

    def __init__(self, manager, parent: QObject | None = None, *, recorder=None, voice_recorder=None) -> None:
        """`recorder`: the ActivationRecorder whose changes become `activations_changed` (None: never);
        `voice_recorder`: the VoiceRunRecorder whose saved runs become `voice_runs_saved` (None: never)."""
        super().__init__(parent)
        self.manager = manager
        self._recorder = recorder
        self._voice_recorder = voice_recorder
        self._listener: _Forwarder | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, Callable[[Outcome], None]] = {}
        self._finished.connect(self._deliver)
        self._samples: deque[dict] = deque()
        self._samples_lock = threading.Lock()
        self._last_batch = 0.0
        self._batch_timer = QTimer(self)
        self._batch_timer.setSingleShot(True)
        self._batch_timer.timeout.connect(self._send_samples)
        self._samples_waiting.connect(self._samples_ready)

    @property
    def saves_voice_runs(self) -> bool:
        """`voice_runs_saved` comes (a VoiceRunRecorder was given)."""
        return self._voice_recorder is not None

    @property
    def attached(self) -> bool:
        return self._listener is not None

    def attach(self) -> None:
        """Start listening. Call before reading `manager.statuses()` so nothing falls in between."""
        if self._listener is None:
            self._listener = _Forwarder(self)
            self.manager.add_listener(self._listener)
            if self._recorder is not None:
                self._recorder.add_listener(self._listener.activations_changed)
            if self._voice_recorder is not None:
                self._voice_recorder.add_listener(self._listener.voice_runs_saved)

    def detach(self) -> None:
        """Stop listening and drop pending results; idempotent."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cut()
            self.manager.remove_listener(listener)
            if self._recorder is not None:
                self._recorder.remove_listener(listener.activations_changed)
            if self._voice_recorder is not None:
                self._voice_recorder.remove_listener(listener.voice_runs_saved)
        self._pending.clear()
        self._batch_timer.stop()
        with self._samples_lock:
            self._samples.clear()

    # -- samples -----------------------------------------------------------------------------------
    def _queue_sample(self, bridge_id: str, record: dict) -> None:
        """On a stream thread: queue the record; wake the GUI thread only if the queue was empty."""
        record = dict(record, bridge_id=bridge_id)
        with self._samples_lock:
            wake = not self._samples
            self._samples.append(record)
        if wake:
            try:
                self._samples_waiting.emit()
            except RuntimeError:
                log.debug("samples after the adapter was deleted")

    @Slot()
    def _samples_ready(self) -> None:
        if self._batch_timer.isActive():
            return
        wait_ms = int(max(0.0, SAMPLE_BATCH_S - (time.monotonic() - self._last_batch)) * 1000)
        self._batch_timer.start(wait_ms)

    @Slot()
    def _send_samples(self) -> None:
        with self._samples_lock:
            batch = list(self._samples)
            self._samples.clear()
        if batch and self._listener is not None:
            self._last_batch = time.monotonic()
            self.samples_arrived.emit(batch)

    def statuses(self) -> list[BridgeStatus]:
        return self.manager.statuses()

    def call(self, method: str, *args: Any, on_done: Callable[[Outcome], None] | None = None, **kwargs: Any) -> None:
        """Run `manager.<method>(*args, callback=..., **kwargs)`; `on_done(Outcome)` is called on the GUI thread."""
        callback = None
        if on_done is not None:
            request_id = next(self._ids)
            self._pending[request_id] = on_done
            callback = self._make_callback(request_id)
        getattr(self.manager, method)(*args, callback=callback, **kwargs)

    def _make_callback(self, request_id: int) -> Callable[[Outcome], None]:
        def callback(outcome: Outcome) -> None:  # runs on a worker thread
            try:
                self._finished.emit(request_id, outcome)
            except RuntimeError:
                log.debug("command result after the adapter was deleted")
        return callback

    @Slot(int, object)
    def _deliver(self, request_id: int, outcome: Outcome) -> None:
        on_done = self._pending.pop(request_id, None)
        if on_done is None:
            return
        try:
            on_done(outcome)
        except RuntimeError as error:
            if "already deleted" not in str(error):
                raise
            log.debug("command result for a deleted widget: %s", error)  # it closed meanwhile

    @property
    def pending(self) -> int:
        return len(self._pending)
