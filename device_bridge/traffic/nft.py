"""The bridge's nftables table `inet earmuff`: per-speaker traffic counters and the network mute's drop rules.

Changes go through the `nft` command line (a subprocess with a timeout; changes as `nft -f -` batches,
which the kernel applies atomically). Listings (the counters at 10 Hz, the mute sense) run in this
process through libnftables (libnft.py). The table, abridged, for a speaker "kitchen" known by MAC, first
in the config (ids map "-" to "_"; `render()` gives the exact batch)::

    table inet earmuff {
        set lan4 { type ipv4_addr; flags interval; elements = { 0.0.0.0/8, 10.0.0.0/8, 127.0.0.0/8,
                   169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, 255.255.255.255 } }
        set lan6 { type ipv6_addr; flags interval; elements = { ::1, fc00::/7, fe80::/10, ff00::/8 } }
        set addr4_kitchen { type ipv4_addr; flags dynamic,timeout }   # the speaker's addresses: the
        set addr6_kitchen { type ipv6_addr; flags dynamic,timeout }   # configured ip, plus learned ones
        set count_internet { type mark; flags dynamic; counter        # to / from the internet
            elements = { 0x00000000 comment "kitchen up", 0x00000001 comment "kitchen down" } }
        set count_lan { ...the same keys... }     # to / from the local network (the bridge included)
        set count_drop { type mark; flags dynamic; counter; elements = { 0x00000000 comment "kitchen dropped" } }
        chain uplink_kitchen {
            update @count_drop { 0x00000000 } drop  # only while network-muted (mute = insert, unmute = delete)
            update @count_internet { 0x00000000 }
        }
        chain prerouting { type filter hook prerouting priority filter + 10
            ether saddr MAC ip saddr != 0.0.0.0 update @addr4_kitchen { ip saddr timeout 30m }
            ether saddr MAC ip6 saddr != :: update @addr6_kitchen { ip6 saddr timeout 30m }
            ether saddr MAC fib daddr type local update @count_lan { 0x00000000 } accept
            ether saddr MAC ip daddr @lan4 update @count_lan { 0x00000000 }
            ether saddr MAC ip6 daddr @lan6 update @count_lan { 0x00000000 } }
        chain forward { type filter hook forward priority filter + 10
            ether saddr MAC ip daddr != @lan4 jump uplink_kitchen
            ether saddr MAC ip6 daddr != @lan6 jump uplink_kitchen
            ip daddr @addr4_kitchen ip saddr != @lan4 update @count_internet { 0x00000001 }
            ip6 daddr @addr6_kitchen ip6 saddr != @lan6 update @count_internet { 0x00000001 } }
        chain postrouting { type filter hook postrouting priority filter + 10
            ip daddr @addr4_kitchen ip saddr @lan4 update @count_lan { 0x00000001 }
            ip6 daddr @addr6_kitchen ip6 saddr @lan6 update @count_lan { 0x00000001 } }
    }

The counters are the elements of three sets. A set with the `counter` flag gives each element a
counter of its own, and `update @set { key }` adds the packet to that element's counter. The key is the
speaker's position in the config, times two, plus one for "down"; the comment names it. Listing one set
is a narrow query: nft fetches that set and nothing else. Named counter objects would be simpler, but
nft 1.0.6 (Debian 12, Raspberry Pi OS) answers `list counters` by fetching and decoding every rule of
every table. Reading four speakers' named counters through a long-running nft cost 0.60 ms of CPU,
and 3.9 ms with a 200-rule firewall table beside; listing the set in-process costs 0.09 ms either way
(x86-64 development machine).

Reading goes in-process through libnftables when `nft` is the plain command and the library loads. A
missing library is logged once, with the reason, and so is a library that the kernel refuses (no
CAP_NET_ADMIN; it would also print to stderr at every reading). Otherwise, and whenever `nft` is a
stand-in or a wrapper, reads go through one long-running `nft -j -a -i` that answers a command per line.
Any error there closes it, and the same command runs as a one-off `nft`, whose message is the one
reported.

How a speaker is recognised: uplink by `ether saddr` when its MAC is configured (the forward hook still
has the Ethernet header of a packet that arrived on an Ethernet-like interface, Wi-Fi included; the
netns tests check this), otherwise by `ip saddr`/`ip6 saddr`. Downlink always by destination address,
because a forwarded packet's Ethernet header is the upstream router's: the addresses are the configured
`ip` plus every source address the speaker's MAC was seen using (a timed-out dynamic set, so a new DHCP
lease is picked up at its first packet).

What counts as uplink: packets the bridge forwards from the speaker to a destination outside `lan4`/
`lan6` (private, loopback, link-local, multicast, broadcast). Traffic to the bridge itself is never
forwarded and shows only in the LAN counters. Counters count IP packet lengths (L3: IP header
included, no Ethernet header) of the packets as the kernel holds them: segments merged by GRO on the
speaker's interface count as one packet (so the Pi setup turns GRO off there). They count in the
forward hook: before NAT rewrites the source address, after the network mute's drop (dropped packets
count in `count_drop`, not as uplink).

Destinations (`destinations=True`, device_bridge/destinations/): four more counting sets, `flows4_up`,
`flows4_down`, `flows6_up`, `flows6_down`, keyed `position . remote address . protocol . remote port .
speaker's port` (`FlowKey`), are updated next to `count_internet` (uplink in `uplink_<id>`, downlink in
`forward`). TCP to port 443 is kept per connection, so each connection's ClientHello can name it; other
TCP and UDP per remote address and port (speaker's port 0). Elements leave a minute after their last
packet (FLOW_TIMEOUT). Listing the sets costs about 13 us of CPU per element (x86-64), so the per-port
aggregation is what keeps a speaker that queries an outside DNS server from costing more every second.
Each speaker's `uplink_<id>` chain first jumps to `blocks_<id>`, where every destination block has two
address sets (`block4_<block id>`, `block6_<block id>`, elements with timeouts, filled by the tracker from
DNS answers and ClientHellos) and a rule that counts the packet in `count_block` (keyed by block id) and
drops it. Blocks and their current elements are carried over when the table is installed again.

Re-installing (bridge restart, config change) replaces the table in one transaction and RESETS its
counters, deliberately: a speaker's rules may have changed, and the sampler treats a counter that went
down as a reset. The mute drop rules in force are carried over into the new table in the same
transaction, so re-creating the table never unmutes a speaker, not even for a moment.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import select
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from device_bridge.traffic.libnft import LIBRARY, Libnftables, LibraryUnavailable
from device_bridge.traffic.model import Counters

log = logging.getLogger(__name__)

TABLE_NAME = "earmuff"
DEFAULT_TIMEOUT_S = 5.0
# How long a learned speaker address stays in the set after its last packet.
ADDRESS_TIMEOUT = "30m"
# Destinations that are not "the internet" (uplink excludes them; the LAN counters count them).
LAN4 = (
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
    "224.0.0.0/4", "255.255.255.255",
)
LAN6 = ("::1", "fc00::/7", "fe80::/10", "ff00::/8")
PRIORITY = "filter + 10"
# The sets whose elements are the counters (see the module docstring).
INTERNET = "count_internet"
LAN = "count_lan"
DROP = "count_drop"
# Destinations (with `destinations=True`): bytes per remote flow, and what each destination block dropped.
FLOWS4 = "flows4"
FLOWS6 = "flows6"
BLOCKED = "count_block"
# How long a flow's element stays after its last packet. The tracker reads the sets every second, so an
# element that expires has had its last bytes read; a flow that wakes up after this starts a new element.
FLOW_TIMEOUT = "1m"
FLOW_SET_SIZE = 65535

_SPEAKER_ID = re.compile(r"[a-z0-9-]{1,32}")
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
_TABLE_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,31}")
_CARETS = re.compile(r"[\s^~]*")


class NftError(RuntimeError):
    """nftables failed or is unusable; the message says what to do about it."""


class NftTableMissing(NftError):
    """The table is not in the kernel (never installed, or removed by something else, like `flush ruleset`)."""


class PacketCount(NamedTuple):
    packets: int
    bytes: int


class FlowKey(NamedTuple):
    """One remote flow of a speaker, as the flow sets key it (addresses as nft writes them)."""

    remote: str
    proto: str  # "tcp" or "udp"
    remote_port: int
    local_port: int


@dataclass(frozen=True)
class SpeakerMatch:
    """How the table recognises one speaker's packets: its MAC, its IP (v4 or v6), or both.

    Attributes:
        speaker_id: the speaker's id from the config (a-z, 0-9, "-").
        mac: lower-case "aa:bb:cc:dd:ee:ff", or None.
        ip: an IPv4 or IPv6 address, or None.
    """

    speaker_id: str
    mac: str | None = None
    ip: str | None = None

    def __post_init__(self) -> None:
        if not _SPEAKER_ID.fullmatch(self.speaker_id):
            raise ValueError(f"{self.speaker_id!r} is not a speaker id (1-32 of a-z, 0-9 and '-')")
        if self.mac is not None:
            mac = self.mac.strip().lower().replace("-", ":")
            if not _MAC.fullmatch(mac):
                raise ValueError(f"speaker {self.speaker_id!r}: {self.mac!r} is not a MAC address (aa:bb:cc:dd:ee:ff)")
            object.__setattr__(self, "mac", mac)
        if self.ip is not None:
            try:
                address = ipaddress.ip_address(self.ip.strip())
            except ValueError:
                raise ValueError(f"speaker {self.speaker_id!r}: {self.ip!r} is not an IP address") from None
            object.__setattr__(self, "ip", str(address))
        if self.mac is None and self.ip is None:
            raise ValueError(f"speaker {self.speaker_id!r}: nftables needs its mac or its ip")

    @classmethod
    def from_config(cls, config: Any) -> SpeakerMatch:
        """From a SpeakerConfig (reads `id`, and `mac` / `ip` where the config has them)."""
        return cls(config.id, getattr(config, "mac", None), getattr(config, "ip", None))

    @property
    def ip_version(self) -> int | None:
        return ipaddress.ip_address(self.ip).version if self.ip is not None else None


def matchable(configs: Iterable[Any]) -> list[SpeakerMatch]:
    """The speakers of a config that the table can recognise (those with a `mac` or an `ip`)."""
    return [
        SpeakerMatch.from_config(c) for c in configs
        if getattr(c, "mac", None) is not None or getattr(c, "ip", None) is not None
    ]


def _ident(speaker_id: str) -> str:
    # nft identifiers cannot contain "-"; ids cannot contain "_", so this is one-to-one.
    return speaker_id.replace("-", "_")


class NftTable:
    """Owns the nftables table `inet earmuff` of one bridge: counters per speaker and network-mute rules.

    Thread-safe: changes (install, mute, unmute, remove) are serialised by a lock; reads run freely.
    `read()` and `close()` make it a TrafficSource. Nothing here touches the kernel until called.

    Attributes:
        name: the table's name (family inet).
        speakers: the speakers it counts, in order (a speaker's position is its counters' key).
    """

    def __init__(
        self,
        speakers: Iterable[SpeakerMatch | Any],
        *,
        name: str = TABLE_NAME,
        nft: Sequence[str] = ("nft",),
        netns: str | None = None,
        library: str | None = LIBRARY,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        session: bool = True,
        destinations: bool = False,
    ) -> None:
        """`speakers`: SpeakerMatch or SpeakerConfig objects. `nft`: the command that runs nft; anything but
        the plain ("nft",) (a stand-in, a wrapper) is run for listings too, instead of the library. `netns`:
        work in this named network namespace (`ip netns`) instead of the process's own (tests). `library`:
        the libnftables to list through, None for the command only. `session`: when listing through the
        command, keep one nft running to answer. `destinations`: also count bytes per remote flow and carry
        the destination blocks (see "Destinations" in the module docstring)."""
        if not _TABLE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a usable nftables table name")
        self.name = name
        self.speakers: tuple[SpeakerMatch, ...] = tuple(
            s if isinstance(s, SpeakerMatch) else SpeakerMatch.from_config(s) for s in speakers
        )
        ids = [s.speaker_id for s in self.speakers]
        if len(set(ids)) != len(ids):
            raise ValueError(f"a speaker id appears twice: {ids}")
        self._position = {s.speaker_id: i for i, s in enumerate(self.speakers)}
        self._by_ident = {_ident(s.speaker_id): s.speaker_id for s in self.speakers}
        self._nft = ("ip", "netns", "exec", netns, *nft) if netns is not None else tuple(nft)
        self._netns = netns
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._session = _Session(self._nft, timeout_s) if session else None
        self._library = library if tuple(nft) == ("nft",) else None
        self._libnft: Libnftables | None = None
        self._libnft_lock = threading.Lock()
        self.destinations = destinations
        self._blocks: dict[int, str] = {}  # block id -> speaker id

    @property
    def speaker_ids(self) -> tuple[str, ...]:
        return tuple(s.speaker_id for s in self.speakers)

    @property
    def in_process(self) -> bool:
        """Whether listings run through libnftables in this process (loads it on first use)."""
        return self._in_process() is not None

    # --- the table as a whole ------------------------------------------------------------------------

    def install(self, muted: Iterable[str] = ()) -> None:
        """Create the table, or replace it, in one transaction; counters start from zero.

        Speakers whose drop rule is in the kernel now stay muted, and so do those in `muted`.
        """
        extra = set(muted)
        self._check_known(extra)
        with self._lock:
            keep = self._muted_in_kernel() | extra
            elements = self._block_elements_in_kernel() if self.destinations else {}
            self._batch(self.render(keep, replace=True, block_elements=elements))

    def ensure_installed(self, muted: Iterable[str] = ()) -> bool:
        """Install the table if it is not in the kernel (say after a firewall reload); True if it did."""
        if self.installed():
            return False
        self.install(muted)
        return True

    def installed(self) -> bool:
        """Whether the table is in the kernel as this code lays it out (one left by an older bridge, with
        named counters, is not)."""
        try:
            self._listing("list", "set", "inet", self.name, INTERNET)
        except NftTableMissing:
            return False
        return True

    def remove(self) -> None:
        """Delete the table (counters and drop rules with it). Idempotent. The bridge calls this at
        shutdown only when no speaker is network-muted in its persisted state."""
        with self._lock:
            self._batch(f"table inet {self.name} {{\n}}\ndelete table inet {self.name}\n")

    def render(self, muted: Iterable[str] = (), *, replace: bool = False,
               block_elements: dict[str, list[str]] | None = None) -> str:
        """The table as an `nft -f` batch, with the drop rules of `muted` in place. With `replace`, the
        batch first deletes any existing table of this name (creating it first, so both always work).
        `block_elements`: elements (with their timeouts) to put in the block sets, by set name."""
        muted = set(muted)
        out: list[str] = []
        if replace:
            out += [f"table inet {self.name} {{", "}", f"delete table inet {self.name}"]
        out.append(f"table inet {self.name} {{")
        out += _set("lan4", "ipv4_addr", "interval", LAN4)
        out += _set("lan6", "ipv6_addr", "interval", LAN6)
        for s in self.speakers:
            n = _ident(s.speaker_id)
            out += _set(f"addr4_{n}", "ipv4_addr", "dynamic, timeout", [s.ip] if s.ip_version == 4 else [])
            out += _set(f"addr6_{n}", "ipv6_addr", "dynamic, timeout", [s.ip] if s.ip_version == 6 else [])
        for name, labels in ((INTERNET, ("up", "down")), (LAN, ("up", "down")), (DROP, ("dropped",))):
            elements = [
                f'{_key(len(labels) * i + j)} comment "{s.speaker_id} {label}"'
                for i, s in enumerate(self.speakers) for j, label in enumerate(labels)
            ]
            out += _set(name, "mark", "dynamic", elements, counter=True)
        if self.destinations:
            out += self._render_destination_sets(block_elements or {})
        for i, s in enumerate(self.speakers):
            out.append(f"\tchain uplink_{_ident(s.speaker_id)} {{")
            if s.speaker_id in muted:
                out.append(f"\t\t{_drop_rule(i)}")
            if self.destinations:
                out.append(f"\t\tjump blocks_{_ident(s.speaker_id)}")
            out.append(f"\t\t{_count(INTERNET, 2 * i)}")
            if self.destinations:
                out += [f"\t\t{rule}" for rule in _flow_rules(i, "up")]
            out.append("\t}")
            if self.destinations:
                out.append(f"\tchain blocks_{_ident(s.speaker_id)} {{")
                for block_id in sorted(b for b, owner in self._blocks.items() if owner == s.speaker_id):
                    out += [f"\t\t{rule}" for rule in _block_rules(block_id)]
                out.append("\t}")
        out += _chain("prerouting", [rule for i, s in enumerate(self.speakers) for rule in _prerouting_rules(i, s)])
        out += _chain("forward", [rule for i, s in enumerate(self.speakers)
                                  for rule in _forward_rules(i, s, flows=self.destinations)])
        out += _chain("postrouting", [rule for i, s in enumerate(self.speakers) for rule in _postrouting_rules(i, s)])
        out.append("}")
        return "\n".join(out) + "\n"

    def listing(self) -> str:
        """The table as the kernel has it now, in nft's own words (for diagnostics)."""
        return self._run("list", "table", "inet", self.name)

    # --- counters ------------------------------------------------------------------------------------

    def read(self) -> dict[str, Counters]:
        """Cumulative internet up/down counters per speaker id (TrafficSource). NftTableMissing if the table is gone."""
        return self._up_down(INTERNET)

    def read_lan(self) -> dict[str, Counters]:
        """Cumulative local-network counters per speaker id (to and from the LAN and the bridge itself)."""
        return self._up_down(LAN)

    def dropped(self, speaker_id: str) -> PacketCount:
        """What the network mute has dropped for this speaker since the table was installed."""
        self._check_known([speaker_id])
        return self._counts(DROP).get(self._position[speaker_id], PacketCount(0, 0))

    def close(self) -> None:
        """Free the library's contexts and stop the long-running nft (both come back if needed). The
        table stays in the kernel (see `remove`). Idempotent; part of TrafficSource."""
        with self._libnft_lock:
            if self._libnft is not None:
                self._libnft.close()
        if self._session is not None:
            self._session.close()

    def _up_down(self, name: str) -> dict[str, Counters]:
        counts = self._counts(name)
        result = {}
        for i, s in enumerate(self.speakers):
            up, down = counts.get(2 * i), counts.get(2 * i + 1)
            if up is not None and down is not None:
                result[s.speaker_id] = Counters(up.bytes, up.packets, down.bytes, down.packets)
        return result

    def _counts(self, name: str) -> dict[int, PacketCount]:
        """The counters of one of the table's counting sets, by element key."""
        counts = {}
        for item in self._listing("list", "set", "inet", self.name, name):
            listed = item.get("set")
            if listed is None or listed.get("table") != self.name or listed.get("name") != name:
                continue
            for element in listed.get("elem", ()):
                element = element.get("elem") if isinstance(element, dict) else None
                if isinstance(element, dict) and isinstance(element.get("val"), int) and "counter" in element:
                    counter = element["counter"]
                    counts[element["val"]] = PacketCount(int(counter["packets"]), int(counter["bytes"]))
        return counts

    # --- destinations --------------------------------------------------------------------------------

    def read_flows(self) -> dict[str, dict[FlowKey, list[int]]]:
        """Cumulative [up bytes, up packets, down bytes, down packets] per remote flow, per speaker id
        (FlowKey: remote address, protocol, remote port, the speaker's port). Flows idle for FLOW_TIMEOUT
        have left the sets. NftTableMissing if the table is gone."""
        self._need_destinations()
        flows: dict[str, dict[FlowKey, list[int]]] = {s.speaker_id: {} for s in self.speakers}
        for name in (FLOWS4, FLOWS6):
            for direction, offset in (("up", 0), ("down", 2)):
                for value, counter in self._elements(f"{name}_{direction}"):
                    concat = value.get("concat") if isinstance(value, dict) else None
                    if not isinstance(concat, list) or len(concat) != 5 or not isinstance(concat[0], int):
                        continue
                    position, remote, proto, remote_port, local_port = concat
                    if not 0 <= position < len(self.speakers):
                        continue
                    key = FlowKey(str(remote), str(proto), int(remote_port), int(local_port))
                    entry = flows[self.speakers[position].speaker_id].setdefault(key, [0, 0, 0, 0])
                    entry[offset] += int(counter["bytes"])
                    entry[offset + 1] += int(counter["packets"])
        return flows

    def set_blocks(self, blocks: dict[int, str]) -> None:
        """Which destination blocks (id -> speaker id) the table carries from the next `install()` on."""
        self._need_destinations()
        self._check_known(blocks.values())
        with self._lock:
            self._blocks = dict(blocks)

    def add_block(self, block_id: int, speaker_id: str) -> None:
        """Add a block's (empty) address sets and its drop rules to the speaker's blocks chain. Idempotent."""
        self._need_destinations()
        self._check_known([speaker_id])
        block_id = int(block_id)
        with self._lock:
            if self._blocks.get(block_id) == speaker_id and self._block_handles(speaker_id, block_id):
                return
            chain = f"blocks_{_ident(speaker_id)}"
            lines = []
            for version, type_ in ((4, "ipv4_addr"), (6, "ipv6_addr")):
                lines.append(f"add set inet {self.name} {_block_set(block_id, version)} "
                             f"{{ type {type_}; flags timeout; }}")
            lines += [f"add rule inet {self.name} {chain} {rule}" for rule in _block_rules(block_id)]
            self._batch("\n".join(lines) + "\n")
            self._blocks[block_id] = speaker_id

    def remove_block(self, block_id: int) -> bool:
        """Delete a block's drop rules and sets; True if it was there. A missing table counts as removed."""
        self._need_destinations()
        block_id = int(block_id)
        with self._lock:
            speaker_id = self._blocks.pop(block_id, None)
            if speaker_id is None:
                return False
            try:
                handles = self._block_handles(speaker_id, block_id)
                lines = [f"delete rule inet {self.name} blocks_{_ident(speaker_id)} handle {h}" for h in handles]
                existing = self._set_names()
                lines += [f"delete set inet {self.name} {_block_set(block_id, v)}" for v in (4, 6)
                          if _block_set(block_id, v) in existing]
                if lines:
                    self._batch("\n".join(lines) + "\n")
            except NftTableMissing:
                pass
        return True

    def add_block_addresses(self, block_id: int, addresses: Iterable[tuple[str, float]]) -> None:
        """Put addresses in a block's sets, each for its timeout in seconds (at least 1). An address that is
        there already gets the new timeout on kernels that refresh it (6.10 and later; older ones keep the
        first, and the address goes in again with the next DNS answer for it)."""
        self._need_destinations()
        by_version: dict[int, list[str]] = {4: [], 6: []}
        for address, timeout in addresses:
            parsed = ipaddress.ip_address(address)  # ValueError for anything else: nothing unchecked reaches nft
            by_version[parsed.version].append(f"{parsed} timeout {max(1, int(round(timeout)))}s")
        lines = [f"add element inet {self.name} {_block_set(block_id, v)} {{ {', '.join(items)} }}"
                 for v, items in by_version.items() if items]
        if lines:
            self._change("\n".join(lines) + "\n")

    def block_addresses(self, block_id: int) -> list[tuple[str, int]]:
        """(address, seconds left) in a block's sets now."""
        self._need_destinations()
        found = []
        for version in (4, 6):
            try:
                for value, element in self._elements(_block_set(block_id, version), counted=False):
                    found.append((str(value), int(element.get("expires", 0))))
            except NftTableMissing:
                continue
        return found

    def block_drops(self) -> dict[int, PacketCount]:
        """What each destination block dropped since the table was installed, by block id."""
        self._need_destinations()
        return self._counts(BLOCKED)

    def _need_destinations(self) -> None:
        if not self.destinations:
            raise NftError("this table was made without destinations (NftTable(destinations=True))")

    def _elements(self, set_name: str, *, counted: bool = True) -> Iterable[tuple[Any, dict]]:
        """(value, element) of a set's elements; with `counted`, only those with a counter."""
        for item in self._listing("list", "set", "inet", self.name, set_name):
            listed = item.get("set")
            if listed is None or listed.get("name") != set_name:
                continue
            for element in listed.get("elem", ()):
                if isinstance(element, dict) and isinstance(element.get("elem"), dict):
                    inner = element["elem"]
                    if not counted or "counter" in inner:
                        yield inner.get("val"), (inner.get("counter") if counted else inner)
                elif not counted:
                    yield element, {}

    def _block_handles(self, speaker_id: str, block_id: int) -> list[int]:
        marker = f"@{_block_set(block_id, 4)}", f"@{_block_set(block_id, 6)}"
        try:
            rules = self._listing("list", "chain", "inet", self.name, f"blocks_{_ident(speaker_id)}")
        except NftTableMissing:
            return []
        handles = []
        for item in rules:
            rule = item.get("rule")
            if rule is not None and any(m in json.dumps(rule.get("expr", ())) for m in marker):
                handles.append(int(rule["handle"]))
        return handles

    def _set_names(self) -> set[str]:
        return {item["set"]["name"] for item in self._listing("list", "sets", "inet") if "set" in item
                and item["set"].get("table") == self.name}

    def _block_elements_in_kernel(self) -> dict[str, list[str]]:
        """The registered blocks' elements now in the kernel, as `render` takes them (carried over on install)."""
        found: dict[str, list[str]] = {}
        for block_id in self._blocks:
            for version in (4, 6):
                name = _block_set(block_id, version)
                try:
                    items = list(self._elements(name, counted=False))
                except NftTableMissing:
                    continue
                found[name] = [f"{value} timeout {max(1, int(element.get('expires', 1)))}s"
                               for value, element in items if isinstance(value, str)]
        return found

    def _render_destination_sets(self, block_elements: dict[str, list[str]]) -> list[str]:
        out = []
        for name, type_ in ((FLOWS4, "ipv4_addr"), (FLOWS6, "ipv6_addr")):
            for direction in ("up", "down"):
                out += [f"\tset {name}_{direction} {{",
                        f"\t\ttype mark . {type_} . inet_proto . inet_service . inet_service",
                        f"\t\tsize {FLOW_SET_SIZE}", "\t\tflags dynamic, timeout", f"\t\ttimeout {FLOW_TIMEOUT}",
                        "\t\tcounter", "\t}"]
        out += _set(BLOCKED, "mark", "dynamic", [], counter=True)
        for block_id in sorted(self._blocks):
            for version, type_ in ((4, "ipv4_addr"), (6, "ipv6_addr")):
                name = _block_set(block_id, version)
                out += _set(name, type_, "timeout", block_elements.get(name, []))
        return out

    def _change(self, text: str) -> None:
        """A change that must take effect at once (block addresses: a DNS answer is on its way to the
        speaker): in-process through libnftables when it is loaded (about 0.1 ms), else through nft."""
        libnft = self._in_process()
        if libnft is not None:
            try:
                result = libnft.run(text)
            except OSError as error:
                raise NftError(f"cannot reach nftables: {error.strerror or error}") from None
            if result.ok:
                return
            if "Operation not permitted" not in result.error:
                raise self._error(("-f", "-"), result.error)
        self._batch(text)

    # --- network mute --------------------------------------------------------------------------------

    def mute(self, speaker_id: str) -> int:
        """Drop the speaker's traffic to the internet; returns the drop rule's handle. Idempotent."""
        self._check_known([speaker_id])
        n = _ident(speaker_id)
        with self._lock:
            handles = self._drop_handles(n)
            if handles:
                return handles[0]
            # As arguments, not `-f -`: nft 1.0.6 echoes JSON only for commands given on its command line.
            # Every word is ours (identifiers made from validated speaker ids).
            rule = _drop_rule(self._position[speaker_id]).split()
            echoed = self._json("-e", "-a", "insert", "rule", "inet", self.name, f"uplink_{n}", *rule)
        for item in echoed:
            rule = item.get("insert", {}).get("rule") or item.get("add", {}).get("rule")
            if rule is not None and "handle" in rule:
                return int(rule["handle"])
        raise NftError(f"nft did not report the handle of {speaker_id}'s drop rule")

    def unmute(self, speaker_id: str) -> bool:
        """Delete the speaker's drop rule(s) by handle; True if there was one. Idempotent; a missing table
        counts as unmuted."""
        self._check_known([speaker_id])
        n = _ident(speaker_id)
        with self._lock:
            try:
                handles = self._drop_handles(n)
            except NftTableMissing:
                return False
            if not handles:
                return False
            self._batch("".join(f"delete rule inet {self.name} uplink_{n} handle {h}\n" for h in handles))
        return True

    def is_muted(self, speaker_id: str) -> bool:
        """Whether the speaker's drop rule is in the kernel now (False if the table is gone)."""
        self._check_known([speaker_id])
        try:
            return bool(self._drop_handles(_ident(speaker_id)))
        except NftTableMissing:
            return False

    def _drop_handles(self, n: str) -> list[int]:
        rules = self._listing("list", "chain", "inet", self.name, f"uplink_{n}")
        return [int(item["rule"]["handle"]) for item in rules if "rule" in item and _is_drop(item["rule"])]

    def _muted_in_kernel(self) -> set[str]:
        try:
            items = self._listing("list", "table", "inet", self.name)
        except NftTableMissing:
            return set()
        muted = set()
        for item in items:
            rule = item.get("rule")
            if rule is None or not rule.get("chain", "").startswith("uplink_") or not _is_drop(rule):
                continue
            speaker_id = self._by_ident.get(rule["chain"].removeprefix("uplink_"))
            if speaker_id is not None:
                muted.add(speaker_id)
        return muted

    def _check_known(self, speaker_ids: Iterable[str]) -> None:
        for speaker_id in speaker_ids:
            if _ident(speaker_id) not in self._by_ident:
                raise KeyError(f"speaker {speaker_id!r} is not in the nftables table")

    # --- talking to nftables -------------------------------------------------------------------------

    def _in_process(self) -> Libnftables | None:
        """The library to list through, loaded at the first listing; None means the nft command."""
        with self._libnft_lock:
            if self._libnft is None and self._library is not None:
                try:
                    self._libnft = Libnftables(self._library, netns=self._netns)
                except LibraryUnavailable as error:
                    log.warning("Reading nftables through the nft command, which costs more CPU: %s", error)
                    self._library = None
                else:
                    log.info("Reading nftables in-process through %s", self._library)
            return self._libnft

    def _stop_in_process(self, reason: str) -> None:
        with self._libnft_lock:
            libnft, self._libnft, self._library = self._libnft, None, None
        if libnft is not None:
            log.warning("Reading nftables through the nft command from now on: %s", reason)
            libnft.close()

    def _listing(self, *args: str) -> list[dict]:
        """A `list ...` command's JSON items: in-process when the library is there, else from nft."""
        libnft = self._in_process()
        if libnft is not None:
            try:
                result = libnft.run(" ".join(args))
            except OSError as error:
                raise NftError(f"cannot reach nftables: {error.strerror or error}") from None
            if result.ok:
                return _items(result.output)
            if "Operation not permitted" not in result.error:
                raise self._error(args, result.error)
            # The library also printed "you must be root" on stderr, and would at every reading. nft says
            # it in its own words, on a pipe.
            self._stop_in_process(f"the kernel refused libnftables ({_first_line(result.error)})")
        if self._session is not None:
            out = self._session.ask(" ".join(args))
            if out is not None:
                return _items(out)
        return self._json("-a", *args)

    def _batch(self, text: str) -> None:
        self._run("-f", "-", input=text)

    def _json(self, *args: str, input: str | None = None) -> list[dict]:
        return _items(self._run("-j", *args, input=input))

    def _run(self, *args: str, input: str | None = None) -> str:
        command = [*self._nft, *args]
        try:
            done = subprocess.run(
                command, input=input, capture_output=True, text=True, timeout=self._timeout_s, check=False
            )
        except FileNotFoundError:
            raise NftError(f"{self._nft[0]!r} was not found: install nftables (apt-get install nftables)") from None
        except PermissionError as error:
            raise NftError(f"cannot run {self._nft[0]!r}: {error}") from None
        except subprocess.TimeoutExpired:
            raise NftError(f"nft did not answer within {self._timeout_s:g} s ({' '.join(args)})") from None
        if done.returncode == 0:
            return done.stdout
        raise self._error(args, done.stderr, f"exit {done.returncode}")

    def _error(self, args: Sequence[str], text: str, fallback: str = "no message") -> NftError:
        """The error for what nft (command or library) printed when a command failed."""
        lines = [line.strip() for line in text.strip().splitlines() if not _CARETS.fullmatch(line)]
        error = " ".join(lines[:3]) or fallback
        if "Operation not permitted" in error:
            return NftError(f"the bridge needs CAP_NET_ADMIN for nftables (run it as root): {error}")
        if "No such file or directory" in error:
            return NftTableMissing(f"table inet {self.name} (or part of it) is not in the kernel: {error}")
        return NftError(f"nft {' '.join(args)} failed: {error}")


