"""Voice deletions on the bridge: at a schedule's time (or when a client asks), unmute the speaker, say the
vendor's delete command through the bridge's loudspeaker, watch the speaker's traffic for the upload that
carries it, and put the mute back.

    DeletionRunner thread (one run at a time: there is one loudspeaker)
        tick: each schedule's due occurrence -> a queued run (one missed by 30 minutes or more, because
              the bridge was off, is recorded "skipped" instead) -> runs the queued runs in order
        run:  checking -> lifting -> playing -> watching [-> playing -> watching] -> restoring -> done

A run:

1. checking: the speaker exists; the vendor setting it needs (the schedule's `prerequisite`) is recorded
   as on; the phrase can be spoken (espeak-ng) or the recording is a usable WAV; there is an audio
   output; the bridge measures the speaker's traffic; the speaker is not uploading already (else up to a
   minute's wait).
   Any of these failing ends the run "skipped", saying why.
2. lifting: the run is journaled durably (phase "lifting", the mute as it was) BEFORE the mute is touched;
   a muted speaker is unmuted (source "deletion") and given `unmute_settle_s` for its microphone to wake.
3. playing: the phrase plays; the TrafficMonitor expects an upload from play start until `watch_s` after
   play end (device_bridge/traffic/monitor.py, flag "deletion_command").
4. watching: an activation of that speaker starting in that window is the proof. Without one the phrase
   plays once more and is watched again; still nothing: "no_upload_seen" and a warning alarm.
5. restoring (in a `finally`, so playback errors, bugs and a stopping bridge restore too): if the mute
   is still the deletion's, it goes back to what it was. If someone changed it meanwhile (the app, an
   override button, a schedule window that began), their choice stands and, unless the upload was
   already seen, the run ends "skipped".

A bridge killed mid-run comes back with the mute restored: see recovery.py. Every wait goes through the
`sleep` hook (by default an Event that `stop()` sets) and is measured on `monotonic`, so tests drive a run
with a fake clock and a stop interrupts any wait but the phrase itself.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from device_bridge.config import DeletionConfig
from device_bridge.deletion.model import DeletionRun, DeletionSchedule, check_command, check_schedule
from device_bridge.deletion.phrases import (
    CACHE_DIR,
    VOICE_PHRASES,
    PhraseAudio,
    PhraseAudioError,
    PhraseSynthesizer,
    recording,
    recordings,
)
from device_bridge.deletion.player import PlaybackError, Player
from device_bridge.deletion.recovery import STOPPED_BEFORE
from device_bridge.deletion.recurrence import local_time
from device_bridge.deletion.repository import RUNS_KEPT_S, DeletionRepository

log = logging.getLogger(__name__)

REQUESTED_BY = "scheduled deletion"
RESTORED_REASON = "voice deletion finished: mute restored"
#: A due occurrence later than this (the bridge was off) is recorded as missed, not run.
MISSED_AFTER_S = 1800.0
#: How long a speaker that is already uploading may keep the run waiting.
BUSY_WAIT_S = 60.0
#: An activation is confirmed 1.5-4 s after it starts, and may start up to 2 s after the window: the watch
#: goes on this long after the window closes.
WATCH_GRACE_S = 6.0
#: After the proof, the mute stays lifted until the upload ends (so the command gets through), at most this.
UPLOAD_END_WAIT_S = 60.0
NEXT_RUNS = 3
_STEP_S = 0.1
_PLAN_AT_LEAST_EVERY_S = 60.0
_PRUNE_EVERY_S = 86400.0
_STOP_TIMEOUT_S = 30.0


class RunInProgress(Exception):
    """The speaker already has a voice deletion queued or in progress."""


class _Stopped(Exception):
    """The bridge is stopping: the run ends (its mute restored)."""


class _Skip(Exception):
    """A check failed: the run ends "skipped" without touching the mute."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _MuteChanged(Exception):
    """Someone else changed the speaker's mute during the run."""

    def __init__(self, state: Any) -> None:
        super().__init__(state.speaker_id)
        self.state = state


