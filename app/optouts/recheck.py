"""When a confirmed setting should be looked at again, and why.

A confirmation holds for the setting's re-check interval (90 days unless the catalog says less:
settings that vendors have switched back or moved get shorter ones). It is due at once when the
catalog's entry changed since (its content hash differs) or when a dated vendor change concerning
it happened after it was confirmed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from app.optouts.catalog import Setting, VendorChange
from app.optouts.models import Confirmation

DAY_S = 86400.0
#: How long before the due date an item counts as "due soon".
DUE_SOON_DAYS = 7
#: How long after the due date an item counts as overdue.
OVERDUE_AFTER_DAYS = 30


class Recheck(str, Enum):
    """Where a checklist item stands."""

    TODO = "todo"                       # never confirmed
    OK = "ok"                           # confirmed, not due yet
    DUE_SOON = "due-soon"               # due within DUE_SOON_DAYS
    DUE = "due"                         # past its re-check date
    OVERDUE = "overdue"                 # more than OVERDUE_AFTER_DAYS past it
    CHANGED = "changed"                 # the catalog entry changed after it was confirmed
    VENDOR_CHANGED = "vendor-changed"   # the vendor changed something after it was confirmed
    RETIRED = "retired"                 # the vendor removed the setting

    @property
    def is_due(self) -> bool:
        return self in (Recheck.DUE, Recheck.OVERDUE, Recheck.CHANGED, Recheck.VENDOR_CHANGED)

    @property
    def label(self) -> str:
        return {
            Recheck.TODO: "Not done yet",
            Recheck.OK: "Confirmed",
            Recheck.DUE_SOON: "Re-check soon",
            Recheck.DUE: "Re-check due",
            Recheck.OVERDUE: "Re-check overdue",
            Recheck.CHANGED: "Changed in Earmuff's catalog: re-check",
            Recheck.VENDOR_CHANGED: "Vendor changed things: re-check",
            Recheck.RETIRED: "Retired by the vendor",
        }[self]


@dataclass(frozen=True)
class RecheckInfo:
    """An item's state, when it is (or was) due, and why.

    Attributes:
        due_at: epoch seconds of the re-check date (None: not confirmed, or retired).
        reason: one sentence for the user ("" when there is nothing to say).
    """

    state: Recheck
    due_at: float | None = None
    reason: str = ""


def _day_start(day: datetime.date) -> float:
    return datetime.datetime(day.year, day.month, day.day).timestamp()


def recheck(setting: Setting, confirmation: Confirmation | None, changes: Iterable[VendorChange],
            now: float) -> RecheckInfo:
    """The re-check state of one item (a setting for an account, or for one speaker)."""
    if setting.is_retired:
        assert setting.retired is not None
        return RecheckInfo(Recheck.RETIRED, None, f"Retired on {setting.retired.date.isoformat()}: "
                                                  f"{setting.retired.note}")
    if confirmation is None:
        return RecheckInfo(Recheck.TODO)
    confirmed = confirmation.confirmed_at
    if confirmation.content_hash and confirmation.content_hash != setting.content_hash:
        return RecheckInfo(Recheck.CHANGED, confirmed, "Earmuff's catalog changed this setting after you "
                                                       "confirmed it: check it against the new steps.")
    for change in changes:
        if change.date is not None and setting.setting_id in change.settings and _day_start(change.date) > confirmed:
            return RecheckInfo(Recheck.VENDOR_CHANGED, _day_start(change.date),
                               f"{change.date_text}: {change.summary}")
    due_at = confirmed + setting.recheck_days * DAY_S
    if now >= due_at + OVERDUE_AFTER_DAYS * DAY_S:
        state = Recheck.OVERDUE
    elif now >= due_at:
        state = Recheck.DUE
    elif now >= due_at - DUE_SOON_DAYS * DAY_S:
        state = Recheck.DUE_SOON
    else:
        state = Recheck.OK
    reason = setting.recheck_reason if state is not Recheck.OK else ""
    return RecheckInfo(state, due_at, reason)
