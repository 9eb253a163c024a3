"""Statutory deadline arithmetic on calendar dates in the user's time zone.

A request's clock starts on the day the business received it, as a date where the user lives: an e-mail
sent at 23:30 in Los Angeles is received "today" there even though it is already tomorrow in UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.erasure.laws import Law, Period

#: Days before a deadline when Earmuff reminds the user (and again on the day).
REMIND_DAYS_BEFORE = 7


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_period(day: dt.date, period: Period) -> dt.date:
    return add_months(day, period.months) + dt.timedelta(days=period.days)


def add_business_days(day: dt.date, count: int) -> dt.date:
    """`count` weekdays after `day` (Saturdays and Sundays skipped; public holidays are not known)."""
    current = day
    while count > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            count -= 1
    return current


def local_date(timestamp: float, tz: dt.tzinfo | str | None = None) -> dt.date:
    """The calendar date of an epoch timestamp in `tz` (a zone name, a tzinfo, or None for the local zone)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.astimezone(zone).date() if zone is not None else moment.astimezone().date()


@dataclass(frozen=True)
class Deadlines:
    """What is due when for one request.

    Attributes:
        received: the day the clock started.
        acknowledgment: receipt must be confirmed by then (None when the law has no such rule).
        response: the response deadline in force (the extended one once the business extended it).
        original_response: the deadline before any extension.
        extended: whether the business took its extension.
    """

    received: dt.date
    acknowledgment: dt.date | None
    response: dt.date
    original_response: dt.date
    extended: bool

    def days_left(self, today: dt.date) -> int:
        """Days until the response deadline (0 on the day, negative once overdue)."""
        return (self.response - today).days

    def reminders(self) -> list[tuple[dt.date, str]]:
        """(day, what) the user should be reminded of: a week before each deadline and on the day."""
        found = []
        if self.acknowledgment is not None:
            found.append((self.acknowledgment, "acknowledgment due"))
        found.append((self.response - dt.timedelta(days=REMIND_DAYS_BEFORE),
                      f"response due in {REMIND_DAYS_BEFORE} days"))
        found.append((self.response, "response due today"))
        return sorted(found)

    def due_reminders(self, today: dt.date) -> list[str]:
        """The reminders that fall on `today`."""
        return [what for day, what in self.reminders() if day == today]


def compute_deadlines(law: Law, received: dt.date, *, extended: bool = False) -> Deadlines:
    original = add_period(received, law.response)
    # The extension runs from receipt (GDPR "two further months": receipt + 3 months, clamped once).
    total = Period(months=law.response.months + law.extension.months, days=law.response.days + law.extension.days)
    ack = (add_business_days(received, law.acknowledgment_business_days)
           if law.acknowledgment_business_days is not None else None)
    return Deadlines(received=received, acknowledgment=ack,
                     response=add_period(received, total) if extended else original,
                     original_response=original, extended=extended)
