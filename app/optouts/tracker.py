"""The user's opt-out accounts and what they confirmed, with a history of every change and undo.

`OptOutTracker` is Qt-free and works on one SQLite connection; call it from one thread (the GUI's: each
change is one small transaction). Every change writes a history entry in the same transaction, with
the state before and after it, so the newest change that has not been undone can be undone, and the
one before it after that. Changes a bridge carries out (a network mute, a quiet-hours schedule) are
recorded here too; undoing them means sending the opposite command, which the caller does
(`undo_last` raises `NeedsBridge` for them, and `mark_undone` records it once done).

On start the tracker compares the catalog with the version it saw last time (a content hash per
setting): a setting whose entry changed gets a history entry, and its earlier confirmations are due for
a re-check (see app.optouts.recheck).
"""

from __future__ import annotations

import getpass
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from app.optouts.catalog import Catalog, Setting, Vendor
from app.optouts.models import Account, Confirmation, HistoryEntry, SeenSetting, SpeakerLink
from app.optouts.recheck import Recheck, recheck
from app.optouts.speakers import SpeakerRef
from app.optouts.status import ChecklistItem, PrivacyStatus
from app.storage.database import Database
from app.storage.optouts_repo import OptOutRepository

log = logging.getLogger(__name__)

MAX_LABEL = 80
MAX_NOTE = 500
EARMUFF = "Earmuff"


class Action(str, Enum):
    """What a history entry records."""

    ADD_ACCOUNT = "account.add"
    EDIT_ACCOUNT = "account.edit"
    REMOVE_ACCOUNT = "account.remove"
    LINK_SPEAKERS = "account.link"
    EMAIL = "account.email"
    CONFIRM = "setting.confirm"
    CLEAR = "setting.clear"
    BRIDGE_UPLINK = "bridge.uplink"
    BRIDGE_SCHEDULE = "bridge.schedule"
    CATALOG_CHANGED = "catalog.changed"
    UNDO = "undo"


UNDOABLE = (Action.ADD_ACCOUNT, Action.EDIT_ACCOUNT, Action.REMOVE_ACCOUNT, Action.LINK_SPEAKERS, Action.CONFIRM,
            Action.CLEAR, Action.BRIDGE_UPLINK, Action.BRIDGE_SCHEDULE)
BRIDGE_ACTIONS = (Action.BRIDGE_UPLINK, Action.BRIDGE_SCHEDULE)


class NothingToUndo(LookupError):
    """There is no change left that can be undone."""


class NeedsBridge(Exception):
    """The change to undo was carried out by a bridge: send the opposite command, then `mark_undone`.

    Attributes:
        entry: the history entry (its `before`/`after` say what the bridge did).
    """

    def __init__(self, entry: HistoryEntry) -> None:
        super().__init__(f"undoing {entry.summary!r} needs the bridge")
        self.entry = entry


@dataclass(frozen=True)
class UndoResult:
    """What undoing did.

    Attributes:
        entry: the "undo" history entry.
        undone: the entry it undid.
        forget_email_of: an account that no longer exists and may have an e-mail in the keyring.
        note: something the user should know ("" if nothing).
    """

    entry: HistoryEntry
    undone: HistoryEntry
    forget_email_of: int | None = None
    note: str = ""


@dataclass(frozen=True)
class DueItem:
    """A confirmed setting due for a re-check (for the Overview page and the tray).

    Attributes:
        item: the checklist item.
        account_label, vendor_name, setting_title, target_name: for the message.
        state, due_at, reason: from its re-check state.
    """

    item: ChecklistItem
    account_label: str
    vendor_name: str
    setting_title: str
    target_name: str
    state: Recheck
    due_at: float | None
    reason: str

    @property
    def key(self) -> tuple[int, str, str]:
        return self.item.key

    @property
    def account_id(self) -> int:
        return self.item.account.account_id

    @property
    def setting_id(self) -> str:
        return self.item.setting.setting_id


