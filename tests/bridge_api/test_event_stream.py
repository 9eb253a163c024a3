"""GET /v1/events: live NDJSON, resume with ?since=, heartbeats, and streams that end when they should."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from bridge_helpers import Client, EventStream, pair, wait_until

@pytest.fixture
def open_stream() -> Iterator:
    streams: list[EventStream] = []

    def open_(client: Client, since: int | None = None) -> EventStream:
        stream = EventStream(client, since=since)
        streams.append(stream)
        return stream

    yield open_
    for stream in streams:
        stream.close()


def _is_kitchen_change(muted: bool):
    return lambda e: e["type"] == "mute_changed" and e["speaker_id"] == "kitchen" and e["data"]["muted"] is muted


def test_mute_changed_arrives_quickly(api, open_stream):
    stream = open_stream(api)
    sent = time.monotonic()
    assert api.put("/v1/speakers/kitchen/mute", json={"muted": False, "reason": "dinner"}).status_code == 200
    event = stream.wait_for(_is_kitchen_change(False), timeout=2.0)
    assert time.monotonic() - sent < 2.0
    assert set(event) == {"seq", "time", "type", "speaker_id", "data"}
    assert event["data"]["reason"] == "dinner"
    assert event["data"]["requested_by"] == "Anna's laptop"


def test_resume_with_since(api, open_stream):
    first = open_stream(api)
    api.put("/v1/speakers/kitchen/mute", json={"muted": False})
    seen = first.wait_for(_is_kitchen_change(False))
    first.close()

    api.put("/v1/speakers/kitchen/mute", json={"muted": True})  # while no stream is open
    api.put("/v1/speakers/living-room/mute", json={"muted": False})

    resumed = open_stream(api, since=seen["seq"])
    missed = [resumed.next(), resumed.next()]
    assert [e["seq"] for e in missed] == [seen["seq"] + 1, seen["seq"] + 2]
    assert _is_kitchen_change(True)(missed[0])
    assert missed[1]["speaker_id"] == "living-room"
    api.put("/v1/speakers/kitchen/mute", json={"muted": False})  # and then live ones
    live = resumed.wait_for(_is_kitchen_change(False))
    assert live["seq"] > missed[1]["seq"]


def test_heartbeat_after_silence(start_bridge, connect, open_stream):
    bridge = start_bridge(heartbeat_s=0.2)
    api = connect(bridge, pair(connect(bridge), bridge)["token"])
    stream = open_stream(api)
    beat = stream.wait_for(lambda e: e["type"] == "heartbeat", timeout=3.0)
    assert beat["seq"] == bridge.engine.events.last_seq
    assert {"seq", "time", "type"} <= set(beat)


def test_stream_ends_when_its_token_is_revoked(bridge, api, connect, open_stream):
    other = pair(connect(bridge), bridge, "Ben's phone")
    stream = open_stream(connect(bridge, other["token"]))
    assert api.delete(f"/v1/tokens/{other['token_id']}").status_code == 204
    assert stream.ended(timeout=5.0)


def test_streams_end_when_the_client_goes_away(bridge, api):
    streams = bridge.app.state.bridge.streams
    for _ in range(3):
        EventStream(api).close()
    wait_until(lambda: streams.open_streams == 0, timeout=5.0)


def test_requests_are_served_while_streams_wait(bridge, api, open_stream):
    for _ in range(5):
        open_stream(api)
    started = time.monotonic()
    for _ in range(10):
        assert api.get("/v1/speakers").status_code == 200
    assert time.monotonic() - started < 5.0


def test_stop_ends_open_streams_quickly(bridge, api, open_stream):
    stream = open_stream(api)
    api.get("/v1/speakers")
    started = time.monotonic()
    bridge.stop()
    assert time.monotonic() - started < 5.0
    assert stream.ended(timeout=5.0)
