"""The bridge's nftables table `inet earmuff`: per-speaker traffic counters and the network mute's drop rules.

Everything goes through the `nft` command line (a subprocess with a timeout; changes as `nft -f -` batches,
which the kernel applies atomically). The table, abridged, for a speaker "kitchen" known by MAC (ids map
"-" to "_"; `render()` gives the exact batch)::

    table inet earmuff {
        set lan4 { type ipv4_addr; flags interval; elements = { 0.0.0.0/8, 10.0.0.0/8, 127.0.0.0/8,
                   169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16, 224.0.0.0/4, 255.255.255.255 } }
        set lan6 { type ipv6_addr; flags interval; elements = { ::1, fc00::/7, fe80::/10, ff00::/8 } }
        set addr4_kitchen { type ipv4_addr; flags dynamic,timeout }   # the speaker's addresses: the
        set addr6_kitchen { type ipv6_addr; flags dynamic,timeout }   # configured ip, plus learned ones
        counter up_kitchen, down_kitchen          # to / from the internet
        counter lan_up_kitchen, lan_down_kitchen  # to / from the local network (the bridge included)
        counter drop_kitchen                      # what the network mute dropped
        chain uplink_kitchen {
            counter name "drop_kitchen" drop      # only while network-muted (mute = insert, unmute = delete)
            counter name "up_kitchen"
        }
        chain prerouting { type filter hook prerouting priority filter + 10
            ether saddr MAC ip saddr != 0.0.0.0 update @addr4_kitchen { ip saddr timeout 30m }
            ether saddr MAC ip6 saddr != :: update @addr6_kitchen { ip6 saddr timeout 30m }
            ether saddr MAC fib daddr type local counter name "lan_up_kitchen" accept
            ether saddr MAC ip daddr @lan4 counter name "lan_up_kitchen"
            ether saddr MAC ip6 daddr @lan6 counter name "lan_up_kitchen" }
        chain forward { type filter hook forward priority filter + 10
            ether saddr MAC ip daddr != @lan4 jump uplink_kitchen
            ether saddr MAC ip6 daddr != @lan6 jump uplink_kitchen
            ip daddr @addr4_kitchen ip saddr != @lan4 counter name "down_kitchen"
            ip6 daddr @addr6_kitchen ip6 saddr != @lan6 counter name "down_kitchen" }
        chain postrouting { type filter hook postrouting priority filter + 10
            ip daddr @addr4_kitchen ip saddr @lan4 counter name "lan_down_kitchen"
            ip6 daddr @addr6_kitchen ip6 saddr @lan6 counter name "lan_down_kitchen" }
    }

Listings (counters at 10 Hz, the mute sense) go to one long-running `nft -j -a -i` that answers a
command per line. Reading four speakers' counters at 10 Hz took about 5% of one core when nft was
started for every reading, and about 1% this way (x86-64 development machine). Any error there closes
it, and the same command runs as a one-off `nft`, whose message is the one reported.

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
count in `drop_*`, not `up_*`).

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

_SPEAKER_ID = re.compile(r"[a-z0-9-]{1,32}")
_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
_TABLE_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,31}")


class NftError(RuntimeError):
    """`nft` failed or is unusable; the message says what to do about it."""


class NftTableMissing(NftError):
    """The table is not in the kernel (never installed, or removed by something else, like `flush ruleset`)."""


class PacketCount(NamedTuple):
    packets: int
    bytes: int


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
        speakers: the speakers it counts, in order.
    """

    def __init__(
        self,
        speakers: Iterable[SpeakerMatch | Any],
        *,
        name: str = TABLE_NAME,
        nft: Sequence[str] = ("nft",),
        timeout_s: float = DEFAULT_TIMEOUT_S,
        session: bool = True,
    ) -> None:
        """`speakers`: SpeakerMatch or SpeakerConfig objects. `nft`: the command that runs nft (tests
        prefix it with `ip netns exec NS`). `session`: answer listings from a long-running nft."""
        if not _TABLE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a usable nftables table name")
        self.name = name
        self.speakers: tuple[SpeakerMatch, ...] = tuple(
            s if isinstance(s, SpeakerMatch) else SpeakerMatch.from_config(s) for s in speakers
        )
        ids = [s.speaker_id for s in self.speakers]
        if len(set(ids)) != len(ids):
            raise ValueError(f"a speaker id appears twice: {ids}")
        self._by_ident = {_ident(s.speaker_id): s.speaker_id for s in self.speakers}
        self._nft = tuple(nft)
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._session = _Session(self._nft, timeout_s) if session else None

    @property
    def speaker_ids(self) -> tuple[str, ...]:
        return tuple(s.speaker_id for s in self.speakers)

    # --- the table as a whole ------------------------------------------------------------------------

    def install(self, muted: Iterable[str] = ()) -> None:
        """Create the table, or replace it, in one transaction; counters start from zero.

        Speakers whose drop rule is in the kernel now stay muted, and so do those in `muted`.
        """
        extra = set(muted)
        self._check_known(extra)
        with self._lock:
            keep = self._muted_in_kernel() | extra
            self._batch(self.render(keep, replace=True))

    def ensure_installed(self, muted: Iterable[str] = ()) -> bool:
        """Install the table if it is not in the kernel (say after a firewall reload); True if it did."""
        if self.installed():
            return False
        self.install(muted)
        return True

    def installed(self) -> bool:
        try:
            self._run("-t", "list", "table", "inet", self.name)
        except NftTableMissing:
            return False
        return True

    def remove(self) -> None:
        """Delete the table (counters and drop rules with it). Idempotent. The bridge calls this at
        shutdown only when no speaker is network-muted in its persisted state."""
        with self._lock:
            self._batch(f"table inet {self.name} {{\n}}\ndelete table inet {self.name}\n")

    def render(self, muted: Iterable[str] = (), *, replace: bool = False) -> str:
        """The table as an `nft -f` batch, with the drop rules of `muted` in place. With `replace`, the
        batch first deletes any existing table of this name (creating it first, so both always work)."""
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
            for counter in ("up", "down", "lan_up", "lan_down", "drop"):
                out += [f"\tcounter {counter}_{n} {{", "\t}"]
            out.append(f"\tchain uplink_{n} {{")
            if s.speaker_id in muted:
                out.append(f"\t\t{_drop_rule(n)}")
            out += [f'\t\tcounter name "up_{n}"', "\t}"]
        out += _chain("prerouting", [rule for s in self.speakers for rule in _prerouting_rules(s)])
        out += _chain("forward", [rule for s in self.speakers for rule in _forward_rules(s)])
        out += _chain("postrouting", [rule for s in self.speakers for rule in _postrouting_rules(s)])
        out.append("}")
        return "\n".join(out) + "\n"

    def listing(self) -> str:
        """The table as the kernel has it now, in nft's own words (for diagnostics)."""
        return self._run("list", "table", "inet", self.name)

    # --- counters ------------------------------------------------------------------------------------

    def counter_values(self) -> dict[str, PacketCount]:
        """Every counter of the table by name, read in one go."""
        data = self._listing("list", "counters", "table", "inet", self.name)
        values = {}
        for item in data:
            counter = item.get("counter")
            if counter is not None and counter.get("table") == self.name:
                values[counter["name"]] = PacketCount(int(counter["packets"]), int(counter["bytes"]))
        return values

    def read(self) -> dict[str, Counters]:
        """Cumulative internet up/down counters per speaker id (TrafficSource). NftTableMissing if the table is gone."""
        return self._counters(self.counter_values(), "up", "down")

    def read_lan(self) -> dict[str, Counters]:
        """Cumulative local-network counters per speaker id (to and from the LAN and the bridge itself)."""
        return self._counters(self.counter_values(), "lan_up", "lan_down")

    def dropped(self, speaker_id: str) -> PacketCount:
        """What the network mute has dropped for this speaker since the table was installed."""
        self._check_known([speaker_id])
        return self.counter_values().get(f"drop_{_ident(speaker_id)}", PacketCount(0, 0))

    def close(self) -> None:
        """Stop the long-running nft (it starts again if needed). The table stays in the kernel (see
        `remove`). Idempotent; part of TrafficSource."""
        if self._session is not None:
            self._session.close()

    def _counters(self, values: dict[str, PacketCount], up: str, down: str) -> dict[str, Counters]:
        result = {}
        for s in self.speakers:
            n = _ident(s.speaker_id)
            u, d = values.get(f"{up}_{n}"), values.get(f"{down}_{n}")
            if u is not None and d is not None:
                result[s.speaker_id] = Counters(u.bytes, u.packets, d.bytes, d.packets)
        return result

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
            echoed = self._json("-e", "-a", "insert", "rule", "inet", self.name, f"uplink_{n}", *_drop_rule(n).split())
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
            items = self._json("list", "table", "inet", self.name)
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

    # --- running nft ---------------------------------------------------------------------------------

    def _batch(self, text: str) -> None:
        self._run("-f", "-", input=text)

    def _listing(self, *args: str) -> list[dict]:
        """A `list ...` command's JSON items, from the long-running nft when it can answer."""
        if self._session is not None:
            out = self._session.ask(" ".join(args))
            if out is not None:
                return _items(out)
        return self._json("-a", *args)

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
        error = " ".join(line.strip() for line in done.stderr.strip().splitlines()[:3]) or f"exit {done.returncode}"
        if "Operation not permitted" in error:
            raise NftError(f"the bridge needs CAP_NET_ADMIN for nftables (run it as root): {error}")
        if "No such file or directory" in error:
            raise NftTableMissing(f"table inet {self.name} (or one of its chains) is not in the kernel: {error}")
        raise NftError(f"nft {' '.join(args)} failed: {error}")


