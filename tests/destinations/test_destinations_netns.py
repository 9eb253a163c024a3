"""Destinations on a real path (root only): a speaker namespace resolves names with dnsmasq and opens TLS connections
with SNI through the bridge namespace, whose observer reads lan0 with its kernel filter and whose nftables flow sets
count the bytes. The bridge's figures per name are checked against the speaker's own per-connection count."""

from __future__ import annotations

import socket
import ssl

import pytest
from destinations_lab import (
    ALEXA_API, GOOGLE, GOOGLE_IP, METRICS, METRICS_EDGE, METRICS_IP, SHARED_IP, SINK_IP, VOICE, is_address,
    speaker_tally,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netns_lab import SPEAKER_ID, wait_until

from device_bridge.destinations.capture import PacketCapture
from device_bridge.destinations.parse import ClientHello, DnsAnswer, parse_frame

pytestmark = pytest.mark.netns

# (name, address, [(upload, download) per connection]): two names share 198.51.100.10, one is a CNAME.
PLAN = [
    (VOICE, SHARED_IP, [(400_000, 60_000), (150_000, 20_000)]),
    (ALEXA_API, SHARED_IP, [(30_000, 200_000), (5_000, 40_000)]),
    (METRICS, METRICS_IP, [(80_000, 5_000)]),
    (GOOGLE, GOOGLE_IP, [(10_000, 150_000)]),
]


def within_one_percent(measured: int, reference: int) -> bool:
    return abs(measured - reference) <= 0.01 * reference


def settled(table, tally, ports: dict[int, str]) -> bool:
    """The bridge's flow sets and the speaker's tally agree on every connection's packet counts."""
    flows = table.read_flows()[SPEAKER_ID]
    counted = tally()
    by_port = {key.local_port: c for key, c in flows.items() if key.proto == "tcp" and key.remote_port == 443}
    return all(port in by_port and port in counted and by_port[port][1] == counted[port][1]
               and by_port[port][3] == counted[port][3] for port in ports)


def test_bytes_go_to_the_right_names_within_one_percent(lab, internet, table, tracker):
    ports: dict[int, str] = {}
    with speaker_tally(lab) as tally:
        for name, address, exchanges in PLAN:
            assert internet.resolve(name) == [address]
            for upload, download in exchanges:
                ports[internet.exchange(name, address, upload, download)] = name
        wait_until(lambda: settled(table, tally, ports), timeout_s=10, what="the last packets to be counted")
        reference: dict[str, list[int]] = {}
        counted = tally()
        for port, name in ports.items():
            entry = reference.setdefault(name, [0, 0])
            entry[0] += counted[port][0]
            entry[1] += counted[port][2]
    tracker.tick()
    found = {d["name"]: d for d in tracker.destinations(SPEAKER_ID)}
    for name, (up, down) in reference.items():
        assert name in found, (name, sorted(found))
        assert within_one_percent(found[name]["bytes_up"], up), (name, found[name]["bytes_up"], up)
        assert within_one_percent(found[name]["bytes_down"], down), (name, found[name]["bytes_down"], down)
    # Names, not CNAME targets; organisations from the sourced table; the DNS server itself has no name.
    assert METRICS_EDGE not in found
    assert {found[n]["organisation"] for n in (VOICE, ALEXA_API, METRICS)} == {"Amazon"}
    assert found[GOOGLE]["organisation"] == "Google"
    assert found[VOICE]["addresses"] == [SHARED_IP] and found[METRICS]["addresses"] == [METRICS_IP]
    assert all(is_address(n) for n in found if n not in reference), sorted(found)
    news = [e.data for e in tracker.events.since(0) if e.type == "new_destination_org"]
    assert {n["organisation"] for n in news} == {"Amazon", "Google"}
    assert all(e.speaker_id == SPEAKER_ID for e in tracker.events.since(0) if e.type == "new_destination_org")


def test_a_blocked_name_fails_while_the_others_pass_and_its_drops_show(lab, internet, tracker):
    block = tracker.add_block(SPEAKER_ID, "name", METRICS)
    assert internet.resolve(METRICS) == [METRICS_IP]  # the answer fills the block's set on its way
    with pytest.raises((OSError, ssl.SSLError)):
        internet.exchange(METRICS, METRICS_IP, 20_000, 1_000, timeout=2.0)
    internet.resolve(VOICE)
    internet.exchange(VOICE, SHARED_IP, 50_000, 10_000)  # the assistant keeps working
    tracker.tick()
    [shown] = tracker.blocks(SPEAKER_ID)
    assert shown["id"] == block["id"] and shown["addresses"] == [METRICS_IP]
    assert shown["dropped_packets"] >= 1 and shown["dropped_bytes"] >= 60
    assert shown["title"] == METRICS and shown["also_affects"] == []
    assert [d["blocked_by"] for d in tracker.destinations(SPEAKER_ID) if d["name"] == METRICS] in ([], [[block["id"]]])

    assert tracker.remove_block(SPEAKER_ID, block["id"])  # undo: it works again at once
    internet.exchange(METRICS, METRICS_IP, 20_000, 1_000)
    assert tracker.blocks(SPEAKER_ID) == []


def test_a_new_block_covers_addresses_the_speaker_already_resolved(lab, internet, tracker):
    assert internet.resolve(GOOGLE) == [GOOGLE_IP]
    tracker.add_block(SPEAKER_ID, "organisation", "Google")  # no new DNS answer needed
    with pytest.raises((OSError, ssl.SSLError)):
        internet.exchange(GOOGLE, GOOGLE_IP, 5_000, 1_000, timeout=2.0)
    internet.exchange(VOICE, SHARED_IP, 5_000, 1_000)


def test_the_kernel_filter_lets_only_dns_answers_and_client_hellos_through(lab, internet):
    frames: list[bytes] = []
    capture = PacketCapture("lan0", frames.append, netns=lab.bridge)
    capture.start()
    try:
        lab.udp_exchange(count=20, size=300, reply_size=300)  # plain UDP both ways
        lab.tcp_exchange(upload=200_000, download=50_000)  # plain TCP on another port
        internet.resolve(VOICE)  # query (to port 53) filtered, answer (from 53) passed
        internet.exchange(VOICE, SHARED_IP, 100_000, 100_000)  # SYN, ACKs, data: only the ClientHello
        sink = lab.open_socket(lab.speaker, socket.AF_INET, socket.SOCK_STREAM)
        sink.settimeout(3)
        sink.connect((SINK_IP, 443))
        sink.sendall(b"\x17\x03\x03\x00\x05hello")  # TLS application data to 443: filtered
        sink.close()
        wait_until(lambda: len(frames) >= 2, what="the answer and the ClientHello")
        passed, dropped = capture.statistics()
    finally:
        capture.stop()
    observations = [parse_frame(f) for f in frames]
    assert [type(o) for o in observations] == [DnsAnswer, ClientHello], observations
    assert observations[0].name == VOICE and observations[0].addresses == ((SHARED_IP, 60),)
    assert observations[1].server_name == VOICE and observations[1].server == SHARED_IP
    assert passed == 2 and dropped == 0


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dns=st.binary(max_size=600), hello=st.binary(max_size=1400))
def test_malformed_dns_answers_and_client_hellos_on_the_wire_are_ignored(lab, internet, tracker, dns, hello):
    frames = tracker.capture.frames
    # An "answer" from port 53 to a speaker's query reaches the observer as a DNS answer...
    asker = lab.open_socket(lab.speaker, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        asker.settimeout(3)
        asker.sendto(b"?", (SINK_IP, 53))
        _query, peer = internet.sink_udp.recvfrom(512)
        internet.sink_udp.sendto(dns, peer)
        asker.recv(4096)
    finally:
        asker.close()
    # ...and TCP to port 443 that starts like a ClientHello record as a "ClientHello".
    sender = lab.open_socket(lab.speaker, socket.AF_INET, socket.SOCK_STREAM)
    try:
        sender.settimeout(3)
        sender.connect((SINK_IP, 443))
        sender.sendall(b"\x16\x03\x01" + (len(hello) + 4).to_bytes(2, "big") + b"\x01" + hello)
    finally:
        sender.close()
    observed = tracker.observed
    assert internet.resolve(VOICE) == [SHARED_IP]  # a real answer afterwards is still understood
    wait_until(lambda: tracker.observed > observed, what="the real answer to be observed")
    assert tracker.capture.frames >= frames + 3
    assert tracker.capture.failed == 0 and tracker.capture._thread.is_alive()


def test_reinstalling_the_table_keeps_the_blocks_and_their_addresses(lab, internet, table, tracker):
    block = tracker.add_block(SPEAKER_ID, "name", GOOGLE)
    assert internet.resolve(GOOGLE) == [GOOGLE_IP]
    # The capture thread sees the answer a moment after the speaker does.
    wait_until(lambda: [a for a, _left in table.block_addresses(block["id"])] == [GOOGLE_IP],
               what="the answer's address to join the block")
    table.install()  # a bridge restart, or the table put back after a firewall reload
    assert [a for a, _left in table.block_addresses(block["id"])] == [GOOGLE_IP]
    with pytest.raises((OSError, ssl.SSLError)):
        internet.exchange(GOOGLE, GOOGLE_IP, 5_000, 1_000, timeout=2.0)
