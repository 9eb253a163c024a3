"""The registry: merges every service discovery reports into devices and groups, and tells listeners.

Services of one device are joined when they share a host name or a stable id
(union-find over both), so a Sonos player's _sonos, _airplay and _spotify-connect
adverts become one speaker and a HomePod keeps its id when its host name changes.
After each change the whole picture is rebuilt (a home has tens of services, not
thousands) and compared with the previous one; listeners get the differences,
after the lock is released.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from app.devices import Device, DeviceKind, DeviceStatus, Group, GroupKind, RegistryListener
from app.discovery.arp import lookup_mac
from app.discovery.fingerprints import Fingerprinter, Identity, normalise_mac
from app.discovery.records import ServiceRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    record: ServiceRecord
    identity: Identity


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, node: str) -> str:
        self.parent.setdefault(node, node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _host_key(record: ServiceRecord) -> str:
    return "host:" + (record.server or record.name).lower()


class DeviceRegistry:
    """All devices and groups Earmuff knows, online or not.

    Thread-safe: discovery calls `service_seen`/`service_gone` from its threads and
    the GUI calls the user-facing methods. Listener callbacks run on the calling
    thread, in order, never while the state lock is held.
    """

    def __init__(
        self,
        fingerprinter: Fingerprinter,
        *,
        clock: Callable[[], float] = time.time,
        neighbour_mac: Callable[[str], str | None] = lookup_mac,
    ) -> None:
        self._fingerprinter = fingerprinter
        self._clock = clock
        self._neighbour_mac = neighbour_mac
        self._lock = threading.Lock()
        self._dispatch_lock = threading.RLock()
        self._listeners: list[RegistryListener] = []
        self._services: dict[tuple[str, str], _Entry] = {}
        self._known: dict[str, Device] = {}       # every device ever seen or loaded (offline snapshots)
        self._devices: dict[str, Device] = {}     # the current picture
        self._groups: dict[str, Group] = {}
        self._host_owner: dict[str, str] = {}     # host key -> device id it last belonged to
        self._merged: dict[tuple[int, ...], tuple[list[_Entry], Device]] = {}  # component -> merged device

    # -- listeners ----------------------------------------------------------------------------

    def add_listener(self, listener: RegistryListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: RegistryListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- queries ------------------------------------------------------------------------------

    def devices(self) -> list[Device]:
        with self._lock:
            return list(self._devices.values())

    def device(self, device_id: str) -> Device | None:
        with self._lock:
            return self._devices.get(device_id)

    def groups(self) -> list[Group]:
        with self._lock:
            return list(self._groups.values())

    def service_count(self) -> int:
        with self._lock:
            return len(self._services)

    # -- what discovery reports ---------------------------------------------------------------

    def service_seen(self, record: ServiceRecord) -> None:
        try:
            identity = self._fingerprinter.identify(record)
        except Exception:  # a rule bug must not stop discovery; the service still shows, unnamed
            log.exception("fingerprinting %r failed", record.name)
            identity = Identity(name=record.instance or None, kind=DeviceKind.OTHER)
        self._change(lambda: self._services.__setitem__(record.key, _Entry(record, identity)))

    def service_gone(self, service_type: str, name: str) -> None:
        key = (service_type.lower(), name.lower())
        self._change(lambda: self._services.pop(key, None))

    # -- what the user or storage does ------------------------------------------------------------

    def load_known(self, devices: Iterable[Device]) -> None:
        """Devices from storage: shown offline (or 'added by hand') until they are seen again."""

        def load() -> None:
            self._merged.clear()
            for device in devices:
                status = DeviceStatus.MANUAL if device.is_manual else DeviceStatus.OFFLINE
                self._known[device.device_id] = replace(device, status=status)
                for host in device.hosts:
                    self._host_owner.setdefault("host:" + host.lower(), device.device_id)

        self._change(load)

    def set_user_fields(self, device_id: str, *, user_name: str | None, room: str | None) -> Device:
        user_name = (user_name or "").strip() or None
        room = (room or "").strip() or None

        def apply() -> None:
            self._merged.clear()
            if device_id not in self._devices:
                raise KeyError(device_id)
            self._known[device_id] = replace(self._devices[device_id], user_name=user_name, room=room)

        self._change(apply)
        device = self.device(device_id)
        assert device is not None
        return device

    def add_manual(self, address: str, *, name: str | None = None, mac: str | None = None) -> Device:
        """A speaker that does not advertise, added by IP address.

        The vendor is guessed from the MAC's OUI: the MAC given, else the one in the ARP table.
        """
        text = address.strip()
        try:
            parsed = ipaddress.ip_address(text)
        except ValueError:
            raise ValueError(f"“{address}” is not an IP address (for example 192.168.1.23).") from None
        if parsed.is_multicast or parsed.is_unspecified:
            raise ValueError(f"{parsed} is not a device address.")
        if mac is not None and mac.strip():
            normal = normalise_mac(mac)
            if normal is None:
                raise ValueError(f"“{mac}” is not a MAC address (for example 68:db:f5:90:19:64).")
            mac = normal
        else:
            mac = self._neighbour_mac(str(parsed))  # the ARP table, when the kernel has talked to it
        device_id = f"ip:{parsed}"
        vendor = self._fingerprinter.oui.vendor(mac)
        now = self._clock()

        def add() -> None:
            self._merged.clear()
            if device_id in self._devices:
                raise ValueError(f"{parsed} is already in the list.")
            for device in self._devices.values():
                if str(parsed) in device.addresses and device.status is DeviceStatus.ONLINE:
                    raise ValueError(f"{parsed} is already known as “{device.name}”.")
            self._known[device_id] = Device(
                device_id=device_id,
                advertised_name=None,
                vendor=vendor,
                kind=DeviceKind.SPEAKER,
                addresses=(str(parsed),),
                status=DeviceStatus.MANUAL,
                first_seen=now,
                last_seen=now,
                user_name=(name or "").strip() or None,
                mac=mac,
            )

        self._change(add)
        device = self.device(device_id)
        assert device is not None
        return device

    def forget(self, device_id: str) -> None:
        """Drop a device that is not online; an online one would come straight back."""

        def drop() -> None:
            self._merged.clear()
            current = self._devices.get(device_id)
            if current is None:
                raise KeyError(device_id)
            if current.status is DeviceStatus.ONLINE:
                raise ValueError(f"“{current.name}” is online; it can be forgotten once it goes offline.")
            self._known.pop(device_id, None)
            for host, owner in list(self._host_owner.items()):
                if owner == device_id:
                    del self._host_owner[host]

        self._change(drop)

    # -- the rebuild ------------------------------------------------------------------------------

    def _change(self, mutate: Callable[[], object]) -> None:
        with self._dispatch_lock:
            with self._lock:
                mutate()
                events = self._rebuild()
                listeners = list(self._listeners)
            for method, argument in events:
                for listener in listeners:
                    try:
                        getattr(listener, method)(argument)
                    except Exception:
                        log.exception("registry listener %r failed on %s", listener, method)

    def _rebuild(self) -> list[tuple[str, object]]:
        now = self._clock()
        device_entries = [e for e in self._services.values() if not e.identity.is_group]
        group_entries = [e for e in self._services.values() if e.identity.is_group]

        components = _UnionFind()
        for entry in device_entries:
            host = _host_key(entry.record)
            components.find(host)
            if entry.identity.stable_id:
                components.union(host, "id:" + entry.identity.stable_id)
        members: dict[str, list[_Entry]] = {}
        for entry in device_entries:
            members.setdefault(components.find(_host_key(entry.record)), []).append(entry)

        online: dict[str, Device] = {}
        merged: dict[tuple[int, ...], tuple[list[_Entry], Device]] = {}
        for entries in members.values():
            # A component whose services are the very same objects as last time merges to the same
            # device: reuse it, so a report costs O(changed component), not O(home). The cache holds
            # the entries themselves, so their ids cannot be reused by new entries while cached.
            key = tuple(sorted(id(entry) for entry in entries))
            cached = self._merged.get(key)
            device = cached[1] if cached else self._merge(entries, now)
            merged[key] = (entries, device)
            online[device.device_id] = device
        self._merged = merged

        devices: dict[str, Device] = {}
        for device_id, known in self._known.items():
            if device_id not in online:
                status = DeviceStatus.MANUAL if known.is_manual else DeviceStatus.OFFLINE
                devices[device_id] = replace(known, status=status, group_ids=())
        devices.update(online)
        for device in online.values():
            self._known[device.device_id] = device
            for host in device.hosts:
                self._host_owner["host:" + host.lower()] = device.device_id

        groups = self._build_groups(group_entries, devices)
        for group in groups.values():
            for member in group.member_ids:
                if member in devices and group.group_id not in devices[member].group_ids:
                    devices[member] = replace(devices[member], group_ids=devices[member].group_ids + (group.group_id,))
        for device_id, device in devices.items():
            if device_id in self._known and device.status is DeviceStatus.ONLINE:
                self._known[device_id] = device

        events: list[tuple[str, object]] = []
        for device_id, device in devices.items():
            before = self._devices.get(device_id)
            if before is None:
                events.append(("device_added", device))
            elif before != device:
                events.append(("device_updated", device))
        for device_id in self._devices.keys() - devices.keys():
            events.append(("device_removed", device_id))
        for group_id, group in groups.items():
            if self._groups.get(group_id) != group:
                events.append(("group_updated", group))
        for group_id in self._groups.keys() - groups.keys():
            events.append(("group_removed", group_id))
        self._devices = devices
        self._groups = groups
        return events

    def _merge(self, entries: list[_Entry], now: float) -> Device:
        by_priority = sorted(entries, key=lambda e: (-e.identity.priority, e.record.key))
        ranked_ids = sorted(
            (e for e in entries if e.identity.stable_id),
            key=lambda e: (-e.identity.id_rank, e.identity.stable_id or ""),
        )
        hosts = tuple(sorted({(e.record.server or "").lower() for e in entries if e.record.server}))

        def first(field: str) -> object | None:
            for entry in by_priority:
                value = getattr(entry.identity, field)
                if value:
                    return value
            return None

        if ranked_ids:
            device_id = ranked_ids[0].identity.stable_id
        else:
            device_id = self._owner_of(hosts) or _host_key(by_priority[0].record)
        assert device_id is not None

        previous = self._known.get(device_id) or self._carry_over(device_id, hosts)
        addresses = tuple(sorted({a for e in entries for a in e.record.addresses}, key=_address_sort_key))
        kind = first("kind")
        return Device(
            device_id=device_id,
            advertised_name=first("name"),  # type: ignore[arg-type]
            vendor=first("vendor"),  # type: ignore[arg-type]
            model=first("model"),  # type: ignore[arg-type]
            kind=kind if isinstance(kind, DeviceKind) else DeviceKind.OTHER,
            addresses=addresses,
            hosts=hosts,
            services=tuple(sorted((e.record for e in entries), key=lambda r: r.key)),
            status=DeviceStatus.ONLINE,
            first_seen=previous.first_seen if previous else now,
            last_seen=max((e.record.seen_at for e in entries), default=now) or now,
            user_name=previous.user_name if previous else None,
            room=previous.room if previous else None,
            mac=first("mac") or (previous.mac if previous else None),  # type: ignore[arg-type]
            rule_ids=tuple(dict.fromkeys(e.identity.rule_id for e in by_priority if e.identity.rule_id)),
        )

    def _owner_of(self, hosts: tuple[str, ...]) -> str | None:
        """A device without a stable id keeps the id it had before (e.g. one loaded from storage)."""
        for host in hosts:
            owner = self._host_owner.get("host:" + host)
            if owner and owner.startswith("host:"):
                return owner
        return None

    def _carry_over(self, device_id: str, hosts: tuple[str, ...]) -> Device | None:
        """A device that just gained a stable id keeps the user's name and room from its host-keyed past."""
        for host in hosts:
            owner = self._host_owner.get("host:" + host)
            if owner and owner != device_id and owner in self._known:
                old = self._known.pop(owner)
                log.info("device %s is now known as %s", owner, device_id)
                return old
        return None

    def _build_groups(self, group_entries: list[_Entry], devices: dict[str, Device]) -> dict[str, Group]:
        groups: dict[str, Group] = {}
        host_to_device = {host: d.device_id for d in devices.values() if d.online for host in d.hosts}
        for entry in group_entries:
            hint = entry.identity.group
            assert hint is not None
            leader = host_to_device.get((entry.record.server or "").lower())
            existing = groups.get(hint.group_id)
            member_ids = tuple(sorted(set((existing.member_ids if existing else ()) + ((leader,) if leader else ()))))
            groups[hint.group_id] = Group(
                group_id=hint.group_id,
                name=hint.name or (existing.name if existing else hint.group_id),
                kind=hint.kind,
                member_ids=member_ids,
                online=True,
                services=(existing.services if existing else ()) + (entry.record,),
            )
        claims: dict[str, tuple[GroupKind, str | None, int, set[str]]] = {}
        device_of_service = {
            record.key: device.device_id for device in devices.values() if device.online for record in device.services
        }
        for entry in self._services.values():
            hint = entry.identity.group
            if entry.identity.is_group or hint is None:
                continue
            owner = device_of_service.get(entry.record.key)
            if owner is None:
                continue
            kind, name, minimum, owners = claims.setdefault(hint.group_id, (hint.kind, hint.name, hint.min_members, set()))
            owners.add(owner)
            if name is None and hint.name:
                claims[hint.group_id] = (kind, hint.name, minimum, owners)
        for group_id, (kind, name, minimum, owners) in claims.items():
            if len(owners) < minimum or group_id in groups:
                continue
            member_names = " + ".join(sorted(devices[o].name for o in owners))
            groups[group_id] = Group(
                group_id=group_id,
                name=name or member_names,
                kind=kind,
                member_ids=tuple(sorted(owners)),
                online=True,
            )
        return groups


def _address_sort_key(address: str) -> tuple[int, str]:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return (2, address)
    return (parsed.version == 6, f"{int(parsed):040d}")
