"""What the observer learned about a speaker's remote addresses: the names its DNS answers gave them, and the server
names its ClientHellos asked for, flow by flow.

A flow's name is, best first: the server name of its own ClientHello (exact, even when many names share one
address, as on a CDN); else the name of the DNS answer that gave the speaker that address most recently
before the flow began; else another flow's server name for the same address. Entries are kept in memory
only, bounded per speaker, and forgotten an hour after their TTL ran out: connections outlive TTLs, and a
flow that began within that hour still finds its name.

Not thread-safe on its own: the tracker calls it under its lock.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from device_bridge.traffic.nft import FlowKey

KEEP_AFTER_TTL_S = 3600.0
SNI_KEEP_S = 600.0
MAX_ADDRESSES = 4096
MAX_FLOWS = 4096
MAX_NAMES_PER_ADDRESS = 8


@dataclass
class _Named:
    """One name an address had, for one speaker."""

    name: str
    chain: tuple[str, ...]  # the name asked for, then its CNAME targets
    seen: float
    expires: float  # the TTL's end


@dataclass
class _Speaker:
    addresses: collections.OrderedDict[str, list[_Named]] = field(default_factory=collections.OrderedDict)
    flows: collections.OrderedDict[FlowKey, tuple[str, float]] = field(default_factory=collections.OrderedDict)
    sni_by_address: collections.OrderedDict[str, tuple[str, float]] = field(default_factory=collections.OrderedDict)


class NameBook:
    """Per speaker: address -> names (DNS), flow -> server name (TLS)."""

    def __init__(self) -> None:
        self._speakers: dict[str, _Speaker] = collections.defaultdict(_Speaker)

    def learn_dns(self, speaker_id: str, chain: tuple[str, ...], addresses: tuple[tuple[str, int], ...],
                  now: float) -> None:
        """A DNS answer for chain[0] (CNAMEs chain[1:]) gave these (address, ttl)."""
        book = self._speakers[speaker_id]
        for address, ttl in addresses:
            names = [n for n in book.addresses.pop(address, []) if n.name != chain[0]]
            names.append(_Named(chain[0], chain, now, now + ttl))
            book.addresses[address] = names[-MAX_NAMES_PER_ADDRESS:]
        while len(book.addresses) > MAX_ADDRESSES:
            book.addresses.popitem(last=False)

    def learn_sni(self, speaker_id: str, key: FlowKey, server_name: str, now: float) -> None:
        book = self._speakers[speaker_id]
        book.flows.pop(key, None)
        book.flows[key] = (server_name, now)
        book.sni_by_address.pop(key.remote, None)
        book.sni_by_address[key.remote] = (server_name, now)
        for ordered in (book.flows, book.sni_by_address):
            while len(ordered) > MAX_FLOWS:
                ordered.popitem(last=False)

    def flow_name(self, speaker_id: str, key: FlowKey, now: float | None = None) -> str | None:
        """The server name the flow's own ClientHello asked for; with `now`, the flow is still in use (its name
        is kept SNI_KEEP_S longer: a connection idle past the flow sets' timeout comes back under it)."""
        book = self._speakers[speaker_id]
        found = book.flows.get(key)
        if found is None:
            return None
        if now is not None:
            book.flows[key] = (found[0], now)
            book.flows.move_to_end(key)
        return found[0]

    def address_name(self, speaker_id: str, address: str, at: float) -> tuple[str, str] | None:
        """(name, "dns" or "sni") for a flow to `address` that began at `at`, or None."""
        book = self._speakers[speaker_id]
        names = book.addresses.get(address)
        if names:
            before = [n for n in names if n.seen <= at + 1.0] or names
            return max(before, key=lambda n: n.seen).name, "dns"
        sni = book.sni_by_address.get(address)
        if sni:
            return sni[0], "sni"
        return None

    def names_of_address(self, speaker_id: str, address: str) -> list[str]:
        """Every name the speaker was told or asked for at this address (newest first)."""
        book = self._speakers[speaker_id]
        names = [n.name for n in sorted(book.addresses.get(address, ()), key=lambda n: -n.seen)]
        sni = book.sni_by_address.get(address)
        if sni and sni[0] not in names:
            names.append(sni[0])
        return names

    def entries(self, speaker_id: str, now: float) -> list[tuple[str, tuple[str, ...], float]]:
        """(address, name chain, seconds of TTL left, at least 0) of every DNS name the speaker has now."""
        return [(address, named.chain, max(0.0, named.expires - now))
                for address, names in self._speakers[speaker_id].addresses.items() for named in names]

    def sni_entries(self, speaker_id: str) -> list[tuple[str, str, float]]:
        """(address, server name, when) of the ClientHellos remembered."""
        return [(address, name, when) for address, (name, when) in self._speakers[speaker_id].sni_by_address.items()]

    def expire(self, now: float) -> None:
        """Forget names whose TTL ran out more than KEEP_AFTER_TTL_S ago, and server names older than SNI_KEEP_S."""
        for book in self._speakers.values():
            for address in list(book.addresses):
                kept = [n for n in book.addresses[address] if n.expires + KEEP_AFTER_TTL_S >= now]
                if kept:
                    book.addresses[address] = kept
                else:
                    del book.addresses[address]
            for ordered in (book.flows, book.sni_by_address):
                for key in [k for k, (_name, when) in ordered.items() if when + SNI_KEEP_S < now]:
                    del ordered[key]
