"""Recurrence rules for voice deletions and portal reminders: building, describing, occurrences across DST changes
and month ends, and custom rules refused in plain words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from app.deletions.voice import Recurrence, localize

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_the_builders_write_the_rules_the_bridge_expects():
    assert Recurrence.daily(23, 55, dt.date(2026, 11, 27)) == Recurrence("FREQ=DAILY;BYHOUR=23;BYMINUTE=55",
                                                                          "2026-11-27T23:55:00")
    assert Recurrence.weekly([3, 0, 3], 23, 55, dt.date(2026, 11, 27)).rrule == \
        "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=23;BYMINUTE=55"
    assert Recurrence.monthly(1, 9, 0, dt.date(2026, 11, 27)).rrule == "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=9;BYMINUTE=0"
    assert Recurrence.monthly(-1, 9, 0, dt.date(2026, 11, 27)).rrule == "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=9;BYMINUTE=0"


@pytest.mark.parametrize("recurrence, words", [
    (Recurrence.daily(23, 55, dt.date(2026, 11, 27)), "Every day at 23:55"),
    (Recurrence.weekly([0, 3], 23, 55, dt.date(2026, 11, 27)), "Every Monday and Thursday at 23:55"),
    (Recurrence.weekly([0, 2, 4], 7, 5, dt.date(2026, 11, 27)), "Every Monday, Wednesday and Friday at 07:05"),
    (Recurrence.weekly(range(7), 23, 0, dt.date(2026, 11, 27)), "Every day at 23:00"),
    (Recurrence.monthly(1, 9, 0, dt.date(2026, 11, 27)), "On day 1 of every month at 09:00"),
    (Recurrence.monthly(-1, 9, 0, dt.date(2026, 11, 27)), "On the last day of every month at 09:00"),
    (Recurrence.monthly(31, 9, 0, dt.date(2026, 11, 27)),
     "On day 31 of every month (the last day in shorter months) at 09:00"),
    (Recurrence("FREQ=MONTHLY", "2026-11-27T10:00:00"), "On day 27 of every month at 10:00"),
    (Recurrence("FREQ=WEEKLY", "2026-11-27T10:00:00"), "Every Friday at 10:00"),
    (Recurrence("FREQ=MONTHLY", "2026-10-31T10:00:00"), "On day 31 of every month (months without it are skipped) "
                                                         "at 10:00"),
    (Recurrence("FREQ=DAILY;INTERVAL=2;BYHOUR=23;BYMINUTE=55", "2026-11-27T23:55:00"),
     "Custom: FREQ=DAILY;INTERVAL=2;BYHOUR=23;BYMINUTE=55"),
    (Recurrence("FREQ=MONTHLY;BYDAY=1SU;BYHOUR=9;BYMINUTE=0", "2026-11-27T09:00:00"),
     "Custom: FREQ=MONTHLY;BYDAY=1SU;BYHOUR=9;BYMINUTE=0"),
])
def test_rules_are_described_in_words(recurrence, words):
    assert recurrence.describe() == words


def test_the_pattern_gives_an_editor_back_what_built_the_rule():
    weekly = Recurrence.weekly([4, 1], 23, 55, dt.date(2026, 11, 27)).pattern()
    assert (weekly.kind, weekly.weekdays, weekly.hour, weekly.minute) == ("weekly", (1, 4), 23, 55)
    monthly = Recurrence.monthly(30, 6, 15, dt.date(2026, 11, 27)).pattern()
    assert (monthly.kind, monthly.day, monthly.hour, monthly.minute) == ("monthly", 30, 6, 15)
    assert Recurrence.daily(0, 0, dt.date(2026, 11, 27)).pattern().kind == "daily"
    assert Recurrence.custom("FREQ=YEARLY", "2026-11-27T10:00").pattern().kind == "custom"


def test_daily_occurrences_are_strictly_after_the_given_moment():
    rule = Recurrence.daily(23, 55, dt.date(2026, 11, 27))
    after = dt.datetime(2026, 11, 27, 23, 55, tzinfo=BERLIN)  # the first one, exactly: not included
    assert rule.occurrences(after, BERLIN, 2) == [dt.datetime(2026, 11, 28, 23, 55, tzinfo=BERLIN),
                                                  dt.datetime(2026, 11, 29, 23, 55, tzinfo=BERLIN)]
    before_start = dt.datetime(2026, 11, 1, tzinfo=BERLIN)  # nothing happens before DTSTART
    assert rule.next_after(before_start, BERLIN) == dt.datetime(2026, 11, 27, 23, 55, tzinfo=BERLIN)
    assert rule.occurrences(after, BERLIN, 0) == []


def test_a_time_in_the_spring_gap_runs_when_the_clocks_jump_and_the_day_after_as_usual():
    # Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
    rule = Recurrence.daily(2, 30, dt.date(2026, 3, 1))
    found = rule.occurrences(utc(2026, 3, 27, 12), BERLIN, 3)
    assert [t.astimezone(UTC) for t in found] == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0),
                                                  utc(2026, 3, 30, 0, 30)]
    assert found[1].strftime("%H:%M %Z") == "03:00 CEST"
    # A run at 23:55 is untouched by the change: 23:55 both before and after it.
    late = Recurrence.daily(23, 55, dt.date(2026, 3, 1)).occurrences(utc(2026, 3, 28, 12), BERLIN, 2)
    assert [t.strftime("%H:%M %Z") for t in late] == ["23:55 CET", "23:55 CEST"]
    assert localize(dt.datetime(2026, 3, 29, 2, 0), BERLIN).astimezone(UTC) == utc(2026, 3, 29, 1, 0)


def test_a_time_shown_twice_in_autumn_runs_once_at_its_first_showing():
    # Berlin, 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    rule = Recurrence.daily(2, 30, dt.date(2026, 10, 1))
    found = rule.occurrences(utc(2026, 10, 24, 12), BERLIN, 3)
    assert [t.astimezone(UTC) for t in found] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30),
                                                  utc(2026, 10, 27, 1, 30)]
    # Asked between the two showings, the second one is not a new occurrence.
    between = utc(2026, 10, 25, 0, 45)
    assert rule.next_after(between, BERLIN).astimezone(UTC) == utc(2026, 10, 26, 1, 30)


def test_monthly_on_the_31st_falls_on_each_months_last_day():
    rule = Recurrence.monthly(31, 9, 0, dt.date(2027, 1, 1))
    days = [t.date() for t in rule.occurrences(dt.datetime(2027, 1, 1, tzinfo=BERLIN), BERLIN, 6)]
    assert days == [dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30),
                    dt.date(2027, 5, 31), dt.date(2027, 6, 30)]
    leap = Recurrence.monthly(30, 9, 0, dt.date(2028, 2, 1)).next_after(dt.datetime(2028, 2, 1, tzinfo=BERLIN),
                                                                         BERLIN)
    assert leap.date() == dt.date(2028, 2, 29)
    last = Recurrence.monthly(-1, 23, 0, dt.date(2026, 12, 1))
    assert [t.date() for t in last.occurrences(dt.datetime(2026, 12, 1, tzinfo=BERLIN), BERLIN, 3)] == [
        dt.date(2026, 12, 31), dt.date(2027, 1, 31), dt.date(2027, 2, 28)]
    # Across a year's end at midnight: 2026-12-31 23:30 then 2027-01-31 23:30.
    year_end = Recurrence.monthly(-1, 23, 30, dt.date(2026, 12, 1)).occurrences(utc(2026, 12, 31, 12), BERLIN, 2)
    assert [t.isoformat() for t in year_end] == ["2026-12-31T23:30:00+01:00", "2027-01-31T23:30:00+01:00"]


def test_weekly_runs_fall_on_the_chosen_days_in_the_given_zone():
    rule = Recurrence.weekly([0, 3], 23, 55, dt.date(2026, 11, 27))
    found = rule.occurrences(dt.datetime(2026, 11, 27, tzinfo=BERLIN), BERLIN, 4)
    assert [(t.strftime("%a %d"), t.hour, t.minute) for t in found] == [
        ("Mon 30", 23, 55), ("Thu 03", 23, 55), ("Mon 07", 23, 55), ("Thu 10", 23, 55)]
    tokyo = ZoneInfo("Asia/Tokyo")
    assert rule.next_after(dt.datetime(2026, 11, 27, tzinfo=tokyo), tokyo).utcoffset() == dt.timedelta(hours=9)


def test_a_custom_rule_is_cleaned_and_checked():
    rule = Recurrence.custom("  rrule:freq=weekly;byday=sa;byhour=8;byminute=0; ", "2026-11-27T08:00")
    assert rule == Recurrence("FREQ=WEEKLY;BYDAY=SA;BYHOUR=8;BYMINUTE=0", "2026-11-27T08:00:00")
    assert rule.describe() == "Every Saturday at 08:00"
    counted = Recurrence.custom("FREQ=DAILY;COUNT=3", "2026-11-27T23:55")
    assert len(counted.occurrences(dt.datetime(2026, 11, 1, tzinfo=BERLIN), BERLIN, 10)) == 3
    hourly = Recurrence.custom("FREQ=HOURLY", "2026-11-27T00:00")  # exactly an hour apart is allowed
    assert len(hourly.occurrences(dt.datetime(2026, 11, 27, tzinfo=BERLIN), BERLIN, 3)) == 3


@pytest.mark.parametrize("rule, dtstart, words", [
    ("", "2026-11-27T23:55", "Write a rule"),
    ("FREQ=SOMETIMES", "2026-11-27T23:55", "Earmuff cannot read the rule \u201cFREQ=SOMETIMES\u201d"),
    ("BYDAY=MO", "2026-11-27T23:55", "it needs a FREQ"),
    ("FREQ=DAILY;BYHOUR=25", "2026-11-27T23:55", "hour must be in 0..23"),
    ("FREQ=DAILY;UNTIL=20271231T000000Z", "2026-11-27T23:55", "leave the Z out"),
    ("FREQ=DAILY\nEXDATE:20261201T235500", "2026-11-27T23:55", "Write only the rule itself"),
    ("FREQ=DAILY", "27.11.2026 23:55", "is not a date and time like 2026-11-27T23:55"),
    ("FREQ=DAILY", "2026-02-30T23:55", "is not a real date and time"),
    ("FREQ=MINUTELY;INTERVAL=30", "2026-11-27T23:55", "runs more than once an hour"),
    ("FREQ=DAILY;BYHOUR=23;BYMINUTE=0,30", "2026-11-27T23:00", "runs more than once an hour"),
    ("FREQ=DAILY;COUNT=0", "2026-11-27T23:55", "never happens"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "2026-11-27T23:55", "none of its months has that day"),
    ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "2026-11-27T23:55", "none of its months has that day"),
    ("FREQ=DAILY;UNTIL=20261101T000000", "2026-11-27T23:55", "never happens"),
])
def test_custom_rules_that_cannot_run_are_refused_in_plain_words(rule, dtstart, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        Recurrence.custom(rule, dtstart)


def test_a_rule_whose_last_time_is_past_is_refused_when_checked_against_now():
    ended = Recurrence.custom("FREQ=DAILY;UNTIL=20261201T000000", "2026-11-27T23:55")
    ended.check(dt.datetime(2026, 11, 28, tzinfo=BERLIN))  # still to come
    with pytest.raises(ValueError, match="never happens again"):
        ended.check(dt.datetime(2026, 12, 2, tzinfo=BERLIN), BERLIN)


@pytest.mark.parametrize("build, words", [
    (lambda: Recurrence.daily(24, 0, dt.date(2026, 11, 27)), "00:00 to 23:59"),
    (lambda: Recurrence.weekly([], 23, 55, dt.date(2026, 11, 27)), "at least one day"),
    (lambda: Recurrence.weekly([7], 23, 55, dt.date(2026, 11, 27)), "0 \\(Monday\\) to 6 \\(Sunday\\)"),
    (lambda: Recurrence.monthly(32, 9, 0, dt.date(2026, 11, 27)), "1 to 31, or the last day"),
    (lambda: Recurrence.monthly(0, 9, 0, dt.date(2026, 11, 27)), "1 to 31, or the last day"),
])
def test_the_builders_refuse_impossible_choices(build, words):
    with pytest.raises(ValueError, match=words):
        build()
