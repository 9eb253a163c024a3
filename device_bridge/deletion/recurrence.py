"""When a deletion schedule happens: an RFC 5545 RRULE and a DTSTART wall time in the bridge's time zone.

dateutil's rrule does the calendar arithmetic on naive wall times; only its results are placed in the
zone (zoneinfo), so "every day at 23:55" stays at 23:55 across DST changes:

* a wall time that does not exist (02:30 on a spring-forward day) happens at the first valid instant,
  the jump itself (03:00 CEST in Europe/Berlin);
* a wall time shown twice (02:30 on a fall-back day) means its first showing (fold=0);
* wall times that land on the same instant that way happen once.

Rules are checked when a schedule is saved (`Recurrence.parse`, ValueError in plain words): readable,
a plain DTSTART "YYYY-MM-DDTHH:MM[:SS]", at least one occurrence still to come, and never two occurrences
less than an hour apart (a deletion command is not something to say every few minutes).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from device_bridge.schedule import wall_to_epoch

MIN_GAP_S = 3600.0
#: How many coming occurrences `parse` looks at for two that are too close.
_CHECKED = 200
#: Naive wall times differ from instants by at most a day's offsets; queries are widened by this much.
_MARGIN = timedelta(hours=26)
_WALL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?")
_PREFIX = re.compile(r"(?i)^\s*RRULE:")


@dataclass(frozen=True)
class Recurrence:
    """An RRULE (without the "RRULE:" prefix) and its DTSTART wall time, "YYYY-MM-DDTHH:MM:SS".

    Build it with `parse` to have it checked; the occurrence methods expect a checked one.
    """

    rrule: str
    dtstart: str

    @classmethod
    def parse(cls, rule: str, dtstart: str, *, zone: ZoneInfo, now: float) -> Recurrence:
        """A checked Recurrence; ValueError saying what is wrong, in plain words."""
        start = parse_wall_time(dtstart)
        text = normalize_rule(rule)
        if not re.search(r"(^|;)FREQ=", text):
            raise ValueError(f"the rule {rule!r} cannot be read as an RFC 5545 RRULE: it needs a FREQ (it looks like "
                             "FREQ=DAILY;BYHOUR=23;BYMINUTE=55)")
        if re.search(r"(^|;)UNTIL=[0-9T]+Z", text):
            raise ValueError(f"the rule {rule!r} cannot be used: its UNTIL must be a wall time without \"Z\" (like "
                             "UNTIL=20271231T235900), as the start is")
        try:
            _rule(text, start)
        except ValueError as error:  # dateutil's own words ("unknown parameter 'FOO'") help
            raise ValueError(f"the rule {rule!r} cannot be read as an RFC 5545 RRULE: {error}") from None
        except (TypeError, KeyError, IndexError, OverflowError):
            raise ValueError(f"the rule {rule!r} cannot be read as an RFC 5545 RRULE (it looks like "
                             "FREQ=DAILY;BYHOUR=23;BYMINUTE=55)") from None
        recurrence = cls(text, start.isoformat(timespec="seconds"))
        walls = recurrence.walls_from(_wall(now, zone) - _MARGIN, _CHECKED + 64)
        upcoming = [w for w in walls if wall_to_epoch(w, zone) > now]
        if not upcoming:
            raise ValueError(f"this rule never happens again ({text}, starting {recurrence.dtstart})")
        for earlier, later in itertools.pairwise(upcoming):
            if (later - earlier).total_seconds() < MIN_GAP_S:
                raise ValueError(f"this rule runs more than once an hour ({earlier:%Y-%m-%d %H:%M} and then "
                                 f"{later:%H:%M}); a deletion can run at most once an hour")
        return recurrence

    def walls_from(self, wall: datetime, count: int) -> list[datetime]:
        """The first `count` occurrences (naive wall times) at or after `wall`."""
        rule = _rule(self.rrule, parse_wall_time(self.dtstart))
        return list(rule.xafter(wall, count=count, inc=True))

    def between(self, after: float, until: float, zone: ZoneInfo) -> list[float]:
        """The occurrences' instants t with after < t <= until, in order."""
        if until <= after:
            return []
        rule = _rule(self.rrule, parse_wall_time(self.dtstart))
        walls = rule.between(_wall(after, zone) - _MARGIN, _wall(until, zone) + _MARGIN, inc=True)
        instants = sorted({wall_to_epoch(w, zone) for w in walls})
        return [t for t in instants if after < t <= until]

    def next_after(self, after: float, zone: ZoneInfo, count: int = 1) -> list[float]:
        """The next `count` occurrences' instants after `after`, in order (fewer if the rule ends)."""
        found: list[float] = []
        wall = _wall(after, zone) - _MARGIN
        while len(found) < count:
            walls = self.walls_from(wall, count + 8)
            for instant in sorted({wall_to_epoch(w, zone) for w in walls}):
                if instant > after and instant not in found and len(found) < count:
                    found.append(instant)
            if len(walls) < count + 8:
                break
            wall = walls[-1] + timedelta(seconds=1)
        return found


def normalize_rule(rule: str) -> str:
    """The rule as stored: without an "RRULE:" prefix or surrounding spaces, upper case."""
    if not isinstance(rule, str) or not rule.strip():
        raise ValueError("say when the deletion runs: an RRULE like FREQ=DAILY;BYHOUR=23;BYMINUTE=55")
    text = _PREFIX.sub("", rule).strip().upper()
    if any(c.isspace() for c in text) or ":" in text:
        raise ValueError(f"the rule {rule!r} cannot be read as an RFC 5545 RRULE: give one RRULE line only "
                         "(DTSTART goes in its own field)")
    return text


def parse_wall_time(text: str) -> datetime:
    """A naive datetime from "YYYY-MM-DDTHH:MM[:SS]" (a wall time, no zone); ValueError otherwise."""
    match = _WALL_TIME.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'the start must be a wall time like "2026-11-27T23:55" (no time zone), not {text!r}')
    try:
        return datetime(*(int(part or 0) for part in match.groups()))
    except ValueError:
        raise ValueError(f"the start {text!r} is not a real date and time") from None


def local_time(instant: float, zone: ZoneInfo) -> str:
    """"23:55": the wall clock time of an instant in the zone."""
    return datetime.fromtimestamp(instant, zone).strftime("%H:%M")


def _wall(instant: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


@functools.lru_cache(maxsize=256)
def _rule(text: str, dtstart: datetime) -> rrule:
    """The parsed rule (cached, with dateutil's own occurrence cache: an hourly rule that began years ago is
    walked through once, not on every question)."""
    parsed = rrulestr(text, dtstart=dtstart, cache=True)
    if not isinstance(parsed, rrule):
        raise ValueError("give one RRULE only")
    return parsed
