"""Carries out the settings Earmuff enforces itself (app.optouts.local) through the bridges, records each in the
opt-out history, and undoes them with the opposite command. Keeps every bridge's schedules as last read."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from app.optouts.local import (
    BLOCK_UPLINK,
    DESTINATION_BLOCKS,
    QUIET_HOURS,
    LocalControl,
    local_controls,
    quiet_hours_fields,
)
from app.optouts.models import HistoryEntry
from app.optouts.speakers import SpeakerRef
from app.optouts.tracker import Action, OptOutTracker

log = logging.getLogger(__name__)


def schedule_json(schedule) -> dict:
    """A bridge Schedule as the history keeps it: its fields and its id."""
    return {**schedule.fields(), "id": schedule.id}


class BridgeEnforcer(QObject):
    """The page's link to the bridges for locally enforced settings.

    Attributes:
        adapter: the BridgeAdapter (None: no bridges in this window; every control says why).
        schedules: bridge id -> its schedules as last read (absent: not read yet).
        blocks: (bridge id, speaker id) -> its destination blocks as last read, or why they cannot be read.

    Signals:
        changed(): schedules were read, or a command finished: redraw the controls.
        finished(LocalControl, str error): a command for that control is done ("" when it worked).
        message(str): a note for the status bar.
    """

    changed = Signal()
    finished = Signal(object, str)
    message = Signal(str)

    def __init__(self, adapter, tracker: OptOutTracker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.adapter = adapter
        self.tracker = tracker
        self.schedules: dict[str, list] = {}
        self._reading: set[str] = set()
        self.blocks: dict[tuple[str, str], list | str] = {}
        self._reading_blocks: set[tuple[str, str]] = set()
        if adapter is not None:
            adapter.bridge_updated.connect(self._bridge_updated)
            adapter.bridge_removed.connect(self._bridge_removed)
            adapter.speaker_state.connect(lambda *_: self.changed.emit())
            adapter.schedules_changed.connect(self.read_schedules)
            if hasattr(adapter, "blocks_changed"):
                adapter.blocks_changed.connect(self.read_blocks)

    def statuses(self) -> dict:
        return {s.bridge_id: s for s in self.adapter.statuses()} if self.adapter is not None else {}

    def controls(self, speakers: list[SpeakerRef]) -> list[LocalControl]:
        """The controls for an account's speakers; reads the schedules of the bridges it has not read yet."""
        controls = local_controls(speakers, self.statuses(), self.schedules, self.blocks)
        for control in controls:
            speaker = control.speaker
            if speaker is not None and speaker.bridge_id not in self.schedules:
                self.read_schedules(speaker.bridge_id)
            if (speaker is not None and control.control_id == DESTINATION_BLOCKS
                    and (speaker.bridge_id, speaker.speaker_id) not in self.blocks):
                self.read_blocks(speaker.bridge_id, speaker.speaker_id)
        return controls

    # -- destination blocks ---------------------------------------------------------------------------------
    def read_blocks(self, bridge_id: str, speaker_id: str) -> None:
        """Ask an online bridge what it blocks for the speaker (once at a time); `changed` follows."""
        key = (bridge_id, speaker_id)
        if self.adapter is None or key in self._reading_blocks:
            return
        status = self.statuses().get(bridge_id)
        if status is None or not status.online:
            return
        self._reading_blocks.add(key)
        self.adapter.call("blocks", bridge_id, speaker_id, on_done=lambda outcome: self._blocks_read(key, outcome))

    def _blocks_read(self, key: tuple[str, str], outcome) -> None:
        self._reading_blocks.discard(key)
        if outcome.ok:
            self.blocks[key] = list(outcome.value)
        elif getattr(outcome.error, "status", None) == 404:
            self.blocks[key] = ("This bridge does not track destinations: add a [destinations] section to its "
                                "configuration (see the README's Pi set-up).")
        else:
            log.warning("could not read bridge %s's blocks for %s: %s", key[0], key[1], outcome.message)
            self.blocks.pop(key, None)
        self.changed.emit()

    # -- schedules ----------------------------------------------------------------------------------------
    def _bridge_updated(self, status) -> None:
        if not status.online:
            self.schedules.pop(status.bridge_id, None)
            self._forget_blocks(status.bridge_id)
        self.changed.emit()

    def _bridge_removed(self, bridge_id: str) -> None:
        self.schedules.pop(bridge_id, None)
        self._forget_blocks(bridge_id)
        self.changed.emit()

    def _forget_blocks(self, bridge_id: str) -> None:
        for key in [k for k in self.blocks if k[0] == bridge_id]:
            del self.blocks[key]

    def read_schedules(self, bridge_id: str) -> None:
        """Ask an online bridge for its schedules (once at a time); `changed` follows."""
        if self.adapter is None or bridge_id in self._reading:
            return
        status = self.statuses().get(bridge_id)
        if status is None or not status.online:
            return
        self._reading.add(bridge_id)
        self.adapter.call("schedules", bridge_id, on_done=lambda outcome: self._schedules_read(bridge_id, outcome))

    def _schedules_read(self, bridge_id: str, outcome) -> None:
        self._reading.discard(bridge_id)
        if outcome.ok:
            self.schedules[bridge_id] = list(outcome.value)
        else:
            log.warning("could not read bridge %s's schedules: %s", bridge_id, outcome.message)
            self.message.emit(f"Could not read the bridge's schedules: {outcome.message}")
        self.changed.emit()

    # -- commands -------------------------------------------------------------------------------------------
    def toggle(self, control: LocalControl, on: bool, start: str, end: str, account_id: int | None) -> None:
        """Turn a control on or off on its bridge; `finished` says how it went."""
        speaker = control.speaker
        if self.adapter is None or speaker is None or not control.enabled:
            self.finished.emit(control, control.reason or "No bridge can do this now.")
            return
        where = {"bridge_id": speaker.bridge_id, "speaker_id": speaker.speaker_id}
        via = f"(via {speaker.bridge_name})"
        if control.control_id == BLOCK_UPLINK:
            summary = f"{'Blocked' if on else 'Unblocked'} the internet uplink of {speaker.name} {via}"
            self.adapter.call(
                "set_mute", speaker.bridge_id, speaker.speaker_id, on,
                reason="Opt-outs: block its internet uplink" if on else "Opt-outs: unblock its uplink",
                on_done=lambda outcome: self._done(control, outcome, Action.BRIDGE_UPLINK, summary, account_id,
                                                   {**where, "muted": bool(control.active)}, {**where, "muted": on}))
        elif control.control_id == QUIET_HOURS and on:
            summary = f"Quiet hours {start}–{end} on for {speaker.name} {via}"
            self.adapter.call(
                "save_schedule", speaker.bridge_id, quiet_hours_fields(speaker.speaker_id, start, end),
                on_done=lambda outcome: self._done(
                    control, outcome, Action.BRIDGE_SCHEDULE, summary, account_id, {**where, "schedule": None},
                    {**where, "schedule": schedule_json(outcome.value)} if outcome.ok else None))
        elif control.control_id == QUIET_HOURS and control.schedule is not None:
            old = control.schedule
            summary = f"Quiet hours off for {speaker.name} {via}"
            self.adapter.call(
                "delete_schedule", speaker.bridge_id, old.id,
                on_done=lambda outcome: self._done(control, outcome, Action.BRIDGE_SCHEDULE, summary, account_id,
                                                   {**where, "schedule": schedule_json(old)},
                                                   {**where, "schedule": None}))
        else:
            self.finished.emit(control, "")

    def change_times(self, control: LocalControl, start: str, end: str, account_id: int | None) -> None:
        """Move the quiet hours already on the bridge."""
        speaker, old = control.speaker, control.schedule
        if self.adapter is None or speaker is None or old is None:
            self.finished.emit(control, "")
            return
        where = {"bridge_id": speaker.bridge_id, "speaker_id": speaker.speaker_id}
        summary = f"Quiet hours for {speaker.name} changed to {start}–{end} (via {speaker.bridge_name})"
        self.adapter.call(
            "save_schedule", speaker.bridge_id, quiet_hours_fields(speaker.speaker_id, start, end),
            schedule_id=old.id,
            on_done=lambda outcome: self._done(
                control, outcome, Action.BRIDGE_SCHEDULE, summary, account_id,
                {**where, "schedule": schedule_json(old)},
                {**where, "schedule": schedule_json(outcome.value)} if outcome.ok else None))

    def _done(self, control: LocalControl, outcome, action: Action, summary: str, account_id: int | None,
              before: dict, after: dict | None) -> None:
        if not outcome.ok:
            self.finished.emit(control, f"The bridge did not do it: {outcome.message}")
            self.message.emit(f"Could not change “{control.title}”: {outcome.message}")
            return
        self.tracker.record_bridge_change(action, summary, account_id=account_id,
                                          target=control.speaker.key if control.speaker else "",
                                          before=before, after=after)
        self.finished.emit(control, "")
        self.message.emit(f"{summary}. Undo with Ctrl+Z.")
        if action is Action.BRIDGE_SCHEDULE:
            self.read_schedules(before["bridge_id"])

    # -- undo --------------------------------------------------------------------------------------------------
    def undo(self, entry: HistoryEntry, on_done=None) -> None:
        """Send the command that reverses a recorded bridge change; mark it undone when the bridge agrees."""
        before, after = entry.before or {}, entry.after or {}
        bridge_id, speaker_id = before.get("bridge_id", ""), before.get("speaker_id", "")
        status = self.statuses().get(bridge_id)
        if self.adapter is None or status is None or not status.online:
            self.message.emit(f"Cannot undo “{entry.summary}” now: its bridge is not online.")
            return

        def done(outcome) -> None:
            if not outcome.ok:
                self.message.emit(f"Could not undo “{entry.summary}”: {outcome.message}")
                return
            self.tracker.mark_undone(entry)
            self.message.emit(f"Undone: {entry.summary}.")
            self.read_schedules(bridge_id)
            if on_done is not None:
                on_done()

        self.message.emit(f"Undoing “{entry.summary}” on the bridge…")
        if entry.action == Action.BRIDGE_UPLINK.value:
            self.adapter.call("set_mute", bridge_id, speaker_id, bool(before.get("muted")), reason="Opt-outs: undo",
                              on_done=done)
            return
        old, new = before.get("schedule"), after.get("schedule")
        fields = {k: v for k, v in (old or {}).items() if k != "id"}
        if new and not old:
            self.adapter.call("delete_schedule", bridge_id, int(new["id"]), on_done=done)
        elif old and not new:
            self.adapter.call("save_schedule", bridge_id, fields, on_done=done)
        elif old and new:
            self.adapter.call("save_schedule", bridge_id, fields, schedule_id=int(new["id"]), on_done=done)
