"""The shipped catalog: every vendor file conforms to schema.json, every entry is sourced and dated, the
reference's uncertain facts stay marked, and a broken file is reported by file and field while the rest loads."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from app.optouts.catalog import SCHEMA_FILE, load_catalog, load_schema, setting_hash
from app.optouts.schema import SchemaError, check_schema, validate
from app.resources import resource_path

VENDORS = {"amazon", "google", "apple", "sonos", "microsoft", "meta"}


def vendor_files():
    return sorted(p for p in resource_path("optouts").glob("*.json") if p.name != SCHEMA_FILE)


def edit(path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def test_there_is_one_file_per_vendor_and_each_conforms_to_the_schema():
    schema = load_schema()
    assert {p.stem for p in vendor_files()} == VENDORS
    for path in vendor_files():
        document = json.loads(path.read_text(encoding="utf-8"))
        assert validate(document, schema) == [], path.name
        assert document["vendor"] == path.stem


def test_the_shipped_catalog_loads_without_a_single_problem(catalog):
    assert catalog.problems == ()
    assert set(catalog.vendors) == VENDORS
    assert sum(len(v.settings) for v in catalog.vendors.values()) == len(catalog.settings()) >= 25


def test_every_entry_has_a_source_url_and_a_last_verified_date(catalog):
    source_md = resource_path("optouts", "SOURCE.md").read_text(encoding="utf-8")
    for setting in catalog.settings():
        assert setting.sources, setting.setting_id
        for source in setting.sources:
            assert re.fullmatch(r"https://\S+", source.url), (setting.setting_id, source)
            assert source.url in source_md, f"{source.url} ({setting.setting_id}) is not listed in SOURCE.md"
        assert isinstance(setting.last_verified, datetime.date)
        assert setting.last_verified <= datetime.date.today()
        assert setting.where.app and setting.summary and setting.trade_off
        for url in (setting.where.web, setting.where.help):
            assert url == "" or url.startswith("https://")


def test_amazons_do_not_send_voice_recordings_is_retired_on_2025_03_28(catalog):
    retired = catalog.setting("amazon.do-not-send-voice-recordings")
    assert retired.is_retired and retired.retired.date == datetime.date(2025, 3, 28)
    assert retired.retired.replacement == "amazon.voice-recordings"
    assert "Don't save recordings" in retired.retired.note
    assert [s.setting_id for s in catalog.settings() if s.is_retired] == ["amazon.do-not-send-voice-recordings"]


@pytest.mark.parametrize(("setting_id", "field"), [
    ("amazon.voice-recordings", "voice"),             # "Alexa, update my privacy settings" guided flow (?)
    ("amazon.improve-services", "where.app"),         # newer wording may differ (?)
    ("amazon.message-transcriptions", "where.app"),
    ("amazon.deletion-by-voice", "where.app"),        # Review Voice History / Manage Your Alexa Data (?)
    ("amazon.detected-sounds", "where.app"),          # Alexa Privacy > detected sounds (?)
    ("google.gemini-activity", "trade_off"),          # human-reviewed ones up to 3 years (?)
    ("apple.improve-siri", "where.app"),              # HomePod: Home app > Home Settings > your profile (?)
    ("sonos.additional-usage-data", "where.app"),     # Sonos app settings (?)
])
def test_facts_the_reference_marks_uncertain_stay_marked(catalog, setting_id, field):
    setting = catalog.setting(setting_id)
    assert setting.uncertainty(field) is not None, f"{setting_id}: {field} must stay marked uncertain"


def test_settings_vendors_switched_back_get_shorter_recheck_intervals(catalog):
    assert catalog.setting("amazon.sidewalk").recheck_days == 30
    assert catalog.setting("google.web-app-activity").recheck_days == 30
    assert catalog.setting("apple.improve-siri").recheck_days == 30
    assert catalog.setting("amazon.skill-permissions").recheck_days == 90  # the default
    for setting in catalog.settings():
        if setting.recheck_days < 90:
            assert setting.recheck_reason, setting.setting_id


def test_discovered_vendor_names_map_to_catalog_vendors(catalog):
    assert catalog.vendor_for_device("Amazon").vendor_id == "amazon"
    assert catalog.vendor_for_device("google").vendor_id == "google"
    assert catalog.vendor_for_device("Facebook").vendor_id == "meta"
    assert catalog.vendor_for_device("Bose") is None and catalog.vendor_for_device(None) is None


def test_a_bad_field_names_the_file_and_field_and_only_that_setting_is_left_out(catalog_copy):
    edit(catalog_copy / "amazon.json", lambda d: d["settings"][0]["where"].update(web="http://insecure.example"))
    loaded = load_catalog(catalog_copy)
    [problem] = loaded.problems
    assert problem.file == "amazon.json"
    assert problem.field == "settings[0] (amazon.voice-recordings).where.web"
    assert "http://insecure.example" in problem.message
    assert "amazon.json: settings[0] (amazon.voice-recordings).where.web" in str(problem)
    assert loaded.setting("amazon.voice-recordings") is None
    assert loaded.setting("amazon.sidewalk") is not None          # the rest of the file
    assert set(loaded.vendors) == VENDORS                          # and every other file


def test_a_file_that_is_not_json_is_named_with_its_line_and_the_others_load(catalog_copy):
    (catalog_copy / "google.json").write_text('{"vendor": "google",\n  "name": oops}', encoding="utf-8")
    loaded = load_catalog(catalog_copy)
    [problem] = loaded.problems
    assert (problem.file, problem.field) == ("google.json", "line 2, column 11")
    assert "not valid JSON" in problem.message and problem.skipped == "the whole file"
    assert set(loaded.vendors) == VENDORS - {"google"}


def test_a_missing_top_level_field_leaves_out_that_file(catalog_copy):
    edit(catalog_copy / "sonos.json", lambda d: d.pop("sources"))
    loaded = load_catalog(catalog_copy)
    assert [(p.file, p.field, p.message) for p in loaded.problems] == [("sonos.json", "sources", "is missing")]
    assert "sonos" not in loaded.vendors and "apple" in loaded.vendors


def test_what_a_schema_cannot_check_is_checked_too(catalog_copy):
    def break_things(data):
        data["settings"][1]["recommended"] = "Sometimes"            # not an option
        data["settings"][2]["sources"] = ["A99"]                    # no such source
        data["settings"][3]["families"] = ["fridge"]                # no such family
        data["settings"][4]["id"] = "google.stolen-id"              # wrong vendor prefix

    edit(catalog_copy / "amazon.json", break_things)
    loaded = load_catalog(catalog_copy)
    fields = {p.field: p.message for p in loaded.problems}
    assert fields["settings[1] (amazon.improve-services).recommended"].startswith("'Sometimes' is not one of")
    assert fields["settings[2] (amazon.message-transcriptions).sources[0]"] == "'A99' is not in the file's sources"
    assert fields["settings[3] (amazon.deletion-by-voice).families[0]"] == "'fridge' is not in the file's families"
    assert "must start with the vendor id" in fields["settings[4] (google.stolen-id).id"]
    assert all(p.file == "amazon.json" for p in loaded.problems)
    assert len(loaded.vendor("amazon").settings) == 11 - 4


def test_a_misspelt_field_and_a_wrong_type_are_named(catalog_copy):
    def break_things(data):
        data["settings"][0]["recomended"] = "x"
        data["settings"][5]["recheck_days"] = "often"

    edit(catalog_copy / "amazon.json", break_things)
    fields = {p.field: p.message for p in load_catalog(catalog_copy).problems}
    assert fields["settings[0] (amazon.voice-recordings).recomended"] == "is not a known field (misspelt?)"
    assert fields["settings[5] (amazon.smart-home-history).recheck_days"] == "must be integer, not a string"


def test_a_file_named_after_another_vendor_is_refused(catalog_copy):
    (catalog_copy / "meta.json").rename(catalog_copy / "facebook.json")
    loaded = load_catalog(catalog_copy)
    [problem] = loaded.problems
    assert (problem.file, problem.field) == ("facebook.json", "vendor")
    assert "name it meta.json" in problem.message


def test_an_unreadable_schema_makes_every_vendor_a_problem_not_a_crash(catalog_copy):
    (catalog_copy / SCHEMA_FILE).write_text("{", encoding="utf-8")
    loaded = load_catalog(catalog_copy)
    assert loaded.vendors == {} and loaded.problems[0].file == SCHEMA_FILE


def test_the_validator_refuses_schema_keywords_it_does_not_check():
    check_schema(load_schema())
    with pytest.raises(SchemaError, match="oneOf"):
        check_schema({"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}})
    with pytest.raises(SchemaError, match="remote"):
        check_schema({"$ref": "https://example.com/remote.json"})


def test_the_content_hash_follows_what_to_do_not_the_wording(catalog):
    raw = json.loads(resource_path("optouts", "amazon.json").read_text(encoding="utf-8"))["settings"][8]
    assert raw["id"] == "amazon.sidewalk"
    assert setting_hash(raw) == catalog.setting("amazon.sidewalk").content_hash
    assert setting_hash({**raw, "summary": "Reworded.", "last_verified": "2026-01-01"}) == setting_hash(raw)
    assert setting_hash({**raw, "recommended": "On"}) != setting_hash(raw)
    assert setting_hash({**raw, "where": {"app": "Alexa app > Settings > Sidewalk"}}) != setting_hash(raw)
