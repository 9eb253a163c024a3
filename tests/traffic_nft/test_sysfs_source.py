"""The sysfs fallback source: which file is which direction (a fake tree), and on a real interface in the
bridge namespace, where the Pi's RX on the speaker's interface must come out as the speaker's uplink."""

from __future__ import annotations

import json
import logging

import pytest
from netns_lab import SPEAKER_ID, UDP_V4_OVERHEAD, ETHERNET_HEADER, wait_until

from device_bridge.config import SpeakerConfig
from device_bridge.traffic.model import Counters
from device_bridge.traffic.sysfs import SysfsSource


def fake_interface(root, name: str, rx_bytes: int, rx_packets: int, tx_bytes: int, tx_packets: int) -> None:
    stats = root / name / "statistics"
    stats.mkdir(parents=True)
    for key, value in (("rx_bytes", rx_bytes), ("rx_packets", rx_packets), ("tx_bytes", tx_bytes),
                       ("tx_packets", tx_packets)):
        (stats / key).write_text(f"{value}\n")


def test_received_by_the_bridge_is_the_speakers_uplink(tmp_path):
    fake_interface(tmp_path, "eth1", rx_bytes=9000, rx_packets=9, tx_bytes=400, tx_packets=4)
    source = SysfsSource({"kitchen": "eth1"}, root=tmp_path)
    assert source.read() == {"kitchen": Counters(up_bytes=9000, up_packets=9, down_bytes=400, down_packets=4)}
    source.close()


def test_a_missing_interface_is_unknown_and_logged_once(tmp_path, caplog):
    fake_interface(tmp_path, "eth1", 1, 1, 1, 1)
    source = SysfsSource({"kitchen": "eth1", "hall": "usb0"}, root=tmp_path)
    with caplog.at_level(logging.WARNING):
        assert set(source.read()) == {"kitchen"}
        assert set(source.read()) == {"kitchen"}
    assert len([r for r in caplog.records if "usb0" in r.getMessage()]) == 1
    fake_interface(tmp_path, "usb0", 5, 1, 0, 0)
    assert source.read()["hall"].up_bytes == 5


def test_from_speakers_takes_those_with_an_interface(tmp_path):
    class WithInterface:
        id = "kitchen"
        interface = "eth1"

    plain = SpeakerConfig(id="hall", name="Hall", driver="relay", pin=17)
    assert SysfsSource.from_speakers([WithInterface(), plain], root=tmp_path).interfaces == {"kitchen": "eth1"}
    with pytest.raises(ValueError):
        SysfsSource({"kitchen": "../etc"})


READ_IN_NAMESPACE = """
import json
from dataclasses import asdict
from device_bridge.traffic.sysfs import SysfsSource
print(json.dumps(asdict(SysfsSource({"%s": "lan0"}).read()["%s"])))
""" % (SPEAKER_ID, SPEAKER_ID)


@pytest.mark.netns
def test_in_the_bridge_namespace_rx_on_the_speakers_interface_is_uplink(lab):
    def bridge_side() -> Counters:
        return Counters(**json.loads(lab.python(lab.bridge, READ_IN_NAMESPACE)))

    before, speaker_before = bridge_side(), lab.link_stats(lab.speaker, "sp0")
    lab.udp_exchange(count=30, size=1000, reply_size=100)
    # Link-layer counts: the datagrams' IP lengths plus a 14-byte Ethernet header each, and whatever
    # ARP, neighbour discovery and multicast-listener frames crossed the link meanwhile (a few hundred bytes).
    expected_up, expected_down = (30 * (size + UDP_V4_OVERHEAD + ETHERNET_HEADER) for size in (1000, 100))
    wait_until(lambda: bridge_side().down_bytes - before.down_bytes >= expected_down, what="the last reply")
    after, speaker_after = bridge_side(), lab.link_stats(lab.speaker, "sp0")
    up_bytes, down_bytes = after.up_bytes - before.up_bytes, after.down_bytes - before.down_bytes
    assert expected_up <= up_bytes <= expected_up + 1000
    assert expected_down <= down_bytes <= expected_down + 1000
    # The other end of the link agrees: what the speaker transmitted, the bridge received (give or take
    # a chatter frame between the two readings).
    assert abs(up_bytes - (speaker_after["tx_bytes"] - speaker_before["tx_bytes"])) <= 200
    assert abs(down_bytes - (speaker_after["rx_bytes"] - speaker_before["rx_bytes"])) <= 200
