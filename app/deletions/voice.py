"""Voice deletions a bridge plays to a speaker: the phrases, when they run, and the records the bridge keeps.

A *deletion schedule* lives on a bridge, one per speaker and phrase: an RFC 5545 RRULE and a DTSTART that is a
wall time in the bridge's time zone. At each occurrence the bridge lifts the mute, plays the phrase, watches for
the speaker's upload (the proof it heard), restores the mute and records a *run*. This module mirrors that JSON
as frozen dataclasses (`VoiceSchedule`, `VoiceRun`, `DeletionCapabilities`) and computes occurrences exactly as
the bridge does (`Recurrence`), so the app can say "next run tonight at 23:55" and check a rule before sending.

Time rule (the bridge's): occurrences are naive wall times from dateutil, localised with fold=0 (the first of two
repeated autumn times); a wall time that does not exist (the spring gap) moves forward to the first valid
instant, which is the moment the clocks change.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dateutil.rrule import rrule, rrulestr

from app.optouts.speakers import bridge_key

if TYPE_CHECKING:
    from app.optouts.tracker import OptOutTracker

#: The phrases a bridge knows how to say, per vendor (the same list as GET /v1/deletions/capabilities).
VOICE_PHRASES: dict[str, tuple[str, ...]] = {
    "amazon": ("Alexa, delete everything I said today", "Alexa, delete what I just said"),
    "google": ("Hey Google, delete today's activity", "Hey Google, delete this week's activity",
               "Hey Google, delete my last conversation"),
}
DEFAULT_PHRASE: dict[str, str] = {
    "amazon": "Alexa, delete everything I said today",
    "google": "Hey Google, delete today's activity",
}
#: Vendors whose speakers take spoken deletion commands.
VOICE_VENDORS = tuple(VOICE_PHRASES)
#: The opt-out setting that must be on before a vendor accepts a spoken deletion (app/optouts catalog id).
PREREQUISITE_SETTING: dict[str, str] = {"amazon": "amazon.deletion-by-voice"}
PREREQUISITE_TITLE = "Enable deletion by voice"
MAX_PHRASE = 200
#: Two runs closer than this are refused (by the bridge too).
MIN_SPACING = dt.timedelta(hours=1)
#: How far ahead an occurrence is looked for (a rule that only matches later is treated as never happening).
HORIZON = dt.timedelta(days=366 * 100)

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DTSTART = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_RULE_PREFIX = re.compile(r"^\s*RRULE\s*:", re.IGNORECASE)
#: Monthly on a day some months lack: the last of these days that the month has (day 31 -> Feb 28/29, Apr 30).
_CLAMPED_DAYS = {day: ",".join(str(d) for d in range(28, day + 1)) for day in (29, 30, 31)}


def normalise_vendor(vendor: str | None) -> str | None:
    """'amazon' for 'Amazon' or 'Amazon.com'; None for nothing."""
    if not vendor or not vendor.strip():
        return None
    return re.split(r"[\s.,]", vendor.strip().casefold(), maxsplit=1)[0]


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


def _clock_text(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def wall_time(moment: float | dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The naive wall time of an instant (epoch seconds or aware datetime) in `zone`."""
    if isinstance(moment, (int, float)):
        return dt.datetime.fromtimestamp(moment, zone).replace(tzinfo=None)
    # Through UTC: astimezone() to the zone a datetime already has returns it unchanged, gap or not.
    return moment.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)


