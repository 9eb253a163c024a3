"""The bridge's traffic monitor: samples every speaker at 10 Hz, detects activations, flags them, keeps history.

    source --(sampler thread, 10 Hz)--> TrafficMonitor.on_sample
        -> 10-minute ring per speaker (numpy) ---------------> stream lines {"type": "sample", ...}
        -> 1-second bins ---(every 10 s, one commit)--------> store: traffic history (pruned after 24 h)
        -> ActivationDetector per speaker --> flags --------> events activation_started / activation_ended
                                                              (+ a critical alarm when it happened while muted)
                                                              store: activations (pruned after 90 days)

Flags are judged at the activation's start, from what the ring recorded for that moment:
`while_muted` when the commanded mute was on (the mute failed: a critical alarm goes out at once),
`during_schedule` when a schedule window was in force, `no_speech_nearby` when a room microphone
(`speech_of`, see device_bridge/microphone.py) said nobody spoke then. The microphone's own 10 Hz records
go out on the same sample feeds (`publish_record`, with `add_replay_source` for the replay).

Expected uploads: a voice deletion (device_bridge/deletion) plays a command to a speaker and asks the
monitor to expect its upload (`expect_upload`). An activation of that speaker starting inside the window
(give or take the detector's start error) is the command going out: it gets the informational flag
`deletion_command` instead of `during_schedule` and `no_speech_nearby`, and the UploadExpectation records
its start and, once it ends, the stored activation. `while_muted` still applies (and alarms): a speaker
commanded muted should not have heard the command at all.

Everything runs on the sampler's thread except the readers (`subscribe_samples`, `recent_samples`,
`flush_history`), which take the monitor's lock only briefly; nothing here calls a subscriber.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from device_bridge.traffic.detect import ActivationDetector, DetectorProfile, profile_for
from device_bridge.traffic.model import (
    FLAGS,  # noqa: F401 - the flags, as they have always been importable from here
    Activation,
    ActivationEnded,
    ActivationStarted,
    TrafficSample,
    TrafficSource,
)
from device_bridge.traffic.sampler import TrafficSampler

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.1
RING_SECONDS = 600.0
HISTORY_FLUSH_S = 10.0
PRUNE_EVERY_S = 600.0
SAMPLE_QUEUE = 4000  # per stream: 100 s of 4 speakers at 10 Hz
MAX_HISTORY_RANGE_S = 7 * 86400.0
# The detector's start error (see detect.py): an activation's start is up to 1 s before its first byte, or up
# to 2 s after it; an expected upload's window is widened by as much.
EXPECT_EARLY_S = 1.0
EXPECT_LATE_S = 2.0
_STOP_TIMEOUT_S = 10.0


class SampleFeed:
    """One stream's queue of sample records (dicts), filled by the monitor, drained by the stream.

    Bounded: a reader that falls behind loses the oldest samples (they are not numbered or kept; the
    ring and the 1-s history still have them). A feed asked for a replay (`since`) gets the ring's
    samples from `replay()`, and `drain()` then leaves out what the replay already had.

    Attributes:
        since: replay the ring's samples after this time (None: live samples only).
        closed: True after close().
    """

    def __init__(self, monitor: TrafficMonitor, since: float | None) -> None:
        self._monitor = monitor
        self._items: collections.deque[dict] = collections.deque(maxlen=SAMPLE_QUEUE)
        self._lock = threading.Lock()
        self._replayed: dict[tuple[str, str], float] = {}  # feed key -> time of the last replayed record
        self.since = since
        self.closed = False

    def _put(self, record: dict) -> None:
        with self._lock:
            if not self.closed:
                self._items.append(record)

    def replay(self) -> list[dict]:
        """The ring's samples after `since`, oldest first ([] without `since`). Call it once, before
        draining, off the event loop: ten minutes of four speakers is 24,000 records."""
        if self.since is None:
            return []
        records = self._monitor.recent_records(self.since)
        with self._lock:
            for record in records:
                self._replayed[_feed_key(record)] = record["time"]
        return records

    def drain(self) -> list[dict]:
        """Everything queued so far (never waits)."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            replayed = self._replayed
        if replayed:
            items = [r for r in items if r["time"] > replayed.get(_feed_key(r), -math.inf)]
        return items

    def close(self) -> None:
        """Stop receiving. Idempotent."""
        with self._lock:
            self.closed = True
            self._items.clear()
        self._monitor._unsubscribe(self)


