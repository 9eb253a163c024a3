"""Keeps the app's activation cache in step with the bridges: live ones as they end, missed ones on reconnect.

A `BridgeListener`: the manager calls it on its stream threads. Each batch is written by the background
writer and waited for (a few milliseconds), so when `activations_changed` listeners hear about it the
rows are committed and any connection sees them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.activations import ActivationRecord
from app.storage.activations_repo import ActivationRepository
from app.storage.writer import BackgroundWriter, WriterClosed

log = logging.getLogger(__name__)

#: How long the app keeps activations (longer than a bridge's 90 days: erasure requests cite old ones).
APP_RETENTION_S = 365 * 86400.0


class ActivationRecorder:
    """Writes activation records from bridges into the app's database and tells listeners.

    `speaker_name(bridge_id, speaker_id)` names a speaker as the bridge last described it.
    """

    def __init__(self, writer: BackgroundWriter, speaker_name: Callable[[str, str], str]) -> None:
        self._writer = writer
        self._speaker_name = speaker_name
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """`listener()` is called (on a bridge thread) after new or changed activations were committed."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- BridgeListener ----------------------------------------------------------------------------
    def activation(self, bridge_id: str, kind: str, data: dict) -> None:
        if kind == "activation_ended":
            self._record(bridge_id, [data])

    def activations_synced(self, bridge_id: str, records: list[dict]) -> None:
        self._record(bridge_id, records)

    # -- writing -------------------------------------------------------------------------------------
    def _record(self, bridge_id: str, raw: list[dict]) -> None:
        records = []
        for item in raw:
            try:
                speaker_id = item.get("speaker_id") if isinstance(item, dict) else None
                name = self._speaker_name(bridge_id, speaker_id) if isinstance(speaker_id, str) else ""
                records.append(ActivationRecord.from_bridge(bridge_id, item, name))
            except (ValueError, TypeError, AttributeError) as error:
                log.warning("bridge %s sent an activation Earmuff cannot read (%s): %.200r", bridge_id, error, item)
        if not records:
            return
        changed = [0]

        def job(conn) -> None:
            changed[0] = ActivationRepository(conn).upsert_many(records, conn)

        try:
            self._writer.submit(job)
        except WriterClosed:
            return  # Earmuff is closing; the next sync fetches these again
        if not self._writer.flush(timeout=5.0):
            log.warning("activations from bridge %s are taking long to save", bridge_id)
        if changed[0]:
            self._tell()

    def _tell(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - one listener must not break the others
                log.exception("activation listener %r failed", listener)