def localize(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The instant a wall time names in `zone`: fold=0 when it happens twice, the clock change when it never does."""
    aware = naive.replace(tzinfo=zone, fold=0)
    if wall_time(aware, zone) == naive:
        return aware
    # In a gap: find the first second whose wall time is past `naive` (the instant the clocks jumped).
    stamps = (aware.timestamp(), naive.replace(tzinfo=zone, fold=1).timestamp())
    low, high = int(min(stamps)) - 3 * 3600, int(max(stamps)) + 3 * 3600
    while high - low > 1:
        middle = (low + high) // 2
        if wall_time(float(middle), zone) > naive:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, zone)


def parse_dtstart(text: str) -> dt.datetime:
    """A wall time 'YYYY-MM-DDTHH:MM[:SS]' as a naive datetime; ValueError in plain words."""
    cleaned = str(text).strip()
    if not _DTSTART.match(cleaned):
        raise ValueError(f"The start {_quote(cleaned)} is not a date and time like 2026-11-27T23:55.")
    try:
        return dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"The start {_quote(cleaned)} is not a real date and time.") from None


def rule_parts(rule: str) -> dict[str, str]:
    """'FREQ=DAILY;BYHOUR=23' -> {'FREQ': 'DAILY', 'BYHOUR': '23'} (keys upper-case; no checking)."""
    parts = {}
    for piece in rule.split(";"):
        if "=" in piece:
            key, value = piece.split("=", 1)
            parts[key.strip().upper()] = value.strip()
    return parts


@dataclass(frozen=True)
class Pattern:
    """A recurrence in the shapes the editors offer.

    Attributes:
        kind: "daily", "weekly", "monthly" or "custom".
        hour, minute: the time of day (custom: DTSTART's).
        weekdays: weekly: 0 = Monday .. 6 = Sunday.
        day: monthly: the day of the month (29-31: the month's last day in shorter months), or -1 for the last day.
    """

    kind: str
    hour: int
    minute: int
    weekdays: tuple[int, ...] = ()
    day: int | None = None


@dataclass(frozen=True)
class Recurrence:
    """When something repeats: an RRULE (no "RRULE:" prefix) from a DTSTART wall time ("2026-11-27T23:55:00").

    Build with `daily`, `weekly`, `monthly` or `custom` (they check the rule); the plain constructor takes
    stored values as they are.
    """

    rrule: str
    dtstart: str

    # -- building ----------------------------------------------------------------------------------
    @classmethod
    def daily(cls, hour: int, minute: int, start: dt.date) -> Recurrence:
        _check_time(hour, minute)
        return cls._made(f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}", start, hour, minute)

    @classmethod
    def weekly(cls, weekdays: Iterable[int], hour: int, minute: int, start: dt.date) -> Recurrence:
        _check_time(hour, minute)
        days = sorted(set(weekdays))
        if not days:
            raise ValueError("Choose at least one day of the week.")
        if any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
            raise ValueError("Days of the week go from 0 (Monday) to 6 (Sunday).")
        codes = ",".join(WEEKDAY_CODES[d] for d in days)
        return cls._made(f"FREQ=WEEKLY;BYDAY={codes};BYHOUR={hour};BYMINUTE={minute}", start, hour, minute)

    @classmethod
    def monthly(cls, day: int, hour: int, minute: int, start: dt.date) -> Recurrence:
        """On `day` of every month (29-31: the last day of months that are shorter; -1: always the last day)."""
        _check_time(hour, minute)
        if day == -1 or 1 <= day <= 28:
            days = f"BYMONTHDAY={day}"
        elif day in _CLAMPED_DAYS:
            days = f"BYMONTHDAY={_CLAMPED_DAYS[day]};BYSETPOS=-1"
        else:
            raise ValueError("A day of the month is 1 to 31, or the last day.")
        return cls._made(f"FREQ=MONTHLY;{days};BYHOUR={hour};BYMINUTE={minute}", start, hour, minute)

    @classmethod
    def custom(cls, rule: str, dtstart: str) -> Recurrence:
        """A rule typed by the user (an "RRULE:" prefix is dropped, the rest upper-cased as the bridge stores it).
        ValueError in plain words when it cannot run."""
        text = _RULE_PREFIX.sub("", str(rule)).strip().rstrip(";").upper()
        if not text:
            raise ValueError("Write a rule, like FREQ=WEEKLY;BYDAY=MO;BYHOUR=23;BYMINUTE=55.")
        if ":" in text or any(c.isspace() for c in text):
            raise ValueError(f"Write only the rule itself, like FREQ=DAILY;BYHOUR=23;BYMINUTE=55 "
                             f"(Earmuff cannot use {_quote(text)}).")
        start = parse_dtstart(dtstart)
        return cls(text, start.isoformat(timespec="seconds")).check()

    @classmethod
    def _made(cls, rule: str, start: dt.date, hour: int, minute: int) -> Recurrence:
        return cls(rule, dt.datetime.combine(start, dt.time(hour, minute)).isoformat(timespec="seconds")).check()

    # -- checking ----------------------------------------------------------------------------------------
    @cached_property
    def start(self) -> dt.datetime:
        """DTSTART as a naive wall time (ValueError when it is not one)."""
        return parse_dtstart(self.dtstart)

    @cached_property
    def _rule(self) -> rrule:
        text = self.rrule
        try:
            parsed = rrulestr(text, dtstart=self.start)
        except TypeError:
            raise ValueError(f"Earmuff cannot read the rule {_quote(text)}: it needs a FREQ, such as "
                             "FREQ=DAILY.") from None
        except (ValueError, KeyError, IndexError, OverflowError) as error:
            detail = str(error)
            if "UNTIL" in detail and "UTC" in detail:
                detail = "its UNTIL ends in Z (UTC), but the times here are wall times; leave the Z out"
            raise ValueError(f"Earmuff cannot read the rule {_quote(text)}: {detail}.") from None
        if not isinstance(parsed, rrule):
            raise ValueError(f"Earmuff cannot read the rule {_quote(text)}: write one rule only.")
        if not _month_days_exist(rule_parts(text)):
            raise ValueError(f"The rule {_quote(text)} never happens: none of its months has that day.")
        return parsed

    def check(self, after: dt.datetime | None = None, zone: dt.tzinfo | None = None) -> Recurrence:
        """Raise ValueError in plain words unless the rule can run: readable, happening at all (after `after`,
        in `zone`, when given), and never twice within an hour. Returns itself."""
        first = list(self._walk(self.start, _horizon(self.start), limit=50))
        if not first:
            raise ValueError(f"The rule {_quote(self.rrule)} never happens.")
        for earlier, later in itertools.pairwise(first):
            if later - earlier < MIN_SPACING:
                raise ValueError(f"The rule {_quote(self.rrule)} runs more than once an hour; "
                                 "leave at least an hour between runs.")
        if after is not None and not self.occurrences(after, zone or after.tzinfo or dt.UTC, 1):
            raise ValueError(f"The rule {_quote(self.rrule)} never happens again: its last time is past.")
        return self

    # -- reading -----------------------------------------------------------------------------------------
    def _walk(self, since: dt.datetime, until: dt.datetime, limit: int | None = None) -> Iterator[dt.datetime]:
        """Naive occurrences in [since, until], at most `limit` of them, without iterating past `until`."""
        rule = self._rule
        # WORKAROUND: dateutil has no public accessor for COUNT and UNTIL; a rule that can never match iterates
        # to the year 9999 (seconds), so the search is bounded by an UNTIL of our own.
        count, own_until = rule._count, rule._until  # noqa: SLF001
        stop = min(own_until, until) if own_until is not None else until
        if stop < self.start:
            return
        bounded = rule.replace(count=None, until=stop)
        seen = yielded = 0
        for naive in bounded:
            seen += 1
            if count is not None and seen > count:
                return
            if naive < since:
                continue
            yield naive
            yielded += 1
            if limit is not None and yielded >= limit:
                return

    def occurrences(self, after: dt.datetime, zone: dt.tzinfo, count: int) -> list[dt.datetime]:
        """The next `count` occurrences strictly after the aware `after`, as aware datetimes in `zone`."""
        if count <= 0:
            return []
        after_wall = wall_time(after, zone)
        # A wall time moved forward out of a spring gap can land after `after` though it is written before it.
        since = after_wall - dt.timedelta(hours=3)
        until = _horizon(after_wall)
        found: list[dt.datetime] = []
        for naive in self._walk(since, until):
            moment = localize(naive, zone)
            if moment > after and (not found or moment > found[-1]):
                found.append(moment)
                if len(found) >= count:
                    break
        return found

    def next_after(self, after: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
        found = self.occurrences(after, zone, 1)
        return found[0] if found else None

    def pattern(self) -> Pattern:
        """Which editor shape the rule is (custom when it is none of them)."""
        parts = rule_parts(self.rrule)
        try:
            start = self.start
        except ValueError:
            start = dt.datetime(2000, 1, 1)
        custom = Pattern("custom", start.hour, start.minute)
        hour = _single(parts.get("BYHOUR"), start.hour, 0, 23)
        minute = _single(parts.get("BYMINUTE"), start.minute, 0, 59)
        extra = set(parts) - {"FREQ", "BYHOUR", "BYMINUTE"}
        if parts.get("INTERVAL", "1") == "1":
            extra.discard("INTERVAL")
        if hour is None or minute is None or parts.get("BYSECOND", "0") != "0":
            return custom
        extra.discard("BYSECOND")
        freq = parts.get("FREQ", "").upper()
        if freq == "DAILY" and not extra:
            return Pattern("daily", hour, minute)
        if freq == "WEEKLY" and extra <= {"BYDAY"}:
            codes = [c.strip().upper() for c in parts.get("BYDAY", WEEKDAY_CODES[start.weekday()]).split(",")]
            if codes and all(c in WEEKDAY_CODES for c in codes):
                return Pattern("weekly", hour, minute, weekdays=tuple(sorted({WEEKDAY_CODES.index(c) for c in codes})))
            return custom
        if freq == "MONTHLY" and extra <= {"BYMONTHDAY", "BYSETPOS"}:
            days, setpos = parts.get("BYMONTHDAY", str(start.day)), parts.get("BYSETPOS")
            for clamped, listed in _CLAMPED_DAYS.items():
                if days == listed and setpos == "-1":
                    return Pattern("monthly", hour, minute, day=clamped)
            day = _single(days, None, -1, 31)
            if setpos is None and day is not None and day != 0:
                return Pattern("monthly", hour, minute, day=day)
        return custom

    def describe(self) -> str:
        """'Every day at 23:55', 'Every Monday and Thursday at 23:55', 'On day 1 of every month at 09:00', or
        'Custom: <rrule>'."""
        shape = self.pattern()
        at = _clock_text(shape.hour, shape.minute)
        if shape.kind == "daily":
            return f"Every day at {at}"
        if shape.kind == "weekly":
            if len(shape.weekdays) == 7:
                return f"Every day at {at}"
            return f"Every {_and([WEEKDAY_NAMES[d] for d in shape.weekdays])} at {at}"
        if shape.kind == "monthly" and shape.day is not None:
            if shape.day == -1:
                return f"On the last day of every month at {at}"
            if shape.day > 28:
                short = ("(the last day in shorter months)" if rule_parts(self.rrule).get("BYSETPOS") == "-1"
                         else "(months without it are skipped)")
                return f"On day {shape.day} of every month {short} at {at}"
            return f"On day {shape.day} of every month at {at}"
        return f"Custom: {self.rrule}"


def _horizon(moment: dt.datetime) -> dt.datetime:
    """How far from `moment` occurrences are looked for (never near the year 9999, where dateutil stops)."""
    last = dt.datetime(9000, 1, 1)
    return min(moment + HORIZON, last) if moment < last else last


def _month_days_exist(parts: dict[str, str]) -> bool:
    """False when BYMONTH and BYMONTHDAY name no real date (February 30th): dateutil would search such a rule
    until the year 9999, since its UNTIL is only checked against dates that match."""
    try:
        months = [int(m) for m in parts["BYMONTH"].split(",")]
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    except (KeyError, ValueError):
        return True
    longest = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}
    return any(abs(d) <= longest.get(m, 31) for m in months for d in days)


def _check_time(hour: int, minute: int) -> None:
    if not isinstance(hour, int) or not isinstance(minute, int) or not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError("A time of day is 00:00 to 23:59.")


def _single(value: str | None, default: int | None, low: int, high: int) -> int | None:
    """One whole number in [low, high] (the default when absent); None when it is a list or out of range."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if low <= number <= high else None


# -- the prerequisite ------------------------------------------------------------------------------------
def prerequisite_for(tracker: OptOutTracker, speaker_key: str, vendor: str) -> dict | None:
    """The opt-out a vendor requires before it obeys a spoken deletion, as the bridge stores it with a schedule.

    None for vendors without one. Otherwise {"name", "enabled", "recorded_at"}: enabled when an account of that
    vendor linked to the speaker (or, when none is linked, any account of that vendor) has the setting confirmed
    as "On"; recorded_at is that confirmation's time (the newest one), or, when none says "On", the time the
    setting was last recorded at all (as "Off"), or None when it never was.
    """
    vendor = normalise_vendor(vendor) or ""
    setting_id = PREREQUISITE_SETTING.get(vendor)
    if setting_id is None:
        return None
    setting = tracker.catalog.setting(setting_id)
    name = setting.title if setting is not None else PREREQUISITE_TITLE
    linked = [a for a in tracker.speaker_accounts(speaker_key) if a.vendor == vendor]
    accounts = linked or [a for a in tracker.accounts() if a.vendor == vendor]
    recorded = [c for a in accounts for target in dict.fromkeys(("", speaker_key))
                if (c := tracker.confirmation(a.account_id, setting_id, target)) is not None]
    on = [c for c in recorded if c.value == "On"]
    newest = max(on or recorded, key=lambda c: c.confirmed_at, default=None)
    return {"name": name, "enabled": bool(on), "recorded_at": newest.confirmed_at if newest else None}


def stale_prerequisites(schedules: Iterable[VoiceSchedule], tracker: OptOutTracker
                        ) -> list[tuple[VoiceSchedule, dict]]:
    """Schedules whose stored prerequisite no longer matches the opt-outs, with the fields that update them
    (send each with BridgeManager.save_deletion_schedule)."""
    stale = []
    for schedule in schedules:
        current = prerequisite_for(tracker, bridge_key(schedule.bridge_id, schedule.speaker_id), schedule.vendor)
        stored = schedule.prerequisite.to_json() if schedule.prerequisite is not None else None
        if current != stored:
            stale.append((schedule, {"prerequisite": current}))
    return stale


# -- the bridge's records ---------------------------------------------------------------------------------
def _field(data: Mapping[str, Any], key: str, kind: str, what: str, *, optional: bool = False,
           default: Any = None) -> Any:
    """data[key] checked to be of `kind` ("int", "float", "str", "bool"); ValueError naming the field."""
    if key not in data or data[key] is None:
        if optional:
            return default
        raise ValueError(f"{what} field {key!r} is missing")
    value = data[key]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what} field {key!r} is not a whole number: {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{what} field {key!r} is not a number: {value!r}")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{what} field {key!r} is not text: {value!r}")
        return value
    if not isinstance(value, bool):
        raise ValueError(f"{what} field {key!r} is not true/false: {value!r}")
    return value


#: What a finished run's outcome means, as a headline.
OUTCOME_TITLE: dict[str, str] = {
    "sent_and_uploaded": "Deleted: the speaker sent the command on",
    "no_upload_seen": "Not confirmed: no upload seen",
    "skipped": "Skipped",
}
#: What a running run is doing.
PHASE_TITLE: dict[str, str] = {
    "checking": "Checking",
    "lifting": "Lifting the mute",
    "playing": "Playing the phrase",
    "watching": "Watching for the upload",
    "restoring": "Restoring the mute",
    "done": "Finished",
}
FAILED_OUTCOMES = frozenset({"no_upload_seen", "skipped"})


@dataclass(frozen=True)
class VoiceRun:
    """One time a bridge played (or meant to play) a deletion phrase, and what came of it.

    Attributes:
        bridge_id / id: where it ran and the bridge's id for it (together, `key`).
        schedule_id: the schedule it ran for (None: "Run now").
        speaker_id, vendor, phrase: what was said to which speaker.
        occurrence: the time it was due (epoch s); started_at / finished_at: when it actually ran.
        state: "running" or "done"; phase: the step it is in ("checking" ... "done").
        outcome: None while running, then "sent_and_uploaded", "no_upload_seen" or "skipped".
        why: the bridge's plain explanation (also for successes).
        attempts: how often the phrase was played; activation_id / upload_bytes: the upload that proved it.
        mute_lifted / mute_restored: whether the bridge lifted the mute, and put it back (None: not yet / n/a).
    """

    bridge_id: str
    id: int
    speaker_id: str
    vendor: str
    phrase: str
    occurrence: float
    schedule_id: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    state: str = "running"
    phase: str = "checking"
    outcome: str | None = None
    why: str = ""
    attempts: int = 0
    activation_id: int | None = None
    upload_bytes: int | None = None
    mute_lifted: bool = False
    mute_restored: bool | None = None

    @classmethod
    def from_bridge(cls, bridge_id: str, data: Any) -> VoiceRun:
        """Build from the bridge's run JSON. Raises ValueError naming the bad field."""
        what = "deletion run"
        if not isinstance(data, Mapping):
            raise ValueError(f"{what} is a {type(data).__name__}, not an object")
        speaker_id = _field(data, "speaker_id", "str", what)
        if not speaker_id:
            raise ValueError(f"{what} field 'speaker_id' is empty")
        return cls(
            bridge_id=bridge_id,
            id=_field(data, "id", "int", what),
            schedule_id=_field(data, "schedule_id", "int", what, optional=True),
            speaker_id=speaker_id,
            vendor=_field(data, "vendor", "str", what, optional=True, default=""),
            phrase=_field(data, "phrase", "str", what, optional=True, default=""),
            occurrence=_field(data, "occurrence", "float", what),
            started_at=_field(data, "started_at", "float", what, optional=True),
            finished_at=_field(data, "finished_at", "float", what, optional=True),
            state=_field(data, "state", "str", what, optional=True, default="running"),
            phase=_field(data, "phase", "str", what, optional=True, default="checking"),
            outcome=_field(data, "outcome", "str", what, optional=True),
            why=_field(data, "why", "str", what, optional=True, default=""),
            attempts=_field(data, "attempts", "int", what, optional=True, default=0),
            activation_id=_field(data, "activation_id", "int", what, optional=True),
            upload_bytes=_field(data, "upload_bytes", "int", what, optional=True),
            mute_lifted=_field(data, "mute_lifted", "bool", what, optional=True, default=False),
            mute_restored=_field(data, "mute_restored", "bool", what, optional=True),
        )

    def to_json(self) -> dict[str, Any]:
        """The bridge's JSON for it (without bridge_id), as from_bridge reads it back."""
        return {
            "id": self.id, "schedule_id": self.schedule_id, "speaker_id": self.speaker_id, "vendor": self.vendor,
            "phrase": self.phrase, "occurrence": self.occurrence, "started_at": self.started_at,
            "finished_at": self.finished_at, "state": self.state, "phase": self.phase, "outcome": self.outcome,
            "why": self.why, "attempts": self.attempts, "activation_id": self.activation_id,
            "upload_bytes": self.upload_bytes, "mute_lifted": self.mute_lifted, "mute_restored": self.mute_restored,
        }

    @property
    def key(self) -> tuple[str, int]:
        return self.bridge_id, self.id

    @property
    def running(self) -> bool:
        return self.state != "done"

    @property
    def failed(self) -> bool:
        """It ended without proof the speaker obeyed: no upload seen, or skipped."""
        return self.outcome in FAILED_OUTCOMES

    @property
    def when(self) -> float:
        """When it ran (or was due, when it never started)."""
        return self.started_at if self.started_at is not None else self.occurrence

    @property
    def title(self) -> str:
        """A headline: 'Deleted: the speaker sent the command on', 'Skipped', or 'Running: playing the phrase'."""
        if self.running:
            return f"Running: {PHASE_TITLE.get(self.phase, self.phase).lower()}"
        if self.outcome is None:
            return "Finished"
        return OUTCOME_TITLE.get(self.outcome, self.outcome.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Prerequisite:
    """The opt-out a schedule depends on, as recorded in Earmuff when the schedule was last saved."""

    name: str
    enabled: bool
    recorded_at: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Prerequisite:
        what = "deletion schedule prerequisite"
        if not isinstance(data, Mapping):
            raise ValueError(f"{what} is a {type(data).__name__}, not an object")
        return cls(name=_field(data, "name", "str", what), enabled=_field(data, "enabled", "bool", what),
                   recorded_at=_field(data, "recorded_at", "float", what, optional=True))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "enabled": self.enabled, "recorded_at": self.recorded_at}


@dataclass(frozen=True)
class VoiceSchedule:
    """A deletion schedule on a bridge.

    Attributes:
        bridge_id / id: where it lives and the bridge's id for it.
        speaker_id, vendor, phrase: what is said to which speaker.
        audio: "tts" (the bridge synthesises the phrase) or "recording" (a WAV file `recording` on the bridge).
        rrule, dtstart: when, in the bridge's time zone (see `recurrence`).
        prerequisite: the opt-out it needs, as last recorded (None: the vendor needs none).
        enabled, label: in force or paused; the user's name for it.
        created_at: epoch s; next_runs: up to 3 coming occurrences (epoch s; empty when disabled).
        last_run: the newest run, if any.
    """

    bridge_id: str
    id: int
    speaker_id: str
    vendor: str
    phrase: str
    rrule: str
    dtstart: str
    audio: str = "tts"
    recording: str | None = None
    prerequisite: Prerequisite | None = None
    enabled: bool = True
    label: str = ""
    created_at: float = 0.0
    next_runs: tuple[float, ...] = ()
    last_run: VoiceRun | None = None

    @classmethod
    def from_bridge(cls, bridge_id: str, data: Any) -> VoiceSchedule:
        """Build from the bridge's schedule JSON. Raises ValueError naming the bad field."""
        what = "deletion schedule"
        if not isinstance(data, Mapping):
            raise ValueError(f"{what} is a {type(data).__name__}, not an object")
        next_runs = data.get("next_runs") or []
        if not isinstance(next_runs, list) or any(
                isinstance(t, bool) or not isinstance(t, (int, float)) for t in next_runs):
            raise ValueError(f"{what} field 'next_runs' is not a list of times: {next_runs!r}")
        try:
            prerequisite = Prerequisite.from_json(data["prerequisite"]) if data.get("prerequisite") else None
            last_run = VoiceRun.from_bridge(bridge_id, data["last_run"]) if data.get("last_run") else None
        except ValueError as error:
            raise ValueError(f"{what}: {error}") from None
        return cls(
            bridge_id=bridge_id,
            id=_field(data, "id", "int", what),
            speaker_id=_field(data, "speaker_id", "str", what),
            vendor=_field(data, "vendor", "str", what),
            phrase=_field(data, "phrase", "str", what),
            rrule=_field(data, "rrule", "str", what),
            dtstart=_field(data, "dtstart", "str", what),
            audio=_field(data, "audio", "str", what, optional=True, default="tts"),
            recording=_field(data, "recording", "str", what, optional=True),
            prerequisite=prerequisite,
            enabled=_field(data, "enabled", "bool", what, optional=True, default=True),
            label=_field(data, "label", "str", what, optional=True, default=""),
            created_at=_field(data, "created_at", "float", what, optional=True, default=0.0),
            next_runs=tuple(float(t) for t in next_runs),
            last_run=last_run,
        )

    @property
    def key(self) -> tuple[str, int]:
        return self.bridge_id, self.id

    @property
    def recurrence(self) -> Recurrence:
        return Recurrence(self.rrule, self.dtstart)

    def describe(self) -> str:
        """When it runs, in words ('Every day at 23:55')."""
        return self.recurrence.describe()

    def fields(self) -> dict[str, Any]:
        """The fields the API takes to create it again (everything the bridge does not compute)."""
        return {
            "speaker_id": self.speaker_id, "vendor": self.vendor, "phrase": self.phrase, "audio": self.audio,
            "recording": self.recording, "rrule": self.rrule, "dtstart": self.dtstart,
            "prerequisite": self.prerequisite.to_json() if self.prerequisite is not None else None,
            "enabled": self.enabled, "label": self.label,
        }


@dataclass(frozen=True)
class DeletionCapabilities:
    """What a bridge can do for voice deletions (GET /v1/deletions/capabilities).

    Attributes:
        tts / tts_detail: it can synthesise phrases (espeak-ng), and what it found.
        player / player_detail: it has an audio output to play them, and which.
        phrases: vendor -> the phrases it offers.
        recordings: WAV files of the user's own voice in the bridge's phrases folder.
    """

    tts: bool
    tts_detail: str = ""
    player: bool = False
    player_detail: str = ""
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    recordings: tuple[str, ...] = ()

    @classmethod
    def from_bridge(cls, data: Any) -> DeletionCapabilities:
        what = "deletion capabilities"
        if not isinstance(data, Mapping):
            raise ValueError(f"{what} are a {type(data).__name__}, not an object")
        phrases = data.get("phrases") or {}
        recordings = data.get("recordings") or []
        if not isinstance(phrases, Mapping) or any(
                not isinstance(v, list) or not all(isinstance(p, str) for p in v) for v in phrases.values()):
            raise ValueError(f"{what} field 'phrases' is not lists of text per vendor: {phrases!r}")
        if not isinstance(recordings, list) or not all(isinstance(r, str) for r in recordings):
            raise ValueError(f"{what} field 'recordings' is not a list of file names: {recordings!r}")
        return cls(
            tts=_field(data, "tts", "bool", what),
            tts_detail=_field(data, "tts_detail", "str", what, optional=True, default=""),
            player=_field(data, "player", "bool", what, optional=True, default=False),
            player_detail=_field(data, "player_detail", "str", what, optional=True, default=""),
            phrases={str(k): tuple(v) for k, v in phrases.items()},
            recordings=tuple(recordings),
        )

    @property
    def can_speak(self) -> bool:
        """It can say a synthesised phrase (a recording needs only the player)."""
        return self.tts and self.player


def _check_request(vendor: str, phrase: str, audio: str, recording: str | None) -> tuple[str, str]:
    vendor_id = normalise_vendor(vendor) or ""
    if vendor_id not in VOICE_VENDORS:
        raise ValueError(f"Spoken deletions work only for Amazon and Google speakers, not {_quote(vendor)}.")
    phrase = " ".join(str(phrase).split())
    if not phrase:
        raise ValueError("Write the phrase the speaker should hear.")
    if len(phrase) > MAX_PHRASE:
        raise ValueError(f"Keep the phrase under {MAX_PHRASE} characters.")
    if audio not in ("tts", "recording"):
        raise ValueError("The phrase is either spoken by the bridge (tts) or a recording.")
    if audio == "recording" and not recording:
        raise ValueError("Choose the recording the bridge should play.")
    return vendor_id, phrase


def run_fields(*, speaker_id: str, vendor: str, phrase: str, audio: str = "tts", recording: str | None = None,
               prerequisite: dict | None = None) -> dict[str, Any]:
    """The body of POST /v1/deletions/run (checked here first; ValueError in plain words)."""
    vendor_id, phrase = _check_request(vendor, phrase, audio, recording)
    return {"speaker_id": speaker_id, "vendor": vendor_id, "phrase": phrase, "audio": audio,
            "recording": recording if audio == "recording" else None, "prerequisite": prerequisite}


def schedule_fields(*, speaker_id: str, vendor: str, phrase: str, recurrence: Recurrence, audio: str = "tts",
                    recording: str | None = None, prerequisite: dict | None = None, enabled: bool = True,
                    label: str = "") -> dict[str, Any]:
    """The body of POST /v1/deletions/schedules (checked here first; ValueError in plain words)."""
    fields = run_fields(speaker_id=speaker_id, vendor=vendor, phrase=phrase, audio=audio, recording=recording,
                        prerequisite=prerequisite)
    recurrence.check()
    fields.update(rrule=recurrence.rrule, dtstart=recurrence.dtstart, enabled=bool(enabled),
                  label=" ".join(str(label).split()))
    return fields
