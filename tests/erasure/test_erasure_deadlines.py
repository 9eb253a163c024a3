"""Deadline arithmetic: calendar months with end-of-month clamping, leap years, business days, time zones."""

from __future__ import annotations

import datetime as dt

import pytest

from app.erasure.deadlines import (
    add_business_days,
    add_months,
    compute_deadlines,
    local_date,
)
from app.erasure.laws import law

D = dt.date


@pytest.mark.parametrize("start, months, expected", [
    (D(2027, 1, 31), 1, D(2027, 2, 28)),
    (D(2028, 1, 31), 1, D(2028, 2, 29)),   # leap year
    (D(2100, 1, 31), 1, D(2100, 2, 28)),   # not a leap year (century)
    (D(2000, 1, 31), 1, D(2000, 2, 29)),   # leap year (400)
    (D(2027, 3, 31), 1, D(2027, 4, 30)),
    (D(2027, 12, 15), 1, D(2028, 1, 15)),  # over the year end
    (D(2027, 11, 30), 3, D(2028, 2, 29)),
    (D(2027, 5, 10), 0, D(2027, 5, 10)),
])
def test_months_are_calendar_months_clamped_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_gdpr_is_one_month_and_the_extension_two_more_from_receipt():
    deadlines = compute_deadlines(law("gdpr"), D(2028, 1, 31))
    assert deadlines.response == D(2028, 2, 29) and deadlines.acknowledgment is None
    extended = compute_deadlines(law("gdpr"), D(2028, 1, 31), extended=True)
    assert extended.response == D(2028, 4, 30) and extended.original_response == D(2028, 2, 29)
    assert compute_deadlines(law("uk_gdpr"), D(2027, 1, 31)).response == D(2027, 2, 28)
    assert compute_deadlines(law("uk_gdpr"), D(2027, 11, 30), extended=True).response == D(2028, 2, 29)


def test_ccpa_is_45_days_plus_one_45_day_extension_and_ack_in_10_business_days():
    deadlines = compute_deadlines(law("ccpa"), D(2027, 12, 31))
    assert deadlines.response == D(2028, 2, 14)
    assert compute_deadlines(law("ccpa"), D(2027, 12, 31), extended=True).response == D(2028, 3, 30)
    # Friday 2027-12-31: ten weekdays later, skipping two weekends, is Friday 2028-01-14.
    assert deadlines.acknowledgment == D(2028, 1, 14)


@pytest.mark.parametrize("start, count, expected", [
    (D(2027, 1, 4), 10, D(2027, 1, 18)),   # Monday -> Monday two weeks later
    (D(2027, 1, 8), 1, D(2027, 1, 11)),    # Friday -> Monday
    (D(2027, 1, 9), 1, D(2027, 1, 11)),    # Saturday -> Monday
    (D(2027, 1, 10), 5, D(2027, 1, 15)),   # Sunday -> Friday
])
def test_business_days_skip_weekends(start, count, expected):
    assert add_business_days(start, count) == expected


def test_the_received_day_is_the_date_where_the_user_lives():
    # 2028-01-31 23:30 in Los Angeles is already 2028-02-01 in UTC and in Berlin.
    moment = dt.datetime(2028, 1, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8))).timestamp()
    assert local_date(moment, "America/Los_Angeles") == D(2028, 1, 31)
    assert local_date(moment, "UTC") == D(2028, 2, 1)
    assert local_date(moment, "Europe/Berlin") == D(2028, 2, 1)
    assert compute_deadlines(law("gdpr"), local_date(moment, "America/Los_Angeles")).response == D(2028, 2, 29)
    assert compute_deadlines(law("gdpr"), local_date(moment, "Europe/Berlin")).response == D(2028, 3, 1)


def test_days_left_and_reminders_a_week_before_and_on_the_day():
    deadlines = compute_deadlines(law("gdpr"), D(2028, 1, 31))
    assert deadlines.days_left(D(2028, 2, 22)) == 7
    assert deadlines.due_reminders(D(2028, 2, 22)) == ["response due in 7 days"]
    assert deadlines.due_reminders(D(2028, 2, 29)) == ["response due today"]
    assert deadlines.due_reminders(D(2028, 2, 23)) == []
    assert deadlines.days_left(D(2028, 3, 2)) == -2
