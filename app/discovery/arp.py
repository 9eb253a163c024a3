"""The hardware address of a neighbour, from the operating system's ARP/neighbour table.

Used when a speaker that does not advertise is added by IP address: its MAC's
OUI names the maker. Only what the kernel already knows is read; nothing is sent.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

from app.discovery.fingerprints import normalise_mac

log = logging.getLogger(__name__)

PROC_ARP = Path("/proc/net/arp")
_INCOMPLETE = "00:00:00:00:00:00"


def parse_proc_arp(text: str) -> dict[str, str]:
    """IPv4 address -> MAC from the text of /proc/net/arp (complete entries only)."""
    table: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        address, _hw_type, flags, mac = fields[:4]
        normal = normalise_mac(mac)
        if normal is None or normal == _INCOMPLETE or not int(flags, 16) & 0x2:  # ATF_COM: entry complete
            continue
        table[address] = normal
    return table


def parse_arp_command(text: str) -> dict[str, str]:
    """IPv4 address -> MAC from `arp -an` output on macOS and the BSDs: '? (10.0.0.2) at 68:db:f5:... on en0'."""
    table: dict[str, str] = {}
    for match in re.finditer(r"\((\d+\.\d+\.\d+\.\d+)\) at ([0-9A-Fa-f:]+)", text):
        mac = ":".join(part.zfill(2) for part in match.group(2).split(":"))  # macOS drops leading zeros
        normal = normalise_mac(mac)
        if normal is not None:
            table[match.group(1)] = normal
    return table


def lookup_mac(address: str, *, proc_arp: Path = PROC_ARP) -> str | None:
    """The MAC the kernel has for `address`, or None. Never raises."""
    try:
        if proc_arp.exists():
            return parse_proc_arp(proc_arp.read_text(encoding="ascii", errors="replace")).get(address)
        arp = shutil.which("arp")
        if arp and sys.platform != "win32":
            result = subprocess.run([arp, "-an"], capture_output=True, text=True, timeout=2.0, check=False)
            return parse_arp_command(result.stdout).get(address)
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        log.info("cannot read the ARP table: %s", exc)
    return None
