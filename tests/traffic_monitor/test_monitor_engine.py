"""The traffic monitor inside the engine: activations from simulated speakers through the real detector,
their flags and alarms, events with seq, the ring, the 1-second history, persistence and retention."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from monitor_helpers import CONFIG, Rig

from device_bridge.engine import BridgeEngine
from device_bridge.events import EventLog
from device_bridge.store import BridgeStore
from device_bridge.traffic.model import Activation, TrafficSample
from device_bridge.traffic.monitor import PRUNE_EVERY_S, TrafficMonitor, activation_record, traffic_history
from device_bridge.traffic.simulated import SimulatedTrafficSource

IDLE_S = 60.0  # enough for the detector to know the speaker's idle


def voice_burst(rig: Rig, speaker: str = "kitchen", after: float = 0.5) -> float:
    """Inject a voice request `after` seconds from now, run until it is surely over; returns its start."""
    at = rig.clock() + after
    rig.source.inject_burst(speaker, at=at)
    rig.run(20.0)
    return at


def test_a_voice_upload_becomes_one_activation_with_its_bytes(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    assert rig.events("activation_started") == []
    at = voice_burst(rig, after=0.0)  # on a second's boundary, so the busiest second is the trace's 76 kB

    (started,) = rig.events("activation_started")
    (ended,) = rig.events("activation_ended")
    (sent,) = rig.source.bursts
    assert started.speaker_id == ended.speaker_id == "kitchen"
    assert started.seq < ended.seq
    assert abs(started.data["start"] - at) <= 1.0
    assert started.data["flags"] == [] and 0.9 <= started.data["confidence"] <= 1.0
    data = ended.data
    assert data["start"] == started.data["start"]
    assert data["bytes_up"] == pytest.approx(sent.bytes_up, rel=0.05)
    assert data["peak_rate"] == pytest.approx(76_000, rel=0.2)
    assert data["end"] - data["start"] == pytest.approx(sent.end - sent.start, abs=1.5)
    assert data["flags"] == [] and isinstance(data["id"], int)
    # Persisted, with the same numbers, and no alarm for an activation nobody needs to worry about.
    (stored,) = rig.store.activations()
    assert activation_record(stored) == data
    assert rig.events("alarm") == []
    stored_types = [type_ for _seq, _time, type_, _speaker, _data in rig.store.load_events(100)]
    assert stored_types.count("activation_ended") == 1


def test_the_activation_is_announced_within_two_seconds_of_its_first_byte(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    at = rig.clock() + 0.05
    rig.source.inject_burst("kitchen", at=at)
    waited = 0.0
    while not rig.events("activation_started"):
        rig.run(0.1)
        waited += 0.1
        assert waited < 5.0, "no activation_started within 5 s"
    assert rig.clock() - at < 2.0


def test_a_burst_while_muted_is_flagged_and_raises_a_critical_alarm(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    rig.engine.set_mute("kitchen", True, reason="night", requested_by="Anna")
    rig.source.set_mute_fails("kitchen")  # the relay welded shut: the speaker still hears and sends
    voice_burst(rig)

    (started,) = rig.events("activation_started")
    assert started.data["flags"] == ["while_muted"]
    (alarm,) = rig.events("alarm")
    assert alarm.speaker_id == "kitchen" and alarm.data["level"] == "critical"
    assert "while muted" in alarm.data["message"] and "Kitchen Echo" in alarm.data["message"]
    assert started.seq < alarm.seq
    (ended,) = rig.events("activation_ended")
    assert ended.data["flags"] == ["while_muted"]
    assert rig.store.activations(flagged=True)[0].flags == frozenset({"while_muted"})


def test_a_working_mute_means_no_activation(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    rig.engine.set_mute("kitchen", True)
    voice_burst(rig)
    assert rig.events("activation_started") == [] and rig.store.activations() == []


def test_a_burst_during_a_schedule_window_is_flagged(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    now = rig.clock()
    rig.engine.add_schedule(speaker_id="kitchen", kind="once", start_at=now - 60, end_at=now + 600, label="Quiet")
    assert rig.engine.state("kitchen").muted
    # Someone unmuted by hand during the window: the window is still in force, the speaker listens.
    rig.engine.set_mute("kitchen", False, reason="asking for the weather")
    assert rig.engine.state("kitchen").schedule_id is not None
    voice_burst(rig)
    (ended,) = rig.events("activation_ended")
    assert ended.data["flags"] == ["during_schedule"]
    assert rig.events("alarm") == []


def test_muted_by_a_schedule_with_a_failed_mute_gets_both_flags(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    now = rig.clock()
    rig.engine.add_schedule(speaker_id="*", kind="once", start_at=now - 60, end_at=now + 600)
    rig.source.set_mute_fails("bedroom")
    voice_burst(rig, "bedroom")
    voice_burst(rig, "kitchen")  # its mute works
    (ended,) = rig.events("activation_ended")
    assert (ended.speaker_id, ended.data["flags"]) == ("bedroom", ["during_schedule", "while_muted"])


def test_no_speech_nearby_comes_from_the_room_microphone_when_there_is_one(make_rig):
    asked = []

    def speech_of(speaker_id: str, when: float) -> bool | None:
        asked.append((speaker_id, when))
        return False if speaker_id == "kitchen" else None

    rig = make_rig(speech_of=speech_of)
    rig.run(IDLE_S)
    voice_burst(rig, "kitchen")
    voice_burst(rig, "bedroom")
    flags = {e.speaker_id: e.data["flags"] for e in rig.events("activation_ended")}
    assert flags == {"kitchen": ["no_speech_nearby"], "bedroom": []}
    assert {speaker for speaker, _ in asked} == {"kitchen", "bedroom"}


def test_the_flags_are_those_of_the_moment_the_burst_began(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    rig.engine.set_mute("kitchen", True)
    rig.source.set_mute_fails("kitchen")
    at = rig.clock() + 0.5
    rig.source.inject_burst("kitchen", at=at)
    rig.run(1.0)
    rig.engine.set_mute("kitchen", False)  # unmuted while it is being sent: it still began while muted
    rig.run(20.0)
    (ended,) = rig.events("activation_ended")
    assert ended.data["flags"] == ["while_muted"]


def test_the_ring_keeps_ten_minutes_of_samples_per_speaker(make_rig):
    rig = make_rig()
    rig.run(5.0)
    start = rig.clock()
    rig.run(2.0)
    recent = rig.monitor.recent_samples(start)
    assert len(recent) == 2 * 20
    assert [r["time"] for r in recent] == sorted(r["time"] for r in recent)
    assert {r["speaker_id"] for r in recent} == {"kitchen", "bedroom"}
    assert set(recent[0]) == {"type", "speaker_id", "time", "up", "down", "muted"}
    assert recent[0]["type"] == "sample" and recent[0]["muted"] is False
    rig.run(700.0)
    oldest = min(r["time"] for r in rig.monitor.recent_samples(0))
    assert rig.clock() - oldest == pytest.approx(600.0, abs=0.15)


def test_a_sample_feed_replays_the_ring_then_live_samples_without_gaps_or_repeats(make_rig):
    rig = make_rig()
    rig.run(3.0)
    since = rig.clock() - 1.0
    feed = rig.monitor.subscribe_samples(since)
    rig.run(1.0)  # these are both in the ring and queued for the feed
    replayed = feed.replay()
    rig.run(0.5)
    kitchen = [r["time"] for r in replayed + feed.drain() if r["speaker_id"] == "kitchen"]
    assert kitchen == [pytest.approx(since + 0.1 * i) for i in range(1, 26)]
    rig.engine.set_mute("kitchen", True)
    rig.run(0.1)
    assert [r["muted"] for r in feed.drain() if r["speaker_id"] == "kitchen"] == [True]
    feed.close()
    rig.run(0.5)
    assert feed.drain() == []
    live_only = rig.monitor.subscribe_samples()
    assert live_only.replay() == []
    live_only.close()


def test_the_one_second_history_is_stored_and_read_back_by_range(make_rig):
    rig = make_rig()
    rig.run(5.0)
    at = voice_burst(rig, after=0.0)
    rig.monitor.flush_history()
    history = traffic_history(rig.store, "kitchen", at - 3, at + 8)
    assert history["t0"] == at - 3 and history["step"] == 1.0
    assert len(history["up"]) == len(history["down"]) == 11
    assert history["up"][3] == pytest.approx(76_000, rel=0.1)
    assert history["up"][4] == pytest.approx(39_000, rel=0.1)
    assert all(up < 2_000 for up in history["up"][:3])
    assert max(history["down"][8:11]) > 20_000  # the reply
    # Before the bridge measured anything there is no data, not zero.
    before = traffic_history(rig.store, "kitchen", rig.clock() - 3600, rig.clock() - 3595)
    assert before["up"] == [None] * 5


def test_activations_and_history_survive_a_restart(make_rig, clock):
    first = make_rig()
    first.run(IDLE_S)
    voice_burst(first, after=0.0)
    (ended,) = first.events("activation_ended")
    first.close()

    clock.advance(30)
    second = make_rig()
    (stored,) = second.store.activations()
    assert stored.id == ended.data["id"] and stored.start == ended.data["start"]
    # The events are still there to resume from, and numbering goes on.
    assert [e.seq for e in second.events("activation_ended")] == [ended.seq]
    second.run(IDLE_S)
    voice_burst(second)
    assert [e.data["id"] for e in second.events("activation_ended")] == [stored.id, stored.id + 1]
    assert second.events("activation_ended")[-1].seq > ended.seq
    history = traffic_history(second.store, "kitchen", stored.start, stored.start + 3)
    assert history["up"][0] == pytest.approx(76_000, rel=0.1)


def test_an_activation_in_progress_at_shutdown_is_kept(make_rig):
    rig = make_rig()
    rig.run(IDLE_S)
    rig.source.inject_burst("kitchen", at=rig.clock() + 0.5, shape=[40_000] * 30)
    rig.run(5.0)
    assert len(rig.events("activation_started")) == 1
    rig.engine.stop()
    (ended,) = rig.events("activation_ended")
    assert ended.data["end"] <= rig.clock() + 1
    assert len(rig.store.activations()) == 1


def test_retention_prunes_old_activations_and_history(make_rig, tmp_path, clock):
    now = clock()
    with BridgeStore(tmp_path / "bridge.db", clock=clock) as store:
        for age_days in (100, 89):
            store.add_activation(Activation("kitchen", now - age_days * 86400, now - age_days * 86400 + 5, 90_000,
                                            40_000.0, 0.99))
        store.add_traffic([("kitchen", int(now) - 25 * 3600, 100, 100, 1.0),
                           ("kitchen", int(now) - 23 * 3600, 200, 200, 1.0)])
    rig = make_rig()
    assert [round((now - a.start) / 86400) for a in rig.store.activations()] == [89]
    assert [row[1] for row in rig.store.traffic("kitchen", 0, int(now))] == [200]

    # While running, too (every PRUNE_EVERY_S), with the configured retention.
    rig.close()
    short = dataclasses.replace(CONFIG, retention_days=30, traffic_history_hours=1)
    rig = make_rig(config=short)
    assert rig.store.activations() == []
    rig.run(10.0)
    rig.monitor.flush_history()
    written = len(rig.store.traffic("kitchen", 0, int(rig.clock()) + 1))
    assert written >= 9
    rig.run(PRUNE_EVERY_S + 3600)
    rig.monitor.flush_history()
    kept = rig.store.traffic("kitchen", 0, int(rig.clock()) + 1)
    assert kept[0][0] >= rig.clock() - 3600 - PRUNE_EVERY_S - 1
    assert len(kept) <= 3600 + PRUNE_EVERY_S + 1


def test_the_sampler_thread_runs_at_10_hz_and_is_joined_on_stop(tmp_path, pin_factory):
    """The real thread on the real clock: samples arrive about every 0.1 s, and stop() ends the thread."""
    with BridgeStore(tmp_path / "bridge.db") as store:
        source = SimulatedTrafficSource(CONFIG.speakers, seed=3)
        engine = BridgeEngine(CONFIG, store, pin_factory=pin_factory, tick_interval_s=3600.0, traffic_source=source)
        engine.start()
        try:
            feed = engine.monitor.subscribe_samples()
            got: list[dict] = []
            deadline = time.monotonic() + 10.0
            pause = threading.Event()
            while len([r for r in got if r["speaker_id"] == "kitchen"]) < 15 and time.monotonic() < deadline:
                pause.wait(0.05)
                got += feed.drain()
            kitchen = [r["time"] for r in got if r["speaker_id"] == "kitchen"]
            assert len(kitchen) >= 15
            gaps = [b - a for a, b in zip(kitchen, kitchen[1:])]
            assert sorted(gaps)[len(gaps) // 2] == pytest.approx(0.1, abs=0.03)
            assert any(t.name == "earmuff-traffic-sampler" for t in threading.enumerate())
        finally:
            engine.stop()
        assert not any(t.name == "earmuff-traffic-sampler" for t in threading.enumerate())
        assert feed.closed


def test_a_monitor_ignores_samples_of_speakers_it_does_not_know(tmp_path):
    with BridgeStore(tmp_path / "bridge.db") as store:
        monitor = TrafficMonitor(["kitchen"], SimulatedTrafficSource(["kitchen"]), store=store,
                                 events=EventLog(store), state_of=lambda _sid: None, sample_thread=False)
        monitor.on_sample(TrafficSample("attic", 1.0, 0.1, 10, 10, 1, 1))
        assert monitor.recent_samples(0) == []
        monitor.stop()
