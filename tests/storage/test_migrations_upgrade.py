"""Schema upgrades: from nothing, from a version-1 file made by hand (backed up first, data kept), and failing safely."""

from __future__ import annotations

import sqlite3

import pytest

from app.devices import DeviceKind
from app.storage import SCHEMA_VERSION, Database, DeviceRepository, MigrationFailed, RoomRepository
from app.storage import database as database_module
from app.storage.migrations import LATEST, MIGRATIONS, split_statements

# The version-1 schema exactly as Earmuff 0.1 shipped it, written out here so that an
# accidental edit of the shipped migration shows up as a failing upgrade.
V1_SCHEMA = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY, advertised_name TEXT, vendor TEXT, model TEXT, kind TEXT NOT NULL,
    addresses TEXT NOT NULL DEFAULT '[]', hosts TEXT NOT NULL DEFAULT '[]', mac TEXT, user_name TEXT,
    room TEXT, first_seen REAL NOT NULL, last_seen REAL NOT NULL, services TEXT NOT NULL DEFAULT '[]',
    rule_ids TEXT NOT NULL DEFAULT '[]');
PRAGMA user_version = 1;
"""

V1_DEVICES = [
    # device_id, advertised_name, kind, room, first_seen
    ("uuid-kitchen", "Kitchen speaker", "speaker", "Kitchen", 1.0),
    ("uuid-kitchen-2", "Kitchen display", "display", "kitchen", 2.0),  # same room, other case
    ("uuid-bed", "Bedroom speaker", "speaker", "Bedroom", 3.0),
    ("uuid-none", "Hall TV", "media-player", None, 4.0),
    ("ip:192.168.1.9", None, "speaker", "  ", 5.0),  # blank room: not a room
    ("uuid-attic", "Attic", "speaker", "Attic", 6.0),
]


def make_v1_file(path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.executemany(
        "INSERT INTO devices (device_id, advertised_name, kind, room, first_seen, last_seen, addresses)"
        " VALUES (?, ?, ?, ?, ?, ?, '[\"192.168.1.20\"]')",
        [(d, n, k, r, t, t + 10) for d, n, k, r, t in V1_DEVICES],
    )
    conn.execute("INSERT INTO settings VALUES ('close_to_tray', 'false')")
    conn.commit()
    conn.close()


def test_migrations_are_numbered_by_their_position():
    assert LATEST == SCHEMA_VERSION == len(MIGRATIONS) == 7


def test_an_empty_file_is_built_up_to_the_latest_version(db_path):
    db_path.touch()  # zero bytes: a valid, empty database
    with Database.open(db_path) as db:
        assert db.schema_version == LATEST
        assert RoomRepository(db).list() == []
        assert db.backup_path is None


def test_a_v1_file_is_backed_up_then_upgraded_keeping_every_device(db_path, clock, stamp):
    make_v1_file(db_path)

    with Database.open(db_path, clock=clock) as db:
        assert db.schema_version == LATEST
        assert RoomRepository(db).list() == ["Attic", "Bedroom", "Kitchen"]
        devices = {d.device_id: d for d in DeviceRepository(db).load_all()}
        assert sorted(devices) == sorted(d[0] for d in V1_DEVICES)
        assert devices["uuid-kitchen-2"].room == "kitchen"  # device rows are not rewritten
        assert devices["uuid-kitchen"].addresses == ("192.168.1.20",)
        assert devices["uuid-none"].kind is DeviceKind.MEDIA_PLAYER
        assert db.connection.execute("SELECT value FROM settings").fetchall() == [("false",)]
        backup = db.backup_path

    assert backup == db_path.with_name(f"earmuff.db.backup-v1-{stamp}")
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
        assert copy.execute("SELECT count(*) FROM devices").fetchone()[0] == len(V1_DEVICES)
        assert copy.execute("SELECT name FROM sqlite_master WHERE name = 'rooms'").fetchone() is None
    finally:
        copy.close()


def test_reopening_after_an_upgrade_makes_no_second_backup(db_path, clock):
    make_v1_file(db_path)
    Database.open(db_path, clock=clock).close()
    with Database.open(db_path, clock=clock) as db:
        assert db.backup_path is None
    assert len([p for p in db_path.parent.iterdir() if ".backup-v" in p.name]) == 1


def test_a_failing_step_leaves_the_file_at_its_old_version_with_a_backup(db_path, clock, monkeypatch):
    Database.open(db_path).close()  # at the latest version

    def broken_step(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("simulated failure in the next step")

    monkeypatch.setattr(database_module, "MIGRATIONS", [*MIGRATIONS, broken_step])
    monkeypatch.setattr(database_module, "LATEST", LATEST + 1)

    with pytest.raises(MigrationFailed) as caught:
        Database.open(db_path, clock=clock)

    error = caught.value
    assert (error.from_version, error.to_version) == (LATEST, LATEST + 1)
    assert error.backup is not None and error.backup.exists()
    assert str(error.backup) in error.user_message
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
    finally:
        conn.close()


def test_sql_migrations_split_into_whole_statements():
    assert split_statements("INSERT INTO t VALUES ('a;b'); SELECT 1;\nSELECT 2 -- trailing") == [
        "INSERT INTO t VALUES ('a;b');",
        "SELECT 1;",
        "SELECT 2 -- trailing\n;",
    ]
    trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT 2; END;"
    assert split_statements(trigger + "\n-- done\n") == [trigger]
    assert len(split_statements(MIGRATIONS[0])) == 2
