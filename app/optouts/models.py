"""What the user has told Earmuff about their vendor accounts, as frozen snapshots (no SQL, no Qt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Account:
    """A vendor account the user added ("Amazon - family").

    Attributes:
        account_id: never reused (it also names the account's keyring entry).
        vendor: the catalog's vendor id ("amazon").
        label: the user's name for it.
        created_at: epoch seconds.
        has_email: an e-mail address for it is kept in the keyring (never in the database).
    """

    account_id: int
    vendor: str
    label: str
    created_at: float
    has_email: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        return cls(account_id=int(data["account_id"]), vendor=str(data["vendor"]), label=str(data["label"]),
                   created_at=float(data["created_at"]), has_email=bool(data.get("has_email", False)))


@dataclass(frozen=True)
class SpeakerLink:
    """A speaker the user says belongs to an account.

    Attributes:
        speaker_key: "device:<device id>" (found on the network) or "bridge:<bridge id>/<speaker id>".
        name: the speaker's name when it was linked, shown while it is out of sight.
    """

    account_id: int
    speaker_key: str
    name: str
    linked_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpeakerLink:
        return cls(account_id=int(data["account_id"]), speaker_key=str(data["speaker_key"]), name=str(data["name"]),
                   linked_at=float(data["linked_at"]))


@dataclass(frozen=True)
class Confirmation:
    """The user's word that a setting has a value, and when they said it.

    Attributes:
        target: "" for an account-wide setting, else the speaker key of a per-device one.
        value: the value they recorded (one of the setting's options).
        protective: whether that value protects them (by the catalog at the time).
        confirmed_at: epoch seconds.
        note: their note ("turned off on the phone").
        content_hash: the catalog's hash of the setting when confirmed (a change means: re-check).
    """

    account_id: int
    setting_id: str
    target: str
    value: str
    protective: bool
    confirmed_at: float
    note: str = ""
    content_hash: str = ""

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.account_id, self.setting_id, self.target)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Confirmation:
        return cls(account_id=int(data["account_id"]), setting_id=str(data["setting_id"]),
                   target=str(data.get("target", "")), value=str(data["value"]),
                   protective=bool(data["protective"]), confirmed_at=float(data["confirmed_at"]),
                   note=str(data.get("note", "")), content_hash=str(data.get("content_hash", "")))


@dataclass(frozen=True)
class HistoryEntry:
    """One change or confirmation, kept for good.

    Attributes:
        entry_id: increasing.
        at: epoch seconds.
        actor: who ("you (alice)", or "Earmuff" for what it did itself).
        action: what kind of change (see tracker.Action).
        summary: what, in words.
        account_id, account_label, setting_id, target: what it concerned (may be empty).
        before, after: the state before and after, as JSON-able data (for undo).
        undone_by: the id of the entry that undid it, if any.
    """

    entry_id: int
    at: float
    actor: str
    action: str
    summary: str
    account_id: int | None = None
    account_label: str = ""
    setting_id: str = ""
    target: str = ""
    before: Any = None
    after: Any = None
    undone_by: int | None = None

    @property
    def undone(self) -> bool:
        return self.undone_by is not None


@dataclass(frozen=True)
class SeenSetting:
    """The catalog's version of a setting as Earmuff last saw it (to notice catalog updates)."""

    setting_id: str
    content_hash: str
    content: dict[str, Any]
    seen_at: float
