"""Keeps the devices table in step with the registry, from the registry's own events.

Discovery can update one speaker many times a second (address, TXT, last
seen). Only the newest snapshot matters, so each device has at most one write
queued: later events replace the snapshot that job will write.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from app.devices import Device, Group
from app.storage.devices_repo import DeviceRepository
from app.storage.writer import BackgroundWriter, WriterClosed

log = logging.getLogger(__name__)

_REMOVED = object()  # pending marker: the device is to be deleted


class DevicePersister:
    """A `RegistryListener` that saves added/updated devices and deletes removed ones.

    Groups are not persisted; their events are ignored. Safe to call from any
    thread; does no I/O on the caller's thread.
    """

    def __init__(self, writer: BackgroundWriter, repository: DeviceRepository | None = None) -> None:
        self._writer = writer
        # Only its row mapping is used: every write goes through the writer's connection.
        self._repository = repository
        self._lock = threading.Lock()
        # The newest change seen per device. Kept after it is written: if the writer has to
        # run a batch again (see BackgroundWriter), the job writes this newest state again.
        self._latest: dict[str, Device | object] = {}
        self._queued: set[str] = set()  # devices with a write job waiting in the writer

    def device_added(self, device: Device) -> None:
        self._enqueue(device.device_id, device)

    def device_updated(self, device: Device) -> None:
        self._enqueue(device.device_id, device)

    def device_removed(self, device_id: str) -> None:
        self._enqueue(device_id, _REMOVED)

    def group_updated(self, group: Group) -> None:
        pass

    def group_removed(self, group_id: str) -> None:
        pass

    def _enqueue(self, device_id: str, change: Device | object) -> None:
        with self._lock:
            self._latest[device_id] = change
            if device_id in self._queued:
                return  # the waiting job will write this newer snapshot
            self._queued.add(device_id)
        try:
            self._writer.submit(_WriteDevice(self, device_id))
        except WriterClosed:
            with self._lock:
                self._queued.discard(device_id)
            log.warning("Device %s changed after storage was closed; change not saved", device_id)

    def _write(self, device_id: str, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._queued.discard(device_id)
            change = self._latest.get(device_id)
        if change is None:
            return
        repository = self._repository or DeviceRepository(conn)
        if change is _REMOVED:
            repository.delete(device_id, conn)
        else:
            assert isinstance(change, Device)
            repository.save(change, conn)


class _WriteDevice:
    """The queued job for one device; its repr names the device in the writer's logs."""

    __slots__ = ("_persister", "device_id")

    def __init__(self, persister: DevicePersister, device_id: str) -> None:
        self._persister = persister
        self.device_id = device_id

    def __call__(self, conn: sqlite3.Connection) -> None:
        self._persister._write(self.device_id, conn)

    def __repr__(self) -> str:
        return f"<save device {self.device_id}>"
