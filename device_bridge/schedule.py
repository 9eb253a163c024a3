"""Mute schedules as pure functions of an instant and a time zone: is a window in force, when is the next boundary.

Weekly windows are wall-clock times in the bridge's zone ("22:00-07:00 every day"); an end at or before
the start means the next day. Local times are turned into instants with zoneinfo, so a window keeps its
wall-clock times across DST changes:

* a time that does not exist (02:30 on a spring-forward day) happens when the clocks jump, i.e. at
  the transition instant (03:00 local in Europe/Berlin);
* a time that happens twice (02:30 on a fall-back day) means its first occurrence.

One-off windows ("once") are plain epoch instants [start_at, end_at). Every window includes its start
and excludes its end.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

KINDS = ("weekly", "once")
ALL_SPEAKERS = "*"
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_FIELDS = ("speaker_id", "kind", "days", "start", "end", "start_at", "end_at", "label", "enabled")
_MAX_LABEL = 100


@dataclass(frozen=True)
class Schedule:
    """A mute window, weekly or once.

    Attributes:
        id: assigned by the store, never reused.
        speaker_id: a speaker id, or "*" for every speaker.
        kind: "weekly" or "once".
        days: weekly: the days on which the window STARTS, 0=Monday..6=Sunday.
        start, end: weekly: "HH:MM" local time; end <= start means it ends the next day.
        start_at, end_at: once: epoch seconds.
        label: the user's name for it ("Night").
        enabled: a disabled schedule is kept but never in force.
    """

    id: int
    speaker_id: str
    kind: str
    days: tuple[int, ...]
    start: str
    end: str
    start_at: float | None
    end_at: float | None
    label: str
    enabled: bool

    def applies_to(self, speaker_id: str) -> bool:
        return self.speaker_id in (ALL_SPEAKERS, speaker_id)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["days"] = list(self.days)
        return data


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def parse_hhmm(text: Any) -> tuple[int, int]:
    """(hour, minute) of "22:00" or "7:05"; ValueError("times look like 22:00 ...") otherwise."""
    match = _HHMM.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"times look like 22:00, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def local_to_epoch(day: date, hour: int, minute: int, tz: ZoneInfo | str) -> float:
    """The instant the wall clock in `tz` shows `day hour:minute` (see wall_to_epoch)."""
    return wall_to_epoch(datetime(day.year, day.month, day.day, hour, minute), _zone(tz))


def wall_to_epoch(wall: datetime, zone: ZoneInfo) -> float:
    """The instant the wall clock in `zone` shows the naive `wall`.

    A time skipped by a DST jump maps to the jump itself; a time shown twice maps to its first showing.
    """
    first = wall.replace(tzinfo=zone, fold=0).timestamp()
    second = wall.replace(tzinfo=zone, fold=1).timestamp()
    if first <= second:  # an ordinary time (equal) or one shown twice (first < second)
        return first
    # In a gap, fold=0 reads the time with the offset from before the jump (a later instant) and
    # fold=1 with the offset after it (an earlier one): the jump lies between.
    return _transition_between(second, first, zone)


def _transition_between(low: float, high: float, zone: ZoneInfo) -> float:
    """The first whole second in (low, high] whose UTC offset differs from low's."""
    def offset(t: float) -> timedelta | None:
        return datetime.fromtimestamp(t, timezone.utc).astimezone(zone).utcoffset()

    before = offset(low)
    lo, hi = math.floor(low), math.ceil(high)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offset(mid) == before:
            lo = mid
        else:
            hi = mid
    return float(hi)


