"""GET /v1/events: live NDJSON, resume with ?since=, heartbeats, and streams that end when they should."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from bridge_helpers import Client, pair, wait_until

STREAM_TIMEOUT = (3.0, 10.0)


class Stream:
    """An open event stream read by a thread into a queue (so a test can wait with a deadline)."""

    def __init__(self, client: Client, since: int | None = None) -> None:
        params = {} if since is None else {"since": since}
        self.response = client.get("/v1/events", params=params, stream=True, timeout=STREAM_TIMEOUT,
                                   headers={"Connection": "close"})
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["content-type"].startswith("application/x-ndjson")
        self.lines: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="test-event-stream", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if line:
                    self.lines.put(json.loads(line))
        except Exception:  # noqa: BLE001 - the connection closed under us: the end of the stream
            pass
        finally:
            self.lines.put(None)

    def next(self, timeout: float = 5.0) -> dict | None:
        return self.lines.get(timeout=timeout)

    def wait_for(self, predicate, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if event is None:
                raise AssertionError("the stream ended")
            if predicate(event):
                return event

    def ended(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.next(max(0.01, deadline - time.monotonic())) is None:
                    return True
            except queue.Empty:
                return False
        return False

    def close(self) -> None:
        # Closing the response alone does not wake a thread blocked reading it; shutting the socket down does.
        try:
            with socket.fromfd(self.response.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM) as dup:
                dup.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError, AttributeError):
            pass  # already closed
        self._reader.join(5.0)
        self.response.close()


@pytest.fixture
def open_stream() -> Iterator:
    streams: list[Stream] = []

    def open_(client: Client, since: int | None = None) -> Stream:
        stream = Stream(client, since)
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
        Stream(api).close()
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
