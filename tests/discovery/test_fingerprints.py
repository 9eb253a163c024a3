"""Fingerprint rules, checked against every real and synthetic advert the project ships."""

import json

import pytest

from app.devices import DeviceKind
from app.discovery.fingerprints import Fingerprinter, RulesError
from app.discovery.records import ServiceRecord
from app.resources import resource_path
from app.registry import DeviceRegistry
from device_bridge.simulate.adverts import load_adverts

ADVERTS = load_adverts()


def feed(registry, speaker, address="10.0.0.5"):
    for service in speaker.services:
        registry.service_seen(
            ServiceRecord(
                service.service_type,
                f"{service.instance}.{service.service_type}",
                service.host,
                service.port,
                (address,),
                service.txt,
                1.0,
            )
        )


@pytest.fixture(scope="module")
def fingerprinter():
    return Fingerprinter.from_resources()


@pytest.mark.parametrize("speaker", ADVERTS, ids=lambda s: s.advert_id)
def test_each_advert_is_identified_as_expected(fingerprinter, speaker):
    registry = DeviceRegistry(fingerprinter)
    feed(registry, speaker)
    devices = registry.devices()
    assert len(devices) == 1, [d.device_id for d in devices]
    device = devices[0]
    expect = speaker.expect
    assert device.vendor == expect.get("vendor")
    assert device.kind.value == expect["kind"]
    if "model" in expect:
        assert device.model == expect["model"]
    if "stable_id" in expect:
        assert device.device_id == expect["stable_id"]
    if "name" in expect:
        assert device.name == expect["name"]


def test_every_service_type_in_the_adverts_is_browsed(fingerprinter):
    browsed = {t.lower() for t in fingerprinter.service_types}
    advertised = {s.service_type.lower() for a in ADVERTS for s in a.services}
    # HomeKit rides along on Apple hosts; it names no speaker by itself, so it is not browsed.
    assert advertised - browsed <= {"_homekit._tcp.local."}


def test_cast_group_is_a_group_of_its_leader_not_a_device(fingerprinter):
    registry = DeviceRegistry(fingerprinter)
    feed(registry, next(a for a in ADVERTS if a.advert_id == "google-home-mini"))
    (group,) = registry.groups()
    (device,) = registry.devices()
    assert group.name == "Whole house" and group.member_ids == (device.device_id,)
    assert device.group_ids == (group.group_id,)


def test_homepod_stereo_pair_is_one_group_of_two(fingerprinter):
    registry = DeviceRegistry(fingerprinter)
    pair = [a for a in ADVERTS if a.expect.get("model", "").startswith("HomePod mini")]
    assert len(pair) >= 2, "the simulated home ships a HomePod stereo pair"
    for n, advert in enumerate(pair):
        feed(registry, advert, f"10.0.0.{10 + n}")
    stereo = [g for g in registry.groups() if g.kind.value == "stereo-pair"]
    assert len(stereo) == 1 and len(stereo[0].member_ids) == 2
    assert len([d for d in registry.devices() if d.kind is DeviceKind.SPEAKER]) == len(pair)


def test_unknown_service_is_other_and_named_by_instance(fingerprinter):
    identity = fingerprinter.identify(ServiceRecord("_foo._tcp.local.", "Thing._foo._tcp.local.", "t.local.", 1))
    assert identity.kind is DeviceKind.OTHER and identity.name == "Thing"


def test_shipped_tables_have_sources():
    tables = json.loads(resource_path("fingerprints", "tables.json").read_text())["tables"]
    for name, table in tables.items():
        assert table.get("_source"), f"table {name} has no _source"


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"service_types": ["_x._tcp.local."]}, "no 'id'"),
        ({"id": "r", "service_types": []}, "service_types"),
        ({"id": "r", "service_types": ["_x._tcp.local."], "model": [{"txt": "m", "regex": "("}]}, "regex"),
        ({"id": "r", "service_types": ["_x._tcp.local."], "model": [{"table": "nope", "of": {"txt": "m"}}]}, "unknown table"),
        ({"id": "r", "service_types": ["_x._tcp.local."], "kind": [{"const": "toaster"}]}, "unknown kind"),
        ({"id": "r", "service_types": ["_x._tcp.local."], "name": [{"foo": 1}]}, "names no source"),
    ],
)
def test_malformed_rules_are_refused_with_the_rule_named(rule, message):
    with pytest.raises(RulesError, match=message):
        Fingerprinter({"rules": [rule]}, {"tables": {}})