@dataclass
class _Progress:
    """What one run has seen so far (the runner's thread only)."""

    expectations: list[Any] = field(default_factory=list)
    proof: Any = None  # the UploadExpectation an activation met
    phrase_end: float = 0.0


class DeletionRunner:
    """Runs the bridge's voice deletions; the API talks to this.

    Attributes:
        player: the loudspeaker (a Player).
        synthesizer: speaks phrases into WAV files (espeak-ng).
        data_dir: the bridge's data directory (its `phrases` folder holds users' recordings).
    """

    def __init__(
        self,
        engine: Any,
        store: Any,
        *,
        data_dir: Path,
        player: Player,
        config: DeletionConfig | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] | None = None,
        tick_interval_s: float = 1.0,
        thread: bool = True,
        synthesizer: PhraseSynthesizer | None = None,
        busy_wait_s: float = BUSY_WAIT_S,
    ) -> None:
        """`engine`: the started BridgeEngine (mutes, events, monitor, config). `sleep(seconds)`: every wait of
        a run (default: a wait that `stop()` ends early). Without `thread`, nothing runs until someone calls
        `tick()`, which then runs the queued runs on the caller's thread (tests)."""
        self._engine = engine
        self._repository = DeletionRepository(store)
        self._config = config or getattr(engine.config, "deletion", None) or DeletionConfig()
        self._zone = ZoneInfo(engine.config.timezone)
        self._names = {s.id: s.name for s in engine.config.speakers}
        self.data_dir = Path(data_dir)
        self.player = player
        self.synthesizer = synthesizer or PhraseSynthesizer(
            self.data_dir / CACHE_DIR, voice=self._config.voice, speed=self._config.speed)
        self._clock = clock
        self._monotonic = monotonic
        self._halt = threading.Event()
        self._sleep = sleep if sleep is not None else self._halt.wait
        self._tick_interval_s = tick_interval_s
        self._busy_wait_s = busy_wait_s
        self._use_thread = thread

        self._lock = threading.Lock()  # the queue, the busy speakers, the active run, planning times
        self._edit_lock = threading.Lock()  # schedule edits and planning, one at a time
        self._work_lock = threading.Lock()  # one run at a time
        self._queue: collections.deque[DeletionRun] = collections.deque()
        self._busy: dict[str, int] = {}  # speaker id -> id of its queued or active run
        self._active: DeletionRun | None = None
        self._next_due = -math.inf
        self._last_planned = -math.inf
        self._last_pruned = -math.inf
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopping = False

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Deal with occurrences missed while the bridge was off, then start the thread."""
        if self._started:
            raise RuntimeError("a DeletionRunner starts once")
        self._started = True
        self._plan(self._clock())
        if self._use_thread:
            self._thread = threading.Thread(target=self._loop, name="earmuff-bridge-deletions", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the run in progress (its mute restored) and the thread; queued runs end "skipped". Idempotent.

        Call it before the engine stops: restoring a mute needs the engine."""
        if self._stopping:
            return
        self._stopping = True
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.error("The voice deletion thread did not stop within %.0f s", _STOP_TIMEOUT_S)
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
        for run in queued:
            self._finish(run, "skipped", STOPPED_BEFORE)

    def __enter__(self) -> DeletionRunner:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def tick(self, now: float | None = None) -> None:
        """Queue the schedules' due occurrences (as of `now`, default the clock), then run what is queued.
        The runner's thread calls this every `tick_interval_s`."""
        if not self._started or self._stopping:
            return
        now = self._clock() if now is None else now
        with self._lock:
            due = (now >= self._next_due or now < self._last_planned
                   or now - self._last_planned >= _PLAN_AT_LEAST_EVERY_S)
        if due:
            self._plan(now)
        self._work()

    def _loop(self) -> None:
        while not self._stopping:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("Voice deletion tick failed; trying again at the next one")
            self._wake.wait(self._tick_interval_s)
            self._wake.clear()

    # --- what the API asks ---------------------------------------------------------------------------

    def capabilities(self) -> dict[str, Any]:
        """Whether the bridge can speak (espeak-ng) and play (an audio output), the vendors' phrases, and the
        users' recordings."""
        tts, tts_detail = self.synthesizer.status()
        player, player_detail = self.player.status()
        return {"tts": tts, "tts_detail": tts_detail, "player": player, "player_detail": player_detail,
                "phrases": {vendor: list(phrases) for vendor, phrases in VOICE_PHRASES.items()},
                "recordings": recordings(self.data_dir)}

    def schedules(self) -> list[dict[str, Any]]:
        """Every schedule as the API shows it (with its next runs and its last run), by id."""
        last = self._repository.last_runs()
        now = self._clock()
        return [self._schedule_json(s, last.get(s.id), now) for s in self._repository.schedules()]

    def schedule(self, schedule_id: int) -> dict[str, Any]:
        """One schedule as the API shows it; KeyError for an unknown id."""
        found = self._repository.schedule(schedule_id)
        if found is None:
            raise KeyError(schedule_id)
        return self._schedule_json(found, self._repository.last_runs().get(schedule_id), self._clock())

    def add_schedule(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new schedule; ValueError in plain words for anything wrong."""
        now = self._clock()
        with self._edit_lock:
            clean = check_schedule(fields, speakers=self._names, data_dir=self.data_dir, zone=self._zone, now=now)
            schedule = self._repository.add_schedule(clean, created_at=now)
        log.info("Voice deletion schedule %d: %r to %s, %s from %s", schedule.id, schedule.phrase,
                 schedule.speaker_id, schedule.rrule, schedule.dtstart)
        self._replan()
        return self._schedule_json(schedule, None, now)

    def update_schedule(self, schedule_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Change some fields; KeyError for an unknown id, ValueError for anything wrong. A new rule (or a
        schedule enabled again) counts from now: nothing before is due."""
        now = self._clock()
        with self._edit_lock:
            current = self._repository.schedule(schedule_id)
            if current is None:
                raise KeyError(schedule_id)
            clean = check_schedule(fields, speakers=self._names, data_dir=self.data_dir, zone=self._zone, now=now,
                                   current=current)
            fresh = ((clean["rrule"], clean["dtstart"]) != (current.rrule, current.dtstart)
                     or (clean["enabled"] and not current.enabled))
            schedule = self._repository.update_schedule(schedule_id, clean, handled_until=now if fresh else None)
        self._replan()
        return self._schedule_json(schedule, self._repository.last_runs().get(schedule_id), now)

    def delete_schedule(self, schedule_id: int) -> None:
        """Remove a schedule (a run of it already queued still runs); KeyError for an unknown id."""
        with self._edit_lock:
            if not self._repository.delete_schedule(schedule_id):
                raise KeyError(schedule_id)
        self._replan()

    def run_now(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Queue a run now (speaker_id, vendor, phrase, audio, recording, prerequisite); returns it as the API
        shows it. ValueError for anything wrong, RunInProgress if the speaker has one queued or running."""
        if self._stopping:
            raise RuntimeError("the bridge is stopping")
        clean = check_command(fields, speakers=self._names, data_dir=self.data_dir)
        return self._enqueue(clean, schedule_id=None, occurrence=self._clock()).to_json()

    def runs(self, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """Runs after `after_id`, oldest first, as the API shows them."""
        return [run.to_json() for run in self._repository.runs(after_id, limit)]

    def active(self) -> DeletionRun | None:
        """The run in progress, as of its last step (None between runs)."""
        with self._lock:
            return self._active

    def _schedule_json(self, schedule: DeletionSchedule, last: DeletionRun | None, now: float) -> dict[str, Any]:
        next_runs: list[float] = []
        if schedule.enabled:
            try:
                next_runs = schedule.recurrence.next_after(now, self._zone, NEXT_RUNS)
            except ValueError:
                log.warning("Voice deletion schedule %d has a rule that cannot be read", schedule.id)
        return schedule.to_json(next_runs=next_runs, last_run=last)

    # --- planning ------------------------------------------------------------------------------------

    def _replan(self) -> None:
        with self._lock:
            self._next_due = -math.inf
        self._wake.set()

    def _plan(self, now: float) -> None:
        """Act on every schedule's occurrences since it was last handled, and note when the next one is due."""
        next_due = math.inf
        with self._edit_lock:
            for schedule in self._repository.schedules():
                if not schedule.enabled:
                    continue
                try:
                    due = schedule.recurrence.between(schedule.handled_until, now, self._zone)
                    coming = schedule.recurrence.next_after(now, self._zone, 1)
                except ValueError:
                    log.warning("Voice deletion schedule %d has a rule that cannot be read", schedule.id)
                    continue
                if due:
                    self._due(schedule, due[-1], now)
                if coming:
                    next_due = min(next_due, coming[0])
        with self._lock:
            self._next_due = next_due
            self._last_planned = now
        if now - self._last_pruned >= _PRUNE_EVERY_S or now < self._last_pruned:
            self._last_pruned = now
            pruned = self._repository.prune_runs(now - RUNS_KEPT_S)
            if pruned:
                log.info("Forgot %d voice deletion runs older than a year", pruned)

    def _due(self, schedule: DeletionSchedule, occurrence: float, now: float) -> None:
        """The schedule's latest occurrence up to now: run it, or record it as missed when too late."""
        self._repository.set_handled(schedule.id, now)
        fields = {"speaker_id": schedule.speaker_id, "vendor": schedule.vendor, "phrase": schedule.phrase,
                  "audio": schedule.audio, "recording": schedule.recording, "prerequisite": schedule.prerequisite}
        if now - occurrence >= MISSED_AFTER_S:
            why = f"the bridge was not running at {local_time(occurrence, self._zone)}"
            self._record_skipped(fields, schedule.id, occurrence, why)
            return
        try:
            self._enqueue(fields, schedule_id=schedule.id, occurrence=occurrence)
        except RunInProgress:
            self._record_skipped(fields, schedule.id, occurrence,
                                 "another voice deletion for this speaker was still running")

    def _record_skipped(self, fields: dict[str, Any], schedule_id: int, occurrence: float, why: str) -> None:
        log.warning("Voice deletion for %s skipped: %s", fields["speaker_id"], why)
        run = self._repository.add_run(_new_run(fields, schedule_id, occurrence))
        self._finish(run, "skipped", why)

    def _enqueue(self, fields: dict[str, Any], *, schedule_id: int | None, occurrence: float) -> DeletionRun:
        with self._lock:
            if fields["speaker_id"] in self._busy:
                raise RunInProgress(fields["speaker_id"])
            run = self._repository.add_run(_new_run(fields, schedule_id, occurrence))
            self._busy[run.speaker_id] = run.id
            self._queue.append(run)
        self._wake.set()
        return run

    # --- running -------------------------------------------------------------------------------------

    def _work(self) -> None:
        """Run the queued runs, one after the other."""
        with self._work_lock:
            while not self._stopping:
                with self._lock:
                    if not self._queue:
                        return
                    run = self._queue.popleft()
                try:
                    self._execute(run)
                finally:
                    with self._lock:
                        self._busy.pop(run.speaker_id, None)
                        self._active = None

    def _execute(self, run: DeletionRun) -> None:
        """One run, from its checks to its outcome; whatever happens, a lifted mute is put back."""
        run = self._save(run, started_at=self._clock(), phase="checking", why="checking that it can run")
        self._publish(run)
        try:
            audio = self._check(run)
        except _Skip as skip:
            self._finish(run, "skipped", skip.why)
            return
        except _Stopped:
            self._finish(run, "skipped", STOPPED_BEFORE)
            return
        except Exception as error:  # noqa: BLE001 - a bug must not stop the runner
            log.exception("Checking voice deletion run %d failed", run.id)
            self._finish(run, "skipped", f"the deletion could not start: {error}")
            return
        before = self._engine.state(run.speaker_id)
        run = self._save(run, phase="lifting", why="lifting the mute", pre_muted=before.muted,
                         pre_source=before.source)  # the journal, durable before the mute is touched
        progress = _Progress()
        outcome, why = "skipped", ""
        try:
            try:
                if before.muted:
                    self._lift(run)
                outcome, why = self._send(audio, progress)
            finally:
                self._forget(progress)
                self._restore()
        except _MuteChanged as changed:
            outcome, why = self._after_change(changed.state, progress)
        except _Stopped:
            outcome, why = self._ended_early("the bridge stopped during the deletion", progress)
        except PlaybackError as error:
            outcome, why = self._ended_early(f"the phrase could not be played: {error}", progress)
        except Exception as error:  # noqa: BLE001 - a bug: the mute is restored all the same
            log.exception("Voice deletion run %d failed", run.id)
            outcome, why = self._ended_early(f"the deletion failed: {error}", progress)
        self._finish(self._current(), outcome, why, **_upload_fields(progress))

    def _check(self, run: DeletionRun) -> PhraseAudio:
        name = self._names.get(run.speaker_id)
        if name is None:
            raise _Skip(f"there is no speaker {run.speaker_id!r} on this bridge any more")
        if run.prerequisite is not None and not run.prerequisite.enabled:
            raise _Skip(f"“{run.prerequisite.name}” is not recorded as on in Earmuff's opt-outs")
        try:
            if run.audio == "recording":
                audio = recording(self.data_dir, run.recording or "")
            else:
                audio = self.synthesizer.synthesize(run.phrase)
        except (PhraseAudioError, ValueError) as error:
            raise _Skip(f"the phrase cannot be played: {error}") from None
        available, detail = self.player.status()
        if not available:
            raise _Skip(detail)
        monitor = self._engine.monitor
        if monitor is None:
            raise _Skip("this bridge does not measure its speakers' traffic, so it could not see the command go out")
        if monitor.measured(run.speaker_id) is False:
            raise _Skip(f"the bridge does not measure {name}'s traffic (does it have a mac or ip in the config?), "
                        "so it could not see the command go out")
        if monitor.uploading(run.speaker_id):
            log.info("Voice deletion run %d waits: %s is uploading", run.id, run.speaker_id)
            if not self._pause(self._busy_wait_s, until=lambda: not monitor.uploading(run.speaker_id)):
                raise _Skip(f"{name} was busy sending audio for over {self._busy_wait_s:.0f} s; "
                            "the phrase was not played")
        return audio

    def _lift(self, run: DeletionRun) -> None:
        self._engine.set_mute(run.speaker_id, False, source="deletion", reason=f"voice deletion: {run.phrase}",
                              requested_by=REQUESTED_BY)
        run = self._save(run, mute_lifted=True, why="waiting for the speaker's microphone to wake")
        log.info("Voice deletion run %d lifted %s's mute", run.id, run.speaker_id)
        self._pause(self._config.unmute_settle_s, watching=run)

    def _send(self, audio: PhraseAudio, progress: _Progress) -> tuple[str, str]:
        """Play and watch, twice if need be; then let the proven upload finish. (outcome, why)."""
        for attempt in (1, 2):
            if self._attempt(audio, attempt, progress):
                break
        else:
            run = self._current()
            return "no_upload_seen", (f"{self._names[run.speaker_id]} sent nothing within "
                                      f"{self._config.watch_s:g} s of the phrase, played twice")
        proof = progress.proof
        self._save(self._current(), why="the command is going out")
        self._pause(UPLOAD_END_WAIT_S, until=lambda: proof.activation is not None, watching=self._current())
        return "sent_and_uploaded", _upload_words(progress, self._current().attempts)

    def _attempt(self, audio: PhraseAudio, attempt: int, progress: _Progress) -> bool:
        """Play the phrase once and watch for the upload; True when it was seen."""
        run = self._check_mute(self._save(self._current(), phase="playing", attempts=attempt,
                                          why="playing the phrase" if attempt == 1 else "playing the phrase again"))
        expectation = self._engine.monitor.expect_upload(run.speaker_id, self._clock())
        progress.expectations.append(expectation)
        self.player.play(audio.path, speaker_id=run.speaker_id)
        end = self._clock()
        expectation.set_end(end + self._config.watch_s)
        run = self._save(run, phase="watching", why="watching for the upload")
        seen = self._pause(self._config.watch_s + WATCH_GRACE_S, until=lambda: expectation.started is not None,
                           watching=run)
        if seen:
            progress.proof, progress.phrase_end = expectation, end
        return seen

    def _restore(self) -> None:
        """Put the mute back if it is still the deletion's; leave anyone else's choice alone."""
        run = self._current()
        if not run.pre_muted:
            return  # it was not muted: nothing was lifted
        run = self._save(run, phase="restoring")
        state = self._engine.state(run.speaker_id)
        if state.source != "deletion":
            if run.mute_lifted:
                self._save(run, mute_restored=False)
                log.info("Voice deletion run %d leaves %s's mute as %s set it", run.id, run.speaker_id,
                         state.requested_by or state.source)
            return
        if state.muted:
            if run.mute_lifted:
                self._save(run, mute_restored=True)
            return
        # A mute that came from a schedule window still in force goes back to being the window's.
        source = "schedule" if run.pre_source == "schedule" and state.schedule_id is not None else "deletion"
        try:
            self._engine.set_mute(run.speaker_id, True, source=source, reason=RESTORED_REASON,
                                  requested_by=REQUESTED_BY)
        except Exception as error:  # noqa: BLE001 - said loudly; a restarted bridge restores it (recovery.py)
            log.error("Voice deletion run %d could not mute %s again: %s", run.id, run.speaker_id, error)
            self._save(run, mute_restored=False)
            if not self._stopping:  # a stopping bridge releases its relays (muted); recovery.py does the rest
                self._engine.events.publish(
                    "alarm", run.speaker_id, level="error",
                    message=f"{self._names.get(run.speaker_id, run.speaker_id)} could not be muted again after a "
                            f"voice deletion: {error}")
            return
        self._save(run, mute_restored=True)
        log.info("Voice deletion run %d muted %s again", run.id, run.speaker_id)

    def _after_change(self, state: Any, progress: _Progress) -> tuple[str, str]:
        change = _describe_change(state)
        if progress.proof is not None:
            return "sent_and_uploaded", (f"{_upload_words(progress, self._current().attempts)}; "
                                         f"the mute was then {change}, and left so")
        return "skipped", f"the mute was changed during the deletion: {change}"

    def _ended_early(self, what: str, progress: _Progress) -> tuple[str, str]:
        if progress.proof is not None:
            return "sent_and_uploaded", f"{_upload_words(progress, self._current().attempts)}; then {what}"
        run = self._current()
        if run.mute_restored:
            return "skipped", f"{what}; the mute was restored"
        return "skipped", what

    def _forget(self, progress: _Progress) -> None:
        monitor = self._engine.monitor
        for expectation in progress.expectations:
            monitor.forget(expectation)

    # --- waiting -------------------------------------------------------------------------------------

    def _pause(self, seconds: float, *, until: Callable[[], bool] | None = None,
               watching: DeletionRun | None = None) -> bool:
        """Wait `seconds`, or until `until()` is true (then True). With `watching`, a change of the speaker's
        mute by someone else raises _MuteChanged; a stop raises _Stopped."""
        deadline = self._monotonic() + seconds
        while True:
            if self._stopping:
                raise _Stopped()
            if watching is not None:
                self._check_mute(watching)
            if until is not None and until():
                return True
            left = deadline - self._monotonic()
            if left <= 0:
                return False
            self._sleep(min(_STEP_S, left))

    def _check_mute(self, run: DeletionRun) -> DeletionRun:
        """The run, if the speaker's mute is as the run left it; _MuteChanged otherwise."""
        state = self._engine.state(run.speaker_id)
        changed = (state.source != "deletion" or state.muted) if run.mute_lifted else state.muted
        if changed:
            raise _MuteChanged(state)
        return run

    # --- the run's record ----------------------------------------------------------------------------

    def _current(self) -> DeletionRun:
        """The run in progress as last saved (only while one is)."""
        with self._lock:
            current = self._active
        assert current is not None, "no run in progress"
        return current

    def _save(self, run: DeletionRun, **changes: Any) -> DeletionRun:
        """Change the run and write it durably; it becomes the active one."""
        run = self._repository.save_run(replace(run, **changes))
        with self._lock:
            self._active = run
        return run

    def _finish(self, run: DeletionRun, outcome: str, why: str, **changes: Any) -> DeletionRun:
        run = self._repository.save_run(run.finished(outcome, why, self._clock(), **changes))
        with self._lock:
            if self._active is not None and self._active.id == run.id:
                self._active = run
        log.info("Voice deletion run %d for %s: %s (%s)", run.id, run.speaker_id, outcome, why)
        self._publish(run)
        if outcome == "no_upload_seen":
            name = self._names.get(run.speaker_id, run.speaker_id)
            self._engine.events.publish(
                "alarm", run.speaker_id, level="warning",
                message=f"{name} did not send the voice deletion command “{run.phrase}”: no upload within "
                        f"{self._config.watch_s:g} s of the phrase, played twice. Is the bridge's loudspeaker "
                        "close enough to it, and loud enough?")
        return run

    def _publish(self, run: DeletionRun) -> None:
        self._engine.events.publish_data("deletion_run", run.speaker_id, run.to_json())


def _new_run(fields: dict[str, Any], schedule_id: int | None, occurrence: float) -> DeletionRun:
    return DeletionRun(
        id=0, schedule_id=schedule_id, speaker_id=fields["speaker_id"], vendor=fields["vendor"],
        phrase=fields["phrase"], audio=fields["audio"], recording=fields.get("recording"),
        prerequisite=fields.get("prerequisite"), occurrence=occurrence, why="waiting to start",
    )


def _upload_fields(progress: _Progress) -> dict[str, Any]:
    activation = progress.proof.activation if progress.proof is not None else None
    if activation is None:
        return {}
    return {"activation_id": activation.id, "upload_bytes": int(activation.bytes_up)}


def _upload_words(progress: _Progress, attempts: int) -> str:
    """"an upload of 12 kB began 1.4 s after the phrase"."""
    proof = progress.proof
    activation = proof.activation
    size = f" of {activation.bytes_up / 1000:.0f} kB" if activation is not None else ""
    delay = proof.started - progress.phrase_end
    when = "while the phrase was playing" if delay < 0 else f"{delay:.1f} s after the phrase"
    again = " (played a second time)" if attempts > 1 else ""
    return f"an upload{size} began {when}{again}"


def _describe_change(state: Any) -> str:
    """"muted by Anna's laptop (bedtime)"."""
    who = state.requested_by or state.source
    reason = f" ({state.reason})" if state.reason else ""
    return f"{'muted' if state.muted else 'unmuted'} by {who}{reason}"