def _items(out: str) -> list[dict]:
    if not out.strip():
        return []
    try:
        return json.loads(out)["nftables"]
    except (ValueError, KeyError, TypeError) as error:
        raise NftError(f"nft printed something that is not its JSON: {out[:200]!r}") from error


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no message"


class _Session:
    """A long-running `nft -j -a -i`: one command in, one line of JSON out.

    `ask()` returns None whenever the answer is anything but that line (an error on stderr, nft gone,
    nft missing); the session is closed then and the caller runs the command as a one-off nft, whose
    error message is the one to show. A session that does not answer in time raises NftError.
    """

    def __init__(self, nft: tuple[str, ...], timeout_s: float) -> None:
        self._command = [*nft, "-j", "-a", "-i"]
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def ask(self, command: str) -> str | None:
        with self._lock:
            process = self._process or self._start()
            if process is None:
                return None
            try:
                assert process.stdin is not None
                process.stdin.write(command.encode() + b"\n")
                process.stdin.flush()
                line = self._answer(process)
            except OSError:
                line = None
            if line is None:
                log.debug("The long-running nft could not answer %r; asking a one-off nft", command)
                self._stop()
            return line

    def _start(self) -> subprocess.Popen | None:
        try:
            self._process = subprocess.Popen(
                self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
            )
        except OSError:
            return None
        return self._process

    def _answer(self, process: subprocess.Popen) -> str | None:
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.fileno(), process.stderr.fileno()
        buffer = b""
        deadline = time.monotonic() + self._timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._stop()
                raise NftError(f"nft did not answer within {self._timeout_s:g} s")
            ready, _, _ = select.select([out, err], [], [], left)
            if err in ready:
                return None
            if out in ready:
                chunk = os.read(out, 1 << 16)
                if not chunk:
                    return None
                buffer += chunk
                if buffer.endswith(b"\n"):
                    return buffer.decode()

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.kill()
        process.wait(self._timeout_s)

    def close(self) -> None:
        with self._lock:
            self._stop()


