"""The database schema, as the list of steps that build it.

`MIGRATIONS[i]` upgrades a database from version i to i + 1 (the version is
SQLite's `PRAGMA user_version`), so `LATEST` is simply how many steps there are.
A step is either SQL text (one or more statements) or a function that takes the
connection. `app.storage.database` runs each step in its own transaction and
sets `user_version` inside that same transaction, so a step is applied wholly
or not at all. Steps are append-only: never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = str | Callable[[sqlite3.Connection], None]

_V1_SETTINGS_AND_DEVICES = """
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL              -- JSON
);
CREATE TABLE devices (
    device_id       TEXT PRIMARY KEY,
    advertised_name TEXT,
    vendor          TEXT,
    model           TEXT,
    kind            TEXT NOT NULL,
    addresses       TEXT NOT NULL DEFAULT '[]',   -- JSON list of str
    hosts           TEXT NOT NULL DEFAULT '[]',   -- JSON list of str
    mac             TEXT,
    user_name       TEXT,
    room            TEXT,
    first_seen      REAL NOT NULL,
    last_seen       REAL NOT NULL,
    services        TEXT NOT NULL DEFAULT '[]',   -- JSON list of service objects, TXT as hex
    rule_ids        TEXT NOT NULL DEFAULT '[]'    -- JSON list of str
);
"""


def _v2_rooms(conn: sqlite3.Connection) -> None:
    """Rooms become a list of their own, seeded from the rooms devices already have.

    Names that differ only in case collapse into one room (the table is NOCASE);
    rooms are numbered in case-insensitive alphabetical order.
    """
    conn.execute(
        "CREATE TABLE rooms ("
        " name     TEXT PRIMARY KEY COLLATE NOCASE,"
        " position INTEGER NOT NULL)"
    )
    rows = conn.execute(
        "SELECT DISTINCT room FROM devices"
        " WHERE room IS NOT NULL AND trim(room) != ''"
        " ORDER BY room COLLATE NOCASE, room"
    ).fetchall()
    position = 0
    for (room,) in rows:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO rooms (name, position) VALUES (?, ?)", (room, position)
        ).rowcount
        position += inserted


_V3_BRIDGES = """
CREATE TABLE bridges (
    bridge_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    host        TEXT NOT NULL,
    port        INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,                -- sha256 hex of the certificate pinned at pairing
    token_id    INTEGER,                      -- the bridge's id for our token (the token is in the keyring)
    paired_at   REAL NOT NULL,
    last_seen   REAL,
    last_state  TEXT NOT NULL DEFAULT '[]'    -- JSON list of speaker states, for the offline view
);
"""

_V4_ACTIVATIONS = """
CREATE TABLE activations (
    bridge_id     TEXT NOT NULL,
    activation_id INTEGER NOT NULL,           -- the bridge's id
    speaker_id    TEXT NOT NULL,
    speaker_name  TEXT NOT NULL,
    start         REAL NOT NULL,              -- epoch seconds
    "end"         REAL NOT NULL,
    bytes_up      INTEGER NOT NULL,
    peak_rate     REAL NOT NULL,              -- bytes/s
    confidence    REAL NOT NULL,
    flags         TEXT NOT NULL DEFAULT '[]', -- JSON list of flag names
    PRIMARY KEY (bridge_id, activation_id)
);
CREATE INDEX activations_by_start ON activations (start);
"""

_V5_OPTOUTS = """
CREATE TABLE optout_accounts (
    account_id  INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: it names the account's keyring entry
    vendor      TEXT NOT NULL,                     -- the opt-out catalog's vendor id ("amazon")
    label       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    has_email   INTEGER NOT NULL DEFAULT 0         -- an e-mail for it is in the keyring (never here)
);
CREATE TABLE optout_account_speakers (
    account_id  INTEGER NOT NULL REFERENCES optout_accounts (account_id) ON DELETE CASCADE,
    speaker_key TEXT NOT NULL,                     -- "device:<device id>" or "bridge:<bridge id>/<speaker id>"
    name        TEXT NOT NULL,                     -- the speaker's name when linked
    linked_at   REAL NOT NULL,
    PRIMARY KEY (account_id, speaker_key)
);
CREATE TABLE optout_confirmations (
    account_id   INTEGER NOT NULL REFERENCES optout_accounts (account_id) ON DELETE CASCADE,
    setting_id   TEXT NOT NULL,                    -- "amazon.sidewalk"
    target       TEXT NOT NULL DEFAULT '',         -- '' for the account, a speaker key for per-device settings
    value        TEXT NOT NULL,
    protective   INTEGER NOT NULL,
    confirmed_at REAL NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,                    -- the catalog entry's hash when confirmed
    PRIMARY KEY (account_id, setting_id, target)
);
CREATE TABLE optout_history (
    entry_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at            REAL NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    summary       TEXT NOT NULL,
    account_id    INTEGER,                         -- no foreign key: history outlives the account
    account_label TEXT NOT NULL DEFAULT '',
    setting_id    TEXT NOT NULL DEFAULT '',
    target        TEXT NOT NULL DEFAULT '',
    before        TEXT,                            -- JSON
    after         TEXT,                            -- JSON
    undone_by     INTEGER
);
CREATE TABLE optout_catalog_seen (
    setting_id   TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    content      TEXT NOT NULL,                    -- JSON of the hashed fields, to say what changed
    seen_at      REAL NOT NULL
);
"""

_V6_ERASURE_REQUESTS = """
CREATE TABLE erasure_requests (
    request_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL,                 -- no foreign key: the request outlives the account
    account_label TEXT NOT NULL,
    vendor_id     TEXT NOT NULL,
    vendor_name   TEXT NOT NULL,
    law_id        TEXT NOT NULL,                    -- "gdpr", "uk_gdpr", "ccpa"
    state         TEXT NOT NULL,
    received      TEXT NOT NULL,                    -- ISO date the deadline counts from
    extended      INTEGER NOT NULL DEFAULT 0,
    reason        TEXT NOT NULL DEFAULT '',
    recipient     TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL,
    letter        TEXT NOT NULL,
    cited         TEXT NOT NULL DEFAULT '[]',       -- JSON list of {start, device}
    reply_path    TEXT NOT NULL DEFAULT '',
    reply_note    TEXT NOT NULL DEFAULT '',
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE TABLE erasure_history (
    entry_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES erasure_requests (request_id) ON DELETE CASCADE,
    at         REAL NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL DEFAULT '',
    to_state   TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT ''
);
"""

_V7_DELETIONS = """
CREATE TABLE voice_runs (
    bridge_id   TEXT NOT NULL,
    run_id      INTEGER NOT NULL,                 -- the bridge's id
    speaker_id  TEXT NOT NULL,
    schedule_id INTEGER,                          -- NULL for "Run now"
    occurrence  REAL NOT NULL,                    -- epoch seconds it was due
    started_at  REAL,
    state       TEXT NOT NULL,                    -- "running" | "done"
    outcome     TEXT,                             -- NULL while running
    json        TEXT NOT NULL,                    -- the bridge's run record, as sent
    PRIMARY KEY (bridge_id, run_id)
);
CREATE INDEX voice_runs_by_time ON voice_runs (occurrence);
CREATE TABLE portal_reminders (
    reminder_id  INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: undoing a removal brings the same id back
    guide_id     TEXT NOT NULL,                     -- resources/deletions/portal_guides.json
    label        TEXT NOT NULL DEFAULT '',
    rrule        TEXT NOT NULL,
    dtstart      TEXT NOT NULL,                     -- wall time in the computer's zone
    speaker_key  TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    last_done_at REAL,
    next_due     REAL                               -- NULL when the rule never happens again
);
CREATE TABLE portal_completions (
    completion_id INTEGER PRIMARY KEY AUTOINCREMENT,
    reminder_id   INTEGER NOT NULL,                 -- no foreign key: history outlives the reminder
    guide_id      TEXT NOT NULL,
    done_at       REAL NOT NULL,                    -- when the user did it
    note          TEXT NOT NULL DEFAULT '',
    recorded_at   REAL NOT NULL                     -- when they told Earmuff
);
CREATE INDEX portal_completions_by_reminder ON portal_completions (reminder_id, done_at);
"""


MIGRATIONS: list[Migration] = [
    _V1_SETTINGS_AND_DEVICES,  # 0 -> 1
    _v2_rooms,                 # 1 -> 2
    _V3_BRIDGES,               # 2 -> 3
    _V4_ACTIVATIONS,           # 3 -> 4
    _V5_OPTOUTS,               # 4 -> 5
    _V6_ERASURE_REQUESTS,      # 5 -> 6
    _V7_DELETIONS,             # 6 -> 7
]

LATEST = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split SQL text into complete statements (semicolons inside literals and triggers are kept)."""
    statements: list[str] = []
    pending = ""
    pieces = script.split(";")
    for index, piece in enumerate(pieces):
        # The text after the last ';' gets one on its own line, so a trailing comment can't swallow it.
        pending += piece + (";" if index < len(pieces) - 1 else "\n;")
        if sqlite3.complete_statement(pending):
            if _has_sql(pending):
                statements.append(pending.strip())
            pending = ""
    if _has_sql(pending):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()!r}")
    return statements


def _has_sql(text: str) -> bool:
    code = "".join(line.split("--", 1)[0] for line in text.splitlines())
    return bool(code.replace(";", "").strip())


def apply_migration(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run one step on `conn`, inside whatever transaction the caller opened."""
    if isinstance(migration, str):
        for statement in split_statements(migration):
            conn.execute(statement)
    else:
        migration(conn)
