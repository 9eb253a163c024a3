"""The observer's reading of frames with dpkt: DNS answers and ClientHellos give names and addresses; anything
malformed (fuzzed with hypothesis, and truncated real frames) gives None and never an exception. The kernel
filter's program is checked against the same frames by running it in a tiny classic-BPF interpreter."""

from __future__ import annotations

import socket
import ssl

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_bridge.destinations.bpf import observer_program
from device_bridge.destinations.organisations import normalise_name
from device_bridge.destinations.parse import ClientHello, DnsAnswer, parse_frame

SPEAKER_MAC = b"\x02\x77\x00\x00\x00\x02"
BRIDGE_MAC = b"\x02\x00\x00\x00\x00\x01"


def dns_answer(question: str = "device-metrics-us.amazon.com", *, cname: str | None = "metrics.cloudfront.net",
               addresses=("52.94.233.1", "52.94.233.2"), ttl: int = 60, v6: bool = False) -> bytes:
    d = dpkt.dns.DNS(id=7, qr=dpkt.dns.DNS_R, rd=1, ra=1)
    d.qd = [dpkt.dns.DNS.Q(name=question, type=dpkt.dns.DNS_A)]
    answers, target = [], question
    if cname:
        rr = dpkt.dns.DNS.RR(name=question, type=dpkt.dns.DNS_CNAME, ttl=ttl)
        rr.cname = cname
        answers.append(rr)
        target = cname
    for address in addresses:
        rr = dpkt.dns.DNS.RR(name=target, type=dpkt.dns.DNS_A, ttl=ttl)
        rr.ip = socket.inet_aton(address)
        answers.append(rr)
    d.an = answers
    udp = dpkt.udp.UDP(sport=53, dport=40123, data=bytes(d))
    udp.ulen = len(udp)
    return _frame(udp, 17, src="198.51.100.1", dst="10.77.0.2", to_speaker=True, v6=v6)


def client_hello_bytes(server_name: str = "avs-alexa-4-na.amazon.com") -> bytes:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def client_hello(server_name: str = "avs-alexa-4-na.amazon.com", *, payload: bytes | None = None,
                 v6: bool = False) -> bytes:
    tcp = dpkt.tcp.TCP(sport=51000, dport=443, flags=dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, seq=1, ack=1,
                       data=payload if payload is not None else client_hello_bytes(server_name))
    tcp.off = 5
    return _frame(tcp, 6, src="10.77.0.2", dst="52.94.233.1", to_speaker=False, v6=v6)


def _frame(transport, proto: int, *, src: str, dst: str, to_speaker: bool, v6: bool) -> bytes:
    if v6:
        ip = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, "fd77::2" if not to_speaker else "2001:db8::1"),
                          dst=socket.inet_pton(socket.AF_INET6, "2001:db8::1" if not to_speaker else "fd77::2"),
                          nxt=proto, hlim=64, data=transport)
        ip.plen = len(transport)
        ether_type = dpkt.ethernet.ETH_TYPE_IP6
    else:
        ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64, data=transport)
        ip.len = len(ip)
        ether_type = dpkt.ethernet.ETH_TYPE_IP
    source, destination = (BRIDGE_MAC, SPEAKER_MAC) if to_speaker else (SPEAKER_MAC, BRIDGE_MAC)
    return bytes(dpkt.ethernet.Ethernet(src=source, dst=destination, type=ether_type, data=ip))


def run_bpf(program, packet: bytes) -> int:
    """A classic BPF interpreter for the instructions the observer's program uses; 0 means drop."""
    a = x = pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        cls = code & 0x07
        try:
            if code == 0x28:   # ldh [k]
                a = int.from_bytes(packet[k:k + 2], "big") if k + 2 <= len(packet) else None
            elif code == 0x30:  # ldb [k]
                a = packet[k] if k < len(packet) else None
            elif code == 0x48:  # ldh [x + k]
                a = int.from_bytes(packet[x + k:x + k + 2], "big") if x + k + 2 <= len(packet) else None
            elif code == 0x50:  # ldb [x + k]
                a = packet[x + k] if x + k < len(packet) else None
            elif code == 0xB1:  # ldxb 4 * ([k] & 0xf)
                if k >= len(packet):
                    return 0
                x = 4 * (packet[k] & 0x0F)
            elif code == 0x54:
                a &= k
            elif code == 0x74:
                a >>= k
            elif code == 0x0C:
                a += x
            elif code == 0x07:
                x = a
            elif code == 0x15:
                pc += jt if a == k else jf
            elif code == 0x45:
                pc += jt if a & k else jf
            elif code == 0x06:
                return k
            else:
                raise AssertionError(f"opcode {code:#x} not interpreted")
        except TypeError:
            return 0
        if a is None and cls == 0x00:
            return 0  # a load past the end of the packet


