"""What the observer reads from a captured frame, with dpkt: a DNS answer's names and addresses, or a ClientHello's
server name. Headers and names only; nothing else of a packet is looked at, and nothing is kept but the result.

`parse_frame(frame)` never raises: a frame that dpkt cannot read, or that reads as something else, gives
None. Names pass `normalise_name`, so a malformed or hostile packet cannot put junk into the store.

The frames come through the kernel filter (bpf.py), but this does not rely on it: any Ethernet frame is
safe to pass.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass

import dpkt
from dpkt.ssl import parse_variable_array

from device_bridge.destinations.organisations import normalise_name

log = logging.getLogger(__name__)

DNS_PORT = 53
TLS_PORT = 443
_A, _AAAA, _CNAME = dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA, dpkt.dns.DNS_CNAME
_SERVER_NAME = 0  # TLS extension server_name (RFC 6066)
_HOST_NAME = 0    # its NameType host_name
_HANDSHAKE, _CLIENT_HELLO = 22, 1
_MAX_TTL = 7 * 86400
_MAX_HELLO = 1 << 16  # far above any real ClientHello; a larger claimed length is not padded out


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """A DNS answer on its way to a client (the speaker).

    Attributes:
        client_mac: the frame's destination MAC ("aa:bb:cc:dd:ee:ff").
        client_ip: the answer's destination address.
        name: the name asked for.
        aliases: the CNAME targets in the answer, in order.
        addresses: (address, ttl seconds) of its A and AAAA records.
    """

    client_mac: str
    client_ip: str
    name: str
    aliases: tuple[str, ...]
    addresses: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ClientHello:
    """The start of a TLS connection from a client (the speaker), with the server name it asked for.

    Attributes:
        client_mac, client_ip, client_port: the frame's source.
        server, server_port: where it goes.
        server_name: the SNI.
    """

    client_mac: str
    client_ip: str
    client_port: int
    server: str
    server_port: int
    server_name: str


Observation = DnsAnswer | ClientHello


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def parse_frame(frame: bytes) -> Observation | None:
    """The DNS answer or ClientHello in an Ethernet frame, or None."""
    try:
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        if isinstance(ip, dpkt.ip.IP):
            family = socket.AF_INET
            if ip.offset:  # not the first fragment: no transport header
                return None
        elif isinstance(ip, dpkt.ip6.IP6):
            family = socket.AF_INET6
        else:
            return None
        transport = ip.data
        if isinstance(transport, dpkt.udp.UDP) and transport.sport == DNS_PORT:
            return _dns_answer(eth, ip, family, transport)
        if isinstance(transport, dpkt.tcp.TCP) and transport.dport == TLS_PORT and transport.data:
            return _client_hello(eth, ip, family, transport)
    # dpkt raises whatever its struct unpacking or slicing hits on malformed input (NeedData, UnpackError,
    # struct.error, IndexError, ValueError, UnicodeDecodeError...): any of them means "not a frame we read".
    except Exception:  # noqa: BLE001
        return None
    return None


def _dns_answer(eth: dpkt.ethernet.Ethernet, ip, family: int, udp: dpkt.udp.UDP) -> DnsAnswer | None:
    dns = dpkt.dns.DNS(udp.data)
    if dns.qr != dpkt.dns.DNS_R or dns.rcode != dpkt.dns.DNS_RCODE_NOERR or not dns.qd:
        return None
    name = normalise_name(dns.qd[0].name)
    if name is None:
        return None
    aliases: list[str] = []
    addresses: list[tuple[str, int]] = []
    for rr in dns.an:
        ttl = min(max(int(rr.ttl), 0), _MAX_TTL)
        if rr.type == _A and len(rr.rdata) == 4:
            addresses.append((socket.inet_ntop(socket.AF_INET, rr.rdata), ttl))
        elif rr.type == _AAAA and len(rr.rdata) == 16:
            addresses.append((socket.inet_ntop(socket.AF_INET6, rr.rdata), ttl))
        elif rr.type == _CNAME:
            alias = normalise_name(rr.cname)
            if alias is not None and alias not in aliases:
                aliases.append(alias)
    if not addresses:
        return None
    return DnsAnswer(mac_text(eth.dst), socket.inet_ntop(family, ip.dst), name, tuple(aliases), tuple(addresses))


def _client_hello(eth: dpkt.ethernet.Ethernet, ip, family: int, tcp: dpkt.tcp.TCP) -> ClientHello | None:
    payload = bytes(tcp.data)
    if len(payload) < 9 or payload[0] != _HANDSHAKE or payload[5] != _CLIENT_HELLO:
        return None
    try:
        record = dpkt.ssl.TLSRecord(payload)
        body = record.data
    except dpkt.NeedData:
        # WORKAROUND: a ClientHello larger than one segment (big key shares) arrives in pieces, and the
        # kernel filter lets only the first through. dpkt reads only whole records, so the record is
        # completed with zero bytes: the extensions in the first segment (the server name usually is) read
        # as they are, the rest as empty extensions, and a name cut by the segment end holds a NUL byte,
        # which normalise_name refuses.
        declared = int.from_bytes(payload[3:5], "big")
        body = payload[5:5 + declared]
        body += bytes(declared - len(body))
    handshake_length = int.from_bytes(body[1:4], "big") if len(body) >= 4 else 0
    if handshake_length > _MAX_HELLO:
        return None
    if len(body) < 4 + handshake_length:
        body += bytes(4 + handshake_length - len(body))
    handshake = dpkt.ssl.TLSHandshake(body)
    hello = handshake.data
    if not isinstance(hello, dpkt.ssl.TLSClientHello):
        return None
    server_name = _server_name(getattr(hello, "extensions", ()))
    if server_name is None:
        return None
    return ClientHello(mac_text(eth.src), socket.inet_ntop(family, ip.src), int(tcp.sport),
                       socket.inet_ntop(family, ip.dst), int(tcp.dport), server_name)


def _server_name(extensions) -> str | None:
    """The host name of the first server_name extension (RFC 6066 ServerNameList), read with dpkt's helper."""
    for ext_type, data in extensions:
        if ext_type != _SERVER_NAME or len(data) < 5:
            continue
        names, _ = parse_variable_array(data, 2)
        while len(names) >= 3:
            name_type = names[0]
            host, used = parse_variable_array(names[1:], 2)
            if name_type == _HOST_NAME:
                return normalise_name(host)
            names = names[1 + used:]
    return None
