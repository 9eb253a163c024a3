"""After a crash or a power cut: put back every mute a voice deletion had lifted, before any pin is driven.

The service calls `recover_interrupted_runs` after opening the store and before it constructs the
BridgeEngine, so the engine restores the corrected state to the pins. It reads the runs journal:

* a run that had begun lifting (phase past "checking") gets its speaker's stored mute set back to the
  state from before the run (`pre_muted`; muted when unknown; a run only ever lifts a mute, so this only
  ever mutes), but only if the state still comes from a deletion (source "deletion"): a change someone
  made during the run stands. The run ends "skipped";
* a run still queued ends "skipped" too (it never touched the mute);
* and, failing closed, any stored state a deletion left unmuted without a journal row to explain it is
  muted.

A restored state takes back the source "schedule" when that was where the mute came from, so the engine's
window logic treats it as it would have without the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from device_bridge.deletion.model import DeletionRun
from device_bridge.deletion.repository import DeletionRepository
from device_bridge.mute.state import UNCONFIRMED, MuteState

log = logging.getLogger(__name__)

STOPPED_DURING = "the bridge stopped during the deletion; the mute was restored when it started again"
STOPPED_BEFORE = "the bridge stopped before the deletion began; the mute was not touched"
RESTORED_REASON = "voice deletion interrupted: mute restored when the bridge started again"


def recover_interrupted_runs(store: Any, *, clock: Callable[[], float] = time.time) -> list[DeletionRun]:
    """End the runs the bridge was in the middle of, restoring the mutes they had lifted; returns the ended runs."""
    repository = DeletionRepository(store)
    states = store.load_mute_states()
    now = clock()
    ended: list[DeletionRun] = []
    unfinished = repository.unfinished_runs()
    for run in unfinished:
        if run.phase == "checking":
            ended.append(repository.save_run(run.finished("skipped", STOPPED_BEFORE, now)))
            continue
        state = states.get(run.speaker_id)
        restored: bool | None = None
        if run.pre_muted is False:
            pass  # it was unmuted before: the run had nothing to lift (and recovery never unmutes)
        elif state is not None and state.source == "deletion":
            if not state.muted:
                state = _restored(state, True, run.pre_source, now)
                store.save_mute_state(state)
                states[run.speaker_id] = state
                log.warning("Voice deletion run %d was interrupted: %s is muted again", run.id, run.speaker_id)
            restored = True
        elif run.mute_lifted:
            restored = False  # changed by someone during the run: theirs stands
        ended.append(repository.save_run(run.finished("skipped", STOPPED_DURING, now, mute_restored=restored)))
    explained = {run.speaker_id for run in unfinished}
    for speaker_id, state in states.items():
        if state.source == "deletion" and not state.muted and speaker_id not in explained:
            log.warning("%s was left unmuted by a voice deletion with no record of it: muting it", speaker_id)
            store.save_mute_state(_restored(state, True, None, now))
    return ended


def _restored(state: MuteState, muted: bool, pre_source: str | None, now: float) -> MuteState:
    return MuteState(
        speaker_id=state.speaker_id, muted=muted, confirmation=UNCONFIRMED, sensed_muted=None, changed_at=now,
        reason=RESTORED_REASON, requested_by="bridge", source="schedule" if pre_source == "schedule" else "deletion",
        schedule_id=state.schedule_id,
    )
