"""The bridge's one SQLite file (bridge.db): commanded mute states, schedules, tokens, events, a key/value
table, detected activations, each speaker's 1-second traffic history and the room microphone's 1-second
level and speech history; and the destination and voice deletion tables, which
device_bridge/destinations/repository.py and device_bridge/deletion/repository.py read and write through
`transaction()` and `query()`.

Durability: WAL with `synchronous=FULL`, and every acknowledged change (mute state, schedule, token)
is committed before its method returns, so neither kill -9 nor a power cut loses it. Bookkeeping that
is not worth an fsync (token last-used times, the event log) is written with `synchronous=NORMAL`:
it survives a crashed process, and a power cut only loses the last few of those rows. Activations are
durable; the traffic and microphone histories are bookkeeping (written in batches, not fsynced). The
traffic monitor prunes activations and traffic (`prune_activations`, `prune_traffic`), the room
microphone its own history (`prune_mic_history`): they know the configured retention.

A file that is not a readable database is moved aside (renamed to `bridge.db.corrupt-<time>`, with its
-wal and -shm), never deleted, and a fresh store is started: with no stored state every speaker comes
up muted (fail closed). `recovered_from` tells the caller where the old file went.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
import contextlib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.storage.database import transaction
from device_bridge.mute.state import UNCONFIRMED, MuteState, WindowMemory
from device_bridge.schedule import Schedule

if TYPE_CHECKING:
    from device_bridge.traffic.model import Activation

log = logging.getLogger(__name__)

STORE_FILENAME = "bridge.db"
BUSY_TIMEOUT_MS = 5000
EVENT_ROWS_KEPT = 1000
EVENT_DAYS_KEPT = 30
_PRUNE_EVERY = 100
_HEADER = b"SQLite format 3\x00"
_SIBLINGS = ("-wal", "-shm", "-journal")
_CORRUPTION_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB

# One entry per schema version: MIGRATIONS[n] takes a file from user_version n to n + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE mute_state (
        speaker_id TEXT PRIMARY KEY,
        muted INTEGER NOT NULL,
        changed_at REAL NOT NULL,
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        source TEXT NOT NULL,
        schedule_id INTEGER,
        window_active TEXT NOT NULL DEFAULT '[]',
        window_pre_muted INTEGER
    );
    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        speaker_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('weekly', 'once')),
        days TEXT NOT NULL,
        start TEXT NOT NULL,
        "end" TEXT NOT NULL,
        start_at REAL,
        end_at REAL,
        label TEXT NOT NULL,
        enabled INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_hash TEXT NOT NULL UNIQUE,
        client_name TEXT NOT NULL,
        created REAL NOT NULL,
        last_used REAL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        type TEXT NOT NULL,
        speaker_id TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX events_time ON events (time);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    CREATE TABLE activations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        speaker_id TEXT NOT NULL,
        start REAL NOT NULL,
        "end" REAL NOT NULL,
        bytes_up INTEGER NOT NULL,
        peak_rate REAL NOT NULL,
        confidence REAL NOT NULL,
        flags TEXT NOT NULL
    );
    CREATE INDEX activations_start ON activations (start);
    CREATE INDEX activations_end ON activations ("end");
    CREATE TABLE traffic (
        speaker_id TEXT NOT NULL,
        second INTEGER NOT NULL,
        up_bytes INTEGER NOT NULL,
        down_bytes INTEGER NOT NULL,
        covered REAL NOT NULL,
        PRIMARY KEY (speaker_id, second)
    ) WITHOUT ROWID;
    CREATE INDEX traffic_second ON traffic (second);
    """,
    """
    CREATE TABLE mic_history (
        mic_id TEXT NOT NULL,
        second INTEGER NOT NULL,
        level REAL NOT NULL,
        speech INTEGER NOT NULL,
        PRIMARY KEY (mic_id, second)
    ) WITHOUT ROWID;
    CREATE INDEX mic_history_second ON mic_history (second);
    """,
    # Destinations (device_bridge/destinations/repository.py): names, addresses, byte counts and times only.
    """
    CREATE TABLE destinations (
        speaker_id TEXT NOT NULL,
        name TEXT NOT NULL,
        organisation TEXT,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        bytes_up INTEGER NOT NULL,
        bytes_down INTEGER NOT NULL,
        PRIMARY KEY (speaker_id, name)
    ) WITHOUT ROWID;
    CREATE INDEX destinations_last_seen ON destinations (last_seen);
    CREATE TABLE destination_addresses (
        speaker_id TEXT NOT NULL,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        PRIMARY KEY (speaker_id, name, address)
    ) WITHOUT ROWID;
    CREATE INDEX destination_addresses_last_seen ON destination_addresses (last_seen);
    CREATE TABLE destination_traffic (
        speaker_id TEXT NOT NULL,
        step INTEGER NOT NULL,
        start INTEGER NOT NULL,
        name TEXT NOT NULL,
        bytes_up INTEGER NOT NULL,
        bytes_down INTEGER NOT NULL,
        PRIMARY KEY (speaker_id, step, start, name)
    ) WITHOUT ROWID;
    CREATE INDEX destination_traffic_start ON destination_traffic (step, start);
    CREATE TABLE activation_destinations (
        activation_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        organisation TEXT,
        bytes_up INTEGER NOT NULL,
        bytes_down INTEGER NOT NULL,
        PRIMARY KEY (activation_id, name)
    ) WITHOUT ROWID;
    CREATE TABLE destination_blocks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        speaker_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('name', 'organisation', 'preset')),
        value TEXT NOT NULL,
        created REAL NOT NULL,
        dropped_packets INTEGER NOT NULL DEFAULT 0,
        dropped_bytes INTEGER NOT NULL DEFAULT 0,
        UNIQUE (speaker_id, kind, value)
    );
    """,
    # Voice deletions (device_bridge/deletion/repository.py): what to say to which speaker when, and each run,
    # which is also the journal that lets a restarted bridge put back a mute a run had lifted.
    """
    CREATE TABLE deletion_schedules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        speaker_id TEXT NOT NULL,
        vendor TEXT NOT NULL,
        phrase TEXT NOT NULL,
        audio TEXT NOT NULL CHECK (audio IN ('tts', 'recording')),
        recording TEXT,
        rrule TEXT NOT NULL,
        dtstart TEXT NOT NULL,
        prerequisite TEXT,
        enabled INTEGER NOT NULL,
        label TEXT NOT NULL,
        created_at REAL NOT NULL,
        handled_until REAL NOT NULL
    );
    CREATE TABLE deletion_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule_id INTEGER,
        speaker_id TEXT NOT NULL,
        vendor TEXT NOT NULL,
        phrase TEXT NOT NULL,
        audio TEXT NOT NULL,
        recording TEXT,
        prerequisite TEXT,
        occurrence REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        state TEXT NOT NULL CHECK (state IN ('running', 'done')),
        phase TEXT NOT NULL,
        outcome TEXT,
        why TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        activation_id INTEGER,
        upload_bytes INTEGER,
        mute_lifted INTEGER NOT NULL,
        mute_restored INTEGER,
        pre_muted INTEGER,
        pre_source TEXT
    );
    CREATE INDEX deletion_runs_unfinished ON deletion_runs (state);
    CREATE INDEX deletion_runs_schedule ON deletion_runs (schedule_id, id);
    CREATE INDEX deletion_runs_finished ON deletion_runs (finished_at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreCorrupt(Exception):
    """Raised inside opening when the file is unusable; the store handles it by moving the file aside.

    Attributes:
        label: the word the moved file's name gets ("corrupt", or "newer" for a file from a newer bridge).
    """

    def __init__(self, message: str, label: str = "corrupt") -> None:
        super().__init__(message)
        self.label = label


class BridgeStore:
    """The bridge's persistent state. Thread-safe: one connection, one lock.

    Attributes:
        path: the database file.
        recovered_from: None, or where a damaged (or too new) file was moved before a fresh one was started.
        problem: what was wrong with that file, in words (None if nothing was).
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path).absolute()
        self._clock = clock
        self._lock = threading.RLock()
        self._events_since_prune = 0
        self.recovered_from: Path | None = None
        self.problem: str | None = None
        try:
            self._conn = self._open()
        except StoreCorrupt as error:
            self.problem = str(error)
            self.recovered_from = _move_aside(self.path, error.label, clock)
            log.error(
                "The bridge's store %s could not be read (%s). It was kept as %s and a fresh store was "
                "started: every speaker starts muted, and schedules, tokens (pair again) and history are empty.",
                self.path, error, self.recovered_from,
            )
            self._conn = self._open()

    @classmethod
    def in_dir(cls, data_dir: Path, **kwargs: Any) -> BridgeStore:
        """The store at `data_dir/bridge.db`."""
        return cls(Path(data_dir) / STORE_FILENAME, **kwargs)

    # --- opening -------------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.path, "rb") as file:
                head = file.read(len(_HEADER))
        except FileNotFoundError:
            head = b""
        if head and head != _HEADER:
            raise StoreCorrupt("the file is not an SQLite database")
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            check = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if check != ["ok"]:
                raise StoreCorrupt("; ".join(map(str, check[:3])) or "integrity check failed")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreCorrupt(
                    f"written by a newer bridge (format {version}, this one knows {SCHEMA_VERSION})", "newer"
                )
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("Store %s stays in %s journal mode (WAL not available here)", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")
            for step in range(version, SCHEMA_VERSION):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(MIGRATIONS[step]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as error:
            conn.close()
            if _is_corruption(error):
                raise StoreCorrupt(str(error)) from error
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> BridgeStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed (and, if durable, fsynced) when the block ends."""
        with self._lock:
            conn = self._connection()
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                with transaction(conn):
                    yield conn
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    def transaction(self, *, durable: bool = True) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction on the store's connection, for repositories of other aggregates (like
        device_bridge/destinations/repository.py): committed when the block ends, fsynced if `durable`."""
        return self._write(durable=durable)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of one read, for repositories of other aggregates."""
        return self._read(sql, params)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the store is closed")
        return self._conn

    # --- mute state ----------------------------------------------------------------------------------

    def load_mute_states(self) -> dict[str, MuteState]:
        """Every stored commanded state by speaker id (confirmation "unconfirmed": the pins are not read yet)."""
        rows = self._read(
            "SELECT speaker_id, muted, changed_at, reason, requested_by, source, schedule_id FROM mute_state"
        )
        return {
            row[0]: MuteState(
                speaker_id=row[0], muted=bool(row[1]), confirmation=UNCONFIRMED, sensed_muted=None,
                changed_at=row[2], reason=row[3], requested_by=row[4], source=row[5], schedule_id=row[6],
            )
            for row in rows
        }

    def load_window_memory(self) -> dict[str, WindowMemory]:
        """What the engine remembered about each speaker's schedule windows."""
        rows = self._read("SELECT speaker_id, window_active, window_pre_muted FROM mute_state")
        return {
            speaker_id: WindowMemory(
                active=tuple((int(sid), float(start)) for sid, start in json.loads(active)),
                pre_muted=None if pre is None else bool(pre),
            )
            for speaker_id, active, pre in rows
        }

    def save_mute_state(self, state: MuteState, *, windows: WindowMemory | None = None) -> None:
        """Store a commanded state durably before returning; `windows`, if given, in the same commit."""
        self.save_mute_states([(state, windows)])

    def save_mute_states(self, items: list[tuple[MuteState, WindowMemory | None]]) -> None:
        """Store several speakers' states in one durable commit."""
        with self._write() as conn:
            for state, windows in items:
                conn.execute(
                    """INSERT INTO mute_state (speaker_id, muted, changed_at, reason, requested_by, source, schedule_id)
                       VALUES (?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (speaker_id) DO UPDATE SET muted = excluded.muted,
                         changed_at = excluded.changed_at, reason = excluded.reason,
                         requested_by = excluded.requested_by, source = excluded.source,
                         schedule_id = excluded.schedule_id""",
                    (state.speaker_id, int(state.muted), state.changed_at, state.reason, state.requested_by,
                     state.source, state.schedule_id),
                )
                if windows is not None:
                    conn.execute(
                        "UPDATE mute_state SET window_active = ?, window_pre_muted = ? WHERE speaker_id = ?",
                        (json.dumps([list(a) for a in windows.active]),
                         None if windows.pre_muted is None else int(windows.pre_muted), state.speaker_id),
                    )

    # --- schedules -----------------------------------------------------------------------------------

    _SCHEDULE_COLUMNS = 'id, speaker_id, kind, days, start, "end", start_at, end_at, label, enabled'

    @staticmethod
    def _schedule(row: tuple) -> Schedule:
        return Schedule(
            id=row[0], speaker_id=row[1], kind=row[2], days=tuple(json.loads(row[3])), start=row[4], end=row[5],
            start_at=row[6], end_at=row[7], label=row[8], enabled=bool(row[9]),
        )

    def load_schedules(self) -> list[Schedule]:
        return [self._schedule(r) for r in self._read(f"SELECT {self._SCHEDULE_COLUMNS} FROM schedules ORDER BY id")]

    def get_schedule(self, schedule_id: int) -> Schedule | None:
        rows = self._read(f"SELECT {self._SCHEDULE_COLUMNS} FROM schedules WHERE id = ?", (schedule_id,))
        return self._schedule(rows[0]) if rows else None

    def insert_schedule(self, fields: dict[str, Any]) -> Schedule:
        """Store a new schedule from already checked fields (see schedule.normalize_fields); durable."""
        with self._write() as conn:
            cursor = conn.execute(
                """INSERT INTO schedules (speaker_id, kind, days, start, "end", start_at, end_at, label, enabled)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                self._schedule_values(fields),
            )
            schedule_id = cursor.lastrowid
        schedule = self.get_schedule(schedule_id)
        assert schedule is not None
        return schedule

    def update_schedule(self, schedule_id: int, fields: dict[str, Any]) -> Schedule:
        """Replace a schedule's fields (a complete checked set); KeyError if there is no such schedule."""
        with self._write() as conn:
            cursor = conn.execute(
                """UPDATE schedules SET speaker_id = ?, kind = ?, days = ?, start = ?, "end" = ?, start_at = ?,
                   end_at = ?, label = ?, enabled = ? WHERE id = ?""",
                (*self._schedule_values(fields), schedule_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(schedule_id)
        schedule = self.get_schedule(schedule_id)
        assert schedule is not None
        return schedule

    def delete_schedule(self, schedule_id: int) -> bool:
        """Remove a schedule; False if there was none."""
        with self._write() as conn:
            return conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,)).rowcount > 0

    @staticmethod
    def _schedule_values(fields: dict[str, Any]) -> tuple:
        return (
            fields["speaker_id"], fields["kind"], json.dumps(list(fields.get("days", ()))), fields.get("start", ""),
            fields.get("end", ""), fields.get("start_at"), fields.get("end_at"), fields.get("label", ""),
            int(fields.get("enabled", True)),
        )

    # --- tokens --------------------------------------------------------------------------------------

    def add_token(self, token_hash: str, client_name: str) -> int:
        """Store a new token's hash; returns its id (ids are never reused)."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO tokens (token_hash, client_name, created) VALUES (?, ?, ?)",
                (token_hash, client_name, self._clock()),
            )
            return int(cursor.lastrowid)

    def find_token(self, token_hash: str) -> dict | None:
        """{"id", "client_name", "created", "last_used"} of the token with this hash, or None."""
        rows = self._read(
            "SELECT id, client_name, created, last_used FROM tokens WHERE token_hash = ?", (token_hash,)
        )
        return _token(rows[0]) if rows else None

    def touch_token(self, token_id: int) -> None:
        """Record that the token was just used (not fsynced: a power cut may lose the last touches)."""
        with self._write(durable=False) as conn:
            conn.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (self._clock(), token_id))

    def list_tokens(self) -> list[dict]:
        return [_token(r) for r in self._read("SELECT id, client_name, created, last_used FROM tokens ORDER BY id")]

    def revoke_token(self, token_id: int) -> bool:
        """Delete a token; False if there was none."""
        with self._write() as conn:
            return conn.execute("DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount > 0

    # --- events --------------------------------------------------------------------------------------

    def append_event(self, seq: int, when: float, type_: str, speaker_id: str | None, data: dict) -> None:
        """Store one event; the newest EVENT_ROWS_KEPT rows of the last EVENT_DAYS_KEPT days are kept."""
        with self._write(durable=False) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO events (seq, time, type, speaker_id, data) VALUES (?, ?, ?, ?, ?)",
                (seq, when, type_, speaker_id, json.dumps(data)),
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('last_event_seq', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(seq),),
            )
            self._events_since_prune += 1
            if self._events_since_prune >= _PRUNE_EVERY:
                self._events_since_prune = 0
                conn.execute("DELETE FROM events WHERE seq <= ?", (seq - EVENT_ROWS_KEPT,))
                conn.execute("DELETE FROM events WHERE time < ?", (when - EVENT_DAYS_KEPT * 86400,))

    def load_events(self, limit: int) -> list[tuple[int, float, str, str | None, dict]]:
        """The newest `limit` stored events, oldest first: (seq, time, type, speaker_id, data)."""
        rows = self._read(
            "SELECT seq, time, type, speaker_id, data FROM events ORDER BY seq DESC LIMIT ?", (limit,)
        )
        return [(seq, when, type_, speaker, json.loads(data)) for seq, when, type_, speaker, data in reversed(rows)]

    def last_event_seq(self) -> int:
        """The seq of the newest event ever stored (kept even when old rows are pruned)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'last_event_seq'")
        stored = int(rows[0][0]) if rows else 0
        newest = self._read("SELECT MAX(seq) FROM events")[0][0] or 0
        return max(stored, newest)

    # --- activations ---------------------------------------------------------------------------------

    _ACTIVATION_COLUMNS = 'id, speaker_id, start, "end", bytes_up, peak_rate, confidence, flags'

    def add_activation(self, activation: Activation) -> Activation:
        """Store a finished activation durably; returns it with its new `id`."""
        with self._write() as conn:
            cursor = conn.execute(
                """INSERT INTO activations (speaker_id, start, "end", bytes_up, peak_rate, confidence, flags)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (activation.speaker_id, activation.start, activation.end, int(activation.bytes_up),
                 float(activation.peak_rate), float(activation.confidence), ",".join(sorted(activation.flags))),
            )
            new_id = int(cursor.lastrowid)
        return dataclasses.replace(activation, id=new_id)

    def activations(
        self,
        start: float | None = None,
        end: float | None = None,
        *,
        speaker_id: str | None = None,
        flagged: bool | None = None,
        limit: int = 1000,
    ) -> list[Activation]:
        """Activations that overlap [start, end) (either bound may be open), oldest first, at most `limit`
        (the newest ones if there are more). `flagged`: True only those with a problem flag, False only those
        without (an informational flag such as "deletion_command" alone is no problem)."""
        from device_bridge.traffic.model import INFORMATIONAL_FLAGS, Activation

        where, params = [], []
        if start is not None:
            where.append('"end" >= ?')
            params.append(start)
        if end is not None:
            where.append("start < ?")
            params.append(end)
        if speaker_id is not None:
            where.append("speaker_id = ?")
            params.append(speaker_id)
        if flagged is not None:  # informational flags alone do not make an activation flagged
            unflagged = ", ".join(["''", *(f"'{flag}'" for flag in INFORMATIONAL_FLAGS)])
            where.append(f"flags NOT IN ({unflagged})" if flagged else f"flags IN ({unflagged})")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            f"SELECT {self._ACTIVATION_COLUMNS} FROM activations {clause} ORDER BY start DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            Activation(
                speaker_id=row[1], start=row[2], end=row[3], bytes_up=row[4], peak_rate=row[5], confidence=row[6],
                flags=frozenset(f for f in row[7].split(",") if f), id=row[0],
            )
            for row in reversed(rows)
        ]

    def prune_activations(self, before: float) -> int:
        """Delete activations that ended before `before`; returns how many."""
        with self._write(durable=False) as conn:
            return conn.execute('DELETE FROM activations WHERE "end" < ?', (before,)).rowcount

    # --- traffic history -----------------------------------------------------------------------------

    def add_traffic(self, bins: list[tuple[str, int, int, int, float]]) -> None:
        """Add 1-second bins (speaker_id, second, up_bytes, down_bytes, covered seconds) in one commit.

        A second already stored (a restart within it) adds up. Not fsynced: this is history, not state.
        """
        if not bins:
            return
        with self._write(durable=False) as conn:
            conn.executemany(
                """INSERT INTO traffic (speaker_id, second, up_bytes, down_bytes, covered) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (speaker_id, second) DO UPDATE SET up_bytes = up_bytes + excluded.up_bytes,
                     down_bytes = down_bytes + excluded.down_bytes, covered = MIN(1.0, covered + excluded.covered)""",
                bins,
            )

    def traffic(self, speaker_id: str, start: int, end: int) -> list[tuple[int, int, int, float]]:
        """(second, up_bytes, down_bytes, covered) of one speaker for start <= second < end, in order."""
        return self._read(
            "SELECT second, up_bytes, down_bytes, covered FROM traffic WHERE speaker_id = ? AND second >= ? "
            "AND second < ? ORDER BY second",
            (speaker_id, int(start), int(end)),
        )

    def prune_traffic(self, before: float) -> int:
        """Delete 1-second bins older than `before`; returns how many."""
        with self._write(durable=False) as conn:
            return conn.execute("DELETE FROM traffic WHERE second < ?", (math.floor(before),)).rowcount

    # --- microphone history --------------------------------------------------------------------------

    def add_mic_history(self, rows: list[tuple[str, int, float, bool]]) -> None:
        """Add 1-second rows (mic_id, second, loudest level in dBFS, speech) in one commit; a second already
        stored keeps the louder level and any speech. Not fsynced: this is history, not state."""
        if not rows:
            return
        with self._write(durable=False) as conn:
            conn.executemany(
                """INSERT INTO mic_history (mic_id, second, level, speech) VALUES (?, ?, ?, ?)
                   ON CONFLICT (mic_id, second) DO UPDATE SET level = MAX(level, excluded.level),
                     speech = MAX(speech, excluded.speech)""",
                [(mic_id, int(second), float(level), int(bool(speech))) for mic_id, second, level, speech in rows],
            )

    def mic_history(self, mic_id: str, start: int, end: int) -> list[tuple[int, float, bool]]:
        """(second, level, speech) of one microphone for start <= second < end, in order."""
        rows = self._read(
            "SELECT second, level, speech FROM mic_history WHERE mic_id = ? AND second >= ? AND second < ? "
            "ORDER BY second",
            (mic_id, int(start), int(end)),
        )
        return [(second, level, bool(speech)) for second, level, speech in rows]

    def prune_mic_history(self, before: float) -> int:
        """Delete microphone seconds older than `before`; returns how many."""
        with self._write(durable=False) as conn:
            return conn.execute("DELETE FROM mic_history WHERE second < ?", (math.floor(before),)).rowcount

    # --- key/value -----------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Durably set a key; the key 'last_event_seq' belongs to the event log."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )


def _token(row: tuple) -> dict:
    return {"id": row[0], "client_name": row[1], "created": row[2], "last_used": row[3]}


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _is_corruption(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPTION_CODES
    text = str(error).lower()
    return "malformed" in text or "not a database" in text


def _move_aside(path: Path, label: str, clock: Callable[[], float]) -> Path:
    """Rename `path` (and its -wal/-shm/-journal) to a free `<name>.<label>-<stamp>[-n]`; never overwrites."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    n = 1
    while True:
        target = path.with_name(f"{path.name}.{label}-{stamp}" + (f"-{n}" if n > 1 else ""))
        if not any(os.path.lexists(f"{target}{suffix}") for suffix in ("", *_SIBLINGS)):
            break
        n += 1
    os.rename(path, target)
    for suffix in _SIBLINGS:
        sibling = Path(f"{path}{suffix}")
        if os.path.lexists(sibling):
            os.rename(sibling, Path(f"{target}{suffix}"))
    return target
