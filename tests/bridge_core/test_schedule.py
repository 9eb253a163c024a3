"""Schedule windows as pure functions of an instant and a zone: across midnight and DST, with explicit instants."""

from __future__ import annotations

from datetime import date

import pytest
from core_helpers import BERLIN, NEW_YORK, local, utc
from hypothesis import given, settings
from hypothesis import strategies as st

from device_bridge.schedule import (
    Schedule,
    is_active,
    local_to_epoch,
    next_boundary,
    normalize_fields,
    window_at,
)

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
WEEKDAYS = (0, 1, 2, 3, 4)
HOUR = 3600.0


def weekly(start: str, end: str, days=EVERY_DAY, *, enabled: bool = True) -> Schedule:
    return Schedule(id=1, speaker_id="kitchen", kind="weekly", days=tuple(days), start=start, end=end,
                    start_at=None, end_at=None, label="", enabled=enabled)


def once(start_at: float, end_at: float) -> Schedule:
    return Schedule(id=2, speaker_id="kitchen", kind="once", days=(), start="", end="", start_at=start_at,
                    end_at=end_at, label="", enabled=True)


# --- local wall-clock times to instants ---------------------------------------------------------------

def test_an_ordinary_local_time_is_its_instant():
    assert local_to_epoch(date(2026, 6, 2), 22, 0, BERLIN) == utc("2026-06-02 20:00")


@pytest.mark.parametrize(
    ("zone", "day", "expected_utc"),
    [
        # Europe/Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC on 2026-03-29.
        (BERLIN, date(2026, 3, 29), "2026-03-29 01:00"),
        # America/New_York jumps from 02:00 EST to 03:00 EDT at 07:00 UTC on 2026-03-08.
        (NEW_YORK, date(2026, 3, 8), "2026-03-08 07:00"),
    ],
)
def test_a_time_skipped_by_spring_forward_happens_when_the_clocks_jump(zone, day, expected_utc):
    assert local_to_epoch(day, 2, 30, zone) == utc(expected_utc)
    assert local_to_epoch(day, 2, 0, zone) == utc(expected_utc)
    assert local_to_epoch(day, 3, 0, zone) == utc(expected_utc)  # the first valid time is the jump itself


@pytest.mark.parametrize(
    ("zone", "day", "expected_utc"),
    [
        # Berlin shows 02:30 twice on 2026-10-25: first in CEST (00:30 UTC), then in CET (01:30 UTC).
        (BERLIN, date(2026, 10, 25), "2026-10-25 00:30"),
        # New York shows 01:30 twice on 2026-11-01: first in EDT (05:30 UTC), then in EST (06:30 UTC).
        (NEW_YORK, date(2026, 11, 1), "2026-11-01 05:30"),
    ],
)
def test_a_time_shown_twice_at_fall_back_means_its_first_showing(zone, day, expected_utc):
    hour = 2 if zone is BERLIN else 1
    assert local_to_epoch(day, hour, 30, zone) == utc(expected_utc)


# --- weekly windows -----------------------------------------------------------------------------------

def test_a_night_window_crosses_midnight():
    night = weekly("22:00", "07:00")
    assert not is_active(night, local("2026-06-02 21:59"), BERLIN)
    assert is_active(night, local("2026-06-02 22:00"), BERLIN)
    assert is_active(night, local("2026-06-03 00:00"), BERLIN)
    assert is_active(night, local("2026-06-03 06:59"), BERLIN)
    assert not is_active(night, local("2026-06-03 07:00"), BERLIN)
    assert window_at(night, local("2026-06-03 03:00"), BERLIN) == (local("2026-06-02 22:00"), local("2026-06-03 07:00"))


def test_days_are_the_days_a_window_starts():
    friday_night = weekly("23:00", "01:00", days=(4,))  # 2026-06-05 is a Friday
    assert is_active(friday_night, local("2026-06-05 23:30"), BERLIN)
    assert is_active(friday_night, local("2026-06-06 00:30"), BERLIN)  # Saturday morning: Friday's window
    assert not is_active(friday_night, local("2026-06-05 00:30"), BERLIN)  # Friday morning: Thursday's, not chosen
    assert not is_active(friday_night, local("2026-06-06 23:30"), BERLIN)


def test_weekdays_only():
    office = weekly("09:00", "17:00", days=WEEKDAYS)
    assert is_active(office, local("2026-06-01 10:00"), BERLIN)  # Monday
    assert is_active(office, local("2026-06-05 16:59"), BERLIN)  # Friday
    assert not is_active(office, local("2026-06-06 10:00"), BERLIN)  # Saturday
    assert next_boundary(office, local("2026-06-05 17:00"), BERLIN) == local("2026-06-08 09:00")


