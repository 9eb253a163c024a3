"""Synthetic destinations for `--simulate`, the demo and tests: the simulated speakers' traffic, split by name.

A DestinationBackend (see tracker.py) on top of a SimulatedTrafficSource: each kind of simulated traffic
(`read_streams`: idle trickle, heartbeat, voice request, misactivation, slow misactivation, idle spike)
goes to names a speaker of that make uses, on one TLS flow per name. Before a name's first bytes, and
again when its TTL (60 s) ran out, the tracker is told the DNS answer and the ClientHello, as the observer
would see them, so blocks fill and drop exactly as on a real bridge: a blocked name's bytes are not sent,
and its block's drop counter grows instead.

Makes follow the speaker's name ("Echo", "Alexa": Amazon; "Nest", "Google": Google; "HomePod": Apple), and
otherwise take turns in config order (the demo's three speakers are one of each). Slow misactivations go to
upload.example.net (a reserved example domain, so an unknown organisation), so the demo shows a speaker
talking to someone new. Addresses are made from the name in 198.18.0.0/15 (reserved for benchmarks).
"""

from __future__ import annotations

import ipaddress
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from device_bridge.destinations.parse import ClientHello, DnsAnswer
from device_bridge.traffic.nft import FlowKey, PacketCount

TTL_S = 60
_NETWORK = ipaddress.ip_network("198.18.0.0/15")
EXAMPLE_UPLOAD = "upload.example.net"

# Per make: kind of traffic -> [(name, share of that kind's bytes)].
MAKES: dict[str, dict[str, list[tuple[str, float]]]] = {
    "amazon": {
        "voice": [("avs-alexa-4-na.amazon.com", 1.0)],
        "misactivation": [("avs-alexa-4-na.amazon.com", 1.0)],
        "slow": [(EXAMPLE_UPLOAD, 1.0)],
        "idle": [("device-metrics-us.amazon.com", 0.6), ("api.amazonalexa.com", 0.4)],
        "heartbeat": [("api.amazonalexa.com", 0.8), ("d3p8zr0ffa9t17.cloudfront.net", 0.2)],
        "spike": [("device-metrics-us.amazon.com", 1.0)],
    },
    "google": {
        "voice": [("embeddedassistant.googleapis.com", 1.0)],
        "misactivation": [("embeddedassistant.googleapis.com", 1.0)],
        "slow": [(EXAMPLE_UPLOAD, 1.0)],
        "idle": [("clients3.google.com", 0.5), ("www.google-analytics.com", 0.5)],
        "heartbeat": [("mtalk.google.com", 1.0)],
        "spike": [("android.googleapis.com", 1.0)],
    },
    "apple": {
        "voice": [("guzzoni.apple.com", 1.0)],
        "misactivation": [("guzzoni.apple.com", 1.0)],
        "slow": [(EXAMPLE_UPLOAD, 1.0)],
        "idle": [("gateway.icloud.com", 1.0)],
        "heartbeat": [("courier.push.apple.com", 1.0)],
        "spike": [("gateway.icloud.com", 1.0)],
    },
}
_HINTS = (("echo", "amazon"), ("alexa", "amazon"), ("nest", "google"), ("google", "google"),
          ("homepod", "apple"), ("siri", "apple"))
_ORDER = ("amazon", "google", "apple")


def make_of(name: str, index: int) -> str:
    lowered = name.lower()
    for hint, make in _HINTS:
        if hint in lowered:
            return make
    return _ORDER[index % len(_ORDER)]


def address_of(name: str) -> str:
    """A stable address for a name, inside 198.18.0.0/15."""
    offset = zlib.crc32(name.encode()) % (_NETWORK.num_addresses - 2) + 1
    return str(_NETWORK.network_address + offset)


def _port_of(speaker_id: str, name: str) -> int:
    return 40000 + zlib.crc32(f"{speaker_id}/{name}".encode()) % 20000