def _key(key: int) -> str:
    return f"0x{key:08x}"  # as nft lists a mark


def _count(name: str, key: int) -> str:
    """The statement that adds a packet to element `key` of counting set `name`."""
    return f"update @{name} {{ {_key(key)} }}"


def _drop_rule(position: int) -> str:
    return f"{_count(DROP, position)} drop"


def _is_drop(rule: dict) -> bool:
    return any("drop" in expr for expr in rule.get("expr", ()))


def _set(name: str, type_: str, flags: str, elements: Iterable[str], *, counter: bool = False) -> list[str]:
    lines = [f"\tset {name} {{", f"\t\ttype {type_}", f"\t\tflags {flags}"]
    if counter:
        lines.append("\t\tcounter")
    elements = list(elements)
    if elements:
        lines.append(f"\t\telements = {{ {', '.join(elements)} }}")
    return lines + ["\t}"]


def _chain(name: str, rules: list[str]) -> list[str]:
    head = f"\t\ttype filter hook {name} priority {PRIORITY}; policy accept;"
    return [f"\tchain {name} {{", head, *(f"\t\t{r}" for r in rules), "\t}"]


def _sources(s: SpeakerMatch) -> list[tuple[str, str | None]]:
    """(match, family) pairs that select the speaker's own packets; family None = both."""
    if s.mac is not None:
        return [(f"ether saddr {s.mac}", None)]
    return [(f"{'ip' if s.ip_version == 4 else 'ip6'} saddr {s.ip}", "ip" if s.ip_version == 4 else "ip6")]


