"""The destination routes of /v1 on a real HTTPS bridge measuring simulated speakers (tick clock), the event stream's
new_destination_org, a bridge that does not track destinations, and `--simulate`'s synthetic destinations."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "traffic_monitor"))

from monitor_helpers import CONFIG, Stream, TickClock  # noqa: E402

from bridge_helpers import Client, pair  # noqa: E402, I001 - on sys.path through monitor_helpers
from device_bridge.config import simulated_config  # noqa: E402
from device_bridge.service import BridgeService  # noqa: E402
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource  # noqa: E402

VOICE = "avs-alexa-4-na.amazon.com"


class Served:
    """A BridgeService on 127.0.0.1 with simulated speakers and destinations on the tick clock, and a paired client."""

    def __init__(self, data_dir: Path, clock: TickClock, *, destinations: bool = True) -> None:
        self.clock = clock
        self.source = SimulatedTrafficSource(CONFIG.speakers, clock=clock, seed=2, behaviour=QUIET_BEHAVIOUR)
        self.service = BridgeService(
            CONFIG, data_dir, port=0, clock=clock, advertise=False, simulate_speakers=True, tick_interval_s=3600.0,
            traffic_source=self.source, traffic_options={"monotonic": clock, "sample_thread": False},
            destination_options={"thread": False, "learning_s": 0.0} if destinations else None,
        )
        self.service.start()
        self.clients: list[Client] = []
        self.streams: list[Stream] = []
        self.client = self.connect(pair(self.connect(), self.service)["token"])
        for speaker in CONFIG.speakers:
            self.service.engine.set_mute(speaker.id, False, reason="test", requested_by="test")
        self.service.engine.monitor.sampler.tick()

    def connect(self, token: str | None = None) -> Client:
        client = Client(self.service.url, self.service.fingerprint, token)
        self.clients.append(client)
        return client

    def run(self, seconds: int) -> None:
        for _ in range(seconds):
            for _ in range(10):
                self.clock.advance(0.1)
                self.service.engine.monitor.sampler.tick()
            if self.service.destinations is not None:
                self.service.destinations.tick()

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        self.service.stop()
        for client in self.clients:
            client.close()


@pytest.fixture
def served(data_dir, pin_factory):
    made = Served(data_dir, TickClock())
    yield made
    made.close()


def test_destinations_history_and_presets(served):
    served.run(70)
    api = served.client
    rows = api.get("/v1/speakers/kitchen/destinations").json()
    by_name = {r["name"]: r for r in rows}
    assert {"device-metrics-us.amazon.com", "api.amazonalexa.com", "d3p8zr0ffa9t17.cloudfront.net"} <= set(by_name)
    assert by_name["api.amazonalexa.com"]["organisation"] == "Amazon"
    assert by_name["d3p8zr0ffa9t17.cloudfront.net"]["hosting"] is True
    assert all(r["bytes_up"] > 0 and r["first_seen"] <= r["last_seen"] and r["addresses"] for r in rows)
    # A range counts whole minutes: the last 5 s give the last minute's bin, not the 70 s before.
    recent = api.get("/v1/speakers/kitchen/destinations",
                     params={"from": served.clock() - 5, "to": served.clock()}).json()
    assert 0 < sum(r["bytes_up"] for r in recent) < sum(r["bytes_up"] for r in rows)
    history = api.get("/v1/speakers/bedroom/destinations/history",
                      params={"from": served.clock() - 3600, "to": served.clock()}).json()
    assert history["step"] == 60 and history["series"][0]["label"] == "Google"
    presets = api.get("/v1/destinations/presets").json()
    assert [p["id"] for p in presets] == ["amazon-device-metrics", "google-analytics"]
    assert all(p["sources"] for p in presets)
    for path, status in [("/v1/speakers/garage/destinations", 404),
                         ("/v1/speakers/kitchen/destinations?from=10&to=5", 400),
                         ("/v1/speakers/kitchen/destinations/history?from=0&to=99999999", 400)]:
        assert api.get(path).status_code == status, path


def test_blocks_over_the_api(served):
    served.run(5)
    api = served.client
    made = api.post("/v1/speakers/kitchen/blocks", json={"kind": "preset", "value": "amazon-device-metrics"})
    assert made.status_code == 201, made.text
    block = made.json()
    assert block["title"] == "Amazon device metrics" and block["addresses"]
    assert api.post("/v1/speakers/kitchen/blocks", json={"kind": "preset", "value": "amazon-device-metrics"}
                    ).status_code == 409
    bad = api.post("/v1/speakers/kitchen/blocks", json={"kind": "organisation", "value": "Acme"})
    assert bad.status_code == 400 and "not an organisation" in bad.json()["detail"]
    assert api.post("/v1/speakers/kitchen/blocks", json={"kind": "address", "value": "x"}).status_code == 422
    served.run(20)
    [listed] = api.get("/v1/speakers/kitchen/blocks").json()
    assert listed["id"] == block["id"] and listed["dropped_packets"] > 0
    assert api.get("/v1/speakers/bedroom/blocks").json() == []
    assert api.delete(f"/v1/speakers/bedroom/blocks/{block['id']}").status_code == 404  # not bedroom's
    assert api.delete(f"/v1/speakers/kitchen/blocks/{block['id']}").status_code == 204
    assert api.delete(f"/v1/speakers/kitchen/blocks/{block['id']}").status_code == 404
    assert api.get("/v1/speakers/kitchen/blocks").json() == []


def test_an_activation_lists_its_destinations(served):
    served.source.inject_burst("kitchen", at=served.clock() + 5)
    served.run(60)
    [activation] = served.client.get("/v1/activations").json()
    found = served.client.get(f"/v1/activations/{activation['id']}/destinations").json()
    assert found["complete"] is True and found["destinations"][0]["name"] == VOICE
    assert found["destinations"][0]["bytes_up"] > 0.9 * activation["bytes_up"]
    assert served.client.get("/v1/activations/999/destinations").status_code == 404


def test_a_new_organisation_goes_out_on_the_event_stream(served):
    stream = Stream(served.client)
    served.streams.append(stream)
    served.run(3)
    line = stream.wait_for(lambda e: e.get("type") == "new_destination_org" and e["speaker_id"] == "kitchen")
    assert line["data"]["organisation"] == "Amazon" and line["data"]["known"] is True


def test_a_bridge_without_destinations_says_how_to_get_them(data_dir, pin_factory):
    served = Served(data_dir, TickClock(), destinations=False)
    try:
        for path in ("/v1/speakers/kitchen/destinations", "/v1/speakers/kitchen/blocks", "/v1/destinations/presets"):
            response = served.client.get(path)
            assert response.status_code == 404 and "[destinations]" in response.json()["detail"], path
    finally:
        served.close()


def test_simulate_makes_synthetic_destinations(data_dir, pin_factory):
    service = BridgeService(simulated_config("UTC"), data_dir, port=0, advertise=False, simulate_speakers=True)
    service.start()
    client = Client(service.url, service.fingerprint, None)
    try:
        api = Client(service.url, service.fingerprint, pair(client, service)["token"])
        try:
            for speaker in ("kitchen", "bedroom", "living-room"):  # a muted "power" speaker is off: no traffic
                assert api.put(f"/v1/speakers/{speaker}/mute", json={"muted": False}).status_code == 200
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                rows = {speaker: api.get(f"/v1/speakers/{speaker}/destinations").json()
                        for speaker in ("kitchen", "bedroom", "living-room")}
                if all(rows.values()):
                    break
                time.sleep(0.2)
            organisations = {speaker: {r["organisation"] for r in found} for speaker, found in rows.items()}
            assert "Amazon" in organisations["kitchen"] and "Google" in organisations["bedroom"]
            assert "Apple" in organisations["living-room"]
        finally:
            api.close()
    finally:
        client.close()
        service.stop()
