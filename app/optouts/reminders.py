"""Re-check reminders: which confirmed settings are due, and what to tell the user about them.

`due_items(tracker, now)` is what the Overview page and the tray read; `ReminderLog` decides when a
reminder is worth a notification (something newly due, or a day since the last one), so the user is
not told the same thing every time the page refreshes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.optouts.recheck import DAY_S, Recheck
from app.optouts.tracker import DueItem, OptOutTracker

#: At most one reminder notification per this many seconds for the same due items.
REPEAT_AFTER_S = DAY_S


def due_items(tracker: OptOutTracker, now: float | None = None) -> list[DueItem]:
    """Every confirmed setting due for a re-check (due, overdue, or changed since it was confirmed)."""
    return tracker.due_items(now)


def summary_text(items: Iterable[DueItem], names_up_to: int = 3) -> str:
    """'2 privacy settings to re-check: Amazon Sidewalk (Amazon - family), Web & App Activity (Google)', or with
    more than `names_up_to` items '5 privacy settings to re-check (3 in Amazon - family, 2 in Google)'; '' when none."""
    items = list(items)
    if not items:
        return ""
    count = len(items)
    head = f"{count} privacy setting{'s' if count != 1 else ''} to re-check"
    if count <= names_up_to:
        return head + ": " + ", ".join(
            f"{i.setting_title}{' on ' + i.target_name if i.target_name else ''} ({i.account_label})" for i in items)
    per_account: dict[str, int] = {}
    for item in items:
        per_account[item.account_label] = per_account.get(item.account_label, 0) + 1
    return head + " (" + ", ".join(f"{n} in {label}" for label, n in per_account.items()) + ")"


def notification(items: Iterable[DueItem]) -> tuple[str, str]:
    """(title, message) for a desktop notification about due items."""
    items = list(items)
    overdue = sum(1 for item in items if item.state is Recheck.OVERDUE)
    changed = sum(1 for item in items if item.state in (Recheck.CHANGED, Recheck.VENDOR_CHANGED))
    first = items[0]
    where = f" on {first.target_name}" if first.target_name else ""
    message = f"{first.setting_title}{where} ({first.account_label})"
    if len(items) > 1:
        message += f" and {len(items) - 1} more"
    notes = []
    if overdue:
        notes.append(f"{overdue} overdue")
    if changed:
        notes.append(f"{changed} changed since you confirmed {'them' if changed > 1 else 'it'}")
    if notes:
        message += " · " + ", ".join(notes)
    message += ". Open Opt-outs to check them."
    count = len(items)
    return f"{count} privacy setting{'s' if count != 1 else ''} to re-check", message


@dataclass
class ReminderLog:
    """Remembers what the user was last reminded of, to remind only when it is worth it.

    Attributes:
        told: the keys of the due items in the last reminder.
        told_at: when it was shown (None: never).
    """

    told: set[tuple[int, str, str]] = field(default_factory=set)
    told_at: float | None = None

    def worth_telling(self, items: Iterable[DueItem], now: float) -> bool:
        """True when something is due that was not in the last reminder, or the last one is a day old."""
        keys = {item.key for item in items}
        if not keys:
            return False
        if keys - self.told:
            return True
        return self.told_at is None or now - self.told_at >= REPEAT_AFTER_S

    def told_about(self, items: Iterable[DueItem], now: float) -> None:
        self.told = {item.key for item in items}
        self.told_at = now
