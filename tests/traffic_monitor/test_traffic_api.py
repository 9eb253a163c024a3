"""Activations, traffic history and 10 Hz samples over the real HTTPS API of a bridge measuring simulated speakers."""

from __future__ import annotations

import dataclasses

import pytest
from gpiozero import Device
from monitor_helpers import CONFIG, Stream

from bridge_helpers import Client, pair, wait_until  # noqa: I001 - on sys.path through monitor_helpers
from device_bridge.config import simulated_config
from device_bridge.service import BridgeService
from device_bridge.traffic.simulated import SimulatedTrafficSource

IDLE_S = 60.0


def is_type(type_: str, speaker: str | None = None):
    return lambda line: line["type"] == type_ and (speaker is None or line.get("speaker_id") == speaker)


def activation(served, speaker: str = "kitchen", *, mute_fails: bool = False) -> float:
    """A voice request from `speaker` on a second's boundary; returns its start."""
    if mute_fails:
        served.source.set_mute_fails(speaker)
    at = served.clock()
    served.source.inject_burst(speaker, at=at)
    served.run(20.0)
    return at


def test_activations_by_time_range_speaker_and_flag(served):
    served.run(IDLE_S)
    first = activation(served, "kitchen")
    served.run(30.0)
    served.service.engine.set_mute("bedroom", True)
    second = activation(served, "bedroom", mute_fails=True)
    api = served.client

    response = api.get("/v1/activations")
    assert response.status_code == 200
    found = response.json()
    assert [(a["speaker_id"], a["flags"]) for a in found] == [("kitchen", []), ("bedroom", ["while_muted"])]
    assert set(found[0]) == {"id", "speaker_id", "start", "end", "bytes_up", "peak_rate", "confidence", "flags"}
    assert abs(found[0]["start"] - first) <= 1.0 and abs(found[1]["start"] - second) <= 1.0
    assert found[0]["bytes_up"] > 200_000 and 0.9 <= found[0]["confidence"] <= 1.0

    def ids(**params) -> list[int]:
        response = api.get("/v1/activations", params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()]

    kitchen, bedroom = found[0]["id"], found[1]["id"]
    assert ids(**{"from": second - 1}) == [bedroom]
    assert ids(to=second - 1) == [kitchen]
    assert ids(**{"from": first + 2, "to": first + 3}) == [kitchen]  # overlapping counts
    assert ids(**{"from": second + 60}) == []
    assert ids(speaker="bedroom") == [bedroom]
    assert ids(flagged="true") == [bedroom]
    assert ids(flagged="false") == [kitchen]
    assert ids(limit=1) == [bedroom]  # the newest

    assert api.get("/v1/activations", params={"from": 10, "to": 5}).status_code == 400
    assert api.get("/v1/activations", params={"speaker": "attic"}).status_code == 404
    assert api.get("/v1/activations", params={"from": "yesterday"}).status_code == 422
    assert api.get("/v1/activations", params={"from": "nan"}).status_code == 422
    assert served.connect().get("/v1/activations").status_code == 401


def test_traffic_history_in_one_second_steps(served):
    served.run(10.0)
    at = activation(served, "kitchen")
    api = served.client
    response = api.get("/v1/speakers/kitchen/traffic", params={"from": at - 5, "to": at + 10})
    assert response.status_code == 200
    history = response.json()
    assert set(history) == {"speaker_id", "t0", "step", "up", "down", "level", "speech"}
    assert (history["speaker_id"], history["t0"], history["step"]) == ("kitchen", at - 5, 1.0)
    assert len(history["up"]) == len(history["down"]) == 15
    assert history["level"] == history["speech"] == [None] * 15  # this bridge has no microphone
    assert history["up"][5] == pytest.approx(76_000, rel=0.1)
    assert [round(v / 1000) for v in history["up"][6:9]] == pytest.approx([39, 36, 35], abs=4)
    assert all(v < 2_000 for v in history["up"][:5])

    # The default is the last hour up to now; seconds not measured are null.
    recent = api.get("/v1/speakers/kitchen/traffic").json()
    assert len(recent["up"]) == 3600 and recent["t0"] == served.clock() - 3600
    assert recent["up"][0] is None and recent["up"][-10] is not None

    assert api.get("/v1/speakers/attic/traffic").status_code == 404
    assert api.get("/v1/speakers/kitchen/traffic", params={"from": at, "to": at - 1}).status_code == 400
    assert api.get("/v1/speakers/kitchen/traffic", params={"from": 0, "to": at}).status_code == 400
    assert served.connect().get("/v1/speakers/kitchen/traffic").status_code == 401


