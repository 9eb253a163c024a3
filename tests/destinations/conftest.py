"""Fixtures for the destination tests: the three-namespace lab with a real DNS server and TLS servers (root only),
the bridge's table with destinations, and a tracker observing the speaker-facing interface."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "traffic_nft"))

from destinations_lab import Internet, dnsmasq_unavailable  # noqa: E402
from netns_lab import SPEAKER_ID, SPEAKER_MAC, Lab, netns_unavailable  # noqa: E402

from device_bridge.config import SpeakerConfig  # noqa: E402
from device_bridge.destinations.tracker import DestinationTracker  # noqa: E402
from device_bridge.events import EventLog  # noqa: E402
from device_bridge.store import BridgeStore  # noqa: E402
from device_bridge.traffic.nft import NftTable  # noqa: E402

SPEAKER = SpeakerConfig(id=SPEAKER_ID, name="Kitchen Echo", driver="network", pin=None, mac=SPEAKER_MAC)


@pytest.fixture(scope="module")
def lab():
    reason = netns_unavailable() or dnsmasq_unavailable()
    if reason is not None:
        pytest.skip(reason)
    made = Lab()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def internet(lab, tmp_path_factory):
    """dnsmasq and the TLS servers, once per module."""
    made = Internet(lab, tmp_path_factory.mktemp("internet"))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def table(lab):
    """The bridge's table with destinations (flow sets, block chains), installed; removed afterwards."""
    made = NftTable([SPEAKER], netns=lab.bridge, destinations=True)
    made.install()
    yield made
    made.remove()
    made.close()


@pytest.fixture
def tracker(lab, table, tmp_path):
    """A DestinationTracker on the table, observing lan0 in the bridge namespace; the test calls tick()."""
    store = BridgeStore(tmp_path / "bridge.db")
    events = EventLog(store)
    made = DestinationTracker([SPEAKER], table, store=store, events=events, thread=False, learning_s=0.0,
                              interface="lan0", netns=lab.bridge)
    made.prepare()
    made.start()
    assert made.capture is not None, made.capture_problem
    yield made
    made.stop()
    store.close()
