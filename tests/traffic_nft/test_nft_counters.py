"""The bridge's nftables counters against what really crossed the network, in namespaces (root only).

How the comparison works: the bridge counts IP packet lengths (L3) in its forward hook; the internet
namespace counts the TCP and UDP packets it received and sent with its own nftables counters, also
at L3 (netns_lab.TALLY_RULES), so after an exchange both must agree. NAT rewrites addresses, not
lengths. For UDP the exact figure is also known from what was sent: each datagram is its payload plus
8 bytes of UDP header plus the IP header (20 bytes v4, 40 bytes v6). For TCP the stack decides how
many segments and acks there are (and retransmits now and then), so the internet side's count is the
reference there, and the payload bounds it from below.
"""

from __future__ import annotations

import socket

import pytest
from netns_lab import (
    BRIDGE_LAN_IP, BRIDGE_LAN_IP6, BRIDGE_WAN_IP, HOME_HOST_IP, SPEAKER_ID, SPEAKER_IP, SPEAKER_IP6,
    UDP_V4_OVERHEAD, UDP_V6_OVERHEAD, make_table, run, wait_until,
)

from device_bridge.traffic.model import Counters
from device_bridge.traffic.nft import NftTableMissing

pytestmark = pytest.mark.netns


def within_one_percent(measured: int, reference: int) -> bool:
    return abs(measured - reference) <= 0.01 * reference


@pytest.fixture(params=["mac", "ip"])
def any_table(lab, request):
    """The table with the speaker known by MAC only, then by IPv4 address only."""
    made = make_table(lab, request.param)
    made.install()
    yield made
    made.remove()
    made.close()


def delta(after: Counters, before: Counters) -> Counters:
    return Counters(after.up_bytes - before.up_bytes, after.up_packets - before.up_packets,
                    after.down_bytes - before.down_bytes, after.down_packets - before.down_packets)


def test_udp_up_and_down_are_counted_exactly(lab, any_table):
    before = any_table.read()[SPEAKER_ID]
    lab.udp_exchange(count=50, size=1200, reply_size=400)
    counted = delta(any_table.read()[SPEAKER_ID], before)
    assert counted == Counters(50 * (1200 + UDP_V4_OVERHEAD), 50, 50 * (400 + UDP_V4_OVERHEAD), 50)


def test_tcp_up_and_down_agree_with_what_the_internet_saw(lab, any_table):
    before, seen_before = any_table.read()[SPEAKER_ID], lab.tally()
    lab.tcp_exchange(upload=1_000_000, download=300_000)

    def settled() -> bool:
        # The last acks may still be on their way: wait until both sides have counted the same packets.
        counted, seen = delta(any_table.read()[SPEAKER_ID], before), lab.tally()
        return (counted.up_packets == (seen["rx4"] - seen_before["rx4"]).packets
                and counted.down_packets == (seen["tx4"] - seen_before["tx4"]).packets)

    wait_until(settled, what="the bridge and the internet to count the same packets")
    counted, seen = delta(any_table.read()[SPEAKER_ID], before), lab.tally()
    received, sent = seen["rx4"] - seen_before["rx4"], seen["tx4"] - seen_before["tx4"]
    assert within_one_percent(counted.up_bytes, received.bytes), (counted, received)
    assert within_one_percent(counted.down_bytes, sent.bytes), (counted, sent)
    # All the payload, and at least 52 bytes of headers per packet (IP 20, TCP 20, timestamps 12); a
    # little more if TCP retransmitted a segment (it does now and then, even between namespaces).
    for payload, total, packets in ((1_000_000, counted.up_bytes, counted.up_packets),
                                    (300_000, counted.down_bytes, counted.down_packets)):
        assert payload + 52 * packets <= total <= 1.05 * (payload + 52 * packets)
    assert counted.up_packets >= 1_000_000 // 1448  # one packet per MSS-sized segment, not TSO lumps