def test_a_disabled_schedule_is_never_in_force():
    night = weekly("22:00", "07:00", enabled=False)
    assert not is_active(night, local("2026-06-02 23:00"), BERLIN)
    assert next_boundary(night, local("2026-06-02 23:00"), BERLIN) is None


@pytest.mark.parametrize(
    ("zone", "sunday", "start_utc", "end_utc", "hours"),
    [
        # Spring forward: the 22:00-07:00 night is an hour shorter, 8 h.
        (BERLIN, "2026-03-29", "2026-03-28 21:00", "2026-03-29 05:00", 8),
        (NEW_YORK, "2026-03-08", "2026-03-08 03:00", "2026-03-08 11:00", 8),
        # Fall back: an hour longer, 10 h.
        (BERLIN, "2026-10-25", "2026-10-24 20:00", "2026-10-25 06:00", 10),
        (NEW_YORK, "2026-11-01", "2026-11-01 02:00", "2026-11-01 12:00", 10),
    ],
)
def test_a_night_window_keeps_its_wall_clock_times_across_dst(zone, sunday, start_utc, end_utc, hours):
    night = weekly("22:00", "07:00")
    start, end = utc(start_utc), utc(end_utc)
    assert end - start == hours * HOUR
    assert window_at(night, start, zone) == (start, end)
    assert not is_active(night, start - 1, zone)
    assert is_active(night, end - 1, zone)
    assert not is_active(night, end, zone)
    assert next_boundary(night, start - HOUR, zone) == start
    assert next_boundary(night, start, zone) == end
    # The night after the change is an ordinary one again, at the new offset.
    assert next_boundary(night, end, zone) == local(f"{sunday} 22:00", zone)


def test_the_night_of_the_spring_forward_day_itself_starts_at_22_00_summer_time():
    night = weekly("22:00", "07:00")
    assert next_boundary(night, utc("2026-03-29 05:00"), BERLIN) == utc("2026-03-29 20:00")  # 22:00 CEST


def test_a_02_30_start_on_a_spring_forward_day_happens_at_03_00():
    window = weekly("02:30", "04:00", days=(6,))  # Sundays; 2026-03-29 is one
    assert next_boundary(window, utc("2026-03-29 00:00"), BERLIN) == utc("2026-03-29 01:00")  # 03:00 CEST
    assert not is_active(window, utc("2026-03-29 00:59"), BERLIN)
    assert is_active(window, utc("2026-03-29 01:00"), BERLIN)
    assert window_at(window, utc("2026-03-29 01:30"), BERLIN) == (utc("2026-03-29 01:00"), utc("2026-03-29 02:00"))
    # A week later it is 02:30 CEST again.
    assert window_at(window, local("2026-04-05 03:00"), BERLIN) == (
        local("2026-04-05 02:30"), local("2026-04-05 04:00")
    )


def test_a_window_inside_the_skipped_hour_does_not_happen_that_day():
    window = weekly("02:10", "02:40", days=(6,))
    assert next_boundary(window, utc("2026-03-29 00:00"), BERLIN) == local("2026-04-05 02:10")


def test_a_02_30_start_on_a_fall_back_day_happens_at_the_first_02_30():
    window = weekly("02:30", "05:00", days=(6,))
    start = utc("2026-10-25 00:30")  # 02:30 CEST
    assert window_at(window, start, BERLIN) == (start, utc("2026-10-25 04:00"))  # 05:00 CET: 3.5 h
    assert is_active(window, utc("2026-10-25 01:30"), BERLIN)  # the second 02:30 (CET): still inside


# --- one-off windows ----------------------------------------------------------------------------------

def test_a_one_off_includes_its_start_and_excludes_its_end():
    mute = once(1000.0, 4600.0)
    assert not is_active(mute, 999.0, BERLIN)
    assert is_active(mute, 1000.0, BERLIN)
    assert not is_active(mute, 4600.0, BERLIN)
    assert next_boundary(mute, 0.0, BERLIN) == 1000.0
    assert next_boundary(mute, 1000.0, BERLIN) == 4600.0
    assert next_boundary(mute, 4600.0, BERLIN) is None


