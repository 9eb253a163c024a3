"""Network mute in namespaces (root only): the drop rule stops the speaker's packets at the bridge, the
internet namespace receives nothing while the drop counter rises, the LAN still works, and unmuting
restores the internet. Also the `network` mute driver on top of it."""

from __future__ import annotations

import errno
import socket

import pytest
from netns_lab import (
    BRIDGE_LAN_IP, INTERNET_IP, SPEAKER_ID, UDP_V4_OVERHEAD, make_table, run, wait_until,
)

from device_bridge.config import SpeakerConfig
from device_bridge.mute.network import SENSE_REUSE_S, NetworkDriver
from device_bridge.mute.state import CONFIRMED, MISMATCH

pytestmark = pytest.mark.netns


def test_mute_drops_internet_traffic_keeps_the_lan_and_unmute_restores(lab, table):
    seen_before, up_before = lab.tally(), table.read()[SPEAKER_ID]
    handle = table.mute(SPEAKER_ID)
    assert table.mute(SPEAKER_ID) == handle  # idempotent: still one rule
    assert table.is_muted(SPEAKER_ID)

    sender = lab.open_socket(lab.speaker)
    try:
        for _ in range(20):
            sender.sendto(b"m" * 500, (INTERNET_IP, 9))
    finally:
        sender.close()
    tcp = lab.open_socket(lab.speaker, socket.AF_INET, socket.SOCK_STREAM)
    try:
        tcp.setblocking(False)
        assert tcp.connect_ex((INTERNET_IP, 443)) == errno.EINPROGRESS
        wait_until(lambda: table.dropped(SPEAKER_ID).packets >= 21, what="the drop counter to count 20 datagrams and a SYN")
    finally:
        tcp.close()
    dropped = table.dropped(SPEAKER_ID)
    assert dropped.bytes >= 20 * (500 + UDP_V4_OVERHEAD)
    assert lab.tally() == seen_before  # the internet received nothing at all
    assert table.read()[SPEAKER_ID].up_bytes == up_before.up_bytes  # dropped packets are not uplink

    # The LAN still works while muted: the bridge itself receives the speaker's datagram.
    receiver = lab.open_socket(lab.bridge)
    sender = lab.open_socket(lab.speaker)
    try:
        receiver.bind((BRIDGE_LAN_IP, 0))
        receiver.settimeout(5)
        sender.sendto(b"lan", receiver.getsockname())
        assert receiver.recv(100) == b"lan"
    finally:
        receiver.close()
        sender.close()

    assert table.unmute(SPEAKER_ID) is True
    assert table.unmute(SPEAKER_ID) is False
    assert not table.is_muted(SPEAKER_ID)
    lab.udp_exchange(count=5, size=300, reply_size=100)  # answered: the internet is reachable again
    assert (lab.tally()["rx4"] - seen_before["rx4"]).packets == 5
    assert table.dropped(SPEAKER_ID) == dropped


def test_reinstalling_keeps_the_mute_and_resets_the_counters(lab, table):
    lab.udp_exchange(count=3, size=200, reply_size=50)
    table.mute(SPEAKER_ID)
    assert table.read()[SPEAKER_ID].up_packets == 3

    table.install()  # what a bridge restart does

    assert table.is_muted(SPEAKER_ID)
    assert table.read()[SPEAKER_ID].up_packets == 0
    listing = run(*lab.nft(), "list", "chain", "inet", table.name, "uplink_kitchen_echo")
    assert listing.count(" drop\n") == 1


def test_install_can_mute_from_the_start_and_remove_is_idempotent(lab):
    table = make_table(lab)
    assert not table.installed()
    table.install(muted=[SPEAKER_ID])
    try:
        assert table.is_muted(SPEAKER_ID)
        assert table.ensure_installed() is False
        table.remove()
        table.remove()
        assert not table.installed()
        assert not table.is_muted(SPEAKER_ID)  # no table: nothing is blocked
        assert table.unmute(SPEAKER_ID) is False
    finally:
        table.remove()
        table.close()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def network_speaker() -> SpeakerConfig:
    return SpeakerConfig(id=SPEAKER_ID, name="Kitchen Echo", driver="network", pin=None)


def test_network_driver_mutes_senses_the_kernel_and_never_unmutes_by_being_created(lab, table):
    table.mute(SPEAKER_ID)  # left by the previous run of the bridge
    clock = FakeMonotonic()
    driver = NetworkDriver(network_speaker(), table=table, monotonic=clock)
    heard: list[bool] = []
    driver.add_output_listener(heard.append)
    try:
        assert table.is_muted(SPEAKER_ID)  # creating the driver changed nothing
        assert driver.has_sense and driver.sensed_muted() is True

        result = driver.apply(False)
        assert (result.status, result.sensed_muted) == (CONFIRMED, False)
        assert not table.is_muted(SPEAKER_ID)
        result = driver.apply(True)
        assert (result.status, result.sensed_muted) == (CONFIRMED, True)
        assert heard == [True, False]  # output "active" = traffic flows, as with a relay

        table.remove()  # a firewall reload wiped the table
        assert driver.check(True).status == CONFIRMED  # the last reading is reused for a moment...
        clock.now += SENSE_REUSE_S
        mismatch = driver.check(True)  # ...then the kernel is asked again
        assert mismatch.status == MISMATCH and "not in the kernel" in driver.mismatch_detail(True)

        result = driver.apply(True)  # applying again puts the table back, muted
        assert (result.status, result.sensed_muted) == (CONFIRMED, True)
        assert table.is_muted(SPEAKER_ID)
    finally:
        driver.close()
    assert table.is_muted(SPEAKER_ID)  # closing leaves the rule alone

