"""Rooms: the user's order, names without regard to case, and devices following renames and removals."""

from __future__ import annotations

import pytest

from app.devices import Device, DeviceKind
from app.storage import DeviceRepository, RoomRepository


@pytest.fixture
def rooms(db):
    return RoomRepository(db)


def device_rooms(db) -> dict[str, str | None]:
    return {d.device_id: d.room for d in DeviceRepository(db).load_all()}


def put_devices(db, **rooms_by_id):
    repo = DeviceRepository(db)
    for device_id, room in rooms_by_id.items():
        repo.save(Device(device_id=device_id, kind=DeviceKind.SPEAKER, room=room))


def test_rooms_list_in_the_order_added(rooms):
    assert rooms.add("  Kitchen ") == "Kitchen"
    rooms.add("Bedroom")
    rooms.add("Attic")
    assert rooms.list() == ["Kitchen", "Bedroom", "Attic"]


def test_a_room_name_must_be_new_and_not_blank(rooms):
    rooms.add("Kitchen")
    with pytest.raises(ValueError, match="already"):
        rooms.add("KITCHEN")
    with pytest.raises(ValueError, match="needs a name"):
        rooms.add("   ")
    assert rooms.list() == ["Kitchen"]


def test_rename_moves_the_devices_along(db, rooms):
    rooms.add("Kitchen")
    rooms.add("Bedroom")
    put_devices(db, a="Kitchen", b="kitchen", c="Bedroom")

    rooms.rename("kitchen", "Dining room")

    assert rooms.list() == ["Dining room", "Bedroom"]
    assert device_rooms(db) == {"a": "Dining room", "b": "Dining room", "c": "Bedroom"}


def test_rename_to_another_case_is_allowed_but_not_onto_another_room(rooms):
    rooms.add("kitchen")
    rooms.add("Bedroom")
    rooms.rename("kitchen", "Kitchen")
    assert rooms.list() == ["Kitchen", "Bedroom"]
    with pytest.raises(ValueError, match="already"):
        rooms.rename("Kitchen", "bedroom")
    with pytest.raises(KeyError):
        rooms.rename("Garage", "Shed")


def test_remove_clears_the_room_from_its_devices_and_keeps_the_order(db, rooms):
    for name in ("Kitchen", "Bedroom", "Attic"):
        rooms.add(name)
    put_devices(db, a="Bedroom", b="Attic")

    rooms.remove("BEDROOM")

    assert rooms.list() == ["Kitchen", "Attic"]
    assert device_rooms(db) == {"a": None, "b": "Attic"}
    rooms.add("Garage")
    assert rooms.list() == ["Kitchen", "Attic", "Garage"]
    with pytest.raises(KeyError):
        rooms.remove("Bedroom")


def test_reorder_needs_exactly_the_existing_rooms(rooms):
    for name in ("Kitchen", "Bedroom", "Attic"):
        rooms.add(name)
    rooms.reorder(["Attic", "kitchen", "Bedroom"])
    assert rooms.list() == ["Attic", "Kitchen", "Bedroom"]
    with pytest.raises(ValueError):
        rooms.reorder(["Attic", "Kitchen"])
    with pytest.raises(ValueError):
        rooms.reorder(["Attic", "Kitchen", "Bedroom", "Garage"])
    assert rooms.list() == ["Attic", "Kitchen", "Bedroom"]