def _prerouting_rules(position: int, s: SpeakerMatch) -> list[str]:
    n = _ident(s.speaker_id)
    lan_up = _count(LAN, 2 * position)
    rules = []
    if s.mac is not None:
        rules += [
            f"ether saddr {s.mac} ip saddr != 0.0.0.0 update @addr4_{n} {{ ip saddr timeout {ADDRESS_TIMEOUT} }}",
            f"ether saddr {s.mac} ip6 saddr != :: update @addr6_{n} {{ ip6 saddr timeout {ADDRESS_TIMEOUT} }}",
        ]
    for match, family in _sources(s):
        rules.append(f"{match} fib daddr type local {lan_up} accept")
        for fam, lan in (("ip", "lan4"), ("ip6", "lan6")):
            if family in (None, fam):
                rules.append(f"{match} {fam} daddr @{lan} {lan_up}")
    return rules


def _forward_rules(position: int, s: SpeakerMatch, *, flows: bool = False) -> list[str]:
    n = _ident(s.speaker_id)
    down = _count(INTERNET, 2 * position + 1)
    rules = []
    for match, family in _sources(s):
        for fam, lan in (("ip", "lan4"), ("ip6", "lan6")):
            if family in (None, fam):
                rules.append(f"{match} {fam} daddr != @{lan} jump uplink_{n}")
    rules += [
        f"ip daddr @addr4_{n} ip saddr != @lan4 {down}",
        f"ip6 daddr @addr6_{n} ip6 saddr != @lan6 {down}",
    ]
    if flows:
        for fam, version, name in (("ip", 4, FLOWS4), ("ip6", 6, FLOWS6)):
            rules += [f"{fam} daddr @addr{version}_{n} {fam} saddr != @lan{version} {rule}"
                      for rule in _flow_rules(position, "down") if f"@{name}_" in rule]
    return rules


