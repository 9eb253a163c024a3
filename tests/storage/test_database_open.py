"""Opening the database: pragmas, damaged and too-new files set aside (never deleted), errors in plain words."""

from __future__ import annotations

import sqlite3

import pytest

from app.storage import (
    SCHEMA_VERSION,
    Database,
    DatabaseCorrupt,
    DatabaseTooNew,
    DatabaseUnavailable,
)
from app.storage.database import move_aside

GARBAGE = b"this is not an sqlite file\x00\xff" * 300


def table_names(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def make_db(path, user_version: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE something (x)")
    conn.execute("INSERT INTO something VALUES (42)")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()


def test_a_new_database_is_created_at_the_latest_version_in_wal_mode(db, db_path):
    assert db.path == db_path
    assert db.schema_version == SCHEMA_VERSION
    assert {"settings", "devices", "rooms"} <= table_names(db.connection)
    assert db.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.backup_path is None
    assert sorted(p.name for p in db_path.parent.iterdir() if ".backup-" in p.name) == []


def test_every_connection_gets_the_same_pragmas(db):
    extra = db.connect()
    try:
        for conn in (db.connection, extra):
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        extra.close()


def test_reopening_an_up_to_date_database_keeps_its_data_and_makes_no_backup(db_path):
    with Database.open(db_path) as first:
        with first.transaction() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES ('k', '1')")
    with Database.open(db_path) as second:
        assert second.connection.execute("SELECT value FROM settings WHERE key = 'k'").fetchone() == ("1",)
        assert second.backup_path is None


def test_garbage_file_is_moved_aside_unchanged_and_a_fresh_database_works(db_path, clock, stamp):
    db_path.write_bytes(GARBAGE)

    db, error = Database.open_or_recover(db_path, clock=clock)
    try:
        assert isinstance(error, DatabaseCorrupt)
        assert error.moved_to == db_path.with_name(f"earmuff.db.corrupt-{stamp}")
        assert error.moved_to.read_bytes() == GARBAGE
        assert db_path.exists() and error.moved_to.exists()
        assert str(error.moved_to) in error.user_message
        assert "fresh" in error.user_message
        assert "not a database" in error.detail

        assert db.schema_version == SCHEMA_VERSION
        with db.transaction() as conn:
            conn.execute("INSERT INTO rooms (name, position) VALUES ('Kitchen', 0)")
        assert db.connection.execute("SELECT name FROM rooms").fetchall() == [("Kitchen",)]
    finally:
        db.close()


def test_open_raises_and_the_next_open_starts_fresh(db_path, clock):
    db_path.write_bytes(GARBAGE)
    with pytest.raises(DatabaseCorrupt) as caught:
        Database.open(db_path, clock=clock)
    assert not db_path.exists()
    assert caught.value.moved_to.read_bytes() == GARBAGE
    with Database.open(db_path) as db:
        assert db.schema_version == SCHEMA_VERSION


def test_wal_and_shm_siblings_move_with_a_damaged_file(db_path, clock):
    db_path.write_bytes(GARBAGE)
    wal = db_path.with_name("earmuff.db-wal")
    shm = db_path.with_name("earmuff.db-shm")
    wal.write_bytes(b"old wal")
    shm.write_bytes(b"old shm")

    db, error = Database.open_or_recover(db_path, clock=clock)
    db.close()

    assert error.moved_to.with_name(error.moved_to.name + "-wal").read_bytes() == b"old wal"
    assert error.moved_to.with_name(error.moved_to.name + "-shm").read_bytes() == b"old shm"


def test_a_damaged_page_inside_a_valid_file_is_detected(db_path, clock):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE big (x)")
    conn.executemany("INSERT INTO big VALUES (?)", [("x" * 500,) for _ in range(200)])
    conn.commit()
    conn.close()
    data = bytearray(db_path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size : 3 * page_size] = b"\xa5" * (2 * page_size)  # pages 2 and 3: the table's b-tree
    db_path.write_bytes(bytes(data))

    db, error = Database.open_or_recover(db_path, clock=clock)
    db.close()
    assert isinstance(error, DatabaseCorrupt)
    assert error.moved_to.read_bytes() == bytes(data)


def test_a_database_from_a_newer_earmuff_is_moved_aside_unchanged(db_path, clock, stamp):
    make_db(db_path, 99)
    original = db_path.read_bytes()

    db, error = Database.open_or_recover(db_path, clock=clock)
    db.close()

    assert isinstance(error, DatabaseTooNew)
    assert (error.found_version, error.supported_version) == (99, SCHEMA_VERSION)
    assert error.moved_to == db_path.with_name(f"earmuff.db.newer-v99-{stamp}")
    assert error.moved_to.read_bytes() == original
    assert "newer version of Earmuff" in error.user_message
    assert str(error.moved_to) in error.user_message


def test_an_existing_aside_name_is_never_overwritten(db_path, clock, stamp):
    earlier = db_path.with_name(f"earmuff.db.corrupt-{stamp}")
    earlier.write_bytes(b"an earlier damaged file")
    # A -wal left under the second name blocks that name too: the family must be free.
    db_path.with_name(f"earmuff.db.corrupt-{stamp}-2-wal").write_bytes(b"stray")
    db_path.write_bytes(GARBAGE)

    db, error = Database.open_or_recover(db_path, clock=clock)
    db.close()

    assert error.moved_to.name == f"earmuff.db.corrupt-{stamp}-3"
    assert error.moved_to.read_bytes() == GARBAGE
    assert earlier.read_bytes() == b"an earlier damaged file"


def test_move_aside_twice_in_the_same_second_keeps_both(tmp_path, clock):
    path = tmp_path / "earmuff.db"
    path.write_bytes(b"first")
    first = move_aside(path, "corrupt", clock)
    path.write_bytes(b"second")
    second = move_aside(path, "corrupt", clock)
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"first", b"second")


def test_an_unopenable_path_is_reported_and_nothing_is_moved(tmp_path):
    folder = tmp_path / "earmuff.db"
    folder.mkdir()
    with pytest.raises(DatabaseUnavailable) as caught:
        Database.open_or_recover(folder)
    assert str(folder) in caught.value.user_message
    assert folder.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earmuff.db"]

    with pytest.raises(DatabaseUnavailable):
        Database.open(tmp_path / "missing" / "earmuff.db")


def test_transaction_commits_rolls_back_and_nests(db):
    with db.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('a', '1')")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('b', '2')")
        raise RuntimeError("boom")
    with db.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('c', '3')")
        with pytest.raises(RuntimeError), db.transaction(conn):
            conn.execute("INSERT INTO settings VALUES ('d', '4')")
            raise RuntimeError("inner")
    keys = [k for (k,) in db.connection.execute("SELECT key FROM settings ORDER BY key")]
    assert keys == ["a", "c"]
    assert not db.connection.in_transaction


def test_close_is_idempotent(db_path):
    db = Database.open(db_path)
    db.close()
    db.close()
    assert db.closed
    with pytest.raises(sqlite3.ProgrammingError):
        db.connection
