"""The room microphone inside a real bridge: the no_speech_nearby flag, mic records on the sample stream
(live and replayed), the level/speech history of GET /v1/speakers/{id}/traffic, and its persistence."""

from __future__ import annotations

import pytest
from mic_bridge_helpers import IDLE_S

from app.audio import MicState


def is_mic(line: dict) -> bool:
    return line["type"] == "mic"


def test_an_upload_nobody_asked_for_is_flagged_and_a_request_is_not(bridge):
    bridge.run(IDLE_S)
    bridge.voice_request("kitchen")
    bridge.run(10.0)
    bridge.misactivation("kitchen")
    assert bridge.flags() == [("kitchen", []), ("kitchen", ["no_speech_nearby"])]


def test_a_speaker_the_microphone_is_not_near_is_never_flagged(bridge):
    bridge.run(IDLE_S)
    bridge.misactivation("bedroom")
    assert bridge.flags() == [("bedroom", [])]
    assert bridge.microphone.speech_of("bedroom", bridge.clock()) is None


def test_the_started_event_already_carries_the_flag(bridge):
    bridge.run(IDLE_S)
    stream = bridge.stream()
    bridge.misactivation("kitchen")
    started = stream.wait_for(lambda line: line["type"] == "activation_started")
    assert started["data"]["flags"] == ["no_speech_nearby"]


def test_the_sample_stream_carries_the_microphone_at_ten_hertz(bridge):
    bridge.run(5.0)
    plain = bridge.stream()
    sampled = bridge.stream(samples=1)
    bridge.run(1.0)
    lines = sampled.collect(is_mic, 10)
    assert [set(line) for line in lines] == [{"type", "mic_id", "speaker_ids", "time", "level", "speech"}] * 10
    assert {line["mic_id"] for line in lines} == {"room"}
    assert all(line["speaker_ids"] == ["kitchen"] for line in lines)
    times = [line["time"] for line in lines]
    assert times == pytest.approx([times[0] + i / 10 for i in range(10)])
    assert all(-70 < line["level"] < -20 and line["speech"] is False for line in lines)
    # Speech shows up in them while someone talks to the speaker.
    at = bridge.clock() + 2.0
    bridge.source.inject_burst("kitchen", at=at)
    bridge.run(4.0)
    spoken = sampled.collect(lambda line: is_mic(line) and line["time"] > at - 1, 20)
    assert sum(line["speech"] for line in spoken) >= 10
    assert max(line["level"] for line in spoken) > -36
    # A stream without samples=1 gets none of them: up to a mute change, it had nothing else.
    bridge.service.engine.set_mute("bedroom", True)
    seen = []
    plain.wait_for(lambda line: seen.append(line["type"]) or line["type"] == "mute_changed")
    assert set(seen) == {"activation_started", "mute_changed"}


def test_a_replay_includes_the_microphone_without_gaps_or_repeats(bridge):
    bridge.run(30.0)
    since = bridge.clock() - 10.0
    stream = bridge.stream(samples=1, samples_since=since)
    mic = stream.collect(is_mic, 100)
    bridge.run(2.0)
    mic += stream.collect(is_mic, 20)
    times = [line["time"] for line in mic]
    assert times[0] == pytest.approx(since + 0.1)
    assert times == pytest.approx([times[0] + i / 10 for i in range(120)])


def test_traffic_history_has_level_and_speech_per_second_where_the_microphone_is_near(bridge):
    bridge.run(IDLE_S)
    at = bridge.voice_request("kitchen")
    api = bridge.client
    start = int(at) - 10
    kitchen = api.get("/v1/speakers/kitchen/traffic", params={"from": start, "to": start + 25}).json()
    assert len(kitchen["level"]) == len(kitchen["speech"]) == len(kitchen["up"]) == 25
    assert None not in kitchen["level"] and None not in kitchen["speech"]
    speech_seconds = [start + i for i, spoke in enumerate(kitchen["speech"]) if spoke]
    assert speech_seconds and at - 2 <= speech_seconds[0] <= at and at + 1 <= speech_seconds[-1] <= at + 3
    assert not any(kitchen["speech"][:5])  # long before anyone spoke
    assert max(kitchen["level"]) > -36 and min(kitchen["level"]) < -50
    # The bedroom has no microphone near it: null throughout, while its traffic is there.
    bedroom = api.get("/v1/speakers/bedroom/traffic", params={"from": start, "to": start + 25}).json()
    assert bedroom["level"] == bedroom["speech"] == [None] * 25 and None not in bedroom["up"]
    # Seconds before the bridge ran are null for the kitchen too.
    early = api.get("/v1/speakers/kitchen/traffic", params={"from": start - 3600, "to": start - 3590}).json()
    assert early["level"] == early["speech"] == [None] * 10


def test_the_microphone_history_outlives_a_restart(make_bridge, clock):
    first = make_bridge()
    first.run(20.0)
    assert first.microphone.status.state is MicState.RUNNING
    start = int(clock()) - 15
    before = first.client.get("/v1/speakers/kitchen/traffic", params={"from": start, "to": start + 10}).json()
    first.close()
    assert first.microphone.status.state is MicState.OFF
    second = make_bridge()
    after = second.client.get("/v1/speakers/kitchen/traffic", params={"from": start, "to": start + 10}).json()
    assert after["level"] == before["level"] and None not in after["level"]
    assert after["speech"] == before["speech"]


def test_the_microphone_history_is_pruned_with_the_traffic_history(bridge, clock):
    bridge.run(20.0)
    store = bridge.service.store
    start = int(clock()) - 15
    bridge.microphone.flush_history()
    assert len(store.mic_history("room", start, start + 10)) == 10
    # A day and a bit later (the clock jumps; the simulated room catches up on the last ten minutes only).
    clock.advance(25 * 3600)
    bridge.run(11.0)
    bridge.microphone.flush_history()
    assert store.mic_history("room", start, start + 10) == []
    assert len(store.mic_history("room", int(clock()) - 9, int(clock()) - 1)) == 8