def _items(out: str) -> list[dict]:
    if not out.strip():
        return []
    try:
        return json.loads(out)["nftables"]
    except (ValueError, KeyError, TypeError) as error:
        raise NftError(f"nft printed something that is not its JSON: {out[:200]!r}") from error


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


def _drop_rule(n: str) -> str:
    return f'counter name "drop_{n}" drop'


def _is_drop(rule: dict) -> bool:
    return any("drop" in expr for expr in rule.get("expr", ()))


def _set(name: str, type_: str, flags: str, elements: Iterable[str]) -> list[str]:
    lines = [f"\tset {name} {{", f"\t\ttype {type_}", f"\t\tflags {flags}"]
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


def _prerouting_rules(s: SpeakerMatch) -> list[str]:
    n = _ident(s.speaker_id)
    rules = []
    if s.mac is not None:
        rules += [
            f"ether saddr {s.mac} ip saddr != 0.0.0.0 update @addr4_{n} {{ ip saddr timeout {ADDRESS_TIMEOUT} }}",
            f"ether saddr {s.mac} ip6 saddr != :: update @addr6_{n} {{ ip6 saddr timeout {ADDRESS_TIMEOUT} }}",
        ]
    for match, family in _sources(s):
        rules.append(f'{match} fib daddr type local counter name "lan_up_{n}" accept')
        for fam, lan in (("ip", "lan4"), ("ip6", "lan6")):
            if family in (None, fam):
                rules.append(f'{match} {fam} daddr @{lan} counter name "lan_up_{n}"')
    return rules


def _forward_rules(s: SpeakerMatch) -> list[str]:
    n = _ident(s.speaker_id)
    rules = []
    for match, family in _sources(s):
        for fam, lan in (("ip", "lan4"), ("ip6", "lan6")):
            if family in (None, fam):
                rules.append(f"{match} {fam} daddr != @{lan} jump uplink_{n}")
    rules += [
        f'ip daddr @addr4_{n} ip saddr != @lan4 counter name "down_{n}"',
        f'ip6 daddr @addr6_{n} ip6 saddr != @lan6 counter name "down_{n}"',
    ]
    return rules


def _postrouting_rules(s: SpeakerMatch) -> list[str]:
    n = _ident(s.speaker_id)
    return [
        f'ip daddr @addr4_{n} ip saddr @lan4 counter name "lan_down_{n}"',
        f'ip6 daddr @addr6_{n} ip6 saddr @lan6 counter name "lan_down_{n}"',
    ]
