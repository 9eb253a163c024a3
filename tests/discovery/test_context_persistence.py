"""The app's context end to end: found on the wire, renamed, persisted, and known again after a restart."""

from __future__ import annotations

from mdns_helpers import Events

from app.context import AppContext
from app.devices import DeviceStatus
from app.logging_setup import teardown_logging

CAST = "_googlecast._tcp.local."
UUID = "c" * 32


def make_context(data_dir):
    return AppContext.create(data_dir, interfaces=("127.0.0.1",))


def test_speaker_found_renamed_and_known_after_restart(responder, data_dir):
    responder.register(responder.info(CAST, f"Nest-Audio-{UUID}", host="nest.local.",
                                      txt={"id": UUID, "md": "Nest Audio", "fn": "Kitchen speaker"}))
    ctx = make_context(data_dir)
    events = Events()
    ctx.registry.add_listener(events)
    try:
        ctx.start()
        events.wait_for(lambda e: UUID in e.devices)
        ctx.rooms.add("Kitchen")
        ctx.registry.set_user_fields(UUID, user_name="Nest by the fridge", room="Kitchen")
    finally:
        ctx.close()
        teardown_logging()

    again = make_context(data_dir)  # not started: nothing on the network is consulted
    try:
        device = again.registry.device(UUID)
        assert device is not None
        assert device.status is DeviceStatus.OFFLINE
        assert (device.name, device.room, device.model) == ("Nest by the fridge", "Kitchen", "Nest Audio")
        assert again.rooms.list() == ["Kitchen"]
    finally:
        again.close()
        teardown_logging()


def test_rename_and_remove_room_follow_the_devices(data_dir):
    ctx = make_context(data_dir)
    try:
        ctx.registry.add_manual("192.0.2.10", name="Echo")
        ctx.rooms.add("Den")
        ctx.registry.set_user_fields("ip:192.0.2.10", user_name="Echo", room="Den")
        ctx.rename_room("Den", "Study")
        assert ctx.registry.device("ip:192.0.2.10").room == "Study"
        ctx.remove_room("Study")
        assert ctx.registry.device("ip:192.0.2.10").room is None
    finally:
        ctx.close()
    again = make_context(data_dir)
    try:
        device = again.registry.device("ip:192.0.2.10")
        assert device.status is DeviceStatus.MANUAL and device.room is None and again.rooms.list() == []
    finally:
        again.close()
        teardown_logging()


def test_corrupt_database_is_moved_aside_and_reported(data_dir):
    (data_dir / "earmuff.db").write_bytes(b"this is not a database" * 100)
    ctx = make_context(data_dir)
    try:
        assert ctx.startup_error is not None
        assert "moved" in ctx.startup_error.user_message.lower()
        aside = [p for p in data_dir.iterdir() if p.name.startswith("earmuff.db.corrupt")]
        assert len(aside) == 1 and aside[0].read_bytes() == b"this is not a database" * 100
        assert ctx.registry.devices() == []
    finally:
        ctx.close()
        teardown_logging()


def test_demo_keeps_its_data_apart(data_dir, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(data_dir / "xdg"))

    class NoSimulator:
        def start(self): ...
        def stop(self): ...

    ctx = AppContext.create(None, demo=True, simulator=NoSimulator())
    try:
        assert ctx.data_dir == (data_dir / "xdg" / "earmuff" / "demo").resolve()
        assert ctx.describe_discovery() == "Demo: simulated home on 127.0.0.1"
    finally:
        ctx.close()
        teardown_logging()


def test_data_dir_keeps_each_home_apart_and_the_default_untouched(data_dir, monkeypatch):
    default_home = data_dir / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(default_home))
    first, second = data_dir / "one", data_dir / "two"
    ctx = make_context(first)
    try:
        ctx.registry.add_manual("192.0.2.20", name="Only in one")
    finally:
        ctx.close()
        teardown_logging()
    other = make_context(second)
    try:
        assert other.registry.devices() == []
        assert (second / "logs" / "earmuff.log").exists()
    finally:
        other.close()
        teardown_logging()
    assert (first / "earmuff.db").exists()
    assert not default_home.exists()
