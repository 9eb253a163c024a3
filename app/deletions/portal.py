"""Deleting recordings by hand in a vendor's app or portal: the guides, and reminders to do it again.

Guides are data (`resources/deletions/portal_guides.json`, facts and sources in `SOURCE.md`), checked on
loading: a broken guide is left out and named by file and field, the others load. A `PortalTracker` keeps the
user's reminders ("delete my Alexa history on the 1st of every month") on the app's database: when each is due,
when it was last done, and a history of completions with notes. Reminders repeat by an RRULE in the
computer's time zone, with the same rules as the bridge's voice schedules (app.deletions.voice.Recurrence).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import tz as dateutil_tz

from app.deletions.models import PortalCompletion, PortalReminder
from app.deletions.voice import Recurrence
from app.resources import resource_path
from app.storage.database import Database
from app.storage.deletions_repo import PortalRepository

__all__ = ["GuideProblem", "PortalCompletion", "PortalGuide", "PortalReminder", "PortalTracker", "load_guides"]

log = logging.getLogger(__name__)

GUIDES_FILE = "portal_guides.json"
MAX_LABEL = 80
MAX_NOTE = 500
#: A completion may be stamped this far ahead of the clock (clocks of two machines disagree a little).
FUTURE_SLACK_S = 60.0

_UNSET: Any = object()


def guides_dir() -> Path:
    return resource_path("deletions")


@dataclass(frozen=True)
class PortalGuide:
    """How to delete recordings by hand with one vendor.

    Attributes:
        id: stable ("apple-siri-history"); reminders refer to it.
        vendor: the vendor id ("amazon", "google", "apple", "sonos").
        title: what it does, as a headline; scope: what gets deleted (one device, the account...).
        steps: what to do, in order.
        links: (label, url) pairs to open in the browser (https or mailto).
        sources: (source key, url) pairs the facts come from (see resources/deletions/SOURCE.md).
        last_verified: when the guide was last checked against its sources.
        suggested: the RRULE Earmuff suggests for a reminder ("FREQ=MONTHLY").
    """

    id: str
    vendor: str
    title: str
    scope: str
    steps: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    sources: tuple[tuple[str, str], ...]
    last_verified: dt.date
    suggested: str = "FREQ=MONTHLY"

    def suggested_recurrence(self, start: dt.date, hour: int = 10, minute: int = 0) -> Recurrence:
        """The suggested rule from `start` at hour:minute (monthly: on start's day, the month's last day in
        shorter months)."""
        rule = Recurrence.custom(self.suggested, f"{start.isoformat()}T{hour:02d}:{minute:02d}")
        shape = rule.pattern()
        if shape.kind == "daily":
            return Recurrence.daily(shape.hour, shape.minute, start)
        if shape.kind == "weekly":
            return Recurrence.weekly(shape.weekdays, shape.hour, shape.minute, start)
        if shape.kind == "monthly" and shape.day is not None:
            return Recurrence.monthly(shape.day, shape.hour, shape.minute, start)
        return rule


@dataclass(frozen=True)
class GuideProblem:
    """Something wrong in the guides file: which file, which field, what; `skipped` says what was left out."""

    file: str
    field: str
    message: str
    skipped: str = ""

    def __str__(self) -> str:
        tail = f" ({self.skipped} left out)" if self.skipped else ""
        return f"{self.file}: {self.field}: {self.message}{tail}"


class _Broken(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _text(entry: dict, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Broken(f"{where}.{key}", "must be non-empty text")
    return value.strip()


def _guide(entry: Any, where: str, sources: dict[str, str]) -> PortalGuide:
    if not isinstance(entry, dict):
        raise _Broken(where, "must be an object")
    guide_id = _text(entry, "id", where)
    steps = entry.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        raise _Broken(f"{where}.steps", "must be a non-empty list of text")
    links = entry.get("links", [])
    if not isinstance(links, list):
        raise _Broken(f"{where}.links", "must be a list")
    pairs = []
    for index, link in enumerate(links):
        if not isinstance(link, dict):
            raise _Broken(f"{where}.links[{index}]", "must be an object with label and url")
        label, url = _text(link, "label", f"{where}.links[{index}]"), _text(link, "url", f"{where}.links[{index}]")
        if not url.startswith(("https://", "mailto:")):
            raise _Broken(f"{where}.links[{index}].url", f"{url!r} is not an https or mailto address")
        pairs.append((label, url))
    keys = entry.get("sources")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise _Broken(f"{where}.sources", "must be a non-empty list of source keys")
    unknown = [k for k in keys if k not in sources]
    if unknown:
        raise _Broken(f"{where}.sources", f"{', '.join(unknown)} not in the file's sources")
    try:
        verified = dt.date.fromisoformat(_text(entry, "last_verified", where))
    except ValueError:
        raise _Broken(f"{where}.last_verified", "must be a date like 2026-11-27") from None
    suggested = entry.get("suggested", "FREQ=MONTHLY")
    try:
        Recurrence.custom(suggested, "2026-01-01T10:00")
    except ValueError as error:
        raise _Broken(f"{where}.suggested", str(error)) from None
    return PortalGuide(id=guide_id, vendor=_text(entry, "vendor", where).casefold(), title=_text(entry, "title", where),
                       scope=_text(entry, "scope", where), steps=tuple(s.strip() for s in steps), links=tuple(pairs),
                       sources=tuple((k, sources[k]) for k in keys), last_verified=verified, suggested=suggested)


def load_guides(directory: str | Path | None = None, *,
                problems: list[GuideProblem] | None = None) -> list[PortalGuide]:
    """The guides in `directory` (default resources/deletions). Problems are logged and, when a list is given,
    appended to `problems`; a broken guide is left out, the others load."""
    path = Path(directory) if directory is not None else guides_dir()
    path = path / GUIDES_FILE
    found: list[GuideProblem] = []
    guides: list[PortalGuide] = []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("guides"), list):
            raise ValueError("it has no list of guides")
        sources = data.get("sources") or {}
        if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
            raise ValueError("its sources are not a table of key -> url")
    except (OSError, ValueError) as error:
        found.append(GuideProblem(path.name, "(the whole file)", str(error), "every guide"))
    else:
        seen: set[str] = set()
        for index, entry in enumerate(data["guides"]):
            where = f"guides[{index}]"
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                where += f" ({entry['id']})"
            try:
                guide = _guide(entry, where, sources)
                if guide.id in seen:
                    raise _Broken(f"{where}.id", f"{guide.id!r} is used twice")
            except _Broken as error:
                found.append(GuideProblem(path.name, error.field, str(error), f"guide {where}"))
                continue
            seen.add(guide.id)
            guides.append(guide)
    for problem in found:
        log.warning("deletion guides: %s", problem)
    if problems is not None:
        problems.extend(found)
    return guides


def _zone(zone: dt.tzinfo | str | None) -> dt.tzinfo:
    if isinstance(zone, str):
        return ZoneInfo(zone)
    return zone if zone is not None else dateutil_tz.tzlocal()


class PortalTracker:
    """Portal reminders: when each is due, marking them done, removing with undo, and their history.

    Qt-free; call it from one thread (the GUI's: each change is one small transaction). Listeners (plain
    callables) are called after every change, outside any transaction.

    Attributes:
        guides: guide id -> PortalGuide.
        repo: the PortalRepository it writes through.
        zone: the time zone reminders are in (the computer's by default).
    """

    def __init__(self, db: Database | sqlite3.Connection | PortalRepository, guides: Iterable[PortalGuide], *,
                 clock: Callable[[], float] = time.time, zone: dt.tzinfo | str | None = None) -> None:
        self.repo = db if isinstance(db, PortalRepository) else PortalRepository(db)
        self.guides: dict[str, PortalGuide] = {g.id: g for g in guides}
        self.clock = clock
        self.zone = _zone(zone)
        self._listeners: list[Callable[[], None]] = []

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # noqa: BLE001 - one listener must not stop the others
                log.exception("portal reminder listener %r failed", listener)

    # -- reading -------------------------------------------------------------------------------------
    def guide(self, guide_id: str) -> PortalGuide | None:
        return self.guides.get(guide_id)

    def guides_for(self, vendor: str) -> list[PortalGuide]:
        return [g for g in self.guides.values() if g.vendor == vendor.casefold()]

    def title(self, reminder: PortalReminder) -> str:
        """The reminder's label, else its guide's title."""
        guide = self.guides.get(reminder.guide_id)
        return reminder.label or (guide.title if guide is not None else reminder.guide_id)

    def reminders(self) -> list[PortalReminder]:
        """Every reminder, the soonest due first (those that never come again last)."""
        return sorted(self.repo.reminders(),
                      key=lambda r: (r.next_due is None, r.next_due if r.next_due is not None else 0.0, r.id))

    def reminder(self, reminder_id: int) -> PortalReminder:
        found = self.repo.reminder(reminder_id)
        if found is None:
            raise KeyError(f"There is no reminder {reminder_id} any more.")
        return found

    def due(self, now: float | None = None) -> list[PortalReminder]:
        """Reminders due at `now` (default: the clock) or overdue, the longest overdue first."""
        now = self.clock() if now is None else now
        return [r for r in self.reminders() if r.is_due(now)]

    def history(self, reminder_id: int | None = None) -> list[PortalCompletion]:
        """Completions, newest first: of one reminder (also a removed one), or of all."""
        return self.repo.completions(reminder_id)

    def next_due(self, recurrence: Recurrence, after: float) -> float | None:
        """The first occurrence strictly after `after` (epoch seconds), in the tracker's zone."""
        moment = recurrence.next_after(dt.datetime.fromtimestamp(after, self.zone), self.zone)
        return moment.timestamp() if moment is not None else None

    # -- writing ---------------------------------------------------------------------------------------
    def add(self, guide_id: str, recurrence: Recurrence, label: str = "", speaker_key: str = "") -> PortalReminder:
        """Remind of a guide by `recurrence`, first at its next occurrence. ValueError in plain words."""
        if guide_id not in self.guides:
            raise ValueError(f"Earmuff has no deletion guide called {guide_id!r}.")
        now = self.clock()
        recurrence.check(dt.datetime.fromtimestamp(now, self.zone), self.zone)
        reminder = PortalReminder(id=0, guide_id=guide_id, label=_clean_label(label), recurrence=recurrence,
                                  speaker_key=str(speaker_key), created_at=now,
                                  next_due=self.next_due(recurrence, now))
        with self.repo.transaction():
            reminder = replace(reminder, id=self.repo.insert(reminder))
        self._changed()
        return reminder

    def update(self, reminder_id: int, *, recurrence: Recurrence | None = _UNSET, label: str | None = _UNSET,
               speaker_key: str | None = _UNSET) -> PortalReminder:
        """Change a reminder. A new recurrence counts from now: it is next due at its first occurrence after now."""
        reminder = self.reminder(reminder_id)
        changes: dict[str, Any] = {}
        if label is not _UNSET and label is not None:
            changes["label"] = _clean_label(label)
        if speaker_key is not _UNSET and speaker_key is not None:
            changes["speaker_key"] = str(speaker_key)
        if recurrence is not _UNSET and recurrence is not None and recurrence != reminder.recurrence:
            now = self.clock()
            recurrence.check(dt.datetime.fromtimestamp(now, self.zone), self.zone)
            changes.update(recurrence=recurrence, next_due=self.next_due(recurrence, now))
        if not changes:
            return reminder
        updated = replace(reminder, **changes)
        with self.repo.transaction():
            self.repo.update(updated)
        self._changed()
        return updated

    def remove(self, reminder_id: int) -> PortalReminder:
        """Remove a reminder (its history stays); returns it, for `restore`."""
        reminder = self.reminder(reminder_id)
        with self.repo.transaction():
            self.repo.delete(reminder_id)
        self._changed()
        return reminder

    def restore(self, reminder: PortalReminder) -> PortalReminder:
        """Undo a removal: the reminder comes back as it was, under its own id, with its history."""
        if self.repo.reminder(reminder.id) is not None:
            raise ValueError("That reminder exists already.")
        with self.repo.transaction():
            self.repo.restore(reminder)
        self._changed()
        return reminder

    def mark_done(self, reminder_id: int, note: str = "", when: float | None = None) -> PortalCompletion:
        """Record that the deletion was done at `when` (default now), with a note. It is next due at the first
        occurrence after that (after the latest completion, when an older one is recorded late)."""
        reminder = self.reminder(reminder_id)
        now = self.clock()
        when = now if when is None else float(when)
        if when > now + FUTURE_SLACK_S:
            raise ValueError("That time is still to come; mark it done once it is done.")
        latest = max(when, reminder.last_done_at) if reminder.last_done_at is not None else when
        updated = replace(reminder, last_done_at=latest, next_due=self.next_due(reminder.recurrence, latest))
        completion = PortalCompletion(id=0, reminder_id=reminder.id, guide_id=reminder.guide_id, done_at=when,
                                      note=str(note).strip()[:MAX_NOTE], recorded_at=now)
        with self.repo.transaction():
            completion = replace(completion, id=self.repo.add_completion(completion))
            self.repo.update(updated)
        self._changed()
        return completion


def _clean_label(label: str) -> str:
    cleaned = " ".join(str(label).split())
    if len(cleaned) > MAX_LABEL:
        raise ValueError(f"Keep the name under {MAX_LABEL} characters.")
    return cleaned
