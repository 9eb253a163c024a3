"""What a microphone heard, second by second, to answer "did anyone speak around then?"."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

import numpy as np

from app.audio.processing import LEVEL_FLOOR_DBFS, READING_INTERVAL_S, LevelReading

HISTORY_SECONDS = 600
# Someone asking a speaker something speaks just before it starts sending (the wake word) and on while it
# sends; and a detected activation's start can be a second or so off. So speech from SPEECH_BEFORE_S
# before to SPEECH_AFTER_S after a moment counts as speech "then".
SPEECH_BEFORE_S = 5.0
SPEECH_AFTER_S = 3.0
# Below this share of the window's seconds measured, the microphone cannot tell (None).
MIN_COVERED = 0.5


class SpeechHistory:
    """The last `seconds` whole seconds: loudest level and whether any reading in it had speech. Thread-safe.

    Attributes:
        seconds: how many seconds it keeps.
    """

    def __init__(self, seconds: int = HISTORY_SECONDS) -> None:
        self.seconds = int(seconds)
        self._second = np.full(self.seconds, -1, dtype=np.int64)
        self._level = np.full(self.seconds, LEVEL_FLOOR_DBFS, dtype=np.float64)
        self._speech = np.zeros(self.seconds, dtype=bool)
        self._newest: int | None = None
        self._lock = threading.Lock()

    @staticmethod
    def second_of(reading_time: float) -> int:
        """The whole second a reading (which covers the 0.1 s before its time) belongs to."""
        return math.floor(reading_time - READING_INTERVAL_S / 2)

    def add(self, readings: Iterable[LevelReading]) -> None:
        with self._lock:
            for reading in readings:
                second = self.second_of(reading.time)
                slot = second % self.seconds
                if self._second[slot] != second:
                    if self._second[slot] > second:
                        continue  # older than what the ring holds now
                    self._second[slot] = second
                    self._level[slot] = LEVEL_FLOOR_DBFS
                    self._speech[slot] = False
                self._level[slot] = max(self._level[slot], reading.level_dbfs)
                self._speech[slot] |= reading.speech
                self._newest = second if self._newest is None else max(self._newest, second)

    def speech_of(self, when: float, *, before: float = SPEECH_BEFORE_S, after: float = SPEECH_AFTER_S) -> bool | None:
        """True if someone spoke between `before` seconds before `when` and `after` seconds after it; False if
        the microphone heard most of that time (up to its newest reading) and nobody spoke; None if it did not
        hear enough of it to tell."""
        first, last = math.floor(when - before), math.floor(when + after)
        with self._lock:
            if self._newest is None:
                return None
            last = min(last, self._newest)
            if last < first or self._newest - first >= self.seconds:
                return None
            wanted = np.arange(first, last + 1)
            slots = wanted % self.seconds
            present = self._second[slots] == wanted
            if bool(np.any(self._speech[slots] & present)):
                return True
            return False if present.sum() >= MIN_COVERED * len(wanted) else None
