"""Merging services into devices, offline/online, user fields, manual devices, and listener discipline."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.devices import Device, DeviceKind, DeviceStatus
from app.discovery.fingerprints import Fingerprinter
from app.discovery.records import ServiceRecord, build_txt
from app.registry import DeviceRegistry

FP = Fingerprinter.from_resources()
CAST = "_googlecast._tcp.local."
AIRPLAY = "_airplay._tcp.local."
COMPANION = "_companion-link._tcp.local."


def cast(uuid="a" * 32, name="Kitchen", host="kitchen.local.", address="10.0.0.2"):
    return ServiceRecord(CAST, f"Google-Home-{uuid}.{CAST}", host, 8009, (address,),
                         build_txt({"id": uuid, "md": "Google Home", "fn": name}), 5.0)


class Recorder:
    def __init__(self, registry=None):
        self.events = []
        self.registry = registry

    def _log(self, *event):
        if self.registry is not None:  # listeners may call back in: the lock must not be held
            self.registry.devices()
        self.events.append(event)

    def device_added(self, d): self._log("added", d.device_id)
    def device_updated(self, d): self._log("updated", d.device_id, d.status.value)
    def device_removed(self, i): self._log("removed", i)
    def group_updated(self, g): self._log("group", g.group_id)
    def group_removed(self, i): self._log("group_removed", i)


@pytest.fixture
def registry():
    return DeviceRegistry(FP, clock=lambda: 100.0)


def test_services_of_one_host_merge_and_stable_id_wins(registry):
    registry.service_seen(ServiceRecord(COMPANION, f"Den.{COMPANION}", "Den.local.", 49152, ("10.0.0.3",),
                                        build_txt({"rpMd": "AudioAccessory1,1"}), 5.0))
    (first,) = registry.devices()
    assert first.device_id == "host:den.local."
    registry.set_user_fields(first.device_id, user_name="Den speaker", room="Den")
    registry.service_seen(ServiceRecord(AIRPLAY, f"Den.{AIRPLAY}", "Den.local.", 7000, ("10.0.0.3", "fe80::1%2"),
                                        build_txt({"deviceid": "aa:bb:cc:dd:ee:ff", "model": "AudioAccessory1,1"}), 6.0))
    (device,) = registry.devices()
    assert device.device_id == "AA:BB:CC:DD:EE:FF"
    assert (device.user_name, device.room) == ("Den speaker", "Den")  # carried over from its host-keyed past
    assert device.model == "HomePod" and device.kind is DeviceKind.SPEAKER
    assert device.addresses == ("10.0.0.3", "fe80::1%2")
    assert len(device.services) == 2


def test_same_service_twice_is_one_service(registry):
    registry.service_seen(cast())
    registry.service_seen(cast(address="10.0.0.2"))
    assert registry.service_count() == 1 and len(registry.devices()) == 1


def test_goodbye_makes_offline_and_return_makes_online(registry):
    rec = Recorder(registry)
    registry.add_listener(rec)
    registry.service_seen(cast())
    registry.service_gone(CAST, cast().name.upper())  # names compare case-insensitively
    (device,) = registry.devices()
    assert device.status is DeviceStatus.OFFLINE and device.services  # last adverts kept for the details view
    registry.service_seen(cast(name="Kitchen 2"))
    (device,) = registry.devices()
    assert device.online and device.advertised_name == "Kitchen 2"
    assert rec.events == [("added", "a" * 32), ("updated", "a" * 32, "offline"), ("updated", "a" * 32, "online")]


def test_known_devices_load_offline_and_keep_user_fields_when_seen(registry):
    registry.load_known([Device("a" * 32, advertised_name="Old", kind=DeviceKind.SPEAKER, user_name="Mine",
                                room="Kitchen", first_seen=1.0, last_seen=2.0, status=DeviceStatus.ONLINE)])
    (device,) = registry.devices()
    assert device.status is DeviceStatus.OFFLINE
    registry.service_seen(cast())
    (device,) = registry.devices()
    assert device.online and device.name == "Mine" and device.room == "Kitchen" and device.first_seen == 1.0


def test_manual_add_validates_and_guesses_vendor_from_oui(registry):
    with pytest.raises(ValueError, match="not an IP address"):
        registry.add_manual("192.168.1.300")
    with pytest.raises(ValueError, match="not a MAC"):
        registry.add_manual("192.168.1.30", mac="zz")
    device = registry.add_manual(" 192.168.1.30 ", mac="68-db-f5-90-19-64", name="Echo Dot")
    assert device.device_id == "ip:192.168.1.30" and device.vendor == "Amazon"
    assert device.status is DeviceStatus.MANUAL and device.name == "Echo Dot"
    with pytest.raises(ValueError, match="already"):
        registry.add_manual("192.168.1.30")


def test_forget_only_offline(registry):
    registry.service_seen(cast())
    with pytest.raises(ValueError, match="online"):
        registry.forget("a" * 32)
    registry.service_gone(CAST, cast().name)
    registry.forget("a" * 32)
    assert registry.devices() == []


def test_set_user_fields_unknown_device(registry):
    with pytest.raises(KeyError):
        registry.set_user_fields("nope", user_name="x", room=None)


def test_a_failing_listener_does_not_stop_others(registry, caplog):
    class Broken(Recorder):
        def device_added(self, d):
            raise RuntimeError("boom")

    good = Recorder()
    registry.add_listener(Broken())
    registry.add_listener(good)
    registry.service_seen(cast())
    assert good.events == [("added", "a" * 32)]
    assert "boom" in caplog.text


def test_concurrent_reports_end_consistent(registry):
    records = [cast(uuid=f"{i:032x}", host=f"h{i}.local.") for i in range(40)]
    threads = [threading.Thread(target=registry.service_seen, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(registry.devices()) == 40


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=70)
txt_pairs = st.lists(st.tuples(st.text(min_size=1, max_size=12).filter(lambda k: "=" not in k),
                               st.one_of(st.none(), st.binary(max_size=30))), max_size=8)
types = st.sampled_from(FP.service_types + ("_weird._tcp.local.",))


@settings(max_examples=300, deadline=None)
@given(service_type=types, instance=names, host=st.one_of(st.none(), names), pairs=txt_pairs,
       port=st.one_of(st.none(), st.integers(0, 65535)))
def test_malformed_adverts_never_break_the_registry(service_type, instance, host, pairs, port):
    pairs = [(k, v) for k, v in pairs if len(k.encode()) + (len(v) + 1 if v is not None else 0) <= 255]
    registry = DeviceRegistry(FP)
    record = ServiceRecord(service_type, f"{instance}.{service_type}", host, port, (), build_txt(pairs), 1.0)
    registry.service_seen(record)
    (device,) = registry.devices() or [None]
    if device is not None:  # a group-only advert makes a group, not a device
        assert device.services[0].txt == record.txt  # raw bytes kept
        assert isinstance(device.name, str)
    registry.service_gone(service_type, record.name)
    assert all(not d.online for d in registry.devices())


def test_a_device_without_any_name_is_called_by_vendor_and_host(registry):
    registry.service_seen(ServiceRecord("_sonos._tcp.local.", "Sonos-5CAAFDE47AC8._sonos._tcp.local.",
                                        "sonos5CAAFDE47AC8.local.", 1443, ("10.0.0.9",),
                                        build_txt({"info": "/api/v1/players/RINCON_5CAAFDE47AC801400/info"}), 1.0))
    (device,) = registry.devices()
    assert device.name == "Sonos speaker (sonos5caafde47ac8)"
