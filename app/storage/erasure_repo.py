"""Erasure requests and their history: the `erasure_requests` and `erasure_history` tables (migration 6)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3

from app.erasure.letters import CitedActivation
from app.erasure.models import ErasureRequest, StateChange
from app.erasure.states import RequestState
from app.storage.database import Database, transaction

log = logging.getLogger(__name__)

_COLUMNS = ("request_id, account_id, account_label, vendor_id, vendor_name, law_id, state, received, extended,"
            " reason, recipient, subject, letter, cited, reply_path, reply_note, created_at, updated_at")


def _cited_json(cited: tuple[CitedActivation, ...]) -> str:
    return json.dumps([{"start": c.start, "device": c.device} for c in cited])


def _cited_from(text: str) -> tuple[CitedActivation, ...]:
    try:
        return tuple(CitedActivation(float(i["start"]), str(i["device"])) for i in json.loads(text))
    except (ValueError, TypeError, KeyError) as error:
        log.warning("stored cited recordings unreadable (%s); treated as none", error)
        return ()


class ErasureRepository:
    """Loads and stores erasure requests; each write is one transaction (nested as a savepoint)."""

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = conn_or_db.connection if isinstance(conn_or_db, Database) else conn_or_db

    def transaction(self):
        return transaction(self._conn)

    def requests(self) -> list[ErasureRequest]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM erasure_requests ORDER BY received, request_id")
        return [self._request(row) for row in rows.fetchall()]

    def request(self, request_id: int) -> ErasureRequest | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM erasure_requests WHERE request_id = ?",
                                 (request_id,)).fetchone()
        return self._request(row) if row else None

    def insert(self, r: ErasureRequest) -> int:
        with transaction(self._conn):
            cursor = self._conn.execute(
                f"INSERT INTO erasure_requests ({_COLUMNS.split(', ', 1)[1]})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.account_id, r.account_label, r.vendor_id, r.vendor_name, r.law_id, r.state.value,
                 r.received.isoformat(), int(r.extended), r.reason, r.recipient, r.subject, r.letter,
                 _cited_json(r.cited), r.reply_path, r.reply_note, r.created_at, r.updated_at))
            return int(cursor.lastrowid)

    def update(self, r: ErasureRequest) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "UPDATE erasure_requests SET state = ?, received = ?, extended = ?, reason = ?, recipient = ?,"
                " reply_path = ?, reply_note = ?, updated_at = ? WHERE request_id = ?",
                (r.state.value, r.received.isoformat(), int(r.extended), r.reason, r.recipient, r.reply_path,
                 r.reply_note, r.updated_at, r.request_id))

    def add_history(self, change: StateChange) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO erasure_history (request_id, at, action, from_state, to_state, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (change.request_id, change.at, change.action, change.from_state, change.to_state, change.note))

    def history(self, request_id: int) -> list[StateChange]:
        rows = self._conn.execute(
            "SELECT request_id, at, action, from_state, to_state, note FROM erasure_history"
            " WHERE request_id = ? ORDER BY at, entry_id", (request_id,)).fetchall()
        return [StateChange(int(r), float(a), str(ac), str(f), str(t), str(n)) for r, a, ac, f, t, n in rows]

    @staticmethod
    def _request(row: tuple) -> ErasureRequest:
        (request_id, account_id, label, vendor_id, vendor_name, law_id, state, received, extended, reason,
         recipient, subject, letter, cited, reply_path, reply_note, created_at, updated_at) = row
        return ErasureRequest(
            request_id=int(request_id), account_id=int(account_id), account_label=str(label),
            vendor_id=str(vendor_id), vendor_name=str(vendor_name), law_id=str(law_id),
            state=RequestState(state), received=dt.date.fromisoformat(received), extended=bool(extended),
            reason=str(reason), recipient=str(recipient), subject=str(subject), letter=str(letter),
            cited=_cited_from(cited), reply_path=str(reply_path), reply_note=str(reply_note),
            created_at=float(created_at), updated_at=float(updated_at))
