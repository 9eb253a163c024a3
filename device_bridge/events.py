"""The bridge's event log: numbered events kept in memory for resuming streams, persisted, and fanned out.

Subscribers pull from their own bounded queue (`Subscription.get`); publishing never calls into a
subscriber, so it is safe from any thread and under a caller's lock. Heartbeats are not numbered,
kept or stored: they carry the current `last_seq` so a client can tell it missed nothing.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from device_bridge.store import BridgeStore

log = logging.getLogger(__name__)

EVENT_TYPES = ("mute_changed", "alarm", "schedule_changed", "activation_started", "activation_ended", "heartbeat",
               "new_destination_org", "blocks_changed", "deletion_run")
KEEP_IN_MEMORY = 1000
SUBSCRIPTION_QUEUE = 1000


@dataclass(frozen=True)
class Event:
    """One thing that happened on the bridge.

    Attributes:
        seq: 1, 2, 3... continuing across restarts (a heartbeat carries the last seq instead).
        time: epoch seconds.
        type: one of EVENT_TYPES ("mute_changed", "alarm", "schedule_changed", "activation_started",
            "activation_ended", "new_destination_org", "blocks_changed", "deletion_run" or "heartbeat").
        speaker_id: the speaker concerned, if any.
        data: JSON-able details (mute_changed: the MuteState as a dict; alarm: {"message", "level"};
            schedule_changed: {"schedule": {...} or None, "id"}; activation_started: {"start", "confidence",
            "flags"}; activation_ended: the activation as stored, with its "id"; new_destination_org: a
            speaker's first traffic to an organisation or unknown domain, {"organisation", "domain", "name",
            "time", "known", "hosting"}; blocks_changed: {"block_id", "action", "kind", "value"}; deletion_run:
            a voice deletion run as GET /v1/deletions/runs shows it, when it starts and when it ends).
    """

    seq: int
    time: float
    type: str
    speaker_id: str | None
    data: dict

    def to_dict(self) -> dict:
        return {"seq": self.seq, "time": self.time, "type": self.type, "speaker_id": self.speaker_id, "data": self.data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


class Subscription:
    """A subscriber's queue of live events, from the moment it subscribed.

    If the subscriber falls more than SUBSCRIPTION_QUEUE events behind, the oldest are dropped and
    `overflowed` is set: it can catch up with `EventLog.since(last seen seq)`.

    Attributes:
        overflowed: True once events were dropped for this subscriber.
        closed: True after close().
    """

    def __init__(self, log_: EventLog, maxlen: int = SUBSCRIPTION_QUEUE) -> None:
        self._log = log_
        self._items: collections.deque[Event] = collections.deque(maxlen=maxlen)
        self._ready = threading.Condition()
        self.overflowed = False
        self.closed = False

    def _put(self, event: Event) -> None:
        with self._ready:
            if self.closed:
                return
            if len(self._items) == self._items.maxlen:
                self.overflowed = True
            self._items.append(event)
            self._ready.notify_all()

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to `timeout` seconds; None on timeout or once closed."""
        with self._ready:
            if not self._items and not self.closed:
                self._ready.wait_for(lambda: self._items or self.closed, timeout)
            if self._items:
                return self._items.popleft()
            return None

    def close(self) -> None:
        """Stop receiving; a waiting get() returns None. Idempotent."""
        with self._ready:
            self.closed = True
            self._items.clear()
            self._ready.notify_all()
        self._log._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EventLog:
    """Numbers, keeps, stores and distributes events. Thread-safe.

    Attributes:
        last_seq: the seq of the newest event (0 before the first ever).
    """

    def __init__(self, store: BridgeStore | None = None, *, clock: Callable[[], float] = time.time,
                 keep: int = KEEP_IN_MEMORY) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: collections.deque[Event] = collections.deque(maxlen=keep)
        self._subscribers: list[Subscription] = []
        self._last_seq = 0
        if store is not None:
            self._last_seq = store.last_event_seq()
            for seq, when, type_, speaker_id, data in store.load_events(keep):
                self._recent.append(Event(seq, when, type_, speaker_id, data))

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._last_seq

    def publish(self, type: str, speaker_id: str | None = None, **data: Any) -> Event:  # noqa: A002 - contract name
        """Number, store (not heartbeats) and hand the event to every subscriber; returns it."""
        return self.publish_data(type, speaker_id, data)

    def publish_data(self, type: str, speaker_id: str | None, data: dict[str, Any]) -> Event:  # noqa: A002
        """`publish` with the data as a dict (for data that has keys like "speaker_id", e.g. a MuteState)."""
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        with self._lock:
            now = self._clock()
            if type == "heartbeat":
                event = Event(self._last_seq, now, type, speaker_id, data)
            else:
                event = Event(self._last_seq + 1, now, type, speaker_id, data)
                if self._store is not None:
                    try:
                        self._store.append_event(event.seq, event.time, event.type, event.speaker_id, event.data)
                    except Exception:  # the log must not take a mute down with it
                        log.exception("Could not store event %d (%s)", event.seq, event.type)
                self._last_seq = event.seq
                self._recent.append(event)
            # Queued under the lock so every subscriber sees events in seq order; _put never blocks.
            for subscription in list(self._subscribers):
                subscription._put(event)
        return event

    def since(self, seq: int) -> list[Event]:
        """Events kept in memory with a seq greater than `seq` (oldest first)."""
        with self._lock:
            return [e for e in self._recent if e.seq > seq]

    def subscribe(self) -> Subscription:
        """A queue of every event published from now on; close() it when done."""
        subscription = Subscription(self)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)