def _local_date(t: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(t, timezone.utc).astimezone(zone).date()


def occurrences(
    schedule: Schedule, tz: ZoneInfo | str, first_day: date, last_day: date
) -> Iterator[tuple[float, float]]:
    """The (start, end) instants of a weekly window's occurrences that START on local days first..last.

    Occurrences that come out empty (both ends inside the same DST gap) are left out.
    """
    zone = _zone(tz)
    start_hm = parse_hhmm(schedule.start)
    end_hm = parse_hhmm(schedule.end)
    next_day = end_hm <= start_hm
    day = first_day
    while day <= last_day:
        if day.weekday() in schedule.days:
            start = local_to_epoch(day, *start_hm, zone)
            end = local_to_epoch(day + timedelta(days=1) if next_day else day, *end_hm, zone)
            if start < end:
                yield start, end
        day += timedelta(days=1)


def window_at(schedule: Schedule, t: float, tz: ZoneInfo | str) -> tuple[float, float] | None:
    """The occurrence (start, end) of `schedule` in force at instant `t`, or None.

    Disabled schedules are never in force.
    """
    if not schedule.enabled:
        return None
    if schedule.kind == "once":
        assert schedule.start_at is not None and schedule.end_at is not None
        return (schedule.start_at, schedule.end_at) if schedule.start_at <= t < schedule.end_at else None
    zone = _zone(tz)
    today = _local_date(t, zone)
    # A window lasts less than a day of wall time (plus at most a DST hour), so it started today or yesterday.
    for start, end in occurrences(schedule, zone, today - timedelta(days=2), today):
        if start <= t < end:
            return start, end
    return None


def is_active(schedule: Schedule, t: float, tz: ZoneInfo | str) -> bool:
    """True when the schedule's window is in force at instant `t` in zone `tz`."""
    return window_at(schedule, t, tz) is not None


def next_boundary(schedule: Schedule, t: float, tz: ZoneInfo | str) -> float | None:
    """The first instant after `t` at which the schedule's window starts or ends; None if it never will."""
    if not schedule.enabled:
        return None
    if schedule.kind == "once":
        assert schedule.start_at is not None and schedule.end_at is not None
        later = [b for b in (schedule.start_at, schedule.end_at) if b > t]
        return min(later) if later else None
    zone = _zone(tz)
    today = _local_date(t, zone)
    # Two weeks ahead, not one: a window that falls in a DST gap (Sunday 02:30-03:00 in Berlin on the
    # spring change) does not happen that week, and its next boundary is the week after.
    later = [
        b
        for start, end in occurrences(schedule, zone, today - timedelta(days=2), today + timedelta(days=15))
        for b in (start, end)
        if b > t
    ]
    return min(later) if later else None


def normalize_fields(
    fields: Mapping[str, Any],
    *,
    speakers: Collection[str],
    now: float,
    current: Schedule | None = None,
) -> dict[str, Any]:
    """Check schedule fields (all of them for a new schedule, some for an update of `current`).

    Returns the complete, cleaned field set (without id). Raises ValueError with a plain message:
    "choose at least one day", "the window is empty: end equals start", "no speaker 'x'",
    "times look like 22:00, not '25:00'", "a one-off must end after it starts", "a one-off that already ended".
    """
    for name in fields:
        if name == "id" and current is not None:
            if fields["id"] != current.id:
                raise ValueError("the id of a schedule cannot change")
            continue
        if name not in _FIELDS:
            raise ValueError(f"unknown field {name!r}")
    merged: dict[str, Any] = (
        {name: getattr(current, name) for name in _FIELDS}
        if current is not None
        else {"kind": "weekly", "days": (), "start": "", "end": "", "start_at": None, "end_at": None,
              "label": "", "enabled": True}
    )
    merged.update({k: v for k, v in fields.items() if k != "id"})

    speaker_id = merged.get("speaker_id")
    if not isinstance(speaker_id, str) or not speaker_id:
        raise ValueError("choose a speaker (its id, or \"*\" for every speaker)")
    if speaker_id != ALL_SPEAKERS and speaker_id not in speakers:
        raise ValueError(f"no speaker {speaker_id!r}")
    kind = merged["kind"]
    if kind not in KINDS:
        raise ValueError(f"kind is 'weekly' or 'once', not {kind!r}")
    label = merged["label"]
    if label is None:
        label = ""
    if not isinstance(label, str):
        raise ValueError("the label must be text")
    label = label.strip()
    if len(label) > _MAX_LABEL:
        raise ValueError(f"the label is too long (at most {_MAX_LABEL} characters)")
    enabled = merged["enabled"]
    if not isinstance(enabled, bool):
        raise ValueError("enabled is true or false")
    clean: dict[str, Any] = {"speaker_id": speaker_id, "kind": kind, "label": label, "enabled": enabled}

    if kind == "weekly":
        days = merged["days"]
        if isinstance(days, (str, bytes)) or not isinstance(days, Collection):
            raise ValueError("days are a list of numbers, 0 (Monday) to 6 (Sunday)")
        bad = [d for d in days if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6]
        if bad:
            raise ValueError(f"days are numbers from 0 (Monday) to 6 (Sunday), not {bad[0]!r}")
        if not days:
            raise ValueError("choose at least one day")
        start_hm, end_hm = parse_hhmm(merged["start"]), parse_hhmm(merged["end"])
        if start_hm == end_hm:
            raise ValueError("the window is empty: end equals start")
        clean.update(
            days=tuple(sorted(set(days))),
            start="%02d:%02d" % start_hm,
            end="%02d:%02d" % end_hm,
            start_at=None,
            end_at=None,
        )
        return clean

    start_at, end_at = merged["start_at"], merged["end_at"]
    for name, value in (("start_at", start_at), ("end_at", end_at)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"a one-off needs {name} as a time (epoch seconds)")
    if end_at <= start_at:
        raise ValueError("a one-off must end after it starts")
    times_changed = current is None or current.kind != "once" or {"start_at", "end_at", "kind"} & set(fields)
    if times_changed and end_at <= now:
        raise ValueError("a one-off that already ended")
    clean.update(days=(), start="", end="", start_at=float(start_at), end_at=float(end_at))
    return clean