def default_actor() -> str:
    """Who "you" is in the history: the login name when it can be told."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):
        name = ""
    return f"you ({name})" if name else "you"


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


class OptOutTracker:
    """Accounts, linked speakers, confirmations and history, on top of the catalog.

    Attributes:
        catalog: the loaded Catalog.
        repo: the OptOutRepository it writes through.
        actor: how the user is named in the history.
        catalog_updates: the history entries written at start for catalog changes (newest last).
    """

    def __init__(self, db: Database | sqlite3.Connection | OptOutRepository, catalog: Catalog, *,
                 clock: Callable[[], float] = time.time, actor: str | None = None) -> None:
        self.repo = db if isinstance(db, OptOutRepository) else OptOutRepository(db)
        self.catalog = catalog
        self.actor = actor or default_actor()
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []
        self.catalog_updates: list[HistoryEntry] = self._note_catalog_changes()

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        """`listener()` is called after every change, on the thread that made it."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - one listener must not stop the others
                log.exception("opt-out listener %r failed", listener)

    def now(self) -> float:
        return self._clock()

    # -- catalog updates -----------------------------------------------------------------------------
    def _note_catalog_changes(self) -> list[HistoryEntry]:
        seen = self.repo.seen_settings()
        now = self._clock()
        entries = []
        with self.repo.transaction():
            for setting in self.catalog.settings():
                content = json.loads(setting.content_json)
                old = seen.get(setting.setting_id)
                if old is not None and old.content_hash == setting.content_hash:
                    continue
                if old is not None:
                    affected = sum(1 for c in self.repo.confirmations() if c.setting_id == setting.setting_id)
                    what = describe_change(old.content, content)
                    tail = (f"; {affected} confirmation{'s' if affected != 1 else ''} to re-check" if affected
                            else "")
                    entries.append(self.repo.add_history(
                        at=now, actor=EARMUFF, action=Action.CATALOG_CHANGED.value, setting_id=setting.setting_id,
                        summary=f"Catalog update changed {_quote(setting.title)}: {what}{tail}",
                        before=old.content, after=content))
                self.repo.save_seen(SeenSetting(setting.setting_id, setting.content_hash, content, now))
        for entry in entries:
            log.info("opt-out catalog: %s", entry.summary)
        return entries

    # -- reading ---------------------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        return self.repo.accounts()

    def account(self, account_id: int) -> Account | None:
        return self.repo.account(account_id)

    def vendor_of(self, account: Account) -> Vendor | None:
        return self.catalog.vendor(account.vendor)

    def links(self, account_id: int | None = None) -> list[SpeakerLink]:
        return self.repo.links(account_id)

    def confirmation(self, account_id: int, setting_id: str, target: str = "") -> Confirmation | None:
        return self.repo.confirmation(account_id, setting_id, target)

    def history(self, limit: int | None = None) -> list[HistoryEntry]:
        return self.repo.history(limit)

    def last_undoable(self) -> HistoryEntry | None:
        return self.repo.last_not_undone(tuple(a.value for a in UNDOABLE))

    def _account_or_raise(self, account_id: int) -> Account:
        account = self.repo.account(account_id)
        if account is None:
            raise KeyError(f"There is no account {account_id} any more.")
        return account

    def targets(self, account_id: int, setting: Setting) -> list[tuple[str, str]]:
        """(target, name) pairs a setting is confirmed for: the account, or each linked speaker."""
        if not setting.per_device:
            return [("", "")]
        links = self.repo.links(account_id)
        return [(link.speaker_key, link.name) for link in links] or [("", "")]

    def items(self, account_id: int, now: float | None = None, *,
              names: dict[str, str] | None = None) -> list[ChecklistItem]:
        """The account's checklist, in catalog order; retired settings are included (marked by their state).

        `names`: speaker key -> current name, to show speakers under today's names.
        """
        account = self._account_or_raise(account_id)
        vendor = self.catalog.vendor(account.vendor)
        if vendor is None:
            return []
        now = self._clock() if now is None else now
        confirmations = {c.key: c for c in self.repo.confirmations(account_id)}
        items = []
        for setting in vendor.settings:
            changes = vendor.changes_for(setting.setting_id)
            targets = self.targets(account_id, setting)
            if setting.is_retired:
                # Shown once, with what the user recorded before it was retired, if anything.
                recorded = next((c for k, c in confirmations.items() if k[1] == setting.setting_id), None)
                targets = [(recorded.target if recorded else "", "")]
            for target, name in targets:
                confirmation = confirmations.get((account_id, setting.setting_id, target))
                shown = (names or {}).get(target, name)
                items.append(ChecklistItem(account, setting, target, shown, confirmation,
                                           recheck(setting, confirmation, changes, now)))
        return items

    def account_status(self, account_id: int, now: float | None = None) -> PrivacyStatus:
        return PrivacyStatus.of(self.items(account_id, now))

    def speaker_accounts(self, speaker_key: str) -> list[Account]:
        ids = {link.account_id for link in self.repo.links() if link.speaker_key == speaker_key}
        return [a for a in self.repo.accounts() if a.account_id in ids]

    def speaker_items(self, speaker_key: str, now: float | None = None) -> list[ChecklistItem]:
        """What protects one speaker: its accounts' account-wide settings and its own per-device ones."""
        result = []
        for account in self.speaker_accounts(speaker_key):
            for item in self.items(account.account_id, now):
                if not item.setting.per_device or item.target == speaker_key:
                    result.append(item)
        return result

    def speaker_status(self, speaker_key: str, now: float | None = None) -> PrivacyStatus | None:
        """None when no account lists the speaker."""
        if not self.speaker_accounts(speaker_key):
            return None
        return PrivacyStatus.of(self.speaker_items(speaker_key, now))

    def due_items(self, now: float | None = None) -> list[DueItem]:
        """Every confirmed item due for a re-check, in every account, the longest overdue first."""
        now = self._clock() if now is None else now
        due = []
        for account in self.repo.accounts():
            vendor = self.catalog.vendor(account.vendor)
            for item in self.items(account.account_id, now):
                if item.counts and item.recheck.state.is_due:
                    due.append(DueItem(item, account.label, vendor.name if vendor else account.vendor,
                                       item.setting.title, item.target_name, item.recheck.state,
                                       item.recheck.due_at, item.recheck.reason))
        return sorted(due, key=lambda d: (d.due_at if d.due_at is not None else 0.0, d.account_label, d.setting_title))

    # -- accounts --------------------------------------------------------------------------------------
    def _clean_label(self, label: str, *, except_id: int | None = None) -> str:
        cleaned = " ".join(str(label).split())
        if not cleaned:
            raise ValueError("An account needs a name, like “Amazon - family”.")
        if len(cleaned) > MAX_LABEL:
            raise ValueError(f"Keep the name under {MAX_LABEL} characters.")
        for account in self.repo.accounts():
            if account.account_id != except_id and account.label.casefold() == cleaned.casefold():
                raise ValueError(f"There is already an account called {_quote(account.label)}.")
        return cleaned

    def add_account(self, vendor_id: str, label: str, speakers: Iterable[SpeakerRef] = ()) -> Account:
        """Add an account of a catalog vendor, linked to `speakers`. ValueError with a message for the user."""
        vendor = self.catalog.vendor(vendor_id)
        if vendor is None:
            raise ValueError(f"Earmuff has no settings for a vendor called {vendor_id!r}.")
        label = self._clean_label(label)
        now = self._clock()
        links = [SpeakerLink(0, s.key, s.name, now) for s in speakers]
        with self.repo.transaction():
            account = self.repo.add_account(vendor.vendor_id, label, now)
            links = [replace(link, account_id=account.account_id) for link in links]
            self.repo.replace_links(account.account_id, links)
            self._history(Action.ADD_ACCOUNT, f"Added the {vendor.name} account {_quote(label)}", account,
                          after={"account": account.to_json(), "links": [x.to_json() for x in links]})
        self._changed()
        return account

    def rename_account(self, account_id: int, label: str) -> Account:
        account = self._account_or_raise(account_id)
        label = self._clean_label(label, except_id=account_id)
        if label == account.label:
            return account
        with self.repo.transaction():
            self.repo.update_account(account_id, label=label)
            renamed = replace(account, label=label)
            self._history(Action.EDIT_ACCOUNT, f"Renamed {_quote(account.label)} to {_quote(label)}", renamed,
                          before={"label": account.label}, after={"label": label})
        self._changed()
        return renamed

    def remove_account(self, account_id: int) -> Account:
        """Remove the account, its links and confirmations (undo puts them back; the history stays)."""
        account = self._account_or_raise(account_id)
        snapshot = {
            "account": account.to_json(),
            "links": [x.to_json() for x in self.repo.links(account_id)],
            "confirmations": [c.to_json() for c in self.repo.confirmations(account_id)],
        }
        with self.repo.transaction():
            self.repo.delete_account(account_id)
            self._history(Action.REMOVE_ACCOUNT, f"Removed the account {_quote(account.label)}", account,
                          before=snapshot)
        self._changed()
        return account

    def set_links(self, account_id: int, speakers: Iterable[SpeakerRef]) -> list[SpeakerLink]:
        """Make `speakers` the account's speakers (keeping when each was first linked)."""
        account = self._account_or_raise(account_id)
        old = self.repo.links(account_id)
        kept = {link.speaker_key: link for link in old}
        now = self._clock()
        new = []
        for speaker in speakers:
            link = kept.get(speaker.key)
            new.append(replace(link, name=speaker.name) if link else SpeakerLink(account_id, speaker.key, speaker.name,
                                                                                 now))
        if [(x.speaker_key, x.name) for x in new] == [(x.speaker_key, x.name) for x in old]:
            return old
        added = [x.name for x in new if x.speaker_key not in kept]
        removed = [x.name for x in old if x.speaker_key not in {n.speaker_key for n in new}]
        parts = []
        if added:
            parts.append("linked " + ", ".join(added))
        if removed:
            parts.append("unlinked " + ", ".join(removed))
        summary = f"{_quote(account.label)}: " + ("; ".join(parts) or "renamed its speakers")
        with self.repo.transaction():
            self.repo.replace_links(account_id, new)
            self._history(Action.LINK_SPEAKERS, summary[0].upper() + summary[1:], account,
                          before=[x.to_json() for x in old], after=[x.to_json() for x in new])
        self._changed()
        return new

    def set_has_email(self, account_id: int, has_email: bool) -> None:
        """Record that the account's e-mail is (or is no longer) in the keyring. Not undoable."""
        account = self._account_or_raise(account_id)
        with self.repo.transaction():
            self.repo.update_account(account_id, has_email=has_email)
            what = "stored in your keyring" if has_email else "removed from your keyring"
            self._history(Action.EMAIL, f"E-mail address of {_quote(account.label)} {what}", account)
        self._changed()

    # -- confirmations -----------------------------------------------------------------------------------
    def _setting_for(self, account: Account, setting_id: str) -> Setting:
        setting = self.catalog.setting(setting_id)
        if setting is None or setting.vendor != account.vendor:
            raise ValueError(f"{setting_id!r} is not a setting of {account.label}'s vendor.")
        return setting

    def _check_target(self, account: Account, setting: Setting, target: str) -> str:
        if not setting.per_device:
            if target:
                raise ValueError(f"{_quote(setting.title)} is one setting for the whole account, not per speaker.")
            return ""
        if target and target not in {link.speaker_key for link in self.repo.links(account.account_id)}:
            raise ValueError(f"That speaker is not linked to {account.label}.")
        return target

    def _target_name(self, account_id: int, target: str) -> str:
        return next((x.name for x in self.repo.links(account_id) if x.speaker_key == target), "")

    def confirm(self, account_id: int, setting_id: str, value: str | None = None, *, target: str = "",
                note: str = "") -> Confirmation:
        """Record that the setting has `value` (default: the recommended one) now, with an optional note."""
        account = self._account_or_raise(account_id)
        setting = self._setting_for(account, setting_id)
        if setting.is_retired:
            raise ValueError(f"{_quote(setting.title)} was retired by the vendor; there is nothing to set.")
        target = self._check_target(account, setting, target)
        value = setting.recommended if value is None else value
        if value not in setting.options:
            raise ValueError(f"{value!r} is not a value of {_quote(setting.title)}.")
        note = str(note).strip()[:MAX_NOTE]
        before = self.repo.confirmation(account_id, setting_id, target)
        confirmation = Confirmation(account_id, setting_id, target, value, setting.is_protective(value),
                                    self._clock(), note, setting.content_hash)
        where = self._target_name(account_id, target)
        verb = "Did" if setting.kind == "task" else "Set"
        what = _quote(setting.title) if setting.kind == "task" else f"{_quote(setting.title)} to {_quote(value)}"
        summary = f"{verb} {what}" + (f" on {where}" if where else "") + f" ({account.label})"
        with self.repo.transaction():
            self.repo.save_confirmation(confirmation)
            self._history(Action.CONFIRM, summary, account, setting_id=setting_id, target=target,
                          before=before.to_json() if before else None, after=confirmation.to_json())
        self._changed()
        return confirmation

    def clear(self, account_id: int, setting_id: str, *, target: str = "") -> Confirmation | None:
        """Forget what was recorded for the setting (it is "not done" again). Returns what was removed."""
        account = self._account_or_raise(account_id)
        setting = self._setting_for(account, setting_id)
        before = self.repo.confirmation(account_id, setting_id, target)
        if before is None:
            return None
        where = self._target_name(account_id, target)
        summary = f"Marked {_quote(setting.title)}" + (f" on {where}" if where else "") + \
            f" as not done ({account.label})"
        with self.repo.transaction():
            self.repo.delete_confirmation(account_id, setting_id, target)
            self._history(Action.CLEAR, summary, account, setting_id=setting_id, target=target,
                          before=before.to_json())
        self._changed()
        return before

    # -- bridge changes ------------------------------------------------------------------------------------
    def record_bridge_change(self, action: Action, summary: str, *, account_id: int | None, target: str,
                             before: Any, after: Any) -> HistoryEntry:
        """Record what a bridge did on the user's request (after it confirmed).

        `before`/`after` must carry what undoing needs: for BRIDGE_UPLINK {"bridge_id", "speaker_id",
        "muted"}; for BRIDGE_SCHEDULE {"bridge_id", "speaker_id", "schedule": fields with "id", or None}.
        """
        if action not in BRIDGE_ACTIONS:
            raise ValueError(f"{action} is not a bridge action")
        account = self.repo.account(account_id) if account_id is not None else None
        with self.repo.transaction():
            entry = self._history(action, summary, account, target=target, before=before, after=after)
        self._changed()
        return entry

    # -- undo --------------------------------------------------------------------------------------------------
    def undo_last(self) -> UndoResult:
        """Undo the newest change not undone yet. Raises NothingToUndo, NeedsBridge (see class docstring),
        or ValueError when it cannot be undone any more (its account is gone)."""
        entry = self.last_undoable()
        if entry is None:
            raise NothingToUndo("There is nothing to undo.")
        action = Action(entry.action)
        if action in BRIDGE_ACTIONS:
            raise NeedsBridge(entry)
        forget_email_of = None
        note = ""
        with self.repo.transaction():
            if action is Action.ADD_ACCOUNT:
                account_id = int(entry.after["account"]["account_id"])
                account = self.repo.account(account_id)
                if account is not None:
                    forget_email_of = account_id if account.has_email else None
                    self.repo.delete_account(account_id)
            elif action is Action.REMOVE_ACCOUNT:
                snapshot = entry.before
                account = replace(Account.from_json(snapshot["account"]), has_email=False)
                if self.repo.account(account.account_id) is not None:
                    raise ValueError(f"{account.label} exists already.")
                self.repo.restore_account(account)
                self.repo.replace_links(account.account_id, [SpeakerLink.from_json(x) for x in snapshot["links"]])
                for data in snapshot["confirmations"]:
                    self.repo.save_confirmation(Confirmation.from_json(data))
                if snapshot["account"].get("has_email"):
                    note = "Its e-mail address was removed from your keyring with the account; add it again."
            elif action is Action.EDIT_ACCOUNT:
                self._require_account(entry)
                self.repo.update_account(int(entry.account_id), label=entry.before["label"])
            elif action is Action.LINK_SPEAKERS:
                self._require_account(entry)
                self.repo.replace_links(int(entry.account_id), [SpeakerLink.from_json(x) for x in entry.before])
            elif action in (Action.CONFIRM, Action.CLEAR):
                self._require_account(entry)
                if entry.before is None:
                    self.repo.delete_confirmation(int(entry.account_id), entry.setting_id, entry.target)
                else:
                    self.repo.save_confirmation(Confirmation.from_json(entry.before))
            undo = self._undo_entry(entry)
        self._changed()
        return UndoResult(undo, entry, forget_email_of, note)

    def mark_undone(self, entry: HistoryEntry) -> UndoResult:
        """Record that a bridge change was undone by the opposite command."""
        with self.repo.transaction():
            undo = self._undo_entry(entry)
        self._changed()
        return UndoResult(undo, entry)

    def _require_account(self, entry: HistoryEntry) -> None:
        if entry.account_id is None or self.repo.account(entry.account_id) is None:
            raise ValueError(f"The account of this change ({entry.account_label}) no longer exists.")

    def _undo_entry(self, entry: HistoryEntry) -> HistoryEntry:
        account = self.repo.account(entry.account_id) if entry.account_id is not None else None
        undo = self._history(Action.UNDO, f"Undid: {entry.summary}", account, setting_id=entry.setting_id,
                             target=entry.target, after={"undid": entry.entry_id},
                             label=entry.account_label)
        self.repo.mark_undone(entry.entry_id, undo.entry_id)
        return undo

    # -- history ----------------------------------------------------------------------------------------------
    def _history(self, action: Action, summary: str, account: Account | None, *, setting_id: str = "",
                 target: str = "", before: Any = None, after: Any = None, label: str | None = None) -> HistoryEntry:
        return self.repo.add_history(
            at=self._clock(), actor=self.actor, action=action.value, summary=summary,
            account_id=account.account_id if account else None,
            account_label=label if label is not None else (account.label if account else ""),
            setting_id=setting_id, target=target, before=before, after=after)


