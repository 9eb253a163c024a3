"""The bridges table: migration v3 from a version-2 file (backed up first), and the repository on it."""

from __future__ import annotations

import sqlite3

from app.bridge_client import PairedBridge, SpeakerState
from app.storage import SCHEMA_VERSION, Database, DeviceRepository, RoomRepository
from app.storage.bridges_repo import BridgeRepository

# The version-2 schema exactly as Earmuff shipped it (v1 tables plus rooms).
V2_SCHEMA = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY, advertised_name TEXT, vendor TEXT, model TEXT, kind TEXT NOT NULL,
    addresses TEXT NOT NULL DEFAULT '[]', hosts TEXT NOT NULL DEFAULT '[]', mac TEXT, user_name TEXT,
    room TEXT, first_seen REAL NOT NULL, last_seen REAL NOT NULL, services TEXT NOT NULL DEFAULT '[]',
    rule_ids TEXT NOT NULL DEFAULT '[]');
CREATE TABLE rooms (name TEXT PRIMARY KEY COLLATE NOCASE, position INTEGER NOT NULL);
INSERT INTO devices (device_id, advertised_name, kind, room, first_seen, last_seen)
    VALUES ('uuid-kitchen', 'Kitchen speaker', 'speaker', 'Kitchen', 1.0, 2.0);
INSERT INTO rooms VALUES ('Kitchen', 0);
INSERT INTO settings VALUES ('close_to_tray', 'false');
PRAGMA user_version = 2;
"""

KITCHEN = SpeakerState(speaker_id="kitchen", name="Kitchen speaker", muted=True, confirmation="confirmed",
                       sensed_muted=True, changed_at=10.0, source="schedule", schedule_id=3, driver="relay",
                       has_sense=True)


def bridge(**changes) -> PairedBridge:
    fields = dict(bridge_id="b1", name="Kitchen bridge", host="192.168.1.60", port=8443, fingerprint="ab" * 32,
                  token_id=4, paired_at=100.0)
    fields.update(changes)
    return PairedBridge(**fields)


def test_a_v2_file_is_backed_up_then_gains_the_bridges_table(data_dir):
    path = data_dir / "earmuff.db"
    conn = sqlite3.connect(path)
    conn.executescript(V2_SCHEMA)
    conn.close()

    with Database.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION >= 4
        assert BridgeRepository(db).load_all() == []
        assert [d.device_id for d in DeviceRepository(db).load_all()] == ["uuid-kitchen"]
        assert RoomRepository(db).list() == ["Kitchen"]
        backup = db.backup_path
    assert backup is not None and backup.name.startswith("earmuff.db.backup-v2-")
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 2
        assert copy.execute("SELECT name FROM sqlite_master WHERE name = 'bridges'").fetchone() is None
    finally:
        copy.close()


def test_paired_bridges_are_stored_with_their_last_known_speakers(data_dir):
    with Database.open(data_dir / "earmuff.db") as db:
        repo = BridgeRepository(db)
        repo.save(bridge())
        repo.record_contact("b1", 200.0, (KITCHEN,), name="Kitchen Pi")
        repo.record_contact("b1", 250.0, None)  # a heartbeat: the speakers stay
        repo.record_contact("unknown", 1.0, None)  # not paired: nothing happens
        [loaded] = repo.load_all()
        assert loaded == bridge(name="Kitchen Pi", last_seen=250.0, last_state=(KITCHEN,))
        assert repo.get("b1") == loaded and repo.get("nope") is None
        repo.save(bridge(host="192.168.1.61", port=9443))
        assert (repo.get("b1").host, repo.get("b1").port, repo.get("b1").last_state) == ("192.168.1.61", 9443, ())
        repo.delete("b1")
        assert repo.load_all() == []


def test_a_damaged_speaker_list_loads_as_none_known(data_dir):
    with Database.open(data_dir / "earmuff.db") as db:
        repo = BridgeRepository(db)
        repo.save(bridge())
        db.connection.execute("UPDATE bridges SET last_state = '{not json'")
        assert repo.get("b1").last_state == ()


def test_the_app_context_loads_paired_bridges_and_stores_what_the_manager_learns(data_dir):
    from app.context import AppContext
    from app.logging_setup import teardown_logging

    with Database.open(data_dir / "earmuff.db") as db:
        BridgeRepository(db).save(bridge(last_seen=200.0, last_state=(KITCHEN,)))
    ctx = AppContext.create(data_dir, interfaces=("127.0.0.1",))
    try:
        [status] = ctx.bridges.statuses()
        assert status.name == "Kitchen bridge" and status.speakers == (KITCHEN,)
        assert status.connection.value == "offline" and status.last_contact == 200.0
    finally:
        ctx.close()
        teardown_logging()
