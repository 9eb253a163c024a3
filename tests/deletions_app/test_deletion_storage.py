"""Migration 7 (from a version-6 file, backed up first, nothing lost), the voice run cache, and the recorder that
fills it from bridge news through the background writer."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest

from app.deletions.voice import VoiceRun
from app.erasure.tracker import ErasureTracker
from app.storage import SCHEMA_VERSION, BackgroundWriter, Database
from app.storage.deletions_repo import PortalRepository, VoiceRunRepository
from app.storage.migrations import MIGRATIONS, apply_migration
from app.storage.voice_run_recorder import VoiceRunRecorder


def run_json(run_id: int, **changes) -> dict:
    data = {"id": run_id, "schedule_id": 1, "speaker_id": "kitchen", "vendor": "amazon",
            "phrase": "Alexa, delete everything I said today", "occurrence": 1000.0 + run_id * 100,
            "started_at": 1000.0 + run_id * 100 + 1, "finished_at": None, "state": "running", "phase": "checking",
            "outcome": None, "why": "", "attempts": 0, "activation_id": None, "upload_bytes": None,
            "mute_lifted": False, "mute_restored": None}
    data.update(changes)
    return data


def done_json(run_id: int, outcome: str = "sent_and_uploaded", **changes) -> dict:
    return run_json(run_id, state="done", phase="done", outcome=outcome, finished_at=1000.0 + run_id * 100 + 30,
                    why="an upload of 12 kB began 1.4 s after the phrase", **changes)


def test_a_version_6_file_is_backed_up_then_gains_the_deletion_tables(tmp_path):
    path = tmp_path / "earmuff.db"
    conn = sqlite3.connect(path)
    for version, migration in enumerate(MIGRATIONS[:6], start=1):
        apply_migration(conn, migration)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO erasure_requests (account_id, account_label, vendor_id, vendor_name, law_id, state,"
                 " received, subject, letter, created_at, updated_at) VALUES (1, 'family', 'sonos', 'Sonos', 'gdpr',"
                 " 'open', '2026-11-27', 'Erasure', 'Dear Sonos', 1.0, 1.0)")
    conn.commit()
    conn.close()

    with Database.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION == 7
        assert db.backup_path is not None and db.backup_path.name.startswith("earmuff.db.backup-v6-")
        assert [r.vendor_name for r in ErasureTracker(db, tz="UTC").requests()] == ["Sonos"]
        assert VoiceRunRepository(db).recent() == [] and VoiceRunRepository(db).last_id("b1") is None
        assert PortalRepository(db).reminders() == [] and PortalRepository(db).completions() == []
        backup = db.backup_path
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 6
        assert copy.execute("SELECT name FROM sqlite_master WHERE name = 'voice_runs'").fetchone() is None
    finally:
        copy.close()


def test_runs_are_saved_once_listed_newest_first_and_synced_from_the_right_id(db):
    repo = VoiceRunRepository(db)
    runs = [VoiceRun.from_bridge("b1", done_json(i)) for i in (1, 2)] + [VoiceRun.from_bridge("b2", done_json(1))]
    assert repo.save(runs) == runs
    assert repo.save(runs) == []  # nothing new
    assert [r.key for r in repo.recent()] == [("b1", 2), ("b1", 1), ("b2", 1)]
    assert [r.key for r in repo.recent(limit=1)] == [("b1", 2)]
    assert [r.key for r in repo.recent(bridge_id="b2")] == [("b2", 1)]
    assert repo.last_id("b1") == 2 and repo.last_id("b3") is None
    assert repo.get("b1", 2) == runs[1] and repo.get("b1", 9) is None

    # A run still "running" in the cache may have ended while the app was away: sync from just before it.
    running = VoiceRun.from_bridge("b1", run_json(3))
    assert repo.save([running, VoiceRun.from_bridge("b1", done_json(4))]) != []
    assert repo.last_id("b1") == 4 and repo.sync_after("b1") == 2
    ended = VoiceRun.from_bridge("b1", done_json(3, outcome="no_upload_seen"))
    assert repo.save([ended]) == [ended]
    assert repo.sync_after("b1") == 4 and repo.get("b1", 3).failed

    # Never started (skipped while the bridge was off): ordered by when it was due.
    skipped = VoiceRun.from_bridge("b1", done_json(5, outcome="skipped", started_at=None))
    repo.save([skipped])
    assert repo.recent()[0] == skipped
    assert repo.prune(1000.0 + 3 * 100) == 3  # b1/1, b1/2, b2/1
    assert [r.key for r in repo.recent()] == [("b1", 5), ("b1", 4), ("b1", 3)]
    repo.delete_bridge("b1")
    assert repo.recent() == []


def test_an_unreadable_stored_run_is_left_out_with_a_warning(db, caplog):
    repo = VoiceRunRepository(db)
    repo.save([VoiceRun.from_bridge("b1", done_json(1)), VoiceRun.from_bridge("b1", done_json(2))])
    db.connection.execute("UPDATE voice_runs SET json = '{\"id\": 2}' WHERE run_id = 2")
    with caplog.at_level(logging.WARNING):
        assert [r.id for r in repo.recent()] == [1]
    assert "unreadable" in caplog.text


class Heard:
    def __init__(self) -> None:
        self.batches: list[list[VoiceRun]] = []
        self._cond = threading.Condition()

    def __call__(self, runs: list[VoiceRun]) -> None:
        with self._cond:
            self.batches.append(runs)
            self._cond.notify_all()


@pytest.fixture
def writer(db):
    made = BackgroundWriter(db)
    yield made
    made.close()


def test_the_recorder_saves_live_and_synced_runs_and_tells_each_change_once(db, writer, caplog):
    recorder = VoiceRunRecorder(writer)
    heard = Heard()
    recorder.add_listener(heard)
    recorder.deletion_run("b1", run_json(1))
    recorder.deletion_run("b1", run_json(1, phase="playing", mute_lifted=True))
    recorder.deletion_run("b1", done_json(1, mute_lifted=True, mute_restored=True))
    # The sync after a reconnect repeats the run unchanged and brings one that was missed.
    with caplog.at_level(logging.WARNING):
        recorder.deletion_runs_synced("b1", [done_json(1, mute_lifted=True, mute_restored=True),
                                             done_json(2, outcome="no_upload_seen"), {"id": "broken"}])
    assert "cannot read" in caplog.text
    assert [[(r.id, r.phase, r.outcome) for r in batch] for batch in heard.batches] == [
        [(1, "checking", None)], [(1, "playing", None)], [(1, "done", "sent_and_uploaded")],
        [(2, "done", "no_upload_seen")]]
    # Committed before listeners hear: a fresh connection sees the rows.
    assert [r.id for r in VoiceRunRepository(db).recent()] == [2, 1]
    recorder.deletion_runs_synced("b1", [])
    recorder.remove_listener(heard)
    recorder.deletion_run("b1", done_json(3))
    assert len(heard.batches) == 4


def test_a_closed_writer_drops_runs_quietly_for_the_next_sync(db):
    writer = BackgroundWriter(db)
    writer.close()
    recorder = VoiceRunRecorder(writer)
    recorder.deletion_run("b1", done_json(1))
    assert VoiceRunRepository(db).recent() == []
