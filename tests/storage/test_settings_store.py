"""Settings: defaults, validation, round trip, bad stored values, and the version 1 -> 2 upgrade with its backup."""

from __future__ import annotations

import json
import logging
from dataclasses import fields, replace

import pytest

from app import settings as settings_module
from app.settings import CURRENT_SETTINGS_VERSION, Settings, SettingsStore


def rows(db) -> dict[str, object]:
    return {k: json.loads(v) for k, v in db.connection.execute("SELECT key, value FROM settings")}


def test_a_new_install_gets_the_defaults(db):
    loaded = SettingsStore(db).load()
    assert loaded == Settings()
    assert loaded.requery_interval_s == 60
    assert loaded.interface_addresses is None
    Settings().validate()


def test_settings_round_trip(db):
    store = SettingsStore(db)
    chosen = Settings(
        requery_interval_s=300,
        resolve_timeout_s=1.5,
        discovery_interfaces="192.168.1.2, 10.0.0.5",
        show_other_devices=False,
        close_to_tray=False,
        notify_new_speakers=False,
        window_geometry="AdnQywADAAA=",
        window_state="AAAA/wAAAAD9",
        last_page="activity",
        speakers_sort_column=3,
        speakers_sort_order=1,
    )
    store.save(chosen)
    assert store.load() == chosen
    assert chosen.interface_addresses == ("192.168.1.2", "10.0.0.5")
    assert rows(db)["settings_version"] == CURRENT_SETTINGS_VERSION
    assert set(rows(db)) == {f.name for f in fields(Settings)} | {"settings_version"}


@pytest.mark.parametrize(
    "field, value",
    [
        ("requery_interval_s", 4),
        ("requery_interval_s", 3601),
        ("requery_interval_s", True),
        ("resolve_timeout_s", 0.4),
        ("resolve_timeout_s", 31),
        ("discovery_interfaces", "eth0"),
        ("discovery_interfaces", "192.168.1.2,"),
        ("discovery_interfaces", ""),
        ("close_to_tray", "yes"),
        ("window_geometry", "not base64!"),
        ("speakers_sort_order", 2),
        ("last_page", " "),
    ],
)
def test_validate_names_the_bad_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(Settings(), **{field: value}).validate()


def test_save_refuses_invalid_settings_and_writes_nothing(db):
    with pytest.raises(ValueError, match="requery_interval_s"):
        SettingsStore(db).save(Settings(requery_interval_s=1))
    assert rows(db) == {}


def test_a_bad_stored_value_falls_back_to_that_fields_default(db, caplog):
    caplog.set_level(logging.INFO)
    SettingsStore(db).save(Settings(last_page="activity", resolve_timeout_s=2.0))
    with db.transaction() as conn:
        conn.executemany(
            "UPDATE settings SET value = ? WHERE key = ?",
            [("2", "requery_interval_s"), ('"abc"', "close_to_tray"), ("{not json", "discovery_interfaces")],
        )
        conn.execute("INSERT INTO settings VALUES ('from_the_future', '1')")

    loaded = SettingsStore(db).load()

    assert loaded == Settings(last_page="activity", resolve_timeout_s=2.0)
    assert "Setting requery_interval_s: stored value unusable" in caplog.text
    assert "close_to_tray" in caplog.text
    assert "discovery_interfaces" in caplog.text
    assert "Ignoring unknown setting 'from_the_future'" in caplog.text


def test_whole_numbers_are_accepted_for_either_number_type(db):
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO settings VALUES (?, ?)",
            [("settings_version", "2"), ("requery_interval_s", "120.0"), ("resolve_timeout_s", "2")],
        )
    loaded = SettingsStore(db).load()
    assert (loaded.requery_interval_s, loaded.resolve_timeout_s) == (120, 2.0)
    assert isinstance(loaded.resolve_timeout_s, float)


def v1_rows(db, **extra):
    values = {"settings_version": 1, "requery_minutes": 5, "close_to_tray": False, **extra}
    with db.transaction() as conn:
        conn.executemany("INSERT INTO settings VALUES (?, ?)", [(k, json.dumps(v)) for k, v in values.items()])
    return values


def test_version_1_minutes_become_version_2_seconds_after_a_backup(db):
    old = v1_rows(db)

    loaded = SettingsStore(db).load()

    assert loaded.requery_interval_s == 300
    assert loaded.close_to_tray is False
    stored = rows(db)
    assert stored["settings.backup-v1"] == old
    assert stored["settings_version"] == 2
    assert "requery_minutes" not in stored
    assert stored["requery_interval_s"] == 300

    assert SettingsStore(db).load() == loaded  # nothing left to upgrade
    assert [k for k in rows(db) if k.startswith("settings.backup")] == ["settings.backup-v1"]


def test_version_1_without_a_version_row_is_still_upgraded(db):
    with db.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('requery_minutes', '2')")
    assert SettingsStore(db).load().requery_interval_s == 120
    assert rows(db)["settings.backup-v1"] == {"requery_minutes": 2}


def test_an_out_of_range_v1_interval_is_clamped(db):
    v1_rows(db, requery_minutes=600)
    assert SettingsStore(db).load().requery_interval_s == 3600


def test_a_failing_upgrade_keeps_the_old_rows_backs_them_up_and_uses_defaults(db, monkeypatch, caplog):
    def broken(values):
        raise KeyError("bug in upgrade")

    monkeypatch.setitem(settings_module.UPGRADES, 1, broken)
    old = v1_rows(db)

    assert SettingsStore(db).load() == Settings()
    assert SettingsStore(db).load() == Settings()  # a second try adds no second backup
    stored = rows(db)
    assert stored["settings.backup-v1"] == old
    assert {k: stored[k] for k in old} == old
    assert len([k for k in stored if k.startswith("settings.backup")]) == 1
    assert "Upgrading settings from version 1 failed" in caplog.text


def test_an_existing_backup_row_is_never_replaced(db):
    with db.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('settings.backup-v1', '{\"earlier\": true}')")
    v1_rows(db)
    SettingsStore(db).load()
    stored = rows(db)
    assert stored["settings.backup-v1"] == {"earlier": True}
    assert stored["settings.backup-v1-2"]["requery_minutes"] == 5