def _feed_key(record: dict) -> tuple[str, str]:
    """Which series a feed record belongs to: ("sample", speaker id) or ("mic", microphone id)."""
    return (record["type"], record["speaker_id"] if record["type"] == "sample" else record["mic_id"])


class _Ring:
    """The last RING_SECONDS of one speaker's samples in preallocated numpy arrays."""

    def __init__(self, size: int) -> None:
        self.time = np.zeros(size, dtype=np.float64)
        self.up = np.zeros(size, dtype=np.float64)
        self.down = np.zeros(size, dtype=np.float64)
        self.muted = np.zeros(size, dtype=bool)
        self.window = np.zeros(size, dtype=bool)
        self.size = size
        self.count = 0
        self.next = 0

    def append(self, when: float, up: float, down: float, muted: bool, window: bool) -> None:
        i = self.next
        self.time[i], self.up[i], self.down[i], self.muted[i], self.window[i] = when, up, down, muted, window
        self.next = (i + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def _order(self) -> np.ndarray:
        start = (self.next - self.count) % self.size
        return (start + np.arange(self.count)) % self.size

    def after(self, since: float) -> tuple[np.ndarray, ...]:
        """(time, up, down, muted) of the samples with time > since, oldest first."""
        order = self._order()
        order = order[self.time[order] > since]
        return self.time[order], self.up[order], self.down[order], self.muted[order]

    def state_at(self, when: float) -> tuple[bool, bool] | None:
        """(muted, window) of the sample whose interval holds `when` (the first one ending after it)."""
        if self.count == 0:
            return None
        order = self._order()
        times = self.time[order]
        i = int(np.searchsorted(times, when, side="right"))
        i = min(i, len(order) - 1)
        return bool(self.muted[order[i]]), bool(self.window[order[i]])


class _Bin:
    """One speaker's bytes in the current whole second."""

    __slots__ = ("second", "up", "down", "covered")

    def __init__(self, second: int) -> None:
        self.second = second
        self.up = self.down = 0
        self.covered = 0.0


def activation_record(activation: Activation) -> dict[str, Any]:
    """An activation as the API and the events show it."""
    return {
        "id": activation.id,
        "speaker_id": activation.speaker_id,
        "start": activation.start,
        "end": activation.end,
        "bytes_up": int(activation.bytes_up),
        "peak_rate": round(float(activation.peak_rate), 1),
        "confidence": round(float(activation.confidence), 4),
        "flags": sorted(activation.flags),
    }


class UploadExpectation:
    """An upload the bridge asked a speaker for (a voice deletion's command), and what became of it.

    Made by `TrafficMonitor.expect_upload`; the monitor fills it in on its sampler's thread, the asker
    reads it (any thread).

    Attributes:
        speaker_id: the speaker expected to upload.
        start: epoch seconds from which an upload counts (the phrase began).
        end: epoch seconds after which one no longer counts (math.inf until `set_end`).
        started: the start of the first activation that counted, or None.
        activation: that activation as stored (with its id and bytes) once it ended, or None.
    """

    def __init__(self, speaker_id: str, start: float, end: float = math.inf) -> None:
        self.speaker_id = speaker_id
        self.start = start
        self._lock = threading.Lock()
        self._end = end
        self._started: float | None = None
        self._activation: Activation | None = None

    @property
    def end(self) -> float:
        with self._lock:
            return self._end

    def set_end(self, end: float) -> None:
        """Close the window at `end` (the phrase ended and the watch time is known)."""
        with self._lock:
            self._end = end

    @property
    def started(self) -> float | None:
        with self._lock:
            return self._started

    @property
    def activation(self) -> Activation | None:
        with self._lock:
            return self._activation

    def covers(self, when: float) -> bool:
        """Whether an activation starting at `when` counts (the window widened by the detector's start error)."""
        with self._lock:
            return self.start - EXPECT_EARLY_S <= when <= self._end + EXPECT_LATE_S

    def _saw_start(self, when: float) -> None:
        with self._lock:
            if self._started is None:
                self._started = when

    def _saw_end(self, activation: Activation) -> None:
        with self._lock:
            if self._activation is None:
                self._activation = activation


class TrafficMonitor:
    """Owns a traffic source, the sampler thread reading it, and one ActivationDetector per speaker.

    Attributes:
        source: where the counters come from.
        speaker_ids: the speakers it watches (others the source reports are ignored).
        interval_s: the sampling interval.
    """

    def __init__(
        self,
        speakers: Sequence[Any],
        source: TrafficSource,
        *,
        store: Any,
        events: Any,
        state_of: Callable[[str], Any],
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        interval_s: float = SAMPLE_INTERVAL_S,
        sample_thread: bool = True,
        history_hours: float = 24,
        retention_days: float = 90,
        profiles: dict[str, DetectorProfile] | None = None,
        speech_of: Callable[[str, float], bool | None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """`speakers`: SpeakerConfigs (or ids). `state_of(speaker_id)`: the engine's MuteState of a speaker
        (`muted`, `schedule_id`). `clock` stamps samples, `monotonic` measures their intervals (a test's
        controllable clock can be both). Without `sample_thread`, nothing samples until someone calls
        `sampler.tick()` (tests). `profiles`: a DetectorProfile per speaker id; by default one guessed
        from the speaker's name ("Kitchen Echo" -> echo, else generic). `speech_of(speaker_id, time)`:
        True/False if a room microphone knows whether someone spoke near that speaker then, else None.
        `on_error(error)`: a reading of the source failed (on the sampler's thread)."""
        self.source = source
        self.speaker_ids = tuple(s if isinstance(s, str) else s.id for s in speakers)
        self._names = {s if isinstance(s, str) else s.id: s if isinstance(s, str) else s.name for s in speakers}
        self.interval_s = interval_s
        self._store = store
        self._events = events
        self._state_of = state_of
        self._clock = clock
        self._history_s = history_hours * 3600.0
        self._retention_s = retention_days * 86400.0
        self._speech_of = speech_of
        self._lock = threading.Lock()  # rings, feeds, pending bins
        self._flush_lock = threading.Lock()  # one history write at a time, in order
        ring_size = max(1, math.ceil(RING_SECONDS / min(interval_s, SAMPLE_INTERVAL_S)))
        self._rings = {sid: _Ring(ring_size) for sid in self.speaker_ids}
        self._bins: dict[str, _Bin | None] = {sid: None for sid in self.speaker_ids}
        self._pending: list[tuple[str, int, int, int, float]] = []
        self._feeds: list[SampleFeed] = []
        self._replay_sources: list[Callable[[float], list[dict]]] = []
        profiles = profiles or {}
        self._detectors = {
            sid: ActivationDetector(sid, profile=profiles.get(sid) or profile_for(self._names[sid]))
            for sid in self.speaker_ids
        }
        self._open: dict[str, frozenset[str]] = {}  # speaker id -> flags of the activation in progress
        self._expected: list[UploadExpectation] = []  # under _lock
        self._open_expected: dict[str, UploadExpectation] = {}  # speaker id -> the one its open activation met
        self._last_flush = -math.inf
        self._last_prune = -math.inf
        self._sample_thread = sample_thread
        self._sampler = TrafficSampler(source, self.on_sample, interval_s=interval_s, clock=clock, monotonic=monotonic,
                                       on_error=on_error)
        self._started = False
        self._stopped = False

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Prune what is past retention, then start sampling."""
        if self._started:
            raise RuntimeError("a TrafficMonitor starts once")
        self._started = True
        self._prune(self._clock())
        if self._sample_thread:
            self._sampler.start()

    def stop(self) -> None:
        """Stop and join the sampler, end an activation in progress, write the history. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._started:
            self._sampler.stop()
        for sid, detector in self._detectors.items():
            try:
                self._handle(detector.flush())
            except Exception:  # noqa: BLE001 - the others still deserve their flush
                log.exception("Ending %s's detector failed", sid)
        with self._lock:
            for sid, current in self._bins.items():
                if current is not None and current.covered > 0:
                    self._pending.append((sid, current.second, current.up, current.down, current.covered))
                self._bins[sid] = None
            feeds = list(self._feeds)
        self.flush_history()
        for feed in feeds:
            feed.close()
        try:
            self.source.close()
        except Exception:  # noqa: BLE001
            log.exception("Closing the traffic source failed")

    @property
    def sampler(self) -> TrafficSampler:
        """The sampler (without `sample_thread`, tests call its `tick()`)."""
        return self._sampler

    # --- the sampler's callback ----------------------------------------------------------------------

    def on_sample(self, sample: TrafficSample) -> None:
        """Take one speaker's sample (called on the sampler's thread)."""
        sid = sample.speaker_id
        ring = self._rings.get(sid)
        if ring is None:
            return
        try:
            state = self._state_of(sid)
            muted, window = bool(state.muted), state.schedule_id is not None
        except Exception:  # noqa: BLE001 - an engine that is stopping; the sample still counts
            muted = window = False
        up, down = sample.up_rate, sample.down_rate
        record = {"type": "sample", "speaker_id": sid, "time": round(sample.time, 3), "up": round(up, 1),
                  "down": round(down, 1), "muted": muted}
        second = math.floor(sample.time - sample.interval_s / 2)
        with self._lock:
            ring.append(sample.time, up, down, muted, window)
            for feed in self._feeds:
                feed._put(record)
            current = self._bins[sid]
            if current is None or current.second != second:
                if current is not None and current.covered > 0:
                    self._pending.append((sid, current.second, current.up, current.down, current.covered))
                current = self._bins[sid] = _Bin(second)
            current.up += sample.up_bytes
            current.down += sample.down_bytes
            current.covered = min(1.0, current.covered + sample.interval_s)
        self._handle(self._detectors[sid].feed(sample))
        now = sample.time
        if now - self._last_flush >= HISTORY_FLUSH_S or now < self._last_flush:
            self._last_flush = now
            self.flush_history()
        if now - self._last_prune >= PRUNE_EVERY_S or now < self._last_prune:
            self._prune(now)

    # --- activations ---------------------------------------------------------------------------------

    def _handle(self, detected: Iterable[Any]) -> None:
        for event in detected:
            if isinstance(event, ActivationStarted):
                self._started_activation(event.speaker_id, event.start, event.confidence)
            elif isinstance(event, ActivationEnded):
                self._ended_activation(event.activation)

    def _started_activation(self, sid: str, start: float, confidence: float) -> None:
        flags = self.flags_at(sid, start)
        self._open[sid] = flags
        expectation = self._expectation_for(sid, start)
        if expectation is not None:
            self._open_expected[sid] = expectation
            expectation._saw_start(start)
        self._events.publish("activation_started", sid, start=start, confidence=round(float(confidence), 4),
                             flags=sorted(flags))
        if "while_muted" in flags:
            message = (f"{self._names.get(sid, sid)} is sending audio to the internet while muted: "
                       "its mute is not working")
            log.error("Alarm (critical): %s", message)
            self._events.publish("alarm", sid, message=message, level="critical")

    def _ended_activation(self, activation: Activation) -> None:
        sid = activation.speaker_id
        flags = self._open.pop(sid, None)
        if flags is None:
            flags = self.flags_at(sid, activation.start)
        activation = dataclasses.replace(activation, flags=frozenset(flags | set(activation.flags)))
        try:
            activation = self._store.add_activation(activation)
        except Exception:  # noqa: BLE001 - the event still goes out
            log.exception("Could not store %s's activation at %.1f", sid, activation.start)
        expectation = self._open_expected.pop(sid, None)
        if expectation is not None:
            expectation._saw_end(activation)
        self._events.publish_data("activation_ended", sid, activation_record(activation))

    def flags_at(self, speaker_id: str, when: float) -> frozenset[str]:
        """The flags an activation of this speaker starting at `when` gets."""
        with self._lock:
            recorded = self._rings[speaker_id].state_at(when)
        if recorded is None:
            try:
                state = self._state_of(speaker_id)
                recorded = bool(state.muted), state.schedule_id is not None
            except Exception:  # noqa: BLE001
                recorded = (False, False)
        muted, window = recorded
        flags = set()
        if muted:
            flags.add("while_muted")
        if self._expectation_for(speaker_id, when) is not None:
            flags.add("deletion_command")  # asked for: neither quiet time nor a misactivation
            return frozenset(flags)
        if window:
            flags.add("during_schedule")
        if self._speech_of is not None:
            try:
                if self._speech_of(speaker_id, when) is False:
                    flags.add("no_speech_nearby")
            except Exception:  # noqa: BLE001 - a microphone problem must not lose the activation
                log.exception("Asking the room microphone about %s failed", speaker_id)
        return frozenset(flags)

    # --- expected uploads ----------------------------------------------------------------------------

    def expect_upload(self, speaker_id: str, start: float, end: float = math.inf) -> UploadExpectation:
        """Expect an upload from the speaker between `start` and `end` (epoch seconds; close an open end
        with `set_end`). Call `forget` when done: until then its activations get "deletion_command"."""
        if speaker_id not in self._rings:
            raise KeyError(speaker_id)
        expectation = UploadExpectation(speaker_id, start, end)
        with self._lock:
            self._expected.append(expectation)
        return expectation

    def forget(self, expectation: UploadExpectation) -> None:
        """Stop expecting; an activation that already counted keeps its flag. Idempotent."""
        with self._lock:
            if expectation in self._expected:
                self._expected.remove(expectation)

    def uploading(self, speaker_id: str) -> bool:
        """Whether an activation of the speaker is in progress (confirmed by the detector, not yet ended)."""
        return speaker_id in self._open

    def measured(self, speaker_id: str) -> bool | None:
        """Whether the source has reported the speaker since the start: None while it has reported nobody yet,
        False when it reports others but not this one (say, a speaker without mac or ip under nftables)."""
        with self._lock:
            counts = {sid: ring.count for sid, ring in self._rings.items()}
        if not any(counts.values()):
            return None
        return counts.get(speaker_id, 0) > 0

    def _expectation_for(self, speaker_id: str, when: float) -> UploadExpectation | None:
        with self._lock:
            found = [e for e in self._expected if e.speaker_id == speaker_id and e.covers(when)]
        return found[0] if found else None

    # --- samples for streams -------------------------------------------------------------------------

    def subscribe_samples(self, since: float | None = None) -> SampleFeed:
        """A feed of every sample from now on (quick: safe on an event loop). With `since`, its
        `replay()` returns the ring's samples after that time (at most the last 10 minutes), and none is
        missed or repeated between the replay and the live samples."""
        feed = SampleFeed(self, since)
        with self._lock:
            if not self._stopped:
                self._feeds.append(feed)
            else:
                feed.closed = True
        return feed

    def publish_record(self, record: dict) -> None:
        """Queue a record that is not a traffic sample (a room microphone's reading, type "mic") on every
        sample feed, like a sample (any thread)."""
        with self._lock:
            for feed in self._feeds:
                feed._put(record)

    def add_replay_source(self, recent: Callable[[float], list[dict]]) -> None:
        """Let feeds that ask for a replay also get `recent(since)`: the records a publisher of
        `publish_record` kept (oldest first). Call before anyone subscribes."""
        self._replay_sources.append(recent)

    def recent_records(self, since: float) -> list[dict]:
        """The ring's samples and the replay sources' records after `since`, oldest first."""
        records = self.recent_samples(since)
        for recent in self._replay_sources:
            try:
                records += recent(since)
            except Exception:  # noqa: BLE001 - the samples still deserve their replay
                log.exception("Replaying a publisher's records failed")
        if self._replay_sources:
            records.sort(key=lambda record: record["time"])
        return records

    def _unsubscribe(self, feed: SampleFeed) -> None:
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)

    def recent_samples(self, since: float) -> list[dict]:
        """The ring's samples after `since` (all speakers), oldest first."""
        with self._lock:  # copies of the arrays only; the records are made after
            copies = [(sid, ring.after(since)) for sid, ring in self._rings.items()]
        rows: list[tuple[float, str, float, float, bool]] = []
        for sid, (times, ups, downs, muted) in copies:
            rows += zip(times.tolist(), [sid] * len(times), ups.tolist(), downs.tolist(), muted.tolist())
        rows.sort(key=lambda row: row[0])
        return [{"type": "sample", "speaker_id": sid, "time": round(t, 3), "up": round(u, 1), "down": round(d, 1),
                 "muted": bool(m)} for t, sid, u, d, m in rows]

    # --- history -------------------------------------------------------------------------------------

    def flush_history(self) -> None:
        """Write the finished 1-second bins to the store now (also done every 10 s by the sampler)."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                return
            try:
                self._store.add_traffic(pending)
            except Exception:  # noqa: BLE001 - history is best effort; sampling goes on
                log.exception("Could not store %d seconds of traffic history", len(pending))

    def _prune(self, now: float) -> None:
        self._last_prune = now
        try:
            self._store.prune_traffic(now - self._history_s)
            self._store.prune_activations(now - self._retention_s)
        except Exception:  # noqa: BLE001
            log.exception("Pruning old traffic history and activations failed")


def traffic_history(store: Any, speaker_id: str, start: float, end: float) -> dict[str, Any]:
    """A speaker's 1-second history for [start, end) as the API returns it: t0, step, up[], down[] in B/s
    (None where nothing was measured)."""
    t0 = math.floor(start)
    n = max(0, math.ceil(end) - t0)
    up: list[float | None] = [None] * n
    down: list[float | None] = [None] * n
    for second, up_bytes, down_bytes, covered in store.traffic(speaker_id, t0, t0 + n):
        if covered > 0:
            up[second - t0] = round(up_bytes / covered, 1)
            down[second - t0] = round(down_bytes / covered, 1)
    return {"speaker_id": speaker_id, "t0": float(t0), "step": 1.0, "up": up, "down": down}
