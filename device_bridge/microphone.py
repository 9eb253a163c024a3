"""The bridge's room microphone ([microphone] in the config): speech near the speakers, and the room's level.

    source (MicrophoneMeter on a USB microphone, or the simulated room of --simulate)
        --(its thread, ~10 Hz)--> RoomMicrophone.on_readings
            -> SpeechHistory (10 min) ---------------> speech_of(speaker, time) for the no_speech_nearby flag
            -> 10-minute ring + publish_record ------> stream lines {"type": "mic", ...} (with samples=1)
            -> 1-second bins --(every 10 s)---------> store: mic_history (pruned with the traffic history)
                                                       -> GET /v1/speakers/{id}/traffic "level", "speech"

Only levels and speech flags get here: the meter keeps no audio. A microphone that is missing or gone
only leaves gaps (None, null) and a log line; the bridge goes on without it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from app.audio import LevelReading, MicState, MicStatus, SpeechHistory

log = logging.getLogger(__name__)

MIC_ID = "room"
RING_SECONDS = 600.0
HISTORY_FLUSH_S = 10.0
PRUNE_EVERY_S = 600.0
_READINGS_PER_S = 10


class _RecordRing:
    """The last RING_SECONDS of readings in preallocated arrays, for a stream's replay."""

    def __init__(self, size: int) -> None:
        self.time = np.zeros(size, dtype=np.float64)
        self.level = np.zeros(size, dtype=np.float64)
        self.speech = np.zeros(size, dtype=bool)
        self.size = size
        self.count = 0
        self.next = 0

    def append(self, reading: LevelReading) -> None:
        i = self.next
        self.time[i], self.level[i], self.speech[i] = reading.time, reading.level_dbfs, reading.speech
        self.next = (i + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def after(self, since: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = (self.next - self.count + np.arange(self.count)) % self.size
        order = order[self.time[order] > since]
        return self.time[order], self.level[order], self.speech[order]


class RoomMicrophone:
    """Owns the room microphone's source and keeps what it heard.

    `source(on_reading=..., on_status=...)` makes the thing that measures (a MicrophoneMeter, or a
    SimulatedMicrophone): it has start() and stop() and calls back on its own thread.

    Attributes:
        mic_id: the name its records and history go under.
        speaker_ids: the speakers it is near.
        source: what `source(...)` made.
        status: the source's latest MicStatus.
    """

    def __init__(
        self,
        speaker_ids: Sequence[str],
        *,
        source: Callable[..., Any],
        store: Any,
        history_hours: float = 24,
        mic_id: str = MIC_ID,
    ) -> None:
        self.mic_id = mic_id
        self.speaker_ids = tuple(speaker_ids)
        self._store = store
        self._history_s = history_hours * 3600.0
        self._speech = SpeechHistory()
        self._lock = threading.Lock()  # ring, bins, publisher
        self._flush_lock = threading.Lock()  # one history write at a time, in order
        self._ring = _RecordRing(int(RING_SECONDS * _READINGS_PER_S))
        self._bin: list[Any] | None = None  # [second, loudest level, speech] of the second in progress
        self._pending: list[tuple[str, int, float, bool]] = []
        self._publish: Callable[[dict], None] | None = None
        self._last_flush = -math.inf
        self._last_prune = -math.inf
        self.status = MicStatus(MicState.OFF, "The microphone is off.")
        self.source = source(on_reading=self.on_readings, on_status=self.on_status)

    # --- life cycle ----------------------------------------------------------------------------------

    def publish_to(self, publish: Callable[[dict], None]) -> None:
        """Send every reading as a stream record through `publish` (the traffic monitor's publish_record)."""
        with self._lock:
            self._publish = publish

    def start(self) -> None:
        self.source.start()

    def stop(self) -> None:
        """Stop the source (joined), then write the history that is left, the second in progress too."""
        self.source.stop()
        with self._lock:
            if self._bin is not None:
                self._pending.append((self.mic_id, *self._bin))
                self._bin = None
        self.flush_history()

    # --- the source's callbacks (its thread) ---------------------------------------------------------

    def on_readings(self, readings: list[LevelReading]) -> None:
        self._speech.add(readings)
        speaker_ids = list(self.speaker_ids)
        records = [{"type": "mic", "mic_id": self.mic_id, "speaker_ids": speaker_ids, "time": r.time,
                    "level": r.level_dbfs, "speech": r.speech} for r in readings]
        with self._lock:
            for reading in readings:
                self._ring.append(reading)
                self._bin_reading(reading)
            publish = self._publish
        if publish is not None:
            for record in records:
                publish(record)
        now = readings[-1].time if readings else None
        if now is None:
            return
        if now - self._last_flush >= HISTORY_FLUSH_S or now < self._last_flush:
            self._last_flush = now
            self.flush_history()
        if now - self._last_prune >= PRUNE_EVERY_S or now < self._last_prune:
            self._last_prune = now
            try:
                self._store.prune_mic_history(now - self._history_s)
            except Exception:  # noqa: BLE001 - history is best effort
                log.exception("Pruning the microphone history failed")

    def _bin_reading(self, reading: LevelReading) -> None:
        second = SpeechHistory.second_of(reading.time)
        current = self._bin
        if current is None or current[0] != second:
            if current is not None:
                self._pending.append((self.mic_id, *current))
            current = self._bin = [second, reading.level_dbfs, reading.speech]
        else:
            current[1] = max(current[1], reading.level_dbfs)
            current[2] = current[2] or reading.speech

    def on_status(self, status: MicStatus) -> None:
        self.status = status

    # --- what it heard -------------------------------------------------------------------------------

    def covers(self, speaker_id: str) -> bool:
        return speaker_id in self.speaker_ids

    def speech_of(self, speaker_id: str, when: float) -> bool | None:
        """Whether anyone spoke near the speaker around `when` (None: not near it, or not heard then)."""
        if not self.covers(speaker_id):
            return None
        return self._speech.speech_of(when)

    def recent_records(self, since: float) -> list[dict]:
        """The ring's readings after `since` as stream records, oldest first."""
        with self._lock:
            times, levels, speech = self._ring.after(since)
        speaker_ids = list(self.speaker_ids)
        return [{"type": "mic", "mic_id": self.mic_id, "speaker_ids": speaker_ids, "time": round(t, 3),
                 "level": round(level, 1), "speech": bool(s)}
                for t, level, s in zip(times.tolist(), levels.tolist(), speech.tolist())]

    def flush_history(self) -> None:
        """Write the finished seconds to the store now (also done every 10 s)."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                self._store.add_mic_history(pending)
            except Exception:  # noqa: BLE001 - history is best effort; metering goes on
                log.exception("Could not store %d seconds of microphone history", len(pending))

    def history(self, speaker_id: str, t0: int, n: int) -> tuple[list[float | None], list[bool | None]]:
        """(level, speech) per second for [t0, t0 + n): None where the microphone is not near the speaker or
        heard nothing."""
        level: list[float | None] = [None] * n
        speech: list[bool | None] = [None] * n
        if not self.covers(speaker_id) or n <= 0:
            return level, speech
        self.flush_history()
        for second, loudest, spoke in self._store.mic_history(self.mic_id, t0, t0 + n):
            level[second - t0] = round(loudest, 1)
            speech[second - t0] = spoke
        return level, speech


def mic_history(microphone: RoomMicrophone | None, speaker_id: str, t0: float, n: int) -> dict[str, list]:
    """The "level" and "speech" arrays GET /v1/speakers/{id}/traffic adds to the traffic history."""
    if microphone is None:
        return {"level": [None] * n, "speech": [None] * n}
    level, speech = microphone.history(speaker_id, int(t0), n)
    return {"level": level, "speech": speech}
