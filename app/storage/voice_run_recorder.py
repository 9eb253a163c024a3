"""Keeps the app's copy of the bridges' voice deletion runs: live ones as they start and end, missed ones on
reconnect.

A `BridgeListener`, as the ActivationRecorder is: the manager calls it on its stream threads. Each batch is
written by the background writer and waited for, so when listeners hear of it the rows are committed.
Listeners get the runs that were new or changed, so a failed run is told once (a run seen again unchanged, say
in the sync after a reconnect, is not news).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.deletions.voice import VoiceRun
from app.storage.deletions_repo import VoiceRunRepository
from app.storage.writer import BackgroundWriter, WriterClosed

log = logging.getLogger(__name__)

RunsListener = Callable[[list[VoiceRun]], None]


class VoiceRunRecorder:
    """Writes voice deletion runs from bridges into the app's database and tells listeners what changed."""

    def __init__(self, writer: BackgroundWriter) -> None:
        self._writer = writer
        self._lock = threading.Lock()
        self._listeners: list[RunsListener] = []

    def add_listener(self, listener: RunsListener) -> None:
        """`listener(runs)` is called (on a bridge thread) with the runs that were new or changed, once committed."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def remove_listener(self, listener: RunsListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- BridgeListener ----------------------------------------------------------------------------
    def deletion_run(self, bridge_id: str, data: dict) -> None:
        self._record(bridge_id, [data])

    def deletion_runs_synced(self, bridge_id: str, records: list[dict]) -> None:
        self._record(bridge_id, records)

    # -- writing -------------------------------------------------------------------------------------
    def _record(self, bridge_id: str, raw: list[dict]) -> None:
        runs = []
        for item in raw:
            try:
                runs.append(VoiceRun.from_bridge(bridge_id, item))
            except ValueError as error:
                log.warning("bridge %s sent a deletion run Earmuff cannot read (%s): %.200r", bridge_id, error, item)
        if not runs:
            return
        changed: list[VoiceRun] = []

        def job(conn) -> None:
            changed.extend(VoiceRunRepository(conn).save(runs, conn))

        try:
            self._writer.submit(job)
        except WriterClosed:
            return  # Earmuff is closing; the next sync fetches these again
        if not self._writer.flush(timeout=5.0):
            log.warning("deletion runs from bridge %s are taking long to save", bridge_id)
            return
        if changed:
            self._tell(list(changed))

    def _tell(self, runs: list[VoiceRun]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(runs)
            except Exception:  # noqa: BLE001 - one listener must not break the others
                log.exception("deletion run listener %r failed", listener)
