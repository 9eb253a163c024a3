"""The room microphone of `--simulate`: what a microphone near the simulated speakers would report.

* the room: a background level around -58 dBFS that drifts slowly, and now and then a sound that is not
  speech (a door, the dishes: a second or so at -45 to -35 dBFS);
* speech whenever someone talks to one of its speakers on purpose (the simulated source's voice
  requests, muted speakers included): from SPEECH_BEFORE_S before the request's upload starts (the wake
  word) to SPEECH_AFTER_S after, at -34 to -22 dBFS with short pauses between words;
* nobody speaks around the source's misactivations, so the detector flags them `no_speech_nearby`.

It has the interface of a MicrophoneMeter (start, stop, on_reading, on_status); readings come for
every 0.1 s of the clock, from its own thread, or from `tick()` when built with `thread=False` (tests).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from app.audio import READING_INTERVAL_S, LevelReading, MicState, MicStatus

log = logging.getLogger(__name__)

SPEECH_BEFORE_S = 1.2
SPEECH_AFTER_S = 3.0
ROOM_DBFS = -58.0
NOISE_EVERY_S = 120.0
MAX_CATCH_UP_S = 600.0
_JOIN_TIMEOUT_S = 5.0


class SimulatedMicrophone:
    """Readings of a simulated room near `speaker_ids`, whose users talk when `source` says they do.

    Attributes:
        status: RUNNING while started, else OFF.
    """

    def __init__(
        self,
        source: Any,
        speaker_ids: Iterable[str],
        *,
        on_reading: Callable[[list[LevelReading]], None],
        on_status: Callable[[MicStatus], None],
        clock: Callable[[], float] = time.time,
        seed: int = 0,
        thread: bool = True,
    ) -> None:
        """`source`: a SimulatedTrafficSource (its `voice_requests(since, until)`)."""
        self._source = source
        self._speaker_ids = frozenset(speaker_ids)
        self._on_reading = on_reading
        self._on_status = on_status
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self._use_thread = thread
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._tick_lock = threading.Lock()
        self._tick = self._now_tick()  # the last tick reported (a reading's end time / 0.1 s)
        self._room = ROOM_DBFS
        self._noise_until = -math.inf
        self._noise_level = ROOM_DBFS
        self._next_noise = self._tick * READING_INTERVAL_S + float(self._rng.exponential(NOISE_EVERY_S))
        self.status = MicStatus(MicState.OFF, "The microphone is off.")

    def start(self) -> None:
        self._set_status(MicStatus(MicState.RUNNING, "Listening to the simulated room (levels only)."))
        if self._use_thread and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="earmuff-simulated-mic", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop and join the thread. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT_S)
        if self.status.state is not MicState.OFF:
            self._set_status(MicStatus(MicState.OFF, "The microphone is off."))

    def _run(self) -> None:
        while not self._stop.wait(READING_INTERVAL_S):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the next tick may work; a demo must not die of it
                log.exception("The simulated microphone failed")

    def tick(self) -> None:
        """Report the readings of every whole 0.1 s up to the clock's now."""
        with self._tick_lock:
            until = self._now_tick()
            if until - self._tick > MAX_CATCH_UP_S / READING_INTERVAL_S:
                self._tick = until - int(MAX_CATCH_UP_S / READING_INTERVAL_S)  # the clock jumped
            if until <= self._tick:
                return
            first, last = (self._tick + 1) * READING_INTERVAL_S, until * READING_INTERVAL_S
            requests = [start for sid, start in self._source.voice_requests(first - SPEECH_AFTER_S,
                                                                            last + SPEECH_BEFORE_S)
                        if sid in self._speaker_ids]
            readings = [self._reading(tick * READING_INTERVAL_S, requests) for tick in range(self._tick + 1, until + 1)]
            self._tick = until
        self._on_reading(readings)

    def _now_tick(self) -> int:
        # The tolerance is a thousandth of a tick: an epoch time / 0.1 is only exact to ~4e-6.
        return math.floor(self._clock() / READING_INTERVAL_S + 1e-3)

    def _reading(self, end: float, requests: list[float]) -> LevelReading:
        rng = self._rng
        self._room = float(np.clip(self._room + rng.normal(0.0, 0.15), ROOM_DBFS - 4, ROOM_DBFS + 4))
        level = self._room + float(rng.normal(0.0, 1.0))
        if end >= self._next_noise:
            self._noise_until = end + float(rng.uniform(0.3, 1.5))
            self._noise_level = float(rng.uniform(-45.0, -35.0))
            self._next_noise = end + float(rng.exponential(NOISE_EVERY_S))
        if end <= self._noise_until:
            level = max(level, self._noise_level + float(rng.normal(0.0, 2.0)))
        speaking = any(start - SPEECH_BEFORE_S < end <= start + SPEECH_AFTER_S for start in requests)
        if speaking and rng.random() > 0.15:  # a pause between words now and then
            level = max(level, float(rng.uniform(-34.0, -22.0)))
        else:
            speaking = False
        return LevelReading(time=round(end, 3), level_dbfs=round(level, 1), speech=speaking)

    def _set_status(self, status: MicStatus) -> None:
        self.status = status
        self._on_status(status)
