"""The sourced tables in resources/destinations: names to organisations, telemetry presets, and what a block covers."""

from __future__ import annotations

import json

import pytest

from app.resources import resource_path
from device_bridge.destinations.blocks import check_block, covers
from device_bridge.destinations.organisations import OrganisationTable, normalise_name, shipped_table
from device_bridge.destinations.presets import load_presets, shipped_presets
from device_bridge.destinations.repository import StoredBlock


@pytest.mark.parametrize("raw, expected", [
    ("Avs-Alexa-4-NA.amazon.com.", "avs-alexa-4-na.amazon.com"),
    (b"clients3.google.com", "clients3.google.com"),
    ("_dns.resolver.arpa", "_dns.resolver.arpa"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("localhost", None), ("", None), ("a..b", None), ("-a.example", None), ("a b.example", None),
    ("a\x00.example", None), (b"\xff.example", None), ("a" * 64 + ".example", None), ("a." * 127 + "com", None),
])
def test_names_off_the_wire_are_checked(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("name, organisation", [
    ("avs-alexa-4-na.amazon.com", "Amazon"), ("alexa.na.gateway.devices.a2z.com", "Amazon"),
    ("api.amazonalexa.com", "Amazon"), ("d3p8zr0ffa9t17.cloudfront.net", "Amazon Web Services"),
    ("s3.eu-west-1.amazonaws.com", "Amazon Web Services"), ("clients3.google.com", "Google"),
    ("fra16s48-in-f14.1e100.net", "Google"), ("guzzoni.apple.com", "Apple"), ("gateway.icloud.com", "Apple"),
    ("sonos.com", "Sonos"), ("notamazon.com", None), ("amazon.com.evil.example", None), ("com", None),
    ("upload.example.net", None),
])
def test_names_belong_to_organisations_by_their_longest_suffix(name, organisation):
    assert shipped_table().organisation_of(name) == organisation


def test_every_organisation_and_preset_cites_a_source_and_aws_is_marked_as_hosting():
    data = json.loads(resource_path("destinations", "organisations.json").read_text())
    for entry in data["organisations"]:
        assert entry["sources"] and all(s.get("url", "").startswith("http") and s["shows"] for s in entry["sources"])
    assert shipped_table().get("Amazon Web Services").hosting and not shipped_table().get("Amazon").hosting
    presets = shipped_presets()
    assert set(presets) == {"amazon-device-metrics", "google-analytics"}
    for preset in presets.values():
        assert preset.sources and all(s.get("shows") for s in preset.sources)
        assert all(shipped_table().organisation_of(n) == preset.organisation for n in preset.names)
    no_preset = json.loads(resource_path("destinations", "presets.json").read_text())["no_preset"]
    assert set(no_preset) == {"Apple", "Sonos"}
    assert (resource_path("destinations", "SOURCE.md")).is_file()


def test_a_table_or_preset_without_a_source_or_with_a_clash_is_refused(tmp_path):
    broken = tmp_path / "o.json"
    broken.write_text(json.dumps({"organisations": [{"name": "X", "suffixes": ["x.com"], "sources": []}]}))
    with pytest.raises(ValueError, match="source"):
        OrganisationTable.load(broken)
    broken.write_text(json.dumps({"organisations": [
        {"name": "X", "suffixes": ["x.com"], "sources": [{"url": "https://x", "shows": "x"}]},
        {"name": "Y", "suffixes": ["x.com"], "sources": [{"url": "https://y", "shows": "y"}]}]}))
    with pytest.raises(ValueError, match="listed for X and Y"):
        OrganisationTable.load(broken)
    presets = tmp_path / "p.json"
    presets.write_text(json.dumps({"presets": [{"id": "p", "title": "P", "organisation": "X", "names": ["a.x.com"],
                                                "why": "", "sources": []}]}))
    with pytest.raises(ValueError, match="no source"):
        load_presets(presets)


def test_what_each_kind_of_block_covers():
    table, presets = shipped_table(), shipped_presets()

    def block(kind: str, value: str) -> StoredBlock:
        return StoredBlock(1, "kitchen", kind, check_block(kind, value, table, presets), 0.0)

    name = block("name", "Device-Metrics-US.amazon.com")
    assert name.value == "device-metrics-us.amazon.com"
    assert covers(name, ["eu.device-metrics-us.amazon.com"], table, presets)
    assert not covers(name, ["avs-alexa-4-na.amazon.com", "metrics-us.amazon.com"], table, presets)
    assert covers(name, ["x.cdn.net", "device-metrics-us.amazon.com"], table, presets)  # any name of the chain
    organisation = block("organisation", "Amazon")
    assert covers(organisation, ["api.amazonalexa.com"], table, presets)
    assert not covers(organisation, ["d1.cloudfront.net"], table, presets)  # AWS hosting is not Amazon
    preset = block("preset", "amazon-device-metrics")
    assert covers(preset, ["device-metrics-us-2.amazon.com"], table, presets)
    assert not covers(preset, ["avs-alexa-4-na.amazon.com"], table, presets)
    for kind, value, message in [("name", "not a name", "not a host name"), ("organisation", "Acme", "not an "),
                                 ("preset", "nope", "not a preset"), ("address", "1.2.3.4", "not a kind")]:
        with pytest.raises(ValueError, match=message):
            check_block(kind, value, table, presets)