_FIELD_NAMES = {
    "recommended": "the recommended value",
    "protective": "which values protect",
    "options": "the choices",
    "where": "where to change it",
    "voice": "how to change it by voice",
    "status": "its status",
    "retired": "its retirement",
    "kind": "its kind",
    "scope": "whether it is set per speaker",
}


def describe_change(old: dict, new: dict) -> str:
    """'the recommended value is now “3 months” (was “18 months”)' or 'where to change it changed'."""
    parts = []
    order = ["status", "recommended", "protective", "options", "where", "voice", "kind", "scope", "retired"]
    for name in sorted(set(old) | set(new), key=lambda n: (order.index(n) if n in order else len(order), n)):
        if old.get(name) == new.get(name):
            continue
        if name == "protective" and old.get(name) == [old.get("recommended")] and \
                new.get(name) == [new.get("recommended")]:
            continue  # follows the recommended value, said already
        if name == "retired" and new.get("status") == "retired" and old.get("status") != "retired":
            continue  # said by "status"
        if name == "recommended":
            was, now = _quote(str(old.get(name))), _quote(str(new.get(name)))
            parts.append(f"the recommended value is now {now} (was {was})")
        elif name == "status" and new.get(name) == "retired":
            parts.append("the vendor retired it")
        else:
            parts.append(f"{_FIELD_NAMES.get(name, name)} changed")
    return "; ".join(parts) or "details changed"
