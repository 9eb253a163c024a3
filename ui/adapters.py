"""Turns the registry's listener callbacks into Qt signals.

The registry calls its listeners on discovery threads. `RegistryAdapter` lives
on the GUI thread, so a signal emitted from another thread reaches GUI-thread
slots through a queued connection: widgets only ever see these events on the
GUI thread, in the order the registry fired them.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app.devices import Device, Group

log = logging.getLogger(__name__)


class _Forwarder:
    """The plain `RegistryListener` the registry holds; it emits the adapter's signals.

    A separate object because a Qt signal and a listener method cannot share a
    name on one class, and so that a late callback after `detach()` (the registry
    may be mid-way through its listener list) is dropped instead of touching a
    deleted QObject.
    """

    def __init__(self, adapter: RegistryAdapter) -> None:
        self._adapter: RegistryAdapter | None = adapter

    def cut(self) -> None:
        self._adapter = None

    def _emit(self, name: str, payload) -> None:
        adapter = self._adapter
        if adapter is None:
            return
        try:
            getattr(adapter, name).emit(payload)
        except RuntimeError:  # the C++ side is already gone: the window closed
            log.debug("registry event %s after the adapter was deleted", name)

    def device_added(self, device: Device) -> None:
        self._emit("device_added", device)

    def device_updated(self, device: Device) -> None:
        self._emit("device_updated", device)

    def device_removed(self, device_id: str) -> None:
        self._emit("device_removed", device_id)

    def group_updated(self, group: Group) -> None:
        self._emit("group_updated", group)

    def group_removed(self, group_id: str) -> None:
        self._emit("group_removed", group_id)


class RegistryAdapter(QObject):
    """Listens to a DeviceRegistry and re-emits each callback as a signal on the GUI thread.

    Attributes:
        registry: the DeviceRegistry it listens to while attached.
        listener: the RegistryListener registered with the registry (see `_Forwarder`).

    Signals:
        device_added(Device), device_updated(Device), device_removed(str device_id),
        group_updated(Group), group_removed(str group_id).
    """

    device_added = Signal(object)
    device_updated = Signal(object)
    device_removed = Signal(str)
    group_updated = Signal(object)
    group_removed = Signal(str)

    def __init__(self, registry, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.listener: _Forwarder | None = None

    @property
    def attached(self) -> bool:
        return self.listener is not None

    def attach(self) -> None:
        """Start listening. Call before reading the registry's snapshot so no event falls in between."""
        if self.listener is None:
            self.listener = _Forwarder(self)
            self.registry.add_listener(self.listener)

    def detach(self) -> None:
        """Stop listening; idempotent. Call before this object is deleted."""
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.cut()
            self.registry.remove_listener(listener)
