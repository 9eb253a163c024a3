"""Fallback traffic source: the kernel's interface counters, for a speaker alone on its own interface.

`/sys/class/net/IF/statistics/{rx,tx}_{bytes,packets}` are counted from the bridge's side of the link, so
the directions swap: what the bridge RECEIVES on the speaker's interface is the speaker's uplink, what
it TRANSMITS there is the speaker's downlink.

What this counts differs from the nftables source:

* everything on the interface: LAN traffic (DHCP, ARP, mDNS, DNS to the bridge) is uplink here too;
* link-layer bytes: each frame's Ethernet header (14 bytes; the driver's view for Wi-Fi) is included,
  so the same packets read a little higher than nftables' IP lengths;
* on 32-bit kernels some drivers keep 32-bit counters that wrap at 4 GiB (the sampler handles that).

Sysfs is per network namespace: a process sees the interfaces of the namespace it mounted /sys in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from device_bridge.traffic.model import Counters

log = logging.getLogger(__name__)

SYS_CLASS_NET = Path("/sys/class/net")


class SysfsSource:
    """Reads each speaker's counters from its dedicated interface (a TrafficSource).

    A speaker whose interface is missing (unplugged USB adapter, not created yet) is left out of
    `read()`: "unknown now", as the TrafficSource protocol says.

    Attributes:
        interfaces: speaker id -> interface name.
    """

    def __init__(self, interfaces: Mapping[str, str], *, root: Path = SYS_CLASS_NET) -> None:
        for speaker_id, interface in interfaces.items():
            if not interface or "/" in interface or interface in (".", ".."):
                raise ValueError(f"speaker {speaker_id!r}: {interface!r} is not an interface name")
        self.interfaces = dict(interfaces)
        self._root = Path(root)
        self._missing: set[str] = set()

    @classmethod
    def from_speakers(cls, configs: Iterable[Any], *, root: Path = SYS_CLASS_NET) -> SysfsSource:
        """From SpeakerConfigs: those with an `interface` key."""
        return cls({c.id: c.interface for c in configs if getattr(c, "interface", None)}, root=root)

    def read(self) -> dict[str, Counters]:
        result = {}
        for speaker_id, interface in self.interfaces.items():
            stats = self._root / interface / "statistics"
            try:
                result[speaker_id] = Counters(
                    up_bytes=_number(stats / "rx_bytes"),
                    up_packets=_number(stats / "rx_packets"),
                    down_bytes=_number(stats / "tx_bytes"),
                    down_packets=_number(stats / "tx_packets"),
                )
            except (OSError, ValueError) as error:
                if interface not in self._missing:
                    log.warning("No counters for %s on %s: %s", speaker_id, interface, error)
                    self._missing.add(interface)
                continue
            if interface in self._missing:
                log.info("Counters for %s on %s are back", speaker_id, interface)
                self._missing.discard(interface)
        return result

    def close(self) -> None:
        """Nothing to release."""


def _number(path: Path) -> int:
    return int(path.read_text(encoding="ascii").strip())
