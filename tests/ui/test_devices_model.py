"""The devices model on its own: texts a homeowner reads, sort keys, scopes, and the adapter's life."""

from __future__ import annotations

from app.devices import Device, DeviceKind, DeviceStatus
from ui.adapters import RegistryAdapter
from ui.models.devices_model import (
    Column,
    DeviceFilterProxy,
    DevicesModel,
    Scope,
    last_seen_text,
)

NOW = 1_700_000_000.0


def device(device_id, *, kind=DeviceKind.SPEAKER, status=DeviceStatus.OFFLINE, last_seen=NOW, **fields):
    return Device(device_id=device_id, kind=kind, status=status, last_seen=last_seen, **fields)


def test_last_seen_reads_naturally():
    assert last_seen_text(device("a", status=DeviceStatus.ONLINE), NOW) == "Now"
    assert last_seen_text(device("a", last_seen=NOW - 20), NOW) == "Just now"
    assert last_seen_text(device("a", last_seen=NOW - 600), NOW) == "10 min ago"
    assert last_seen_text(device("a", last_seen=NOW - 7200), NOW) == "2 h ago"
    assert last_seen_text(device("a", last_seen=0.0), NOW) == "Never"
    assert last_seen_text(device("ip:1.2.3.4", status=DeviceStatus.MANUAL, last_seen=0.0), NOW) == "Not tracked"
    assert last_seen_text(device("a", last_seen=NOW - 2 * 86400), NOW).count(":") >= 1  # a date and time


def test_scopes_split_speakers_others_and_bridges(qtbot):
    model = DevicesModel(now=lambda: NOW)
    model.load([
        device("s", kind=DeviceKind.SPEAKER), device("d", kind=DeviceKind.DISPLAY),
        device("m", kind=DeviceKind.MEDIA_PLAYER), device("o", kind=DeviceKind.OTHER),
        device("b", kind=DeviceKind.BRIDGE),
    ], [])

    def ids(scope):
        proxy = DeviceFilterProxy(model, scope)
        return sorted(proxy.device_at(r).device_id for r in range(proxy.rowCount()))

    assert ids(Scope.SPEAKERS) == ["d", "s"]
    assert ids(Scope.OTHER) == ["m", "o"]
    assert ids(Scope.BRIDGES) == ["b"]


def test_upsert_is_idempotent_and_remove_tolerates_unknown_ids(qtbot):
    model = DevicesModel(now=lambda: NOW)
    model.upsert(device("a", advertised_name="One"))
    model.upsert(device("a", advertised_name="Two"))
    assert model.rowCount() == 1 and model.device("a").name == "Two"
    model.remove("nope")
    model.remove("a")
    assert model.rowCount() == 0


def test_text_filter_needs_every_word(qtbot):
    model = DevicesModel(now=lambda: NOW)
    model.load([device("a", advertised_name="Kitchen", room="Downstairs", vendor="Google"),
                device("b", advertised_name="Kitchen", room="Annex", vendor="Apple")], [])
    proxy = DeviceFilterProxy(model, Scope.SPEAKERS)
    proxy.set_text_filter("kitchen google")
    assert [proxy.device_at(r).device_id for r in range(proxy.rowCount())] == ["a"]
    proxy.set_text_filter("")
    assert proxy.rowCount() == 2


def test_status_column_has_a_dot_and_offline_rows_are_muted(qtbot):
    from PySide6.QtCore import Qt

    model = DevicesModel(now=lambda: NOW)
    model.load([device("a", status=DeviceStatus.OFFLINE)], [])
    index = model.index(0, Column.STATUS)
    assert not model.data(index, Qt.ItemDataRole.DecorationRole).isNull()
    assert model.data(index, Qt.ItemDataRole.ForegroundRole) is not None


class FakeRegistry:
    """Just the listener list: enough to see the adapter attach and detach."""

    def __init__(self):
        self.listeners = []

    def add_listener(self, listener):
        self.listeners.append(listener)

    def remove_listener(self, listener):
        self.listeners.remove(listener)


def test_adapter_detaches_and_drops_late_events(qtbot):
    registry = FakeRegistry()
    adapter = RegistryAdapter(registry)
    adapter.attach()
    adapter.attach()
    assert len(registry.listeners) == 1
    listener = registry.listeners[0]
    with qtbot.waitSignal(adapter.device_removed) as blocker:
        listener.device_removed("x")
    assert blocker.args == ["x"]
    adapter.detach()
    adapter.detach()
    assert registry.listeners == []
    with qtbot.assertNotEmitted(adapter.device_removed):
        listener.device_removed("late")  # a callback already in flight when the window closed
