"""GET /v1/events: the engine's event log as an NDJSON stream.

The engine publishes from its own threads into a thread-safe Subscription; each stream waits on it in a
worker thread (never on the event loop), so a quiet stream costs one short wait a second. Streams end when
the client goes away (Starlette cancels the generator), when their token is revoked, when the client falls
more than 1000 events behind (it resumes with ?since=), or when the bridge shuts down (`StreamHub.close()`
wakes and ends them all, so uvicorn's graceful shutdown does not wait on them).

With `samples=1` the stream also carries the traffic monitor's 10 Hz samples (`{"type": "sample", ...}`,
no seq: they are not events and are not stored), and the room microphone's 10 Hz readings
(`{"type": "mic", ...}`) when the bridge has one. The stream then waits for events at most 0.2 s at a
time and sends the samples queued meanwhile, so events still go out at once and samples within 0.2 s,
two per speaker per write (each write costs more than its lines: at 0.1 s the stream cost the bridge
about twice the CPU). `samples_since=<time>` first replays the monitor's 10-minute ring after that time.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.to_thread

HEARTBEAT_S = 5.0
MAX_STREAMS = 32
_POLL_S = 1.0
_SAMPLE_POLL_S = 0.2


def event_line(event: Any) -> bytes:
    record = dataclasses.asdict(event) if dataclasses.is_dataclass(event) else dict(event)
    return json.dumps(record, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8") + b"\n"


class TooManyStreams(Exception):
    pass


class StreamHub:
    """The open event streams of one app.

    Streams wait in their own small thread pool (`limiter`), so they never starve the pool that runs
    the API's request handlers.
    """

    def __init__(self, events: Any, *, heartbeat_s: float = HEARTBEAT_S, clock: Callable[[], float] = time.time,
                 samples: Any = None):
        """`samples`: the traffic monitor (`subscribe_samples`), or None when traffic is not measured."""
        self._events = events
        self._samples = samples
        self._heartbeat_s = heartbeat_s
        self._clock = clock
        self._lock = threading.Lock()
        self._subscriptions: dict[Any, object] = {}  # subscription -> owner (e.g. a token id)
        self._closed = threading.Event()
        self.limiter = anyio.CapacityLimiter(MAX_STREAMS)

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def close(self) -> None:
        """End every stream within a moment and refuse new ones."""
        self._closed.set()
        with self._lock:
            subscriptions = list(self._subscriptions)
        for sub in subscriptions:
            sub.close()

    def end_streams_of(self, owner: object) -> None:
        """End the streams opened for `owner` (a revoked token's id) now."""
        with self._lock:
            subscriptions = [sub for sub, who in self._subscriptions.items() if who == owner]
        for sub in subscriptions:
            sub.close()

    def open(self, since: int | None, still_allowed: Callable[[], bool], owner: object = None, *,
             samples: bool = False, samples_since: float | None = None) -> AsyncIterator[bytes]:
        """Subscribe now (so nothing published from here on is missed) and return the line generator.

        With `samples` (and a traffic monitor), sample lines too, after the ring's since `samples_since`.

        Raises:
            TooManyStreams: MAX_STREAMS are open already, or the bridge is shutting down.
        """
        with self._lock:
            if self._closed.is_set() or len(self._subscriptions) >= MAX_STREAMS:
                raise TooManyStreams()
            sub = self._events.subscribe()
            feed = None
            if samples and self._samples is not None:
                feed = self._samples.subscribe_samples(samples_since)
            self._subscriptions[sub] = owner
        return self._lines(sub, since, still_allowed, feed)

    async def _lines(self, sub: Any, since: int | None, still_allowed: Callable[[], bool],
                     feed: Any = None) -> AsyncIterator[bytes]:
        try:
            last_seq = 0
            if since is not None:
                # Missed events first; the subscription holds everything published since it was made.
                for event in self._events.since(since):
                    last_seq = event.seq
                    yield event_line(event)
            if feed is not None and feed.since is not None:
                replayed = await anyio.to_thread.run_sync(feed.replay, limiter=self.limiter)
                if replayed:
                    yield b"".join(event_line(record) for record in replayed)
            poll_s = min(_POLL_S, self._heartbeat_s, _SAMPLE_POLL_S if feed is not None else _POLL_S)
            quiet_since = time.monotonic()
            # A subscriber that fell too far behind lost events: end, and let it resume with ?since=.
            while not (self._closed.is_set() or sub.closed or sub.overflowed) and still_allowed():
                # abandon_on_cancel: a client that goes away ends the stream at once; the `finally` below
                # closes the subscription, which wakes the abandoned wait.
                event = await anyio.to_thread.run_sync(sub.get, poll_s, limiter=self.limiter, abandon_on_cancel=True)
                if feed is not None:
                    queued = feed.drain()
                    if queued:
                        yield b"".join(event_line(record) for record in queued)
                if event is not None:
                    if event.seq <= last_seq:  # already sent from the backlog
                        continue
                    last_seq = event.seq
                    quiet_since = time.monotonic()
                    yield event_line(event)
                elif time.monotonic() - quiet_since >= self._heartbeat_s:
                    quiet_since = time.monotonic()
                    yield event_line({"seq": self._events.last_seq, "time": self._clock(), "type": "heartbeat",
                                      "speaker_id": None, "data": {}})
        finally:
            with self._lock:
                self._subscriptions.pop(sub, None)
            sub.close()
            if feed is not None:
                feed.close()
