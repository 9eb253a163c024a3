"""The speakers accounts can be linked to: those found on the network and those behind an Earmuff bridge.

A speaker is named by a key that survives restarts: "device:<device id>" for one discovery found
(Cast UUID, AirPlay id...), "bridge:<bridge id>/<speaker id>" for one a bridge mutes. The two can be
the same physical speaker; the user links whichever they see (or both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.optouts.catalog import Catalog
from app.optouts.models import Account, SpeakerLink

DEVICE_PREFIX = "device:"
BRIDGE_PREFIX = "bridge:"


def device_key(device_id: str) -> str:
    return DEVICE_PREFIX + device_id


def bridge_key(bridge_id: str, speaker_id: str) -> str:
    return f"{BRIDGE_PREFIX}{bridge_id}/{speaker_id}"


def parse_bridge_key(key: str) -> tuple[str, str] | None:
    """(bridge id, speaker id) of a bridge speaker's key, None for any other key."""
    if not key.startswith(BRIDGE_PREFIX) or "/" not in key:
        return None
    bridge_id, speaker_id = key[len(BRIDGE_PREFIX):].split("/", 1)
    return (bridge_id, speaker_id) if bridge_id and speaker_id else None


@dataclass(frozen=True)
class SpeakerRef:
    """A speaker as the Opt-outs page shows it.

    Attributes:
        key: see module docstring.
        name: what to call it.
        vendor, model, room: from discovery ("" when unknown, as for bridge speakers).
        online: seen on the network now / its bridge is online.
        bridge_id, speaker_id, bridge_name, driver: for a bridge speaker ("" otherwise); driver is the
            bridge's mute driver ("relay", "button", "power", "network").
    """

    key: str
    name: str
    vendor: str = ""
    model: str = ""
    room: str = ""
    online: bool = False
    bridge_id: str = ""
    speaker_id: str = ""
    bridge_name: str = ""
    driver: str = ""

    @property
    def via_bridge(self) -> bool:
        return bool(self.bridge_id)

    @property
    def where(self) -> str:
        """'Kitchen · Echo Dot by Amazon' or 'on Kitchen bridge'."""
        if self.via_bridge:
            return f"on {self.bridge_name or 'a bridge'}"
        made = " by ".join(part for part in (self.model, self.vendor) if part)
        return " · ".join(part for part in (self.room, made) if part)


def speakers_from(devices: Iterable, statuses: Iterable = ()) -> list[SpeakerRef]:
    """Every listening device (app.devices.Device with kind.listens) and every bridge speaker
    (from app.bridge_client BridgeStatus), named and sorted by name."""
    found: list[SpeakerRef] = []
    for device in devices:
        if not device.kind.listens:
            continue
        found.append(SpeakerRef(key=device_key(device.device_id), name=device.name, vendor=device.vendor or "",
                                model=device.model or "", room=device.room or "", online=device.online))
    for status in statuses:
        for speaker in status.speakers:
            found.append(SpeakerRef(key=bridge_key(status.bridge_id, speaker.speaker_id), name=speaker.name,
                                    online=status.online, bridge_id=status.bridge_id,
                                    speaker_id=speaker.speaker_id, bridge_name=status.name, driver=speaker.driver))
    return sorted(found, key=lambda s: (s.name.casefold(), s.key))


def known_speakers(current: Iterable[SpeakerRef], links: Iterable[SpeakerLink]) -> dict[str, SpeakerRef]:
    """Key -> speaker for every current speaker and every linked one (a linked speaker out of sight
    is kept under the name it had when linked)."""
    speakers = {s.key: s for s in current}
    for link in links:
        if link.speaker_key not in speakers:
            bridge = parse_bridge_key(link.speaker_key)
            speakers[link.speaker_key] = SpeakerRef(key=link.speaker_key, name=link.name,
                                                    bridge_id=bridge[0] if bridge else "",
                                                    speaker_id=bridge[1] if bridge else "")
    return speakers


@dataclass(frozen=True)
class VendorSuggestion:
    """Speakers of a catalog vendor that no account covers yet.

    Attributes:
        vendor_id, vendor_name: the catalog vendor.
        speakers: its discovered speakers not linked to any account.
        accounts: the user's accounts of that vendor (empty: suggest adding one; else: suggest linking).
    """

    vendor_id: str
    vendor_name: str
    speakers: tuple[SpeakerRef, ...]
    accounts: tuple[Account, ...] = ()


def vendor_of(catalog: Catalog, speaker: SpeakerRef) -> str | None:
    vendor = catalog.vendor_for_device(speaker.vendor)
    return vendor.vendor_id if vendor else None


def suggestions(catalog: Catalog, speakers: Iterable[SpeakerRef], accounts: Iterable[Account],
                links: Iterable[SpeakerLink]) -> list[VendorSuggestion]:
    """For each catalog vendor with discovered speakers that no account lists: what to suggest."""
    linked = {link.speaker_key for link in links}
    accounts = list(accounts)
    unlinked: dict[str, list[SpeakerRef]] = {}
    for speaker in speakers:
        vendor_id = vendor_of(catalog, speaker)
        if vendor_id is not None and speaker.key not in linked:
            unlinked.setdefault(vendor_id, []).append(speaker)
    result = []
    for vendor_id, found in sorted(unlinked.items()):
        vendor = catalog.vendor(vendor_id)
        assert vendor is not None
        result.append(VendorSuggestion(vendor_id, vendor.name, tuple(found),
                                       tuple(a for a in accounts if a.vendor == vendor_id)))
    return result
