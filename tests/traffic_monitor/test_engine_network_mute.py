"""The engine's nftables hooks: the table goes in before the pins are restored, `network_mute` drops a
speaker's internet traffic alongside its relay, and the table leaves at shutdown only when no
network-muting speaker is commanded muted. nft runs for real, inside a network namespace (root only)."""

from __future__ import annotations

import subprocess

import pytest

from device_bridge.config import BridgeConfig, SpeakerConfig
from device_bridge.engine import BridgeEngine
from device_bridge.mute.simulated import follow_outputs
from device_bridge.store import BridgeStore
from device_bridge.traffic.nft import NftTable, matchable

CONFIG = BridgeConfig(
    name="Network mute bridge",
    speakers=(
        SpeakerConfig(id="kitchen", name="Kitchen Echo", driver="relay", pin=17, sense_pin=27, settle_ms=0,
                      mac="02:77:00:00:00:02", network_mute=True),
        SpeakerConfig(id="den", name="Den HomePod", driver="network", pin=None, ip="10.77.0.3"),
        SpeakerConfig(id="office", name="Office", driver="relay", pin=22, settle_ms=0),
    ),
)


@pytest.fixture
def engines(tmp_path, pin_factory):
    made: list[BridgeEngine] = []

    def start(table: NftTable, **kwargs) -> BridgeEngine:
        if made:
            made[-1].stop()
            made[-1].store.close()
            pin_factory.reset()
        engine = BridgeEngine(CONFIG, BridgeStore(tmp_path / "bridge.db"), pin_factory=pin_factory,
                              tick_interval_s=3600.0, nft_table=table, **kwargs)
        follow_outputs(engine)  # the relays' sense lines follow their outputs; the network driver senses nft
        made.append(engine)
        engine.start()
        return engine

    yield start
    for engine in made:
        engine.stop()
        engine.store.close()


@pytest.mark.netns
def test_network_mute_follows_the_relay_and_the_table_outlives_a_muted_shutdown(nft_command, engines):
    table = NftTable(matchable(CONFIG.speakers), nft=nft_command)
    engine = engines(table)
    # Never set: muted (fail-closed), on the relay and on the network.
    assert table.installed()
    assert (table.is_muted("kitchen"), table.is_muted("den")) == (True, True)
    assert engine.state("den").confirmation == "confirmed"

    engine.set_mute("kitchen", False)
    assert (table.is_muted("kitchen"), table.is_muted("den")) == (False, True)
    engine.set_mute("office", False)  # no network mute: nothing changes in the table
    engine.set_mute("kitchen", True)
    assert table.is_muted("kitchen")

    # Shutdown while muted: the drop rules stay, so the speakers stay off the internet.
    engine = engines(table)
    assert table.installed() and table.is_muted("kitchen") and table.is_muted("den")
    engine.set_mute("kitchen", False)
    engine.set_mute("den", False)
    assert not table.is_muted("kitchen") and not table.is_muted("den")
    engine.stop()
    assert not table.installed()  # nobody is network-muted: the table is gone


@pytest.mark.netns
def test_a_table_wiped_by_a_firewall_reload_is_put_back_with_its_drop_rules(nft_command, engines):
    table = NftTable(matchable(CONFIG.speakers), nft=nft_command)
    engine = engines(table, traffic_source=table, traffic_options={"sample_thread": False})
    engine.set_mute("kitchen", False)
    engine.monitor.sampler.tick()
    subprocess.run([*nft_command, "delete", "table", "inet", "earmuff"], check=True, timeout=10)
    assert not table.installed()
    engine.monitor.sampler.tick()  # the reading fails: the engine installs the table again
    assert table.installed()
    assert (table.is_muted("kitchen"), table.is_muted("den")) == (False, True)
    # Sampling goes on (the counters started again from zero: a reset, not a negative sample).
    samples = engine.monitor.sampler.tick()
    assert {s.speaker_id for s in samples} == {"kitchen", "den"}
    assert all(s.up_bytes >= 0 and s.down_bytes >= 0 for s in samples)


def test_a_network_mute_that_fails_raises_an_alarm(engines):
    table = NftTable(matchable(CONFIG.speakers), nft=("false",))  # `nft` that always fails
    engine = engines(table)
    alarms = [e for e in engine.events.since(0) if e.type == "alarm"]
    assert any("could not set up its nftables table" in a.data["message"] for a in alarms)
    assert any(a.speaker_id == "kitchen" and "could not drop its internet traffic" in a.data["message"]
               and a.data["level"] == "error" for a in alarms)
    assert engine.state("den").confirmation == "mismatch"
    # The hardware mute still did its part.
    assert engine.state("kitchen").confirmation == "confirmed"


def test_a_speaker_that_mutes_on_the_network_needs_the_table(tmp_path, pin_factory):
    with BridgeStore(tmp_path / "bridge.db") as store:
        with pytest.raises(ValueError, match="needs the bridge's nftables table"):
            BridgeEngine(CONFIG, store, pin_factory=pin_factory)
