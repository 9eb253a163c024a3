"""Opt-out accounts, their speakers, the user's confirmations, the change history and the catalog as last seen.

Rows in the five `optout_*` tables (migration 5). Every write runs in its own transaction (nested as a
savepoint inside a caller's), so a tracker method that writes several rows can wrap them in one.
Reading is forgiving: a damaged JSON column reads as "nothing", with a log line.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from app.optouts.models import Account, Confirmation, HistoryEntry, SeenSetting, SpeakerLink
from app.storage.database import Database, transaction

log = logging.getLogger(__name__)

_ACCOUNT_COLUMNS = "account_id, vendor, label, created_at, has_email"
_LINK_COLUMNS = "account_id, speaker_key, name, linked_at"
_CONFIRMATION_COLUMNS = "account_id, setting_id, target, value, protective, confirmed_at, note, content_hash"
_HISTORY_COLUMNS = ("entry_id, at, actor, action, summary, account_id, account_label, setting_id, target, before,"
                    " after, undone_by")


def _json_or_none(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        log.warning("stored %s unreadable (%s); treated as empty", what, error)
        return None


class OptOutRepository:
    """Loads and stores everything the Opt-outs page keeps."""

    def __init__(self, conn_or_db: sqlite3.Connection | Database) -> None:
        self._conn = conn_or_db.connection if isinstance(conn_or_db, Database) else conn_or_db

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def transaction(self):
        return transaction(self._conn)

    # -- accounts ---------------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        rows = self._conn.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM optout_accounts ORDER BY label COLLATE NOCASE, account_id").fetchall()
        return [self._account(row) for row in rows]

    def account(self, account_id: int) -> Account | None:
        row = self._conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM optout_accounts WHERE account_id = ?",
                                 (account_id,)).fetchone()
        return self._account(row) if row else None

    def add_account(self, vendor: str, label: str, created_at: float) -> Account:
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO optout_accounts (vendor, label, created_at) VALUES (?, ?, ?)",
                (vendor, label, float(created_at)))
            account_id = int(cursor.lastrowid)
        return Account(account_id, vendor, label, float(created_at))

    def restore_account(self, account: Account) -> None:
        """Put back a removed account under its old id (undo)."""
        with transaction(self._conn):
            self._conn.execute(
                f"INSERT INTO optout_accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (account.account_id, account.vendor, account.label, account.created_at, int(account.has_email)))

    def update_account(self, account_id: int, *, label: str | None = None, has_email: bool | None = None) -> None:
        sets, values = [], []
        if label is not None:
            sets.append("label = ?")
            values.append(label)
        if has_email is not None:
            sets.append("has_email = ?")
            values.append(int(has_email))
        if not sets:
            return
        with transaction(self._conn):
            self._conn.execute(f"UPDATE optout_accounts SET {', '.join(sets)} WHERE account_id = ?",
                               (*values, account_id))

    def delete_account(self, account_id: int) -> None:
        """Delete the account with its links and confirmations (the history stays)."""
        with transaction(self._conn):
            self._conn.execute("DELETE FROM optout_account_speakers WHERE account_id = ?", (account_id,))
            self._conn.execute("DELETE FROM optout_confirmations WHERE account_id = ?", (account_id,))
            self._conn.execute("DELETE FROM optout_accounts WHERE account_id = ?", (account_id,))

    @staticmethod
    def _account(row: tuple) -> Account:
        account_id, vendor, label, created_at, has_email = row
        return Account(int(account_id), str(vendor), str(label), float(created_at), bool(has_email))

    # -- speakers -----------------------------------------------------------------------------------
    def links(self, account_id: int | None = None) -> list[SpeakerLink]:
        """The account's speakers (every account's when None), in the order they were linked."""
        if account_id is None:
            rows = self._conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM optout_account_speakers ORDER BY linked_at, rowid").fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {_LINK_COLUMNS} FROM optout_account_speakers WHERE account_id = ?"
                " ORDER BY linked_at, rowid", (account_id,)).fetchall()
        return [SpeakerLink(int(a), str(k), str(n), float(t)) for a, k, n, t in rows]

    def replace_links(self, account_id: int, links: list[SpeakerLink]) -> None:
        with transaction(self._conn):
            self._conn.execute("DELETE FROM optout_account_speakers WHERE account_id = ?", (account_id,))
            self._conn.executemany(
                f"INSERT INTO optout_account_speakers ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?)",
                [(account_id, link.speaker_key, link.name, link.linked_at) for link in links])

    # -- confirmations ------------------------------------------------------------------------------
    def confirmations(self, account_id: int | None = None) -> list[Confirmation]:
        if account_id is None:
            rows = self._conn.execute(f"SELECT {_CONFIRMATION_COLUMNS} FROM optout_confirmations").fetchall()
        else:
            rows = self._conn.execute(f"SELECT {_CONFIRMATION_COLUMNS} FROM optout_confirmations"
                                      " WHERE account_id = ?", (account_id,)).fetchall()
        return [self._confirmation(row) for row in rows]

    def confirmation(self, account_id: int, setting_id: str, target: str = "") -> Confirmation | None:
        row = self._conn.execute(
            f"SELECT {_CONFIRMATION_COLUMNS} FROM optout_confirmations"
            " WHERE account_id = ? AND setting_id = ? AND target = ?", (account_id, setting_id, target)).fetchone()
        return self._confirmation(row) if row else None

    def save_confirmation(self, confirmation: Confirmation) -> None:
        c = confirmation
        with transaction(self._conn):
            self._conn.execute(
                f"INSERT OR REPLACE INTO optout_confirmations ({_CONFIRMATION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (c.account_id, c.setting_id, c.target, c.value, int(c.protective), float(c.confirmed_at), c.note,
                 c.content_hash))

    def delete_confirmation(self, account_id: int, setting_id: str, target: str = "") -> None:
        with transaction(self._conn):
            self._conn.execute(
                "DELETE FROM optout_confirmations WHERE account_id = ? AND setting_id = ? AND target = ?",
                (account_id, setting_id, target))

    @staticmethod
    def _confirmation(row: tuple) -> Confirmation:
        account_id, setting_id, target, value, protective, confirmed_at, note, content_hash = row
        return Confirmation(int(account_id), str(setting_id), str(target or ""), str(value), bool(protective),
                            float(confirmed_at), str(note or ""), str(content_hash or ""))

    # -- history ----------------------------------------------------------------------------------------
    def add_history(self, *, at: float, actor: str, action: str, summary: str, account_id: int | None = None,
                    account_label: str = "", setting_id: str = "", target: str = "", before: Any = None,
                    after: Any = None) -> HistoryEntry:
        with transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO optout_history (at, actor, action, summary, account_id, account_label, setting_id,"
                " target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (float(at), actor, action, summary, account_id, account_label, setting_id, target,
                 None if before is None else json.dumps(before), None if after is None else json.dumps(after)))
            entry_id = int(cursor.lastrowid)
        return HistoryEntry(entry_id, float(at), actor, action, summary, account_id, account_label, setting_id,
                            target, before, after)

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        """Newest first."""
        sql = f"SELECT {_HISTORY_COLUMNS} FROM optout_history ORDER BY entry_id DESC"
        rows = self._conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        return [self._entry(row) for row in rows]

    def history_entry(self, entry_id: int) -> HistoryEntry | None:
        row = self._conn.execute(f"SELECT {_HISTORY_COLUMNS} FROM optout_history WHERE entry_id = ?",
                                 (entry_id,)).fetchone()
        return self._entry(row) if row else None

    def last_not_undone(self, actions: tuple[str, ...]) -> HistoryEntry | None:
        """The newest entry of one of `actions` that has not been undone."""
        marks = ", ".join("?" for _ in actions)
        row = self._conn.execute(
            f"SELECT {_HISTORY_COLUMNS} FROM optout_history WHERE undone_by IS NULL AND action IN ({marks})"
            " ORDER BY entry_id DESC LIMIT 1", actions).fetchone()
        return self._entry(row) if row else None

    def mark_undone(self, entry_id: int, undone_by: int) -> None:
        with transaction(self._conn):
            self._conn.execute("UPDATE optout_history SET undone_by = ? WHERE entry_id = ?", (undone_by, entry_id))

    @staticmethod
    def _entry(row: tuple) -> HistoryEntry:
        (entry_id, at, actor, action, summary, account_id, account_label, setting_id, target, before, after,
         undone_by) = row
        return HistoryEntry(
            entry_id=int(entry_id), at=float(at), actor=str(actor), action=str(action), summary=str(summary),
            account_id=int(account_id) if account_id is not None else None, account_label=str(account_label or ""),
            setting_id=str(setting_id or ""), target=str(target or ""),
            before=_json_or_none(before, f"history {entry_id} 'before'"),
            after=_json_or_none(after, f"history {entry_id} 'after'"),
            undone_by=int(undone_by) if undone_by is not None else None)

    # -- catalog as last seen ------------------------------------------------------------------------------
    def seen_settings(self) -> dict[str, SeenSetting]:
        rows = self._conn.execute("SELECT setting_id, content_hash, content, seen_at FROM optout_catalog_seen")
        seen = {}
        for setting_id, content_hash, content, seen_at in rows:
            data = _json_or_none(content, f"catalog snapshot of {setting_id}")
            seen[str(setting_id)] = SeenSetting(str(setting_id), str(content_hash),
                                                data if isinstance(data, dict) else {}, float(seen_at))
        return seen

    def save_seen(self, seen: SeenSetting) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO optout_catalog_seen (setting_id, content_hash, content, seen_at)"
                " VALUES (?, ?, ?, ?)", (seen.setting_id, seen.content_hash, json.dumps(seen.content),
                                         float(seen.seen_at)))
