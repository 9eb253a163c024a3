"""The bridge store: durable settings, what it keeps, kill -9, and damaged files set aside (never deleted)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from core_helpers import local

from device_bridge.mute.state import MuteState, WindowMemory
from device_bridge.store import EVENT_ROWS_KEPT, SCHEMA_VERSION, BridgeStore

REPO = Path(__file__).resolve().parents[2]
NOW = local("2026-06-02 10:00")


def clock() -> float:
    return NOW


@pytest.fixture
def store(store_path):
    opened = BridgeStore(store_path, clock=clock)
    yield opened
    opened.close()


def state(speaker_id: str = "kitchen", muted: bool = False, **changes) -> MuteState:
    values = dict(speaker_id=speaker_id, muted=muted, confirmation="confirmed", sensed_muted=muted, changed_at=NOW,
                  reason="dinner", requested_by="Anna's laptop", source="api", schedule_id=None)
    values.update(changes)
    return MuteState(**values)


def test_a_new_store_is_wal_with_full_sync_at_the_latest_version(store):
    conn = store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.recovered_from is None


def test_mute_states_round_trip_and_come_back_unconfirmed(store_path, store):
    store.save_mute_state(state(), windows=WindowMemory(((3, NOW - 60),), pre_muted=False))
    store.save_mute_state(state("bedroom", True, source="schedule", schedule_id=3))
    store.save_mute_state(state(reason="later"))  # windows=None keeps what was stored
    store.close()
    with BridgeStore(store_path) as again:
        states = again.load_mute_states()
        assert states["kitchen"] == state(reason="later", confirmation="unconfirmed", sensed_muted=None)
        assert states["bedroom"].schedule_id == 3 and states["bedroom"].muted
        assert again.load_window_memory() == {
            "kitchen": WindowMemory(((3, NOW - 60),), pre_muted=False),
            "bedroom": WindowMemory(),
        }


def test_schedules_get_ids_that_are_never_reused(store):
    fields = dict(speaker_id="*", kind="weekly", days=(0, 6), start="22:00", end="07:00", start_at=None, end_at=None,
                  label="Night", enabled=True)
    first = store.insert_schedule(fields)
    assert (first.id, first.days, first.label) == (1, (0, 6), "Night")
    assert store.update_schedule(first.id, {**fields, "enabled": False}).enabled is False
    assert store.delete_schedule(first.id) is True
    assert store.delete_schedule(first.id) is False
    assert store.insert_schedule(fields).id == 2
    with pytest.raises(KeyError):
        store.update_schedule(99, fields)
    assert [s.id for s in store.load_schedules()] == [2]


def test_tokens_are_added_found_touched_listed_and_revoked(store):
    token_id = store.add_token("a" * 64, "Anna's laptop")
    assert store.find_token("a" * 64) == {"id": token_id, "client_name": "Anna's laptop", "created": NOW,
                                          "last_used": None}
    assert store.find_token("b" * 64) is None
    store.touch_token(token_id)
    assert store.list_tokens()[0]["last_used"] == NOW
    assert store.revoke_token(token_id) is True
    assert store.revoke_token(token_id) is False
    assert store.list_tokens() == []
    assert store.add_token("c" * 64, "Ben's phone") == token_id + 1
    with pytest.raises(sqlite3.IntegrityError):
        store.add_token("c" * 64, "twice")


def test_meta_keys(store):
    assert store.get_meta("bridge_id") is None
    store.set_meta("bridge_id", "abc")
    store.set_meta("bridge_id", "def")
    assert store.get_meta("bridge_id") == "def"


def test_events_keep_the_newest_rows_and_the_last_seq(store):
    for seq in range(1, EVENT_ROWS_KEPT + 151):
        store.append_event(seq, NOW + seq, "alarm", "kitchen", {"message": f"m{seq}", "level": "warning"})
    rows = store.load_events(5000)
    assert EVENT_ROWS_KEPT <= len(rows) < EVENT_ROWS_KEPT + 100
    assert rows[-1] == (EVENT_ROWS_KEPT + 150, NOW + EVENT_ROWS_KEPT + 150, "alarm", "kitchen",
                        {"message": f"m{EVENT_ROWS_KEPT + 150}", "level": "warning"})
    assert store.last_event_seq() == EVENT_ROWS_KEPT + 150


def test_old_events_are_dropped_but_the_seq_survives(store):
    for seq in range(1, 101):
        store.append_event(seq, NOW - 40 * 86400, "alarm", None, {})
    store.append_event(101, NOW, "alarm", None, {})
    for seq in range(102, 201):
        store.append_event(seq, NOW, "alarm", None, {})
    assert min(row[0] for row in store.load_events(1000)) > 100
    assert store.last_event_seq() == 200


def test_closing_twice_is_fine_and_a_closed_store_says_so(store):
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.get_meta("x")


# --- damaged files ------------------------------------------------------------------------------------

def test_a_file_that_is_not_a_database_is_moved_aside_and_a_fresh_store_started(store_path, caplog):
    garbage = b"this is not a database\x00\xff" * 400
    store_path.write_bytes(garbage)
    Path(f"{store_path}-wal").write_bytes(b"stale wal")
    with BridgeStore(store_path, clock=clock) as store:
        assert store.recovered_from is not None
        assert store.recovered_from.read_bytes() == garbage  # kept, not deleted
        assert store.recovered_from.name.startswith("bridge.db.corrupt-")
        assert Path(f"{store.recovered_from}-wal").read_bytes() == b"stale wal"  # its WAL went with it
        assert store.problem == "the file is not an SQLite database"
        assert store.load_mute_states() == {}  # fail closed: nothing commanded, so every speaker starts muted
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "could not be read" in caplog.text


def test_a_database_with_damaged_pages_is_moved_aside(store_path):
    with BridgeStore(store_path, clock=clock) as store:
        for seq in range(1, 300):
            store.append_event(seq, NOW, "alarm", "kitchen", {"message": "x" * 200, "level": "warning"})
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(store_path.read_bytes())
    page = 4096
    data[2 * page:6 * page] = b"\xa5" * (4 * page)  # scribble over b-tree pages, keep the header
    store_path.write_bytes(bytes(data))
    with BridgeStore(store_path, clock=clock) as store:
        assert store.recovered_from is not None and store.recovered_from.exists()
        assert store.load_events(10) == []
    with BridgeStore(store_path, clock=clock) as store:  # and the fresh one opens cleanly next time
        assert store.recovered_from is None


def test_a_store_from_a_newer_bridge_is_set_aside_too(store_path):
    conn = sqlite3.connect(store_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with BridgeStore(store_path, clock=clock) as store:
        assert store.recovered_from is not None and ".newer-" in store.recovered_from.name
        assert "newer bridge" in store.problem


def test_moved_aside_names_never_overwrite_each_other(store_path):
    for n in range(3):
        store_path.write_bytes(b"junk %d" % n * 100)
        BridgeStore(store_path, clock=clock).close()
    kept = sorted(p.name for p in store_path.parent.iterdir() if ".corrupt-" in p.name)
    assert len(kept) == 3


# --- kill -9 ------------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory
    from device_bridge.config import simulated_config
    from device_bridge.engine import BridgeEngine
    from device_bridge.store import BridgeStore

    Device.pin_factory = MockFactory()
    engine = BridgeEngine(simulated_config("UTC"), BridgeStore(sys.argv[1]), sleep=lambda s: None)
    engine.start()
    i = 0
    while True:
        i += 1
        engine.set_mute("kitchen", i % 2 == 0, reason=f"change {i}", requested_by="child")
        print(f"acked {i}", flush=True)
    """
)


def test_kill_9_right_after_an_acknowledged_change_loses_nothing(tmp_path, store_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, str(script), str(store_path)], stdout=subprocess.PIPE, text=True,
                             cwd=REPO, env=env)
    try:
        acked = 0
        for line in child.stdout:
            acked = int(line.split()[1])
            if acked == 25:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
    assert acked == 25 and child.returncode == -signal.SIGKILL
    with BridgeStore(store_path) as store:
        assert store.recovered_from is None
        kitchen = store.load_mute_states()["kitchen"]
    last = int(kitchen.reason.split()[1])
    assert last >= acked  # the child may have committed more after the last line we read, never less
    assert kitchen.muted == (last % 2 == 0)