def test_traffic_to_the_bridge_broadcast_multicast_and_the_home_lan_is_not_uplink(lab, table):
    before, lan_before, seen_before = table.read()[SPEAKER_ID], table.read_lan()[SPEAKER_ID], lab.tally()
    sock = lab.open_socket(lab.speaker)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(SPEAKER_IP))
    destinations = [
        (BRIDGE_LAN_IP, 53),        # the bridge itself (its DNS)
        (BRIDGE_WAN_IP, 9),         # the bridge's own upstream address: local, never forwarded
        ("10.77.0.255", 9),         # subnet broadcast
        ("255.255.255.255", 67),    # limited broadcast
        ("224.0.0.251", 5353),      # mDNS
        ("239.255.255.250", 1900),  # SSDP
        (HOME_HOST_IP, 9),          # a private host the bridge forwards to (wired pass-through's home LAN)
    ]
    try:
        for address in destinations:
            sock.sendto(b"x" * 100, address)
    finally:
        sock.close()
    sock6 = lab.open_socket(lab.speaker, socket.AF_INET6)
    try:
        sock6.sendto(b"y" * 100, (BRIDGE_LAN_IP6, 53))
        sock6.sendto(b"y" * 100, ("ff02::fb", 5353, 0, lab.ifindex(lab.speaker, "sp0")))  # mDNS over IPv6
    finally:
        sock6.close()
    expected_lan = len(destinations) * (100 + UDP_V4_OVERHEAD) + 2 * (100 + UDP_V6_OVERHEAD)

    # IPv6 datagrams wait for neighbour discovery, so they may reach the bridge a moment later.
    wait_until(lambda: delta(table.read_lan()[SPEAKER_ID], lan_before).up_bytes >= expected_lan,
               what="the LAN counter to count every datagram")
    wait_until(lambda: (lab.tally()["home"] - seen_before["home"]).packets == 1,
               what="the home LAN host to receive its datagram")
    lan = delta(table.read_lan()[SPEAKER_ID], lan_before)
    assert delta(table.read()[SPEAKER_ID], before) == Counters(0, 0, 0, 0)
    assert lab.tally()["rx4"] == seen_before["rx4"]
    # Besides the datagrams: the kernel's IPv6 neighbour solicitations and multicast-listener reports.
    assert lan.up_bytes <= expected_lan + 1000, lan
    assert lan.down_packets >= 1  # "port unreachable" from the bridge and the home host: LAN, not downlink


def test_reads_fail_clearly_while_the_table_is_gone_and_work_again_once_it_is_back(lab, table):
    through_nft = make_table(lab, library=None)  # the long-running nft
    one_off = make_table(lab, library=None, session=False)
    lab.udp_exchange(count=2, size=100, reply_size=10)
    assert table.in_process and not through_nft.in_process
    assert table.read() == through_nft.read() == one_off.read()  # libnftables and nft agree
    run(*lab.nft(), "delete", "table", "inet", table.name)  # say, `nft flush ruleset` by a firewall reload
    for source in (table, through_nft, one_off):
        with pytest.raises(NftTableMissing, match=r"^table inet earmuff \(or part of it\) is not in the kernel: "
                                                  r"Error: No such file or directory list set inet earmuff"):
            source.read()
        assert not source.installed()
        assert not source.is_muted(SPEAKER_ID)
    assert table.ensure_installed() is True
    assert table.read() == through_nft.read() == {SPEAKER_ID: Counters(0, 0, 0, 0)}
    through_nft.close()
    one_off.close()


def test_ipv6_uplink_is_counted_and_the_speakers_address_is_learned_from_its_mac(lab, table):
    before = table.read()[SPEAKER_ID]
    lab.udp_exchange(count=20, size=1000, reply_size=300, family=socket.AF_INET6)
    counted = delta(table.read()[SPEAKER_ID], before)
    assert counted == Counters(20 * (1000 + UDP_V6_OVERHEAD), 20, 20 * (300 + UDP_V6_OVERHEAD), 20)
    learned = run(*lab.nft(), "list", "set", "inet", table.name, "addr6_kitchen_echo")
    assert SPEAKER_IP6 in learned
