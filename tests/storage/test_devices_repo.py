"""Device rows: an exact round trip (binary TXT included), and damaged rows read without crashing."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.devices import Device, DeviceKind, DeviceStatus
from app.discovery.records import ServiceRecord, build_txt
from app.storage import DeviceRepository, RoomRepository

CAST = ServiceRecord(
    service_type="_googlecast._tcp.local.",
    name="Google-Nest-Mini-1a2b._googlecast._tcp.local.",
    server="1a2b.local.",
    port=8009,
    addresses=("192.168.1.20", "fe80::1%eth0"),
    txt=build_txt([("id", "1a2b"), ("fn", "Küche"), ("bin", b"\x00\xff"), ("flag", None), ("empty", "")]),
    seen_at=1764185400.123456,
)
AIRPLAY = ServiceRecord(service_type="_airplay._tcp.local.", name="Kitchen._airplay._tcp.local.", server=None, port=None)

KITCHEN = Device(
    device_id="uuid-1a2b",
    advertised_name="Küche",
    vendor="Google",
    model="Nest Mini",
    kind=DeviceKind.SPEAKER,
    addresses=("192.168.1.20", "fe80::1%eth0"),
    hosts=("1a2b.local.",),
    services=(CAST, AIRPLAY),
    status=DeviceStatus.ONLINE,
    first_seen=1764185000.5,
    last_seen=1764185400.25,
    group_ids=("group-1",),
    user_name="Kitchen speaker",
    room="Kitchen",
    mac="f4:f5:d8:00:11:22",
    rule_ids=("google-cast-nest-mini", "oui-google"),
)


def as_loaded(device: Device) -> Device:
    """What a stored device looks like when read back: status and groups are not stored."""
    status = DeviceStatus.MANUAL if device.device_id.startswith("ip:") else DeviceStatus.OFFLINE
    return replace(device, status=status, group_ids=())


def test_a_device_round_trips_exactly_including_binary_txt(db):
    repo = DeviceRepository(db)
    repo.save(KITCHEN)
    (loaded,) = repo.load_all()
    assert loaded == as_loaded(KITCHEN)
    assert loaded.services[0].txt == CAST.txt
    assert loaded.services[0].get_bytes("bin") == b"\x00\xff"
    assert loaded.services[0].seen_at == CAST.seen_at


def test_a_manual_device_loads_as_manual(db):
    repo = DeviceRepository(db)
    repo.save(Device(device_id="ip:192.168.1.50", kind=DeviceKind.SPEAKER, mac="68:db:f5:90:19:64"))
    assert repo.load_all()[0].status is DeviceStatus.MANUAL


def test_save_replaces_and_delete_removes(db):
    repo = DeviceRepository(db)
    repo.save(KITCHEN)
    repo.save(replace(KITCHEN, user_name="Renamed", services=()))
    assert [d.user_name for d in repo.load_all()] == ["Renamed"]
    assert repo.load_all()[0].services == ()
    repo.delete(KITCHEN.device_id)
    assert repo.load_all() == []


def test_saving_a_device_in_a_new_room_adds_the_room(db):
    DeviceRepository(db).save(KITCHEN)
    DeviceRepository(db).save(replace(KITCHEN, device_id="other", room="kitchen"))
    assert RoomRepository(db).list() == ["Kitchen"]


def insert_raw(db, **columns):
    row = {"device_id": "uuid-raw", "kind": "speaker", "first_seen": 1.0, "last_seen": 2.0, **columns}
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    with db.transaction() as conn:
        conn.execute(f"INSERT INTO devices ({names}) VALUES ({marks})", tuple(row.values()))


def test_an_unknown_kind_loads_as_other_and_is_logged(db, caplog):
    insert_raw(db, kind="toaster", user_name="Kept")
    (device,) = DeviceRepository(db).load_all()
    assert device.kind is DeviceKind.OTHER
    assert device.user_name == "Kept"
    assert "unknown kind 'toaster'" in caplog.text


def test_damaged_json_loses_only_that_field(db, caplog):
    good_service = json.dumps([{"service_type": "_raop._tcp.local.", "name": "A._raop._tcp.local.",
                                "server": "a.local.", "port": 7000, "addresses": [], "txt_hex": "00ff",
                                "seen_at": 3.0},
                               {"service_type": "_x._tcp.local."},          # no name
                               {"service_type": "_y._tcp.local.", "name": "y", "txt_hex": "zz"}])  # not hex
    insert_raw(db, addresses="{not json", hosts='"a string"', rule_ids="[1, 2]", services=good_service,
               room="Office", user_name="Still here")
    (device,) = DeviceRepository(db).load_all()
    assert (device.addresses, device.hosts, device.rule_ids) == ((), (), ())
    assert [s.name for s in device.services] == ["A._raop._tcp.local."]
    assert device.services[0].txt == b"\x00\xff"
    assert (device.room, device.user_name) == ("Office", "Still here")
    assert "stored addresses unreadable" in caplog.text
    assert "stored service #1 unreadable" in caplog.text
    assert "stored service #2 unreadable" in caplog.text


def test_wrongly_typed_columns_are_defaulted(db, caplog):
    insert_raw(db, first_seen="yesterday", vendor=b"\x01", services="null")  # a BLOB keeps its type
    (device,) = DeviceRepository(db).load_all()
    assert device.first_seen == 0.0
    assert device.vendor is None
    assert device.services == ()


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_optional_text = st.none() | _text
_services = st.builds(
    ServiceRecord,
    service_type=_text,
    name=_text,
    server=_optional_text,
    port=st.none() | st.integers(0, 65535),
    addresses=st.lists(_text, max_size=3).map(tuple),
    txt=st.binary(max_size=300),
    seen_at=st.floats(allow_nan=False, allow_infinity=False),
)
_devices = st.builds(
    Device,
    device_id=_text.filter(bool),
    advertised_name=_optional_text,
    vendor=_optional_text,
    model=_optional_text,
    kind=st.sampled_from(DeviceKind),
    addresses=st.lists(_text, max_size=3).map(tuple),
    hosts=st.lists(_text, max_size=3).map(tuple),
    services=st.lists(_services, max_size=3).map(tuple),
    first_seen=st.floats(allow_nan=False, allow_infinity=False),
    last_seen=st.floats(allow_nan=False, allow_infinity=False),
    user_name=_optional_text,
    room=_optional_text,
    mac=_optional_text,
    rule_ids=st.lists(_text, max_size=3).map(tuple),
)


def test_any_device_round_trips(db):
    repo = DeviceRepository(db)

    @hypothesis_settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow])
    @given(_devices)
    def check(device):
        with db.transaction() as conn:
            conn.execute("DELETE FROM devices")
        repo.save(device)
        assert repo.load_all() == [as_loaded(device)]

    check()
