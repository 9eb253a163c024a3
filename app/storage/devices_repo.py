"""Devices and rooms as rows: what the registry knew last time, and the user's rooms.

Reading is forgiving: a row with an unknown kind or a damaged JSON column is
loaded with that one field defaulted (and a log line), because losing a
speaker the user named is worse than losing its address list. Writing takes
the connection to write on, so the background writer can batch it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from app.devices import Device, DeviceKind, DeviceStatus
from app.discovery.records import ServiceRecord
from app.storage.database import Database, transaction

log = logging.getLogger(__name__)

_DEVICE_COLUMNS = (
    "device_id, advertised_name, vendor, model, kind, addresses, hosts, mac,"
    " user_name, room, first_seen, last_seen, services, rule_ids"
)


def _connection_of(conn_or_db: sqlite3.Connection | Database) -> sqlite3.Connection:
    return conn_or_db.connection if isinstance(conn_or_db, Database) else conn_or_db


def service_to_json(service: ServiceRecord) -> dict[str, Any]:
    return {
        "service_type": service.service_type,
        "name": service.name,
        "server": service.server,
        "port": service.port,
        "addresses": list(service.addresses),
        "txt_hex": service.txt.hex(),
        "seen_at": service.seen_at,
    }


def service_from_json(data: Any) -> ServiceRecord:
    """The inverse of `service_to_json`; raises ValueError/TypeError/KeyError on a bad entry."""
    if not isinstance(data, dict):
        raise TypeError(f"service entry is a {type(data).__name__}, not an object")
    service_type, name = data["service_type"], data["name"]
    if not isinstance(service_type, str) or not isinstance(name, str):
        raise TypeError("service_type and name must be strings")
    server = data.get("server")
    if server is not None and not isinstance(server, str):
        raise TypeError("server must be a string or null")
    port = data.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise TypeError("port must be an integer or null")
    seen_at = data.get("seen_at", 0.0)
    if not isinstance(seen_at, (int, float)) or isinstance(seen_at, bool):
        raise TypeError("seen_at must be a number")
    return ServiceRecord(
        service_type=service_type,
        name=name,
        server=server,
        port=port,
        addresses=_string_tuple(data.get("addresses", [])),
        txt=bytes.fromhex(data.get("txt_hex", "")),
        seen_at=float(seen_at),
    )


def _string_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


class DeviceRepository:
    """Loads and stores `Device` snapshots in the `devices` table.

    What is not stored: `status` (a loaded device is OFFLINE, or MANUAL for an
    "ip:" device, until discovery sees it) and `group_ids` (groups are rebuilt
    from adverts).
    """

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = _connection_of(conn_or_db)

    def load_all(self) -> list[Device]:
        """Every stored device, oldest first; damaged fields are defaulted, never fatal."""
        rows = self._conn.execute(
            f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY first_seen, device_id"
        ).fetchall()
        devices = []
        for row in rows:
            device = self._from_row(row)
            if device is not None:
                devices.append(device)
        return devices

    def save(self, device: Device, conn: sqlite3.Connection | None = None) -> None:
        """Insert or replace the device; its room is added to the room list if new."""
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            conn.execute(
                f"INSERT OR REPLACE INTO devices ({_DEVICE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    device.device_id,
                    device.advertised_name,
                    device.vendor,
                    device.model,
                    DeviceKind(device.kind).value,
                    json.dumps(list(device.addresses)),
                    json.dumps(list(device.hosts)),
                    device.mac,
                    device.user_name,
                    device.room,
                    float(device.first_seen),
                    float(device.last_seen),
                    json.dumps([service_to_json(s) for s in device.services]),
                    json.dumps(list(device.rule_ids)),
                ),
            )
            if device.room and device.room.strip():
                _ensure_room(conn, device.room)

    def delete(self, device_id: str, conn: sqlite3.Connection | None = None) -> None:
        conn = conn if conn is not None else self._conn
        conn.execute("DELETE FROM devices WHERE device_id = ?", (device_id,))

    def _from_row(self, row: tuple) -> Device | None:
        (device_id, advertised_name, vendor, model, kind, addresses, hosts, mac,
         user_name, room, first_seen, last_seen, services, rule_ids) = row
        if not isinstance(device_id, str) or not device_id:
            log.warning("Skipping a stored device with no usable id: %r", device_id)
            return None

        def text(column: str, value: Any) -> str | None:
            if value is None or isinstance(value, str):
                return value
            log.warning("Device %s: %s is %r, not text; ignored", device_id, column, value)
            return None

        def number(column: str, value: Any) -> float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            log.warning("Device %s: %s is %r, not a number; using 0", device_id, column, value)
            return 0.0

        def strings(column: str, value: Any) -> tuple[str, ...]:
            try:
                return _string_tuple(json.loads(value))
            except (TypeError, ValueError) as error:
                log.warning("Device %s: stored %s unreadable (%s); left empty", device_id, column, error)
                return ()

        try:
            device_kind = DeviceKind(kind)
        except ValueError:
            log.warning("Device %s: unknown kind %r; treating it as %s", device_id, kind, DeviceKind.OTHER.value)
            device_kind = DeviceKind.OTHER

        return Device(
            device_id=device_id,
            advertised_name=text("advertised_name", advertised_name),
            vendor=text("vendor", vendor),
            model=text("model", model),
            kind=device_kind,
            addresses=strings("addresses", addresses),
            hosts=strings("hosts", hosts),
            services=self._services(device_id, services),
            status=DeviceStatus.MANUAL if device_id.startswith("ip:") else DeviceStatus.OFFLINE,
            first_seen=number("first_seen", first_seen),
            last_seen=number("last_seen", last_seen),
            user_name=text("user_name", user_name),
            room=text("room", room),
            mac=text("mac", mac),
            rule_ids=strings("rule_ids", rule_ids),
        )

    @staticmethod
    def _services(device_id: str, value: Any) -> tuple[ServiceRecord, ...]:
        try:
            entries = json.loads(value)
            if not isinstance(entries, list):
                raise TypeError("not a list")
        except (TypeError, ValueError) as error:
            log.warning("Device %s: stored services unreadable (%s); left empty", device_id, error)
            return ()
        services = []
        for index, entry in enumerate(entries):
            try:
                services.append(service_from_json(entry))
            except (KeyError, TypeError, ValueError) as error:
                log.warning("Device %s: stored service #%d unreadable (%s); skipped", device_id, index, error)
        return tuple(services)


def _ensure_room(conn: sqlite3.Connection, name: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO rooms (name, position)"
        " VALUES (?, (SELECT COALESCE(MAX(position) + 1, 0) FROM rooms))",
        (name,),
    )


class RoomRepository:
    """The user's rooms, in the order they arranged them. Names compare without regard to case.

    Renaming or removing a room also updates the stored devices in it. The
    registry's own snapshots must be updated too (`Device.with_user`), or the
    next save of such a device brings the old room back.
    """

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = _connection_of(conn_or_db)

    def list(self) -> list[str]:
        return [name for (name,) in self._conn.execute("SELECT name FROM rooms ORDER BY position, name")]

    def add(self, name: str) -> str:
        """Add a room at the end; returns the name as stored (trimmed). ValueError if empty or taken."""
        name = _room_name(name)
        with transaction(self._conn):
            if self._exists(name):
                raise ValueError(f"There is already a room called {name!r}.")
            _ensure_room(self._conn, name)
        return name

    def rename(self, old: str, new: str) -> str:
        """Rename a room (a change of case alone is allowed) and move its devices along."""
        new = _room_name(new)
        with transaction(self._conn):
            if not self._exists(old):
                raise KeyError(f"There is no room called {old!r}.")
            if new.casefold() != old.casefold() and self._exists(new):
                raise ValueError(f"There is already a room called {new!r}.")
            self._conn.execute("UPDATE rooms SET name = ? WHERE name = ?", (new, old))
            self._conn.execute("UPDATE devices SET room = ? WHERE room = ? COLLATE NOCASE", (new, old))
        return new

    def remove(self, name: str) -> None:
        """Remove a room; its devices keep existing, with no room. KeyError if there is no such room."""
        with transaction(self._conn):
            if not self._exists(name):
                raise KeyError(f"There is no room called {name!r}.")
            self._conn.execute("DELETE FROM rooms WHERE name = ?", (name,))
            self._conn.execute("UPDATE devices SET room = NULL WHERE room = ? COLLATE NOCASE", (name,))
            self._renumber(self.list())

    def reorder(self, names: Iterable[str]) -> None:
        """Put the rooms in this order; `names` must be exactly the existing rooms."""
        names = [str(n) for n in names]
        with transaction(self._conn):
            current = self.list()
            if sorted(n.casefold() for n in names) != sorted(n.casefold() for n in current):
                raise ValueError(f"reorder needs exactly the existing rooms {current}, got {names}")
            self._renumber(names)

    def _renumber(self, names: list[str]) -> None:
        self._conn.executemany(
            "UPDATE rooms SET position = ? WHERE name = ?", [(i, n) for i, n in enumerate(names)]
        )

    def _exists(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM rooms WHERE name = ?", (name,)).fetchone() is not None


def _room_name(name: str) -> str:
    cleaned = str(name).strip()
    if not cleaned:
        raise ValueError("A room needs a name.")
    return cleaned
