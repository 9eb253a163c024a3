"""The app's cache of activations from every bridge, as rows of the `activations` table.

Writes take the connection to write on, so the background writer can run them; reads are quick
indexed queries, fine on the GUI thread. A row whose flags are damaged loads with no flags rather than
failing the whole list.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Collection, Iterable
from zoneinfo import ZoneInfo

from app.activations import INFO_FLAGS, ActivationRecord
from app.storage.database import Database, transaction

log = logging.getLogger(__name__)

_COLUMNS = 'bridge_id, activation_id, speaker_id, speaker_name, start, "end", bytes_up, peak_rate, confidence, flags'
#: The stored flags of an activation that is not flagged: none, or informational ones only (as upsert writes them).
_UNFLAGGED = tuple(json.dumps(sorted(f for i, f in enumerate(sorted(INFO_FLAGS)) if mask >> i & 1))
                   for mask in range(2 ** len(INFO_FLAGS)))
_FLAGGED_SQL = f"flags NOT IN ({', '.join('?' * len(_UNFLAGGED))})"


class ActivationRepository:
    """Stores and queries ActivationRecords."""

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = conn_or_db.connection if isinstance(conn_or_db, Database) else conn_or_db

    # -- writes ------------------------------------------------------------------------------------
    def upsert_many(self, records: Iterable[ActivationRecord], conn: sqlite3.Connection | None = None) -> int:
        """Insert or replace by (bridge_id, activation_id); returns how many rows were new or changed."""
        conn = conn if conn is not None else self._conn
        changed = 0
        with transaction(conn):
            for r in records:
                row = (r.bridge_id, r.activation_id, r.speaker_id, r.speaker_name, r.start, r.end, int(r.bytes_up),
                       float(r.peak_rate), float(r.confidence), json.dumps(sorted(r.flags)))
                existing = conn.execute(
                    f"SELECT {_COLUMNS} FROM activations WHERE bridge_id = ? AND activation_id = ?",
                    (r.bridge_id, r.activation_id)).fetchone()
                if existing is not None and tuple(existing) == row:
                    continue
                conn.execute(f"INSERT OR REPLACE INTO activations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             row)
                changed += 1
        return changed

    def delete_bridge(self, bridge_id: str, conn: sqlite3.Connection | None = None) -> None:
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            conn.execute("DELETE FROM activations WHERE bridge_id = ?", (bridge_id,))

    def prune(self, before: float, conn: sqlite3.Connection | None = None) -> int:
        """Drop activations that ended before `before`; returns how many."""
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            return conn.execute('DELETE FROM activations WHERE "end" < ?', (float(before),)).rowcount

    # -- reads --------------------------------------------------------------------------------------
    def latest_start(self, bridge_id: str) -> float | None:
        """When the newest cached activation of this bridge started (where the next sync begins)."""
        row = self._conn.execute("SELECT MAX(start) FROM activations WHERE bridge_id = ?", (bridge_id,)).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def get(self, bridge_id: str, activation_id: int) -> ActivationRecord | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM activations WHERE bridge_id = ? AND activation_id = ?",
                                 (bridge_id, int(activation_id))).fetchone()
        return _from_row(row) if row else None

    def query(self, *, start: float | None = None, end: float | None = None,
              speakers: Collection[tuple[str, str]] | None = None, flagged_only: bool = False,
              limit: int | None = None) -> list[ActivationRecord]:
        """Activations overlapping [start, end] (either open), of `speakers` ((bridge_id, speaker_id) pairs;
        None for all), newest first."""
        where, values = self._where(start, end, flagged_only)
        sql = f"SELECT {_COLUMNS} FROM activations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start DESC, bridge_id, activation_id DESC"
        rows = self._conn.execute(sql, values).fetchall()
        wanted = set(speakers) if speakers is not None else None
        found = []
        for row in rows:
            if wanted is not None and (row[0], row[2]) not in wanted:
                continue
            found.append(_from_row(row))
            if limit is not None and len(found) >= limit:
                break
        return found

    def count_since(self, since: float) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (bridge_id, speaker_id): (activations, flagged ones) that started at or after `since`."""
        rows = self._conn.execute(
            f"SELECT bridge_id, speaker_id, COUNT(*), SUM({_FLAGGED_SQL}) FROM activations WHERE start >= ? "
            "GROUP BY bridge_id, speaker_id", (*_UNFLAGGED, float(since))).fetchall()
        return {(b, s): (int(n), int(f or 0)) for b, s, n, f in rows}

    def per_day(self, start: float, end: float, tz: dt.tzinfo | str | None = None
                ) -> dict[tuple[dt.date, str, str], int]:
        """Activations started in [start, end) counted per local day (in `tz`; None: this computer's
        zone) and per (bridge_id, speaker_id)."""
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        counts: dict[tuple[dt.date, str, str], int] = {}
        for bridge_id, speaker_id, when in self._conn.execute(
                "SELECT bridge_id, speaker_id, start FROM activations WHERE start >= ? AND start < ?",
                (float(start), float(end))):
            day = dt.datetime.fromtimestamp(when, zone).date() if zone else dt.datetime.fromtimestamp(when).date()
            key = (day, bridge_id, speaker_id)
            counts[key] = counts.get(key, 0) + 1
        return counts

    @staticmethod
    def _where(start: float | None, end: float | None, flagged_only: bool) -> tuple[list[str], list[float | str]]:
        where: list[str] = []
        values: list[float | str] = []
        if start is not None:
            where.append('"end" >= ?')
            values.append(float(start))
        if end is not None:
            where.append("start <= ?")
            values.append(float(end))
        if flagged_only:
            where.append(_FLAGGED_SQL)
            values.extend(_UNFLAGGED)
        return where, values


def _from_row(row: tuple) -> ActivationRecord:
    bridge_id, activation_id, speaker_id, speaker_name, start, end, bytes_up, peak_rate, confidence, flags = row
    try:
        names = json.loads(flags)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("not a list of names")
    except ValueError as error:
        log.warning("activation %s/%s: unreadable flags %r (%s); shown without flags", bridge_id, activation_id,
                    flags, error)
        names = []
    return ActivationRecord(
        bridge_id=bridge_id, activation_id=int(activation_id), speaker_id=speaker_id, speaker_name=speaker_name,
        start=float(start), end=float(end), bytes_up=int(bytes_up), peak_rate=float(peak_rate),
        confidence=float(confidence), flags=frozenset(names),
    )