def test_a_dns_answer_gives_its_name_cname_and_addresses():
    found = parse_frame(dns_answer())
    assert found == DnsAnswer("02:77:00:00:00:02", "10.77.0.2", "device-metrics-us.amazon.com",
                              ("metrics.cloudfront.net",), (("52.94.233.1", 60), ("52.94.233.2", 60)))


def test_an_ipv6_dns_answer_and_client_hello_are_read_too():
    assert parse_frame(dns_answer(cname=None, v6=True)).client_ip == "fd77::2"
    found = parse_frame(client_hello(v6=True))
    assert isinstance(found, ClientHello) and found.server == "2001:db8::1" and found.client_ip == "fd77::2"


def test_a_client_hello_gives_its_server_name_and_flow():
    found = parse_frame(client_hello("Device-Metrics-US.Amazon.com"))
    assert found == ClientHello("02:77:00:00:00:02", "10.77.0.2", 51000, "52.94.233.1", 443,
                                "device-metrics-us.amazon.com")


def test_a_client_hello_split_over_segments_still_gives_the_name_when_it_is_in_the_first():
    whole = client_hello_bytes("avs-alexa-4-na.amazon.com")
    assert parse_frame(client_hello(payload=whole[:300])).server_name == "avs-alexa-4-na.amazon.com"
    position = whole.index(b"avs-alexa")
    # Cut inside the name: the padded rest holds NUL bytes, and the name is refused rather than misread.
    assert parse_frame(client_hello(payload=whole[:position + 5])) is None


def test_questions_answers_and_packets_that_are_not_for_the_observer_give_none():
    query = dpkt.dns.DNS(id=1, qd=[dpkt.dns.DNS.Q(name="example.com", type=dpkt.dns.DNS_A)])
    udp = dpkt.udp.UDP(sport=53, dport=5000, data=bytes(query))
    udp.ulen = len(udp)
    assert parse_frame(_frame(udp, 17, src="1.1.1.1", dst="10.77.0.2", to_speaker=True, v6=False)) is None
    assert parse_frame(dns_answer(addresses=())) is None  # no address: nothing to map
    assert parse_frame(dns_answer(question="bad name.example.com")) is None
    assert parse_frame(client_hello(payload=b"\x17\x03\x03\x00\x02hi")) is None  # application data
    assert parse_frame(b"") is None and parse_frame(b"\x00" * 13) is None


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2000))
def test_random_frames_never_raise(frame):
    found = parse_frame(frame)
    assert found is None or isinstance(found, (DnsAnswer, ClientHello))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["dns", "dns6", "hello", "hello6"]), st.data())
def test_damaged_real_frames_never_raise_and_never_give_a_bad_name(kind, data):
    frame = bytearray({"dns": dns_answer, "dns6": lambda: dns_answer(v6=True),
                       "hello": client_hello, "hello6": lambda: client_hello(v6=True)}[kind]())
    for _ in range(data.draw(st.integers(0, 8))):  # flip, overwrite or cut
        position = data.draw(st.integers(0, len(frame) - 1))
        frame[position] = data.draw(st.integers(0, 255))
    frame = bytes(frame[:data.draw(st.integers(0, len(frame)))])
    found = parse_frame(frame)
    if isinstance(found, DnsAnswer):
        assert normalise_name(found.name) == found.name and all(normalise_name(a) == a for a in found.aliases)
        assert all(0 <= ttl <= 7 * 86400 for _a, ttl in found.addresses)
    elif isinstance(found, ClientHello):
        assert normalise_name(found.server_name) == found.server_name


def test_the_kernel_filter_program_accepts_exactly_answers_and_client_hellos():
    program = observer_program()
    assert run_bpf(program, dns_answer()) > 0 and run_bpf(program, dns_answer(v6=True)) > 0
    assert run_bpf(program, client_hello()) > 0 and run_bpf(program, client_hello(v6=True)) > 0
    assert run_bpf(program, client_hello(payload=b"\x17\x03\x03\x00\x02hi")) == 0  # app data
    assert run_bpf(program, client_hello(payload=b"")) == 0  # an ACK without payload
    handshake_not_hello = b"\x16\x03\x03\x00\x04\x02\x00\x00\x00"  # a ServerHello-type handshake
    assert run_bpf(program, client_hello(payload=handshake_not_hello)) == 0
    query = dpkt.udp.UDP(sport=40000, dport=53, data=b"q")
    query.ulen = len(query)
    assert run_bpf(program, _frame(query, 17, src="10.77.0.2", dst="1.1.1.1", to_speaker=False, v6=False)) == 0
    assert run_bpf(program, b"\x00" * 12 + b"\x08\x06" + b"\x00" * 28) == 0  # ARP


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_the_kernel_filter_program_never_reads_wild(packet):
    assert run_bpf(observer_program(), packet) in (0, 0xFFFF)