class SimulatedDestinations:
    """The simulated speakers' flows and blocks (a DestinationBackend). Thread-safe.

    Attributes:
        makes: the make ("amazon", "google", "apple") of each speaker id.
    """

    def __init__(self, source: Any, speakers: Sequence[Any], *, clock: Callable[[], float]) -> None:
        """`source`: the SimulatedTrafficSource (its `read_streams`). `speakers`: ids or SpeakerConfigs."""
        self._source = source
        self._clock = clock
        self.makes = {(s if isinstance(s, str) else s.id): make_of(s if isinstance(s, str) else s.name, i)
                      for i, s in enumerate(speakers)}
        self._lock = threading.Lock()
        self._observe: Callable[..., None] | None = None
        self._seen_streams: dict[tuple[str, str], list[int]] = {}
        self._flows: dict[str, dict[FlowKey, list[int]]] = {sid: {} for sid in self.makes}
        self._announced: dict[tuple[str, str], float] = {}
        self._blocks: dict[int, str] = {}
        self._block_sets: dict[int, dict[str, float]] = {}
        self._drops: dict[int, list[int]] = {}

    def attach(self, observe: Callable[..., None]) -> None:
        """Tell `observe(observation, speaker_id=...)` the DNS answers and ClientHellos of the flows."""
        self._observe = observe

    # --- DestinationBackend --------------------------------------------------------------------------------

    def read_flows(self) -> dict[str, dict[FlowKey, list[int]]]:
        streams = self._source.read_streams()
        now = self._clock()
        announce: list[tuple[str, str]] = []
        with self._lock:
            for sid, kinds in streams.items():
                make = MAKES.get(self.makes.get(sid, ""), {})
                for kind, counters in kinds.items():
                    seen = self._seen_streams.setdefault((sid, kind), [0, 0, 0, 0])
                    delta = [c - s for c, s in zip(counters, seen)]
                    self._seen_streams[(sid, kind)] = list(counters)
                    if not any(delta):
                        continue
                    for name, share in make.get(kind, ()):
                        if now - self._announced.get((sid, name), -TTL_S) >= TTL_S:
                            self._announced[(sid, name)] = now
                            announce.append((sid, name))
                        self._send(sid, name, [round(d * share) for d in delta], now)
            flows = {sid: {key: list(c) for key, c in keyed.items()} for sid, keyed in self._flows.items()}
        self._announce(announce)
        return flows

    def _send(self, sid: str, name: str, delta: list[int], now: float) -> None:
        """Count a name's share of new bytes on its flow, or as dropped by a block that holds its address."""
        address = address_of(name)
        for block_id, owner in self._blocks.items():
            expires = self._block_sets.get(block_id, {}).get(address)
            if owner == sid and expires is not None and expires > now:
                drops = self._drops.setdefault(block_id, [0, 0])
                drops[0] += delta[1]
                drops[1] += delta[0]
                return
        key = FlowKey(address, "tcp", 443, _port_of(sid, name))
        counters = self._flows[sid].setdefault(key, [0, 0, 0, 0])
        for i, d in enumerate(delta):
            counters[i] += d

    def _announce(self, announce: list[tuple[str, str]]) -> None:
        observe = self._observe
        if observe is None:
            return
        for sid, name in announce:
            address = address_of(name)
            observe(DnsAnswer("", "", name, (), ((address, TTL_S),)), speaker_id=sid)
            observe(ClientHello("", "", _port_of(sid, name), address, 443, name), speaker_id=sid)

    def block_drops(self) -> dict[int, PacketCount]:
        with self._lock:
            return {block_id: PacketCount(p, b) for block_id, (p, b) in self._drops.items()}

    def set_blocks(self, blocks: dict[int, str]) -> None:
        with self._lock:
            self._blocks = dict(blocks)

    def add_block(self, block_id: int, speaker_id: str) -> None:
        with self._lock:
            self._blocks[int(block_id)] = speaker_id
            self._block_sets.setdefault(int(block_id), {})

    def remove_block(self, block_id: int) -> bool:
        with self._lock:
            self._block_sets.pop(int(block_id), None)
            self._drops.pop(int(block_id), None)
            return self._blocks.pop(int(block_id), None) is not None

    def add_block_addresses(self, block_id: int, addresses: Iterable[tuple[str, float]]) -> None:
        now = self._clock()
        with self._lock:
            entries = self._block_sets.setdefault(int(block_id), {})
            for address, timeout in addresses:
                entries[str(ipaddress.ip_address(address))] = now + max(1.0, float(timeout))

    def block_addresses(self, block_id: int) -> list[tuple[str, int]]:
        now = self._clock()
        with self._lock:
            return [(a, int(expires - now)) for a, expires in self._block_sets.get(int(block_id), {}).items()
                    if expires > now]

    def close(self) -> None:
        """Nothing to release (part of the backend's shape)."""
