"""Paired bridges as rows: where each is, its pinned certificate, and what it last said about its speakers.

The token is not here (it is in the keyring, see app.secrets). Reading is
forgiving: a damaged `last_state` loads as "no speakers known". Writes take
the connection to write on, so the background writer can run them.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from app.bridge_client.models import PairedBridge, SpeakerState
from app.storage.database import Database, transaction

log = logging.getLogger(__name__)

_COLUMNS = "bridge_id, name, host, port, fingerprint, token_id, paired_at, last_seen, last_state"


class BridgeRepository:
    """Loads and stores `PairedBridge` records in the `bridges` table."""

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = conn_or_db.connection if isinstance(conn_or_db, Database) else conn_or_db

    def load_all(self) -> list[PairedBridge]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM bridges ORDER BY paired_at, bridge_id").fetchall()
        return [self._from_row(row) for row in rows]

    def get(self, bridge_id: str) -> PairedBridge | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM bridges WHERE bridge_id = ?", (bridge_id,)).fetchone()
        return self._from_row(row) if row else None

    def save(self, bridge: PairedBridge, conn: sqlite3.Connection | None = None) -> None:
        """Insert or replace the whole record."""
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            conn.execute(
                f"INSERT OR REPLACE INTO bridges ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (bridge.bridge_id, bridge.name, bridge.host, int(bridge.port), bridge.fingerprint,
                 bridge.token_id, float(bridge.paired_at), bridge.last_seen, _state_json(bridge.last_state)),
            )

    def record_contact(self, bridge_id: str, last_seen: float, speakers: tuple[SpeakerState, ...] | None,
                       name: str | None = None, conn: sqlite3.Connection | None = None) -> None:
        """Update last contact, and the speakers and name when given. No-op for an unknown bridge."""
        conn = conn if conn is not None else self._conn
        sets, values = ["last_seen = ?"], [float(last_seen)]
        if speakers is not None:
            sets.append("last_state = ?")
            values.append(_state_json(speakers))
        if name:
            sets.append("name = ?")
            values.append(name)
        with transaction(conn):
            conn.execute(f"UPDATE bridges SET {', '.join(sets)} WHERE bridge_id = ?", (*values, bridge_id))

    def delete(self, bridge_id: str, conn: sqlite3.Connection | None = None) -> None:
        conn = conn if conn is not None else self._conn
        with transaction(conn):
            conn.execute("DELETE FROM bridges WHERE bridge_id = ?", (bridge_id,))

    @staticmethod
    def _from_row(row: tuple) -> PairedBridge:
        bridge_id, name, host, port, fingerprint, token_id, paired_at, last_seen, last_state = row
        return PairedBridge(
            bridge_id=bridge_id,
            name=name,
            host=host,
            port=int(port),
            fingerprint=fingerprint,
            token_id=token_id,
            paired_at=float(paired_at),
            last_seen=float(last_seen) if last_seen is not None else None,
            last_state=_state_from_json(bridge_id, last_state),
        )


def _state_json(speakers: tuple[SpeakerState, ...]) -> str:
    return json.dumps([s.to_json() for s in speakers])


def _state_from_json(bridge_id: str, text: str | None) -> tuple[SpeakerState, ...]:
    try:
        data = json.loads(text or "[]")
        if not isinstance(data, list):
            raise ValueError("not a list")
        return tuple(SpeakerState.from_json(item) for item in data)
    except (ValueError, TypeError) as error:
        log.warning("bridge %s: stored speaker states unreadable (%s); showing none", bridge_id, error)
        return ()
