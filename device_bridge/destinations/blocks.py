"""Per-speaker destination blocks: which names a block covers.

A block is kept in the kernel as two nftables sets of addresses (IPv4, IPv6) with a drop rule in the speaker's
chain (traffic/nft.py). The bridge fills the sets from what it observes: a DNS answer to the speaker whose
name chain (the name asked for and its CNAME targets) a block covers puts the answer's addresses in for
their TTL (at least MIN_TIMEOUT_S), and a ClientHello to a covered server name puts that server's address
in for SNI_TIMEOUT_S. Blocking works on addresses, so a covered name's address also stops other names
that share it (a CDN's); the API lists them as `also_affects`.

Kinds:
* "name": the name and every name under it ("metrics.example.com" covers "eu.metrics.example.com");
* "organisation": every name the organisation table gives to it;
* "preset": every name of a preset (resources/destinations/presets.json), each with the names under it.
"""

from __future__ import annotations

from collections.abc import Iterable

from device_bridge.destinations.organisations import OrganisationTable, normalise_name, under
from device_bridge.destinations.presets import Preset
from device_bridge.destinations.repository import StoredBlock

KINDS = ("name", "organisation", "preset")
MIN_TIMEOUT_S = 60
SNI_TIMEOUT_S = 600


def check_block(kind: str, value: str, organisations: OrganisationTable, presets: dict[str, Preset]) -> str:
    """The block's value as stored (a name lower-cased); ValueError in plain words if it cannot be one."""
    if kind == "name":
        name = normalise_name(value)
        if name is None:
            raise ValueError(f"{value!r} is not a host name (like device-metrics-us.amazon.com)")
        return name
    if kind == "organisation":
        if organisations.get(value) is None:
            known = ", ".join(o.name for o in organisations.organisations)
            raise ValueError(f"{value!r} is not an organisation Earmuff knows ({known}); block its names instead")
        return value
    if kind == "preset":
        if value not in presets:
            raise ValueError(f"{value!r} is not a preset (one of {', '.join(presets) or 'none'})")
        return value
    raise ValueError(f"{kind!r} is not a kind of block (name, organisation or preset)")


def covers(block: StoredBlock, names: Iterable[str], organisations: OrganisationTable,
           presets: dict[str, Preset]) -> bool:
    """Whether the block covers any of `names`."""
    for name in names:
        if block.kind == "name" and under(name, block.value):
            return True
        if block.kind == "organisation" and organisations.organisation_of(name) == block.value:
            return True
        if block.kind == "preset":
            preset = presets.get(block.value)
            if preset is not None and any(under(name, n) for n in preset.names):
                return True
    return False


def describe(block: StoredBlock, presets: dict[str, Preset]) -> str:
    """'device-metrics-us.amazon.com', 'everything of Amazon', 'Amazon device metrics'."""
    if block.kind == "organisation":
        return f"everything of {block.value}"
    if block.kind == "preset":
        preset = presets.get(block.value)
        return preset.title if preset is not None else block.value
    return block.value
