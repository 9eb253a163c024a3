"""Deletion schedules and runs in the bridge's SQLite file (tables from store.py's migration 5).

Every write is durable (fsynced before it returns): a run's row is also the journal a restarted bridge
reads to put back a mute the run had lifted (recovery.py), so the row saying "lifting, it was muted"
must be on disk before the mute is touched. Runs are kept for a year (`prune_runs`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from device_bridge.deletion.model import DeletionRun, DeletionSchedule, Prerequisite

RUNS_KEPT_S = 365 * 86400.0

_SCHEDULE_COLUMNS = ("id", "speaker_id", "vendor", "phrase", "audio", "recording", "rrule", "dtstart", "prerequisite",
                     "enabled", "label", "created_at", "handled_until")
_RUN_COLUMNS = tuple(field.name for field in dataclasses.fields(DeletionRun))
_BOOLEAN = {"enabled", "mute_lifted", "mute_restored", "pre_muted"}


class DeletionRepository:
    """Reads and writes the deletion tables through a BridgeStore's connection (thread-safe as it is)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    # --- schedules -----------------------------------------------------------------------------------

    def schedules(self) -> list[DeletionSchedule]:
        rows = self._store.query(f"SELECT {', '.join(_SCHEDULE_COLUMNS)} FROM deletion_schedules ORDER BY id")
        return [_schedule(row) for row in rows]

    def schedule(self, schedule_id: int) -> DeletionSchedule | None:
        rows = self._store.query(f"SELECT {', '.join(_SCHEDULE_COLUMNS)} FROM deletion_schedules WHERE id = ?",
                                 (schedule_id,))
        return _schedule(rows[0]) if rows else None

    def add_schedule(self, fields: dict[str, Any], *, created_at: float) -> DeletionSchedule:
        """Store a new schedule from checked fields (model.check_schedule); nothing before `created_at` is due."""
        values = {**_schedule_values(fields), "created_at": created_at, "handled_until": created_at}
        with self._store.transaction() as conn:
            cursor = conn.execute(
                f"INSERT INTO deletion_schedules ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
            schedule_id = int(cursor.lastrowid)
        schedule = self.schedule(schedule_id)
        assert schedule is not None
        return schedule

    def update_schedule(self, schedule_id: int, fields: dict[str, Any], *,
                        handled_until: float | None = None) -> DeletionSchedule:
        """Replace a schedule's fields (a complete checked set); KeyError for an unknown id."""
        values = _schedule_values(fields)
        if handled_until is not None:
            values["handled_until"] = handled_until
        with self._store.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE deletion_schedules SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                (*values.values(), schedule_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(schedule_id)
        schedule = self.schedule(schedule_id)
        assert schedule is not None
        return schedule

    def set_handled(self, schedule_id: int, until: float) -> None:
        """Remember that the schedule's occurrences up to `until` have been acted on."""
        with self._store.transaction() as conn:
            conn.execute("UPDATE deletion_schedules SET handled_until = ? WHERE id = ?", (until, schedule_id))

    def delete_schedule(self, schedule_id: int) -> bool:
        """Remove a schedule (its runs stay in the history); False if there was none."""
        with self._store.transaction() as conn:
            return conn.execute("DELETE FROM deletion_schedules WHERE id = ?", (schedule_id,)).rowcount > 0

    # --- runs ----------------------------------------------------------------------------------------

    def add_run(self, run: DeletionRun) -> DeletionRun:
        """Store a new run (its `id` is ignored); returns it with the id it got."""
        values = _run_values(run)
        del values["id"]
        with self._store.transaction() as conn:
            cursor = conn.execute(
                f"INSERT INTO deletion_runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                tuple(values.values()),
            )
            return dataclasses.replace(run, id=int(cursor.lastrowid))

    def save_run(self, run: DeletionRun) -> DeletionRun:
        """Write every field of a stored run; returns it."""
        values = _run_values(run)
        del values["id"]
        with self._store.transaction() as conn:
            conn.execute(f"UPDATE deletion_runs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                         (*values.values(), run.id))
        return run

    def run(self, run_id: int) -> DeletionRun | None:
        rows = self._store.query(f"SELECT {', '.join(_RUN_COLUMNS)} FROM deletion_runs WHERE id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    def runs(self, after_id: int = 0, limit: int = 500) -> list[DeletionRun]:
        """Runs with an id above `after_id`, oldest first, at most `limit`."""
        rows = self._store.query(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM deletion_runs WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit))
        return [_run(row) for row in rows]

    def unfinished_runs(self) -> list[DeletionRun]:
        """Runs not done (queued or in progress when the bridge stopped), oldest first."""
        rows = self._store.query(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM deletion_runs WHERE state = 'running' ORDER BY id")
        return [_run(row) for row in rows]

    def last_runs(self) -> dict[int, DeletionRun]:
        """Each schedule's newest run, by schedule id."""
        rows = self._store.query(
            f"SELECT {', '.join(_RUN_COLUMNS)} FROM deletion_runs WHERE id IN "
            "(SELECT MAX(id) FROM deletion_runs WHERE schedule_id IS NOT NULL GROUP BY schedule_id)")
        return {run.schedule_id: run for run in map(_run, rows) if run.schedule_id is not None}

    def prune_runs(self, before: float) -> int:
        """Delete finished runs that ended before `before`; returns how many."""
        with self._store.transaction() as conn:
            return conn.execute("DELETE FROM deletion_runs WHERE state = 'done' AND finished_at < ?",
                                (before,)).rowcount


def _schedule_values(fields: dict[str, Any]) -> dict[str, Any]:
    prerequisite = Prerequisite.from_json(fields.get("prerequisite"))
    return {
        "speaker_id": fields["speaker_id"], "vendor": fields["vendor"], "phrase": fields["phrase"],
        "audio": fields["audio"], "recording": fields.get("recording"), "rrule": fields["rrule"],
        "dtstart": fields["dtstart"], "prerequisite": json.dumps(prerequisite.to_json()) if prerequisite else None,
        "enabled": int(fields.get("enabled", True)), "label": fields.get("label", ""),
    }


def _schedule(row: tuple) -> DeletionSchedule:
    values = dict(zip(_SCHEDULE_COLUMNS, row, strict=True))
    values["prerequisite"] = _prerequisite(values["prerequisite"])
    values["enabled"] = bool(values["enabled"])
    return DeletionSchedule(**values)


def _run_values(run: DeletionRun) -> dict[str, Any]:
    values = {name: getattr(run, name) for name in _RUN_COLUMNS}
    values["prerequisite"] = json.dumps(run.prerequisite.to_json()) if run.prerequisite else None
    for name in _BOOLEAN & set(values):
        if values[name] is not None:
            values[name] = int(values[name])
    return values


def _run(row: tuple) -> DeletionRun:
    values = dict(zip(_RUN_COLUMNS, row, strict=True))
    values["prerequisite"] = _prerequisite(values["prerequisite"])
    for name in _BOOLEAN & set(values):
        if values[name] is not None:
            values[name] = bool(values[name])
    return DeletionRun(**values)


def _prerequisite(text: str | None) -> Prerequisite | None:
    return Prerequisite.from_json(json.loads(text)) if text else None
