"""The devices Earmuff knows: speakers and other listeners, their groups, and who is told of changes.

`Device` and `Group` are frozen snapshots; the registry (app.registry) builds
new ones whenever something changes and tells its listeners. Nothing here knows
about Qt, sockets or SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Protocol

from app.discovery.records import ServiceRecord


class DeviceKind(str, Enum):
    """What a device is, as far as listening goes."""

    SPEAKER = "speaker"            # a smart speaker with microphones
    DISPLAY = "display"            # a smart display (Nest Hub, Echo Show): microphones too
    MEDIA_PLAYER = "media-player"  # streams media, no assistant microphone (Fire TV, Chromecast)
    BRIDGE = "bridge"              # an Earmuff Pi bridge
    OTHER = "other"                # anything else that advertised a browsed service

    @property
    def listens(self) -> bool:
        """True for the kinds Earmuff treats as speakers (they have an assistant microphone)."""
        return self in (DeviceKind.SPEAKER, DeviceKind.DISPLAY)

    @property
    def label(self) -> str:
        return {
            DeviceKind.SPEAKER: "Smart speaker",
            DeviceKind.DISPLAY: "Smart display",
            DeviceKind.MEDIA_PLAYER: "Media player",
            DeviceKind.BRIDGE: "Earmuff bridge",
            DeviceKind.OTHER: "Other device",
        }[self]


class DeviceStatus(str, Enum):
    ONLINE = "online"    # at least one of its services is currently advertised
    OFFLINE = "offline"  # known, but nothing advertised right now (goodbye, TTL expiry, or not yet seen)
    MANUAL = "manual"    # added by IP address; it does not advertise, so its presence is unknown

    @property
    def label(self) -> str:
        return {"online": "Online", "offline": "Offline", "manual": "Added by hand"}[self.value]


@dataclass(frozen=True)
class Device:
    """One physical device, merged from all the services it advertises.

    Attributes:
        device_id: the stable id from its adverts (Cast UUID, AirPlay device id,
            Sonos RINCON id...), else "host:<name>.local." or, when added by hand,
            "ip:<address>".
        advertised_name: the friendly name the device gives itself.
        vendor, model: from the fingerprint rules, or the MAC's OUI for manual devices.
        kind: see DeviceKind.
        addresses, hosts: every address and mDNS host name seen for it.
        services: the services it currently advertises (empty when offline).
        status: see DeviceStatus.
        first_seen, last_seen: wall-clock seconds.
        group_ids: groups (Cast groups, stereo pairs) it belongs to.
        user_name, room: what the user set; they win over advertised values.
        mac: the hardware address when known (manual add or an advert that carries it).
        rule_ids: which fingerprint rules identified it, for the details view.
    """

    device_id: str
    advertised_name: str | None = None
    vendor: str | None = None
    model: str | None = None
    kind: DeviceKind = DeviceKind.OTHER
    addresses: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    services: tuple[ServiceRecord, ...] = ()
    status: DeviceStatus = DeviceStatus.OFFLINE
    first_seen: float = 0.0
    last_seen: float = 0.0
    group_ids: tuple[str, ...] = ()
    user_name: str | None = None
    room: str | None = None
    mac: str | None = None
    rule_ids: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """What to call it: the user's name, else its own, else its model, else vendor and host."""
        if self.user_name or self.advertised_name or self.model:
            return self.user_name or self.advertised_name or self.model  # type: ignore[return-value]
        noun = {DeviceKind.SPEAKER: "speaker", DeviceKind.DISPLAY: "display",
                DeviceKind.MEDIA_PLAYER: "media player"}.get(self.kind, "device")
        host = self.hosts[0].removesuffix(".").removesuffix(".local") if self.hosts else None
        where = host or (self.addresses[0] if self.addresses else self.device_id)
        return f"{self.vendor or 'Unknown'} {noun} ({where})"

    @property
    def online(self) -> bool:
        return self.status is DeviceStatus.ONLINE

    @property
    def is_manual(self) -> bool:
        return self.device_id.startswith("ip:")

    def with_user(self, *, user_name: str | None = None, room: str | None = None) -> Device:
        return replace(self, user_name=user_name, room=room)


class GroupKind(str, Enum):
    CAST_GROUP = "cast-group"    # a Google Cast speaker group, advertised by its leader
    STEREO_PAIR = "stereo-pair"  # two HomePods (or similar) playing as one

    @property
    def label(self) -> str:
        return {"cast-group": "Cast speaker group", "stereo-pair": "Stereo pair"}[self.value]


@dataclass(frozen=True)
class Group:
    """Speakers that play together. Never a device of its own.

    Attributes:
        group_id: the group's own id (Cast group UUID, HomePod gid).
        name: the group's name ("Whole house").
        kind: see GroupKind.
        member_ids: device ids of members Earmuff can see. A Cast group's adverts
            name only its leader, so that is its one known member.
        online: whether the group is advertised right now.
    """

    group_id: str
    name: str
    kind: GroupKind
    member_ids: tuple[str, ...] = ()
    online: bool = True
    services: tuple[ServiceRecord, ...] = field(default=(), compare=False)


class RegistryListener(Protocol):
    """Told about device and group changes. Called on the discovery thread, never under a lock."""

    def device_added(self, device: Device) -> None: ...

    def device_updated(self, device: Device) -> None: ...

    def device_removed(self, device_id: str) -> None: ...

    def group_updated(self, group: Group) -> None: ...

    def group_removed(self, group_id: str) -> None: ...
