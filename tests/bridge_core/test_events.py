"""The event log: numbering that survives restarts, resuming from a seq, subscriptions, heartbeats."""

from __future__ import annotations

import threading

import pytest
from core_helpers import local

from device_bridge.events import Event, EventLog
from device_bridge.store import BridgeStore

NOW = local("2026-06-02 10:00")


@pytest.fixture
def store(store_path):
    opened = BridgeStore(store_path, clock=lambda: NOW)
    yield opened
    opened.close()


def test_events_are_numbered_kept_and_resumable(store):
    log = EventLog(store, clock=lambda: NOW)
    first = log.publish("alarm", "kitchen", message="did not mute", level="error")
    second = log.publish("schedule_changed", None, schedule=None, id=4)
    assert first == Event(1, NOW, "alarm", "kitchen", {"message": "did not mute", "level": "error"})
    assert second.seq == 2 and log.last_seq == 2
    assert log.since(0) == [first, second]
    assert log.since(1) == [second]
    assert log.since(2) == []
    assert first.to_dict() == {"seq": 1, "time": NOW, "type": "alarm", "speaker_id": "kitchen",
                               "data": {"message": "did not mute", "level": "error"}}


def test_data_may_carry_any_key(store):
    log = EventLog(store)
    event = log.publish_data("mute_changed", "kitchen", {"speaker_id": "kitchen", "type": "x", "muted": True})
    assert event.data["speaker_id"] == "kitchen" and event.type == "mute_changed"


def test_the_numbering_continues_after_a_restart(store_path, store):
    log = EventLog(store)
    for _ in range(3):
        log.publish("alarm", "kitchen", message="m", level="warning")
    store.close()
    with BridgeStore(store_path) as reopened:
        again = EventLog(reopened)
        assert again.last_seq == 3
        assert [e.seq for e in again.since(1)] == [2, 3]  # the recent ones are back in memory for resuming
        assert again.publish("alarm", None, message="m", level="warning").seq == 4


def test_heartbeats_carry_the_last_seq_and_are_not_kept(store):
    log = EventLog(store)
    log.publish("alarm", None, message="m", level="warning")
    with log.subscribe() as subscription:
        beat = log.publish("heartbeat")
        assert (beat.seq, beat.type) == (1, "heartbeat")
        assert subscription.get(timeout=1) == beat
    assert log.last_seq == 1 and [e.type for e in log.since(0)] == ["alarm"]
    assert [row[2] for row in store.load_events(10)] == ["alarm"]


def test_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown event type"):
        EventLog().publish("gossip")


def test_a_subscription_gets_what_is_published_after_it_and_times_out_quietly():
    log = EventLog()
    log.publish("alarm", None, message="before", level="warning")
    subscription = log.subscribe()
    assert subscription.get(timeout=0.01) is None
    event = log.publish("alarm", None, message="after", level="warning")
    assert subscription.get(timeout=1) == event
    subscription.close()
    subscription.close()
    log.publish("alarm", None, message="closed", level="warning")
    assert subscription.get(timeout=0.01) is None


def test_close_wakes_a_waiting_subscriber():
    log = EventLog()
    subscription = log.subscribe()
    got = []
    waiting = threading.Thread(target=lambda: got.append(subscription.get(timeout=30)))
    waiting.start()
    subscription.close()
    waiting.join(timeout=5)
    assert not waiting.is_alive() and got == [None]


def test_a_slow_subscriber_loses_the_oldest_and_is_told(store):
    log = EventLog()
    subscription = log.subscribe()
    for n in range(1005):
        log.publish("alarm", None, message=str(n), level="warning")
    assert subscription.overflowed
    assert subscription.get(timeout=0).seq == 6
    subscription.close()


def test_concurrent_publishers_get_unique_consecutive_numbers_in_order(store):
    log = EventLog(store)
    subscription = log.subscribe()
    start = threading.Barrier(4)

    def publish_many() -> None:
        start.wait()
        for _ in range(50):
            log.publish("alarm", None, message="m", level="warning")

    threads = [threading.Thread(target=publish_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = [subscription.get(timeout=1).seq for _ in range(200)]
    subscription.close()
    assert received == list(range(1, 201))
    assert [row[0] for row in store.load_events(500)] == list(range(1, 201))
