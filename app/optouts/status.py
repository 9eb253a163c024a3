"""Checklist items and the privacy status they add up to, per account and per speaker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.optouts.catalog import Setting
from app.optouts.models import Account, Confirmation
from app.optouts.recheck import DAY_S, Recheck, RecheckInfo


@dataclass(frozen=True)
class ChecklistItem:
    """One line of an account's checklist: a setting for the account, or for one of its speakers.

    Attributes:
        target: "" (the account) or the speaker key of a per-device setting.
        target_name: the speaker's name ("" for the account).
        confirmation: what the user recorded (None: nothing yet).
        recheck: its re-check state.
    """

    account: Account
    setting: Setting
    target: str
    target_name: str
    confirmation: Confirmation | None
    recheck: RecheckInfo

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.account.account_id, self.setting.setting_id, self.target)

    @property
    def confirmed(self) -> bool:
        return self.confirmation is not None

    @property
    def protective(self) -> bool:
        """The recorded value protects (by today's catalog)."""
        return self.confirmation is not None and self.setting.is_protective(self.confirmation.value)

    @property
    def protected(self) -> bool:
        """Protective and not due for a re-check."""
        return self.protective and not self.recheck.state.is_due

    @property
    def counts(self) -> bool:
        """Whether it counts towards the status (retired settings do not)."""
        return not self.setting.is_retired


@dataclass(frozen=True)
class PrivacyStatus:
    """How far along the user is, for an account or a speaker.

    Attributes:
        total: the items that count.
        protected: confirmed with a protective value and not due.
        not_protective: confirmed with a value that does not protect.
        todo: never confirmed.
        due: confirmed but due for a re-check (due, overdue, or changed since).
        due_soon: confirmed and due within a week.
        oldest_confirmed_at: the oldest confirmation among them (how stale), None if none.
    """

    total: int = 0
    protected: int = 0
    not_protective: int = 0
    todo: int = 0
    due: int = 0
    due_soon: int = 0
    oldest_confirmed_at: float | None = None

    @classmethod
    def of(cls, items: Iterable[ChecklistItem]) -> PrivacyStatus:
        counted = [item for item in items if item.counts]
        confirmed = [item.confirmation.confirmed_at for item in counted if item.confirmation is not None]
        return cls(
            total=len(counted),
            protected=sum(1 for item in counted if item.protected),
            not_protective=sum(1 for item in counted if item.confirmed and not item.protective),
            todo=sum(1 for item in counted if not item.confirmed),
            due=sum(1 for item in counted if item.recheck.state.is_due),
            due_soon=sum(1 for item in counted if item.recheck.state is Recheck.DUE_SOON),
            oldest_confirmed_at=min(confirmed) if confirmed else None,
        )

    @property
    def confirmed(self) -> int:
        return self.total - self.todo

    @property
    def level(self) -> str:
        """"empty" (nothing to check), "attention" (re-checks due), "incomplete" (to do, or a value that
        does not protect), "protected"."""
        if self.total == 0:
            return "empty"
        if self.due:
            return "attention"
        if self.todo or self.not_protective:
            return "incomplete"
        return "protected"

    @property
    def headline(self) -> str:
        return {
            "empty": "Nothing to check",
            "attention": "Re-check needed",
            "incomplete": "Not done yet",
            "protected": "Protected",
        }[self.level]

    def describe(self, now: float) -> str:
        """'5 of 11 protected · 2 to re-check · 4 not done · oldest confirmation 40 days old'."""
        if self.total == 0:
            return "No settings to check."
        parts = [f"{self.protected} of {self.total} protected"]
        if self.due:
            parts.append(f"{self.due} to re-check")
        if self.due_soon:
            parts.append(f"{self.due_soon} due soon")
        if self.not_protective:
            parts.append(f"{self.not_protective} kept on by choice")
        if self.todo:
            parts.append(f"{self.todo} not done")
        if self.oldest_confirmed_at is not None:
            parts.append(f"oldest confirmation {age_text(now - self.oldest_confirmed_at)}")
        return " · ".join(parts)


def age_text(seconds: float) -> str:
    """'today', '1 day old', '40 days old'."""
    days = int(max(0.0, seconds) // DAY_S)
    if days == 0:
        return "from today"
    return f"{days} day{'s' if days != 1 else ''} old"
