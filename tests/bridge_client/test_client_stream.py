"""The event stream against a real bridge: live events, resume with since=, backoff, dead links, stopping."""

from __future__ import annotations

import threading
import time

import pytest
from client_helpers import WAIT_S, Relay

from app.bridge_client import BridgeError, BridgeSession, BridgeUnreachable, CertificateChanged
from app.bridge_client.pairing import pair, probe
from app.bridge_client.stream import Backoff, EventStream, StreamEvent


class StreamLog:
    """A StreamHandler that records what the stream reports."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.connections = 0
        self.events: list[StreamEvent] = []
        self.heartbeats = 0
        self.downs: list[tuple[Exception, float | None]] = []

    def _note(self, change) -> None:
        with self.cond:
            change()
            self.cond.notify_all()

    def connected(self, session: BridgeSession) -> None:
        session.speakers()  # what the manager does: a snapshot over the same pin
        self._note(lambda: setattr(self, "connections", self.connections + 1))

    def event(self, event: StreamEvent) -> None:
        self._note(lambda: self.events.append(event))

    def heartbeat(self, event: StreamEvent) -> None:
        self._note(lambda: setattr(self, "heartbeats", self.heartbeats + 1))

    def disconnected(self, error, retry_in) -> None:
        self._note(lambda: self.downs.append((error, retry_in)))

    def wait_for(self, predicate, timeout: float = WAIT_S) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "timed out waiting for the stream"

    def mute_events(self) -> list[StreamEvent]:
        return [e for e in self.events if e.type == "mute_changed"]


@pytest.fixture
def token(bridge) -> str:
    return pair(probe("127.0.0.1", bridge.port), bridge.pairing_code(), "Anna's laptop").token


@pytest.fixture
def streams():
    made: list[EventStream] = []

    def make(port: int, fingerprint: str, token: str, *, timeout=(3.0, 15.0), since=None):
        log = StreamLog()
        stream = EventStream(lambda: BridgeSession("127.0.0.1", port, fingerprint, token), log, since=since,
                             backoff=Backoff(0.05, 0.4, jitter=0.0), timeout=timeout, name="test-stream")
        made.append(stream)
        stream.start()
        return stream, log

    yield make
    for stream in made:
        stream.stop()


def mute(bridge, token: str, speaker: str, muted: bool) -> None:
    with BridgeSession("127.0.0.1", bridge.port, bridge.fingerprint, token) as session:
        session.set_mute(speaker, muted)


def test_backoff_doubles_up_to_the_maximum_and_starts_over_after_a_success():
    backoff = Backoff(1.0, 30.0, jitter=0.0)
    assert [backoff.next() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    backoff.reset()
    assert backoff.next() == 1
    jittery = Backoff(1.0, 30.0, jitter=0.25, rand=lambda: 1.0)
    assert jittery.next() == 1.25


def test_lines_that_are_not_events_are_rejected():
    event = StreamEvent.from_line(b'{"seq": 3, "time": 1.5, "type": "alarm", "speaker_id": "k", "data": {"m": 1}}')
    assert (event.seq, event.type, event.speaker_id, event.data) == (3, "alarm", "k", {"m": 1})
    for bad in (b"[1, 2]", b'{"seq": 1}', b"not json"):
        with pytest.raises(ValueError):
            StreamEvent.from_line(bad)


def test_live_events_arrive_and_stop_does_not_wait_for_a_blocked_read(bridges, streams):
    quiet = bridges.start(heartbeat_s=3600.0)  # nothing to read unless something happens
    token = pair(probe("127.0.0.1", quiet.port), quiet.pairing_code(), "Anna's laptop").token
    stream, log = streams(quiet.port, quiet.fingerprint, token)
    log.wait_for(lambda: log.connections == 1)
    mute(quiet, token, "kitchen", False)
    log.wait_for(lambda: log.mute_events())
    event = log.mute_events()[-1]
    assert event.speaker_id == "kitchen" and event.data["muted"] is False
    assert stream.last_seq == event.seq

    started = time.monotonic()
    assert stream.stop()
    assert time.monotonic() - started < 2.0  # not the 15 s read timeout
    assert not stream.running
    assert log.downs == []  # stopping is not a failure


def test_missed_events_are_delivered_after_a_reconnect_with_since(bridge, token, streams):
    relay = Relay(bridge.port)
    try:
        stream, log = streams(relay.port, bridge.fingerprint, token)
        log.wait_for(lambda: log.connections == 1)
        mute(bridge, token, "kitchen", False)
        log.wait_for(lambda: len(log.mute_events()) == 1)
        seen = log.mute_events()[0].seq

        relay.cut()  # the link drops; the bridge keeps running
        log.wait_for(lambda: log.downs)
        mute(bridge, token, "kitchen", True)  # happens while the app cannot hear it
        relay.restore()
        log.wait_for(lambda: log.connections == 2 and len(log.mute_events()) == 2)
        missed = log.mute_events()[1]
        assert missed.seq > seen and missed.data["muted"] is True
        seqs = [e.seq for e in log.events]
        assert seqs == sorted(set(seqs))  # nothing twice, in order
    finally:
        stream.stop()
        relay.close()


def test_the_bridge_going_away_is_noticed_and_retried_with_growing_delays(bridges, streams):
    bridge = bridges.start("b")
    token = pair(probe("127.0.0.1", bridge.port), bridge.pairing_code(), "Anna's laptop").token
    stream, log = streams(bridge.port, bridge.fingerprint, token)
    log.wait_for(lambda: log.connections == 1)
    bridge.stop()
    log.wait_for(lambda: len(log.downs) >= 5)
    errors = [error for error, _ in log.downs]
    assert all(isinstance(e, BridgeError) for e in errors)
    assert isinstance(errors[-1], BridgeUnreachable)
    assert [delay for _, delay in log.downs[:5]] == [0.05, 0.1, 0.2, 0.4, 0.4]

    restarted = bridges.restart(bridge)
    log.wait_for(lambda: log.connections == 2)
    mute(restarted, token, "bedroom", False)
    log.wait_for(lambda: any(e.speaker_id == "bedroom" for e in log.mute_events()))
    seqs = [e.seq for e in log.events]
    assert seqs == sorted(set(seqs))  # the bridge's numbering continued across its restart
    count = len(log.downs)
    restarted.stop()
    log.wait_for(lambda: len(log.downs) > count)
    assert log.downs[count][1] == 0.05  # the backoff started over after the successful reconnect


def test_a_silent_link_is_declared_dead_after_the_read_timeout(bridges, streams):
    chatty = bridges.start(heartbeat_s=0.2)
    token = pair(probe("127.0.0.1", chatty.port), chatty.pairing_code(), "Anna's laptop").token
    relay = Relay(chatty.port)
    try:
        stream, log = streams(relay.port, chatty.fingerprint, token, timeout=(3.0, 1.0))
        log.wait_for(lambda: log.heartbeats >= 2)
        assert log.downs == []  # heartbeats keep a quiet link alive
        relay.freeze()
        log.wait_for(lambda: log.downs)
        error, retry_in = log.downs[0]
        assert isinstance(error, BridgeUnreachable) and retry_in is not None
        assert "stopped answering" in error.user_message
    finally:
        stream.stop()
        relay.close()


def test_a_changed_certificate_ends_the_stream_for_good(bridges, streams):
    first = bridges.start("first")
    token = pair(probe("127.0.0.1", first.port), first.pairing_code(), "Anna's laptop").token
    stream, log = streams(first.port, first.fingerprint, token)
    log.wait_for(lambda: log.connections == 1)
    first.stop()
    bridges.start("impostor", port=first.port)
    log.wait_for(lambda: any(isinstance(e, CertificateChanged) for e, _ in log.downs))
    error, retry_in = log.downs[-1]
    assert isinstance(error, CertificateChanged) and retry_in is None
    stream.stop()
