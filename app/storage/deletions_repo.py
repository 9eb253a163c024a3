"""Voice runs from the bridges and portal reminders: the `voice_runs`, `portal_reminders` and `portal_completions`
tables (migration 7).

Voice run writes take the connection to write on, so the background writer can run them (as the activation
cache's do); reads are small indexed queries, fine on the GUI thread. Portal reminders are written from the GUI
thread by the PortalTracker, one small transaction per change.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable

from app.deletions.models import PortalCompletion, PortalReminder
from app.deletions.voice import Recurrence, VoiceRun
from app.storage.database import Database, transaction

log = logging.getLogger(__name__)


def _connection(conn_or_db: sqlite3.Connection | Database) -> sqlite3.Connection:
    return conn_or_db.connection if isinstance(conn_or_db, Database) else conn_or_db


class VoiceRunRepository:
    """The app's copy of every bridge's voice deletion runs (kept for a year, as activations are)."""

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = _connection(conn_or_db)

    # -- writes ------------------------------------------------------------------------------------
    def save(self, runs: Iterable[VoiceRun], conn: sqlite3.Connection | None = None) -> list[VoiceRun]:
        """Insert or replace by (bridge_id, run id); returns the runs that were new or changed."""
        conn = conn if conn is not None else self._conn
        changed = []
        with transaction(conn):
            for run in runs:
                text = json.dumps(run.to_json(), sort_keys=True)
                row = conn.execute("SELECT json FROM voice_runs WHERE bridge_id = ? AND run_id = ?",
                                   (run.bridge_id, run.id)).fetchone()
                if row is not None and row[0] == text:
                    continue
                conn.execute(
                    "INSERT OR REPLACE INTO voice_runs (bridge_id, run_id, speaker_id, schedule_id, occurrence,"
                    " started_at, state, outcome, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run.bridge_id, run.id, run.speaker_id, run.schedule_id, run.occurrence, run.started_at,
                     run.state, run.outcome, text))
                changed.append(run)
        return changed

    def prune(self, before: float, conn: sqlite3.Connection | None = None) -> int:
        """Drop runs due before `before`; returns how many."""
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            return conn.execute("DELETE FROM voice_runs WHERE occurrence < ?", (float(before),)).rowcount

    def delete_bridge(self, bridge_id: str, conn: sqlite3.Connection | None = None) -> None:
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            conn.execute("DELETE FROM voice_runs WHERE bridge_id = ?", (bridge_id,))

    # -- reads --------------------------------------------------------------------------------------
    def recent(self, limit: int = 100, *, bridge_id: str | None = None,
               speaker_id: str | None = None) -> list[VoiceRun]:
        """The newest runs first (by when they ran, or were due), of one bridge or speaker if given."""
        where, values = [], []
        if bridge_id is not None:
            where.append("bridge_id = ?")
            values.append(bridge_id)
        if speaker_id is not None:
            where.append("speaker_id = ?")
            values.append(speaker_id)
        sql = "SELECT bridge_id, json FROM voice_runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY COALESCE(started_at, occurrence) DESC, bridge_id, run_id DESC LIMIT ?"
        rows = self._conn.execute(sql, (*values, int(limit))).fetchall()
        return [run for run in (_run(b, text) for b, text in rows) if run is not None]

    def get(self, bridge_id: str, run_id: int) -> VoiceRun | None:
        row = self._conn.execute("SELECT bridge_id, json FROM voice_runs WHERE bridge_id = ? AND run_id = ?",
                                 (bridge_id, int(run_id))).fetchone()
        return _run(*row) if row else None

    def last_id(self, bridge_id: str) -> int | None:
        """The highest run id cached from this bridge (None: none yet)."""
        row = self._conn.execute("SELECT MAX(run_id) FROM voice_runs WHERE bridge_id = ?", (bridge_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def sync_after(self, bridge_id: str) -> int | None:
        """The id to fetch this bridge's runs after on connecting: the last cached one, or, while a cached run
        is still "running" (it may have ended while the app was away), just before the oldest such run."""
        row = self._conn.execute("SELECT MIN(run_id) FROM voice_runs WHERE bridge_id = ? AND state != 'done'",
                                 (bridge_id,)).fetchone()
        if row and row[0] is not None:
            return max(0, int(row[0]) - 1)
        return self.last_id(bridge_id)


def _run(bridge_id: str, text: str) -> VoiceRun | None:
    try:
        return VoiceRun.from_bridge(bridge_id, json.loads(text))
    except ValueError as error:
        log.warning("stored voice run of bridge %s is unreadable (%s); left out", bridge_id, error)
        return None


_REMINDER_COLUMNS = ("reminder_id, guide_id, label, rrule, dtstart, speaker_key, created_at, last_done_at,"
                     " next_due")


class PortalRepository:
    """Loads and stores portal reminders and their completions; each write is one transaction (nested as a
    savepoint)."""

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = _connection(conn_or_db)

    def transaction(self):
        return transaction(self._conn)

    def reminders(self) -> list[PortalReminder]:
        rows = self._conn.execute(f"SELECT {_REMINDER_COLUMNS} FROM portal_reminders ORDER BY reminder_id")
        return [_reminder(row) for row in rows.fetchall()]

    def reminder(self, reminder_id: int) -> PortalReminder | None:
        row = self._conn.execute(f"SELECT {_REMINDER_COLUMNS} FROM portal_reminders WHERE reminder_id = ?",
                                 (int(reminder_id),)).fetchone()
        return _reminder(row) if row else None

    def insert(self, r: PortalReminder) -> int:
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO portal_reminders (guide_id, label, rrule, dtstart, speaker_key, created_at,"
                " last_done_at, next_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (r.guide_id, r.label, r.recurrence.rrule, r.recurrence.dtstart, r.speaker_key, r.created_at,
                 r.last_done_at, r.next_due))
            return int(cursor.lastrowid)

    def restore(self, r: PortalReminder) -> None:
        """Insert a removed reminder again under its own id."""
        with transaction(self._conn):
            self._conn.execute(
                f"INSERT INTO portal_reminders ({_REMINDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.id, r.guide_id, r.label, r.recurrence.rrule, r.recurrence.dtstart, r.speaker_key, r.created_at,
                 r.last_done_at, r.next_due))

    def update(self, r: PortalReminder) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE portal_reminders SET label = ?, rrule = ?, dtstart = ?, speaker_key = ?, last_done_at = ?,"
                " next_due = ? WHERE reminder_id = ?",
                (r.label, r.recurrence.rrule, r.recurrence.dtstart, r.speaker_key, r.last_done_at, r.next_due, r.id))

    def delete(self, reminder_id: int) -> None:
        with transaction(self._conn):
            self._conn.execute("DELETE FROM portal_reminders WHERE reminder_id = ?", (int(reminder_id),))

    def add_completion(self, c: PortalCompletion) -> int:
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO portal_completions (reminder_id, guide_id, done_at, note, recorded_at)"
                " VALUES (?, ?, ?, ?, ?)", (c.reminder_id, c.guide_id, c.done_at, c.note, c.recorded_at))
            return int(cursor.lastrowid)

    def completions(self, reminder_id: int | None = None) -> list[PortalCompletion]:
        """Newest first (by when it was done)."""
        sql = "SELECT completion_id, reminder_id, guide_id, done_at, note, recorded_at FROM portal_completions"
        values: tuple = ()
        if reminder_id is not None:
            sql += " WHERE reminder_id = ?"
            values = (int(reminder_id),)
        rows = self._conn.execute(sql + " ORDER BY done_at DESC, completion_id DESC", values).fetchall()
        return [PortalCompletion(int(i), int(r), str(g), float(d), str(n), float(at)) for i, r, g, d, n, at in rows]


def _reminder(row: tuple) -> PortalReminder:
    reminder_id, guide_id, label, rule, dtstart, speaker_key, created_at, last_done_at, next_due = row
    return PortalReminder(
        id=int(reminder_id), guide_id=str(guide_id), label=str(label), recurrence=Recurrence(str(rule), str(dtstart)),
        speaker_key=str(speaker_key), created_at=float(created_at),
        last_done_at=float(last_done_at) if last_done_at is not None else None,
        next_due=float(next_due) if next_due is not None else None)
