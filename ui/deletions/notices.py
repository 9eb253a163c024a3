"""Tells about voice deletions that did not go through (a tray notification, or the status bar without a tray).

A run that ended `no_upload_seen` or `skipped` is told once, whether its news came live or in the sync after a
reconnect (only runs of the last day are told then: a first sync may bring a year of them). With the app's
VoiceRunRecorder behind the adapter, only runs the cache had not stored like that before count, so a run is not
told again after a restart. The bridge also raises an alarm when no upload was seen; that alarm is the same news,
so it is folded into this notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon

from app.deletions.voice import VoiceRun
from ui.tray import TrayIcon

log = logging.getLogger(__name__)

#: Runs synced after a reconnect are told only if they ended this recently.
SYNCED_WITHIN_S = 86400.0
#: A bridge alarm about a speaker this soon after (or during) its voice deletion is that deletion's news.
ALARM_WINDOW_S = 120.0
STATUS_MS = 15000


class VoiceRunNotifier(QObject):
    """Watches the bridge adapter's voice deletion runs and tells the failed ones once.

    Attributes:
        told: (bridge id, run id) of every run told this session.
        messages: what was told, oldest first (title, message).

    Signals:
        open_requested(): the user clicked a notice (show the Deletions page).
    """

    open_requested = Signal()

    def __init__(self, window: QMainWindow, tray: TrayIcon, adapter, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(window)
        self._window = window
        self._tray = tray
        self._adapter = adapter
        self._clock = clock
        self.told: set[tuple[str, int]] = set()
        self.messages: list[tuple[str, str]] = []
        self._active: dict[tuple[str, str], float] = {}  # (bridge, speaker) -> when its run was last heard of
        adapter.deletion_run.connect(self._heard)
        if adapter.saves_voice_runs:
            adapter.voice_runs_saved.connect(self.runs_saved)
        else:
            adapter.deletion_run.connect(self.run_event)
            adapter.deletion_runs_synced.connect(self.runs_synced)

    def _name(self, run: VoiceRun) -> str:
        try:
            return self._adapter.manager.speaker_name(run.bridge_id, run.speaker_id)
        except Exception:  # noqa: BLE001 - a name is a nicety
            return run.speaker_id

    @staticmethod
    def _parse(bridge_id: str, data: dict) -> VoiceRun | None:
        try:
            return VoiceRun.from_bridge(bridge_id, data)
        except (ValueError, TypeError) as error:
            log.debug("voice deletion run not understood: %s", error)
            return None

    def _heard(self, bridge_id: str, data: dict) -> None:
        speaker_id = data.get("speaker_id")
        if isinstance(speaker_id, str):
            self._active[(bridge_id, speaker_id)] = self._clock()

    def run_event(self, bridge_id: str, data: dict) -> None:
        """A bridge's live run news (used without a recorder)."""
        run = self._parse(bridge_id, data)
        if run is not None and run.state == "done" and run.failed:
            self._tell([run])

    def runs_synced(self, bridge_id: str, records: list) -> None:
        """Runs fetched on reconnecting (used without a recorder)."""
        self.runs_saved([run for run in (self._parse(bridge_id, data) for data in records) if run is not None])

    def runs_saved(self, runs: list) -> None:
        """Runs new to the app's cache, or changed: the failed ones of the last day are told."""
        since = self._clock() - SYNCED_WITHIN_S
        self._tell([run for run in runs if run.state == "done" and run.failed
                    and (run.finished_at or run.when or 0.0) >= since])

    def _tell(self, runs: list[VoiceRun]) -> list[str]:
        fresh = [run for run in runs if (run.bridge_id, run.id) not in self.told]
        if not fresh:
            return []
        lines = []
        for run in fresh:
            self.told.add((run.bridge_id, run.id))
            lines.append(f"{self._name(run)}: {run.title}. {run.why}".strip())
        skipped = all(run.outcome == "skipped" for run in fresh)
        noun = "Voice deletion" + ("s" if len(fresh) > 1 else "")
        title = f"{noun} skipped" if skipped else f"{noun} not confirmed"
        message = "\n".join(lines)
        self.messages.append((title, message))
        log.info("%s: %s", title, message.replace("\n", "; "))
        if not self._tray.notify(title, message, icon=QSystemTrayIcon.MessageIcon.Warning,
                                 on_click=self.open_requested.emit):
            self._window.statusBar().showMessage(f"{title}: {lines[0]}", STATUS_MS)
        return lines

    def absorbs_alarm(self, alarm) -> bool:
        """True for the bridge's own "no upload seen" warning about a voice deletion this notifier tells about (a
        speaker whose run is going on or just ended). Any other alarm, such as a mute that does not hold, is not
        folded."""
        if alarm.speaker_id is None or alarm.level != "warning" or "delet" not in alarm.message.casefold():
            return False
        heard = self._active.get((alarm.bridge_id, alarm.speaker_id))
        return heard is not None and self._clock() - heard <= ALARM_WINDOW_S