def test_a_window_lost_in_the_spring_gap_comes_back_the_week_after():
    sunday_0230_0300 = weekly("02:30", "03:00", (6,))
    after_last = local("2026-03-22 03:00")  # the Sunday before the change; 2026-03-29 02:30 does not exist
    assert next_boundary(sunday_0230_0300, after_last, BERLIN) == local("2026-04-05 02:30")


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from([BERLIN, NEW_YORK]),
    t=st.floats(min_value=utc("2026-03-01 00:00"), max_value=utc("2026-11-30 00:00")),
    start=st.sampled_from(["00:00", "01:30", "02:30", "07:00", "22:00", "23:59"]),
    end=st.sampled_from(["00:30", "02:15", "03:00", "07:00", "17:00", "22:00"]),
    days=st.sets(st.integers(0, 6), min_size=1).map(lambda d: tuple(sorted(d))),
)
def test_nothing_changes_between_an_instant_and_its_next_boundary(zone, t, start, end, days):
    if start == end:
        return
    schedule = weekly(start, end, days)
    boundary = next_boundary(schedule, t, zone)
    assert boundary is not None and t < boundary <= t + 16 * 86400
    assert is_active(schedule, t, zone) == is_active(schedule, boundary - 0.001, zone)
    assert is_active(schedule, boundary, zone) != is_active(schedule, boundary - 0.001, zone) or (
        window_at(schedule, boundary, zone) != window_at(schedule, boundary - 0.001, zone)
    )


# --- checking what a user sends -----------------------------------------------------------------------

SPEAKERS = ("kitchen", "bedroom")
NOW = local("2026-06-02 10:00")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"speaker_id": "kitchen", "days": [0], "start": "22:00", "end": "22:00"},
         "the window is empty: end equals start"),
        ({"speaker_id": "kitchen", "days": [], "start": "22:00", "end": "07:00"}, "choose at least one day"),
        ({"speaker_id": "attic", "days": [0], "start": "22:00", "end": "07:00"}, "no speaker 'attic'"),
        ({"speaker_id": "kitchen", "days": [0], "start": "25:00", "end": "07:00"},
         "times look like 22:00, not '25:00'"),
        ({"speaker_id": "kitchen", "days": [0], "start": "10pm", "end": "07:00"}, "times look like 22:00, not '10pm'"),
        ({"speaker_id": "kitchen", "days": [7], "start": "22:00", "end": "07:00"},
         "days are numbers from 0 (Monday) to 6 (Sunday), not 7"),
        ({"speaker_id": "kitchen", "kind": "once", "start_at": NOW + 60, "end_at": NOW + 60},
         "a one-off must end after it starts"),
        ({"speaker_id": "kitchen", "kind": "once", "start_at": NOW - 7200, "end_at": NOW - 3600},
         "a one-off that already ended"),
        ({"speaker_id": "kitchen", "kind": "once", "end_at": NOW + 60}, "a one-off needs start_at as a time"),
        ({"speaker_id": "kitchen", "kind": "daily"}, "kind is 'weekly' or 'once', not 'daily'"),
        ({"speaker_id": "kitchen", "colour": "red"}, "unknown field 'colour'"),
        ({"days": [0], "start": "22:00", "end": "07:00"}, "choose a speaker"),
    ],
)
def test_nonsense_gets_a_plain_message(fields, message):
    with pytest.raises(ValueError) as caught:
        normalize_fields(fields, speakers=SPEAKERS, now=NOW)
    assert str(caught.value).startswith(message)


def test_good_fields_are_cleaned_up():
    clean = normalize_fields(
        {"speaker_id": "*", "days": [6, 0, 0], "start": "7:05", "end": "22:00", "label": " Night "},
        speakers=SPEAKERS, now=NOW,
    )
    assert clean == {"speaker_id": "*", "kind": "weekly", "days": (0, 6), "start": "07:05", "end": "22:00",
                     "start_at": None, "end_at": None, "label": "Night", "enabled": True}
    clean = normalize_fields({"speaker_id": "kitchen", "kind": "once", "start_at": NOW - 60, "end_at": NOW + 60},
                             speakers=SPEAKERS, now=NOW)
    assert (clean["days"], clean["start"], clean["start_at"], clean["end_at"]) == ((), "", NOW - 60, NOW + 60)


def test_an_update_merges_with_the_current_schedule():
    current = Schedule(id=3, speaker_id="kitchen", kind="once", days=(), start="", end="", start_at=NOW - 7200,
                       end_at=NOW - 3600, label="old", enabled=True)
    # Renaming an ended one-off is fine; only new times must lie ahead.
    assert normalize_fields({"label": "new", "id": 3}, speakers=SPEAKERS, now=NOW, current=current)["label"] == "new"
    with pytest.raises(ValueError, match="a one-off that already ended"):
        normalize_fields({"end_at": NOW - 60}, speakers=SPEAKERS, now=NOW, current=current)
    with pytest.raises(ValueError, match="the id of a schedule cannot change"):
        normalize_fields({"id": 4}, speakers=SPEAKERS, now=NOW, current=current)