def _flow_rules(position: int, direction: str) -> list[str]:
    """Statements that add a packet to its element of the flow sets, for IPv4 and IPv6 in turn. The key is the
    speaker's position, the remote address, the protocol, the remote port and the speaker's port. Only TCP to
    port 443 (TLS, whose ClientHello names each connection) is kept per connection; other TCP and UDP is kept
    per remote address and port, with the speaker's port as 0, so that a speaker asking an outside DNS
    server (a new port each time) makes one element, not hundreds."""
    rules = []
    for fam, name in (("ip", FLOWS4), ("ip6", FLOWS6)):
        address = f"{fam} daddr" if direction == "up" else f"{fam} saddr"
        remote, local = ("th dport", "th sport") if direction == "up" else ("th sport", "th dport")
        head = f"update @{name}_{direction} {{ {_key(position)} . {address} . meta l4proto . {remote} ."
        rules.append(f"meta l4proto tcp {remote} 443 {head} {local} }}")
        rules.append(f"meta l4proto tcp {remote} != 443 {head} 0 }}")
        rules.append(f"meta l4proto udp {head} 0 }}")
    return rules


def _block_rules(block_id: int) -> list[str]:
    """The drop rules of one destination block (in its speaker's blocks_ chain)."""
    return [f"{fam} daddr @{_block_set(block_id, version)} {_count(BLOCKED, block_id)} drop"
            for fam, version in (("ip", 4), ("ip6", 6))]


def _block_set(block_id: int, version: int) -> str:
    return f"block{version}_{int(block_id)}"


def _postrouting_rules(position: int, s: SpeakerMatch) -> list[str]:
    n = _ident(s.speaker_id)
    lan_down = _count(LAN, 2 * position + 1)
    return [
        f"ip daddr @addr4_{n} ip saddr @lan4 {lan_down}",
        f"ip6 daddr @addr6_{n} ip6 saddr @lan6 {lan_down}",
    ]
