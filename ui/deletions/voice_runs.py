"""The voice deletion runs the app knows: its cache (ctx.voice_runs) plus what the bridges said since.

The app's recorder stores runs through the background writer, so a run a bridge has just reported may not
be in the cache yet when the page redraws; the feed keeps the bridges' latest word per run and puts it over
the cached copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.deletions.voice import VoiceRun

log = logging.getLogger(__name__)

RunKey = tuple[str, int]


def run_key(run: VoiceRun) -> RunKey:
    return (run.bridge_id, run.id)


def run_time(run: VoiceRun) -> float:
    """When a run happened: started, else its planned occurrence."""
    return run.when or 0.0


class VoiceRunFeed(QObject):
    """Voice runs, newest first, kept current from the bridge adapter's deletion events.

    Attributes:
        repository: the VoiceRunRepository (None: only what the bridges say this session).

    Signals:
        changed(): runs were added or changed.
        run_updated(object): a VoiceRun a bridge just reported (started, moved on to another phase, finished).
    """

    changed = Signal()
    run_updated = Signal(object)

    def __init__(self, repository=None, adapter=None, parent: QObject | None = None, *,
                 alive: Callable[[], bool] = lambda: True) -> None:
        """`alive()`: False once the app is closing (the cache is not read then)."""
        super().__init__(parent)
        self.repository = repository
        self._alive = alive
        self._live: dict[RunKey, VoiceRun] = {}
        if adapter is not None:
            adapter.deletion_run.connect(self.bridge_run)
            adapter.deletion_runs_synced.connect(self.bridge_runs)
            adapter.voice_runs_saved.connect(self.saved)

    def _parse(self, bridge_id: str, data: dict) -> VoiceRun | None:
        try:
            return VoiceRun.from_bridge(bridge_id, data)
        except (ValueError, TypeError) as error:
            log.warning("a voice deletion run from bridge %s could not be read: %s", bridge_id, error)
            return None

    def bridge_run(self, bridge_id: str, data: dict) -> VoiceRun | None:
        run = self._parse(bridge_id, data)
        if run is not None:
            self.update(run)
        return run

    def update(self, run: VoiceRun, *, announce_change: bool = True) -> bool:
        """A bridge's latest word on a run (an event, the cache's copy, or the answer when asked); True if it was
        news (then `run_updated` was emitted, and `changed` unless `announce_change` is False)."""
        known = self._live.get(run_key(run))
        if known == run or (known is not None and known.state == "done" and run.state != "done"):
            return False
        self._live[run_key(run)] = run
        self.run_updated.emit(run)
        if announce_change:
            self.changed.emit()
        return True

    def bridge_runs(self, bridge_id: str, records: list) -> None:
        runs = [run for run in (self._parse(bridge_id, data) for data in records) if run is not None]
        for run in runs:
            self._live[run_key(run)] = run
        if runs:
            self.changed.emit()

    def saved(self, runs: list) -> None:
        """The cache stored these (new or changed) runs; they are news like the bridges' own word."""
        for run in runs:
            self.update(run, announce_change=False)
        if runs:
            self.changed.emit()  # once for the batch

    def add(self, run: VoiceRun) -> VoiceRun:
        """A run a command just started (the bridge's answer); an event already newer wins."""
        known = self._live.get(run_key(run))
        if known is not None and (known.state == "done" or run.state != "done"):
            return known
        self._live[run_key(run)] = run
        self.changed.emit()
        return run

    def latest(self, bridge_id: str, run_id: int) -> VoiceRun | None:
        return self._live.get((bridge_id, run_id))

    def runs(self, limit: int = 100) -> list[VoiceRun]:
        found: dict[RunKey, VoiceRun] = {}
        if self.repository is not None and self._alive():
            try:
                for run in self.repository.recent(limit):
                    found[run_key(run)] = run
            except Exception:  # a closed or broken cache: show what the bridges said
                log.exception("could not read the cached voice deletion runs")
        found.update(self._live)
        return sorted(found.values(), key=lambda r: (run_time(r), r.id), reverse=True)[:limit]

    def running(self) -> list[VoiceRun]:
        return [run for run in self._live.values() if run.state != "done"]