def test_the_stream_sends_samples_only_when_asked(served):
    plain = served.stream()
    sampled = served.stream(samples=1)
    served.run(1.0)
    samples = sampled.collect(is_type("sample", "kitchen"), 10)
    assert [s["time"] for s in samples] == [pytest.approx(samples[0]["time"] + 0.1 * i) for i in range(10)]
    assert set(samples[0]) == {"type", "speaker_id", "time", "up", "down", "muted"}
    assert samples[0]["muted"] is False and samples[0]["up"] >= 0
    assert "seq" not in samples[0]
    served.client.put("/v1/speakers/kitchen/mute", json={"muted": True})
    served.run(0.2)
    muted = sampled.wait_for(lambda line: line["type"] == "sample" and line["speaker_id"] == "kitchen"
                             and line["muted"])
    assert muted["muted"] is True
    # The plain stream got the mute change and nothing else.
    change = plain.wait_for(lambda line: True)
    assert change["type"] == "mute_changed"
    assert plain.lines.empty()


def test_activation_events_arrive_live_and_resume_with_since(served):
    served.run(IDLE_S)
    stream = served.stream(samples=1)
    at = activation(served, "kitchen")
    started = stream.wait_for(is_type("activation_started", "kitchen"))
    ended = stream.wait_for(is_type("activation_ended", "kitchen"))
    assert abs(started["data"]["start"] - at) <= 1.0 and started["seq"] < ended["seq"]
    assert ended["data"]["flags"] == [] and ended["data"]["bytes_up"] > 200_000
    stream.close()

    # Missed while away: an activation while muted, with its alarm; resuming with since= gets all three.
    served.service.engine.set_mute("kitchen", True)
    activation(served, "kitchen", mute_fails=True)
    resumed = served.stream(since=ended["seq"])
    missed = [resumed.wait_for(lambda line: line["type"] != "heartbeat") for _ in range(4)]
    assert [m["type"] for m in missed] == ["mute_changed", "activation_started", "alarm", "activation_ended"]
    assert [m["seq"] for m in missed] == list(range(ended["seq"] + 1, ended["seq"] + 5))
    assert missed[1]["data"]["flags"] == ["while_muted"] and missed[2]["data"]["level"] == "critical"


def test_samples_since_replays_the_ring(served):
    served.run(5.0)
    since = served.clock() - 2.0
    stream = served.stream(samples=1, samples_since=since)
    replayed = stream.collect(is_type("sample", "bedroom"), 20)
    assert [s["time"] for s in replayed] == [pytest.approx(since + 0.1 * i) for i in range(1, 21)]
    served.run(0.3)
    live = stream.collect(is_type("sample", "bedroom"), 3)
    assert [s["time"] for s in live] == [pytest.approx(since + 2.0 + 0.1 * i) for i in range(1, 4)]
    assert served.stream(samples_since=since).status == 400


def test_a_bridge_without_traffic_has_empty_answers(data_dir, pin_factory, clock):
    config = dataclasses.replace(CONFIG, traffic_source="none", name="No traffic")
    service = BridgeService(config, data_dir, port=0, clock=clock, advertise=False, simulate_speakers=True,
                            tick_interval_s=3600.0)
    service.start()
    try:
        assert service.engine.monitor is None
        with_token = Client(service.url, service.fingerprint, pair(Client(service.url, service.fingerprint),
                                                                   service)["token"])
        try:
            assert with_token.get("/v1/activations").json() == []
            history = with_token.get("/v1/speakers/kitchen/traffic", params={"from": 0, "to": 10}).json()
            assert history["up"] == [None] * 10
            stream = Stream(with_token, samples=1)
            assert stream.status == 200
            stream.close()
        finally:
            with_token.close()
    finally:
        service.stop()


def test_the_simulated_demo_bridge_measures_simulated_speakers(data_dir, pin_factory):
    config = dataclasses.replace(simulated_config("UTC"), listen="127.0.0.1")
    assert config.traffic_source == "simulated"
    assert Device.pin_factory is pin_factory
    service = BridgeService(config, data_dir, port=0, advertise=False, simulate_speakers=True)
    service.start()
    try:
        monitor = service.engine.monitor
        assert isinstance(monitor.source, SimulatedTrafficSource)
        assert monitor.speaker_ids == ("kitchen", "bedroom", "living-room")
        feed = monitor.subscribe_samples()
        got: list[dict] = []
        wait_until(lambda: got.extend(r for r in feed.drain() if r["type"] == "sample") or len(got) >= 6)
        # Fail-closed start: every demo speaker is muted, and the samples say so.
        assert all(sample["muted"] for sample in got)
        feed.close()
    finally:
        service.stop()
