"""The destination tracker on the simulated speakers (the engine, monitor and detector are the real ones, driven by a
tick clock): per-activation destinations, the new-organisation events, blocks with drop counts across restarts,
and retention."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "traffic_monitor"))

from monitor_helpers import Rig, TickClock  # noqa: E402

from device_bridge.destinations.simulated import EXAMPLE_UPLOAD, SimulatedDestinations  # noqa: E402
from device_bridge.destinations.tracker import DestinationTracker  # noqa: E402

VOICE = "avs-alexa-4-na.amazon.com"
METRICS = "device-metrics-us.amazon.com"


class Home:
    """A Rig (engine + simulated traffic + monitor) and a DestinationTracker on it, both driven by the test."""

    def __init__(self, tmp_path: Path, pin_factory, clock: TickClock, **tracker_options) -> None:
        self.rig = Rig(tmp_path / "bridge.db", pin_factory, clock)
        self.clock = clock
        self.tracker = self.make_tracker(**tracker_options)

    def make_tracker(self, **options) -> DestinationTracker:
        options.setdefault("learning_s", 0.0)  # news from the first second (the learning hour has its own test)
        backend = SimulatedDestinations(self.rig.source, self.rig.config.speakers, clock=self.clock)
        tracker = DestinationTracker(self.rig.config.speakers, backend, store=self.rig.store,
                                     events=self.rig.engine.events, clock=self.clock, thread=False, **options)
        tracker.prepare()
        tracker.start()
        return tracker

    def run(self, seconds: int) -> None:
        """`seconds` whole seconds: the sampler at 10 Hz, the tracker once a second."""
        for _ in range(seconds):
            self.rig.run(1.0)
            self.tracker.tick()

    def new_orgs(self) -> list[tuple[str, str | None, str]]:
        return [(e.speaker_id, e.data["organisation"], e.data["domain"]) for e in self.rig.events("new_destination_org")]

    def close(self) -> None:
        self.tracker.stop()
        self.rig.close()


@pytest.fixture
def home(tmp_path, pin_factory, clock):
    made = Home(tmp_path, pin_factory, clock)
    yield made
    made.close()


@pytest.fixture
def clock():
    return TickClock()


def test_each_activation_lists_the_destinations_that_received_its_bytes(home):
    home.run(5)
    home.rig.source.inject_burst("kitchen", at=home.clock() + 20)
    home.run(60)
    [ended] = home.rig.events("activation_ended")
    activation = ended.data
    found = home.tracker.activation_destinations(activation["id"])
    assert found is not None and found[0]["name"] == VOICE and found[0]["organisation"] == "Amazon"
    # The bytes are the same bytes: the destinations of the activation add up to its upload.
    total = sum(d["bytes_up"] for d in found)
    assert total == pytest.approx(activation["bytes_up"], rel=0.02)
    assert found[0]["bytes_up"] > 0.95 * total
    assert home.tracker.activation_destinations(activation["id"] + 1000) is None


def test_a_new_organisation_is_told_once_per_speaker_even_across_restarts(home):
    home.run(40)
    assert sorted(home.new_orgs()) == [
        ("bedroom", "Google", "google.com"), ("kitchen", "Amazon", "amazon.com"),
        ("kitchen", "Amazon Web Services", "cloudfront.net")]
    home.tracker.stop()
    home.tracker = home.make_tracker()
    home.rig.source.inject_burst("kitchen", at=home.clock() + 1, shape=[20_000] * 8, kind="slow")
    home.run(20)
    news = home.new_orgs()
    assert len(news) == 4 and news[-1] == ("kitchen", None, "example.net")  # someone new, unknown to the table
    unknown = [e.data for e in home.rig.events("new_destination_org")][-1]
    assert unknown["name"] == EXAMPLE_UPLOAD and unknown["known"] is False


def test_the_first_hour_of_a_speaker_is_its_baseline_not_news(tmp_path, pin_factory, clock):
    home = Home(tmp_path, pin_factory, clock, learning_s=600.0)
    try:
        home.run(40)
        assert home.new_orgs() == []  # Amazon, Google ...: what these speakers always talk to
        assert {d["organisation"] for d in home.tracker.destinations("kitchen")} >= {"Amazon"}
        home.run(600)
        home.rig.source.inject_burst("kitchen", at=home.clock() + 1, shape=[20_000] * 8, kind="slow")
        home.run(20)
        assert home.new_orgs() == [("kitchen", None, "example.net")]  # after the baseline: news
    finally:
        home.close()


def test_a_block_drops_its_names_keeps_counting_across_a_restart_and_can_be_undone(home):
    home.run(10)
    block = home.tracker.add_block("kitchen", "preset", "amazon-device-metrics")
    assert block["title"] == "Amazon device metrics" and block["addresses"]
    before = {d["name"]: d["bytes_up"] for d in home.tracker.destinations("kitchen")}
    home.run(30)
    after = {d["name"]: d for d in home.tracker.destinations("kitchen")}
    assert after[METRICS]["bytes_up"] == before[METRICS]  # nothing more got through
    assert after["api.amazonalexa.com"]["bytes_up"] > before["api.amazonalexa.com"]  # the rest did
    assert after[METRICS]["blocked_by"] == [block["id"]]
    [shown] = home.tracker.blocks("kitchen")
    assert shown["dropped_packets"] > 0 and shown["dropped_bytes"] > 0
    assert home.tracker.blocks("bedroom") == []

    home.tracker.stop()  # a bridge restart: the block comes back with its counts
    home.tracker = home.make_tracker()
    home.run(10)
    [again] = home.tracker.blocks("kitchen")
    assert again["id"] == block["id"] and again["dropped_bytes"] > shown["dropped_bytes"]
    kinds = [e.data["action"] for e in home.rig.events("blocks_changed")]
    assert kinds == ["added"]

    assert home.tracker.remove_block("kitchen", block["id"])
    assert not home.tracker.remove_block("kitchen", block["id"])
    home.run(10)
    assert {d["name"]: d["bytes_up"] for d in home.tracker.destinations("kitchen")}[METRICS] > before[METRICS]
    assert home.tracker.blocks("kitchen") == []


def test_blocks_are_checked_and_not_doubled(home):
    with pytest.raises(ValueError, match="not an organisation"):
        home.tracker.add_block("kitchen", "organisation", "Acme")
    with pytest.raises(KeyError):
        home.tracker.add_block("garage", "name", "example.com")
    home.tracker.add_block("kitchen", "name", "example.com")
    with pytest.raises(ValueError, match="already blocks"):
        home.tracker.add_block("kitchen", "name", "EXAMPLE.com")


def test_history_per_organisation_and_ranges(home):
    start = home.clock()
    home.run(130)
    history = home.tracker.history("kitchen", start, home.clock())
    assert history["step"] == 60 and history["t0"] == start - start % 60
    labels = [s["label"] for s in history["series"]]
    assert labels[0] == "Amazon" and "Amazon Web Services" in labels
    totals = {d["name"]: d["bytes_up"] for d in home.tracker.destinations("kitchen")}
    amazon = sum(v for k, v in totals.items() if "cloudfront" not in k)
    assert sum(history["series"][0]["up"]) == amazon
    recent = home.tracker.destinations("kitchen", home.clock() - 60, home.clock())
    assert 0 < sum(d["bytes_up"] for d in recent) < sum(totals.values())
    old = home.tracker.history("kitchen", start - 30 * 86400, home.clock())
    assert old["step"] == 3600 and sum(sum(s["up"]) for s in old["series"]) == sum(totals.values())
    with pytest.raises(ValueError, match="shorter range"):
        home.tracker.history("kitchen", start - 400 * 86400, home.clock())


def test_what_is_past_retention_is_forgotten(tmp_path, pin_factory, clock):
    home = Home(tmp_path, pin_factory, clock, retention_days=1, history_hours=1)
    try:
        home.rig.source.inject_burst("kitchen", at=clock() + 2)
        home.run(40)
        names = {d["name"] for d in home.tracker.destinations("kitchen")}
        assert VOICE in names
        clock.advance(2 * 86400)
        home.run(2)
        names = {d["name"] for d in home.tracker.destinations("kitchen")}
        assert VOICE not in names and METRICS in names  # the idle names are still in use
        minute_bins = home.rig.store.query("SELECT COUNT(*) FROM destination_traffic WHERE step = 60 AND start < ?",
                                           (clock() - 3600,))
        assert minute_bins == [(0,)]
    finally:
        home.close()
