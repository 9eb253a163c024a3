"""The bridge's mute engine: commanded state, schedules and override buttons, enforced on the pins.

Order of every change to a speaker, under that speaker's own lock (other speakers are never held up):
work out the new state, commit it to the store (durable), drive the pins, wait for the sense line if
the driver needs to, then publish the events. Events are published while holding only that speaker's
lock, so one speaker's events come in the order its states were committed; `EventLog.publish` never
calls out (subscribers pull from queues), so no foreign code runs under a lock.

Schedules (see schedule.py for how windows map to instants):

* entering a window mutes the speaker (source "schedule");
* a manual change during a window holds until the next boundary: the start of another window mutes
  again, and the end of the last window leaves the manual state alone;
* leaving the last window restores the state from before the first one, but only if a schedule's
  mute is still in force (the state's source is still "schedule"); a mute that a voice deletion had
  lifted for its phrase (source "deletion") counts as muted there;
* overlapping windows: muted while any is in force;
* the engine remembers which window occurrences it has acted on (in the store), so after a restart
  it enters windows that began while it was down, leaves those that ended, and does not undo a
  manual change made during a window that is still running.

Boundaries are acted on by `tick()`, which the engine's thread calls every `tick_interval_s`; a tick
that is not due (no boundary passed, nothing changed) only checks the sense lines.

Traffic (optional): with an nftables table, `start()` installs it (keeping the drop rules of speakers
commanded muted) before the pins are restored; a speaker with `network_mute` gets its drop rule set
and removed alongside its hardware driver; `stop()` removes the table only when no network-muting
speaker is commanded muted (so a muted speaker stays cut off from the internet while the bridge is
down). With a traffic source, the TrafficMonitor (`monitor`) starts once the pins hold their state
and stops first.
"""

from __future__ import annotations

import collections
import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from gpiozero import Button

from device_bridge.config import BridgeConfig
from device_bridge.events import EventLog
from device_bridge.mute import MuteDriver, create_driver
from device_bridge.mute.state import CONFIRMED, MISMATCH, SOURCES, UNCONFIRMED, MuteState, WindowMemory
from device_bridge.schedule import Schedule, next_boundary, normalize_fields, window_at
from device_bridge.store import BridgeStore
from device_bridge.traffic.model import TrafficSource
from device_bridge.traffic.nft import NftError, NftTable, NftTableMissing

__all__ = ["BridgeEngine", "MuteState", "Schedule"]

log = logging.getLogger(__name__)

OVERRIDE_BOUNCE_S = 0.05
OVERRIDE_REQUESTED_BY = "button on the bridge"
# A full evaluation at least this often (clock seconds), whatever the computed next boundary says.
_EVALUATE_AT_LEAST_EVERY_S = 60.0
# One-off windows are deleted this long after they ended.
_ONE_OFF_KEPT_S = 86400.0
_STOP_TIMEOUT_S = 10.0
# A vanished nftables table (firewall reload) is put back at most this often (monotonic seconds).
_REINSTALL_EVERY_S = 30.0


class BridgeEngine:
    """Owns the speakers' drivers and their commanded state; the API and the CLI talk to this.

    Attributes:
        config: the bridge configuration.
        store: where states and schedules persist.
        events: the event log ("mute_changed", "alarm", "schedule_changed", "activation_started",
            "activation_ended").
        drivers: the mute driver of each speaker, by speaker id (created, muted, in the constructor).
        nft_table: the bridge's nftables table (network mute and/or counters), or None.
        monitor: the TrafficMonitor when a traffic source was given, else None.
    """

    def __init__(
        self,
        config: BridgeConfig,
        store: BridgeStore,
        *,
        clock: Callable[[], float] = time.time,
        tick_interval_s: float = 0.2,
        pin_factory=None,
        sleep: Callable[[float], None] = time.sleep,
        events: EventLog | None = None,
        nft_table: NftTable | None = None,
        traffic_source: TrafficSource | None = None,
        traffic_options: dict[str, Any] | None = None,
    ) -> None:
        """`nft_table`: needed by speakers with the "network" driver or `network_mute`. `traffic_source`:
        measure the speakers' traffic (it may be `nft_table` itself); `traffic_options` go to the
        TrafficMonitor (interval_s, monotonic, sample_thread, profiles, speech_of)."""
        self.config = config
        self.store = store
        self._clock = clock
        self._tick_interval_s = tick_interval_s
        self._pin_factory = pin_factory
        self._zone = ZoneInfo(config.timezone)
        self.events = events if events is not None else EventLog(store, clock=clock)
        self._speaker_ids = tuple(s.id for s in config.speakers)

        self._lock = threading.Lock()  # the dictionaries below; held only briefly, never while waiting
        self._tick_lock = threading.Lock()  # one tick at a time
        self._schedule_lock = threading.Lock()  # one schedule edit at a time (store write + event)
        self._speaker_locks = {sid: threading.Lock() for sid in self._speaker_ids}

        self._persisted = store.load_mute_states()
        memory = store.load_window_memory()
        now = clock()
        self._states: dict[str, MuteState] = {
            sid: self._persisted.get(sid) or _startup_state(sid, now) for sid in self._speaker_ids
        }
        self._windows: dict[str, WindowMemory] = {sid: memory.get(sid, WindowMemory()) for sid in self._speaker_ids}
        self._schedules: dict[int, Schedule] = {s.id: s for s in store.load_schedules()}
        self._requested: dict[int, tuple[str, str]] = {}  # schedule id -> (reason, requested_by) on entering
        self._disagree_since: dict[str, float] = {}
        self._next_due = -math.inf
        self._last_evaluated = -math.inf
        self._version = 0  # bumped by every schedule edit
        self._evaluated_version = -1

        self._presses: collections.deque[str] = collections.deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._buttons: list[Button] = []
        self._started = False
        self._stopping = False

        self.nft_table = nft_table
        self._reinstalled_at = -math.inf
        self._network_muted = tuple(s.id for s in config.speakers if s.network_mute and s.driver != "network")
        self._network_speakers = tuple(s.id for s in config.speakers if s.network_mute or s.driver == "network")
        if self._network_speakers and nft_table is None:
            raise ValueError(f"speaker {self._network_speakers[0]!r} mutes on the network: the engine needs the "
                             "bridge's nftables table")
        self.drivers: dict[str, MuteDriver] = {}
        self.monitor = None
        try:
            for speaker in config.speakers:
                self.drivers[speaker.id] = create_driver(speaker, pin_factory=pin_factory, sleep=sleep,
                                                         table=nft_table)
            if traffic_source is not None:
                from device_bridge.traffic.monitor import TrafficMonitor

                options = {"on_error": self._traffic_failed, **(traffic_options or {})}
                self.monitor = TrafficMonitor(
                    config.speakers, traffic_source, store=store, events=self.events, state_of=self.state,
                    clock=clock, history_hours=config.traffic_history_hours, retention_days=config.retention_days,
                    **options,
                )
        except BaseException:
            self._close_devices()
            raise

    # --- life cycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Restore every speaker's commanded state on the pins, enter/leave schedule windows as of now,
        then start the override buttons and the schedule thread. Pins are set before this returns."""
        if self._started or self._stopping:
            raise RuntimeError("an engine starts once")
        self._started = True
        self._install_nft_table()
        now = self._clock()
        with self._tick_lock:
            with self._lock:
                schedules = list(self._schedules.values())
                version = self._version
            errors = self._run_all([
                functools.partial(
                    self._update, sid, now, active=self._active_windows(sid, schedules, now), initial=True
                )
                for sid in self._speaker_ids
            ])
            self._plan_next(schedules, now, version)
        if errors:
            raise errors[0]
        try:
            for speaker in self.config.speakers:
                if speaker.override_pin is None:
                    continue
                button = Button(
                    speaker.override_pin, pull_up=True, bounce_time=OVERRIDE_BOUNCE_S, pin_factory=self._pin_factory
                )
                self._buttons.append(button)
                button.when_pressed = functools.partial(self._override_pressed, speaker.id)
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._run, name="earmuff-bridge-schedule", daemon=True)
        self._thread.start()
        if self.monitor is not None:
            self.monitor.start()

    def _install_nft_table(self) -> None:
        """Put the table in the kernel, with drop rules for the network-muting speakers commanded muted."""
        if self.nft_table is None:
            return
        with self._lock:
            muted = [sid for sid in self._network_speakers if self._states[sid].muted]
        try:
            self.nft_table.install(muted=muted)
        except NftError as error:
            log.error("Could not install the nftables table: %s", error)
            self.events.publish("alarm", None, level="error" if muted else "warning",
                                message=f"The bridge could not set up its nftables table: {error}")

    def _traffic_failed(self, error: BaseException) -> None:
        """The monitor could not read its source (sampler thread). A table that vanished, say because the
        firewall was reloaded, is put back, with the drop rules of the speakers commanded muted."""
        if not isinstance(error, NftTableMissing) or self.nft_table is None or self._stopping:
            return
        now = time.monotonic()
        if now - self._reinstalled_at < _REINSTALL_EVERY_S:
            return
        self._reinstalled_at = now
        log.warning("The nftables table is gone (was the firewall reloaded?): installing it again")
        self._install_nft_table()

    def stop(self) -> None:
        """Stop the thread and the buttons and release the pins. Idempotent.

        The pins are not driven anywhere: gpiozero releases them, and a released line is left to the
        hardware (with the documented wiring a released relay is muted).
        """
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        if self.monitor is not None:
            self.monitor.stop()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.error("The schedule thread did not stop within %.0f s", _STOP_TIMEOUT_S)
        for button in self._buttons:
            button.close()
        self._buttons.clear()
        # Let a change in progress finish before its pins go away.
        held = [lock for lock in self._speaker_locks.values() if lock.acquire(timeout=_STOP_TIMEOUT_S)]
        try:
            self._close_devices()
            self._release_nft_table()
        finally:
            for lock in held:
                lock.release()

    def _release_nft_table(self) -> None:
        """Remove the table unless a network-muting speaker is commanded muted (its drop rule must stay),
        then stop the table's nft process."""
        if self.nft_table is None:
            return
        with self._lock:
            muted = [sid for sid in self._network_speakers if self._states[sid].muted]
        try:
            if muted:
                log.info("Leaving the nftables table in place: %s stay cut off from the internet", ", ".join(muted))
            elif self._started:
                self.nft_table.remove()
        except NftError as error:
            log.warning("Could not remove the nftables table: %s", error)
        finally:
            self.nft_table.close()

    def _close_devices(self) -> None:
        for driver in self.drivers.values():
            driver.close()

    def __enter__(self) -> BridgeEngine:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- reading -------------------------------------------------------------------------------------

    def speakers(self) -> list[MuteState]:
        """Every speaker's state, in configuration order."""
        with self._lock:
            return [self._states[sid] for sid in self._speaker_ids]

    def state(self, speaker_id: str) -> MuteState:
        """One speaker's state; KeyError for an unknown id."""
        with self._lock:
            return self._states[speaker_id]

    def schedules(self) -> list[Schedule]:
        with self._lock:
            return sorted(self._schedules.values(), key=lambda s: s.id)

    # --- commands ------------------------------------------------------------------------------------

    def set_mute(self, speaker_id: str, muted: bool, *, reason: str = "", requested_by: str = "",
                 source: str = "api") -> MuteState:
        """Command a speaker: committed durably and applied to the pin before this returns.

        Returns the resulting state, with its confirmation. KeyError for an unknown speaker.
        """
        self._require_speaker(speaker_id)
        if source not in SOURCES:
            raise ValueError(f"source is one of {', '.join(SOURCES)}, not {source!r}")
        return self._update(speaker_id, self._clock(), command=(bool(muted), reason, requested_by, source))

    def toggle(
        self, speaker_id: str, *, reason: str = "", requested_by: str = "", source: str = "override"
    ) -> MuteState:
        """Flip a speaker's commanded state (what an override button does)."""
        self._require_speaker(speaker_id)
        return self._update(speaker_id, self._clock(), command=(None, reason, requested_by, source))

    def mute_for(self, speaker_id: str, seconds: float, *, reason: str = "", requested_by: str = "") -> Schedule:
        """Mute now, until now + `seconds`, as a one-off window; returns that window's schedule."""
        self._require_speaker(speaker_id)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
            raise ValueError("choose how long to mute, in seconds (more than 0)")
        now = self._clock()
        label = reason.strip() or f"Muted for {_duration_words(seconds)}"
        return self._add_schedule(
            {"speaker_id": speaker_id, "kind": "once", "start_at": now, "end_at": now + seconds, "label": label},
            requested=(reason or label, requested_by),
        )

    def add_schedule(self, **fields: Any) -> Schedule:
        """Add a mute window; a window in force now takes effect before this returns. ValueError for nonsense."""
        return self._add_schedule(fields)

    def _add_schedule(self, fields: dict[str, Any], requested: tuple[str, str] | None = None) -> Schedule:
        with self._schedule_lock:
            clean = normalize_fields(fields, speakers=self._speaker_ids, now=self._clock())
            schedule = self.store.insert_schedule(clean)
            with self._lock:
                if requested is not None:
                    self._requested[schedule.id] = requested
                self._schedules[schedule.id] = schedule
                self._version += 1
            self._publish_schedule(schedule.id, schedule)
        self.tick()
        return schedule

    def update_schedule(self, schedule_id: int, **fields: Any) -> Schedule:
        """Change some fields of a schedule. KeyError for an unknown id, ValueError for nonsense."""
        with self._schedule_lock:
            with self._lock:
                current = self._schedules[schedule_id]
            clean = normalize_fields(fields, speakers=self._speaker_ids, now=self._clock(), current=current)
            schedule = self.store.update_schedule(schedule_id, clean)
            with self._lock:
                self._schedules[schedule_id] = schedule
                self._version += 1
            self._publish_schedule(schedule_id, schedule)
        self.tick()
        return schedule

    def delete_schedule(self, schedule_id: int) -> None:
        """Remove a schedule (a window of it in force ends now). KeyError for an unknown id."""
        self._delete_schedule(schedule_id)
        self.tick()

    def _delete_schedule(self, schedule_id: int) -> None:
        with self._schedule_lock:
            with self._lock:
                if schedule_id not in self._schedules:
                    raise KeyError(schedule_id)
            self.store.delete_schedule(schedule_id)
            with self._lock:
                del self._schedules[schedule_id]
                self._requested.pop(schedule_id, None)
                self._version += 1
            self._publish_schedule(schedule_id, None)

    def _publish_schedule(self, schedule_id: int, schedule: Schedule | None) -> None:
        speaker = schedule.speaker_id if schedule is not None and schedule.speaker_id != "*" else None
        self.events.publish(
            "schedule_changed", speaker, schedule=schedule.to_dict() if schedule is not None else None, id=schedule_id
        )

    # --- the schedule thread -------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Handle override presses, act on schedule boundaries passed by `now` (default: the clock),
        and check the sense lines. The engine's thread calls this every `tick_interval_s`."""
        if not self._started or self._stopping:
            return
        with self._tick_lock:
            while self._presses:
                speaker_id = self._presses.popleft()
                try:
                    self.toggle(speaker_id, reason="override button pressed", requested_by=OVERRIDE_REQUESTED_BY)
                except Exception:
                    log.exception("Override button of %s: the change failed", speaker_id)
            now = self._clock() if now is None else now
            with self._lock:
                due = (
                    now >= self._next_due
                    or self._version != self._evaluated_version
                    or now < self._last_evaluated  # the clock went back
                    or now - self._last_evaluated >= _EVALUATE_AT_LEAST_EVERY_S
                )
                schedules = list(self._schedules.values())
            if due:
                self._evaluate(schedules, now)
            self._watch_senses(now)

    def _run(self) -> None:
        while not self._stopping:
            try:
                self.tick()
            except Exception:
                log.exception("Schedule tick failed; trying again at the next one")
            self._wake.wait(self._tick_interval_s)
            self._wake.clear()

    def _override_pressed(self, speaker_id: str) -> None:
        # Runs on gpiozero's pin thread: hand the press to the schedule thread, which may wait for a settle.
        self._presses.append(speaker_id)
        self._wake.set()

    def _evaluate(self, schedules: list[Schedule], now: float) -> None:
        for schedule in schedules:
            if schedule.kind == "once" and schedule.end_at is not None and schedule.end_at < now - _ONE_OFF_KEPT_S:
                try:
                    self._delete_schedule(schedule.id)
                except KeyError:
                    pass
        with self._lock:
            schedules = list(self._schedules.values())
            version = self._version
            memory = dict(self._windows)
        jobs = []
        for sid in self._speaker_ids:
            active = self._active_windows(sid, schedules, now)
            if set(active) != set(memory[sid].active):
                jobs.append(functools.partial(self._update, sid, now, active=active))
        for error in self._run_all(jobs):
            log.error("Applying a schedule boundary failed: %s", error, exc_info=error)
        self._plan_next(schedules, now, version)

    def _active_windows(self, speaker_id: str, schedules: list[Schedule], now: float) -> dict[tuple[int, float], float]:
        """(schedule id, occurrence start) -> occurrence end, for the windows in force for a speaker."""
        active = {}
        for schedule in schedules:
            if schedule.applies_to(speaker_id):
                window = window_at(schedule, now, self._zone)
                if window is not None:
                    active[(schedule.id, window[0])] = window[1]
        return active

    def _plan_next(self, schedules: list[Schedule], now: float, version: int) -> None:
        """Remember when the next boundary of these schedules (as of `version`) is due."""
        boundaries = [b for s in schedules if (b := next_boundary(s, now, self._zone)) is not None]
        with self._lock:
            self._last_evaluated = now
            self._evaluated_version = version  # an edit since the snapshot keeps the next tick due
            self._next_due = min(boundaries, default=math.inf)

    def _run_all(self, jobs: list[Callable[[], Any]]) -> list[BaseException]:
        """Run the jobs, in parallel if there are several (each waits for its own speaker's settle)."""
        errors: list[BaseException] = []

        def guarded(job: Callable[[], Any]) -> None:
            try:
                job()
            except BaseException as error:  # noqa: BLE001 - reported to the caller
                errors.append(error)

        if len(jobs) <= 1:
            for job in jobs:
                guarded(job)
            return errors
        threads = [threading.Thread(target=guarded, args=(job,), name=f"earmuff-bridge-apply-{i}", daemon=True)
                   for i, job in enumerate(jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return errors

    # --- one speaker's change ------------------------------------------------------------------------

    def _update(
        self,
        speaker_id: str,
        now: float,
        *,
        command: tuple[bool | None, str, str, str] | None = None,
        active: dict[tuple[int, float], float] | None = None,
        initial: bool = False,
    ) -> MuteState:
        """Under the speaker's lock: new state -> durable commit -> pins -> sense -> events."""
        if self._stopping:
            raise RuntimeError("the bridge is stopping")
        driver = self.drivers[speaker_id]
        with self._speaker_locks[speaker_id]:
            if self._stopping:
                raise RuntimeError("the bridge is stopping")
            with self._lock:
                current = self._states[speaker_id]
                memory = self._windows[speaker_id]
            state, new_memory, drive = current, memory, initial
            changed = initial and speaker_id not in self._persisted
            if active is not None:
                stepped, new_memory, step_drive = self._schedule_step(current, memory, active, now)
                if stepped is not None:
                    state, changed, drive = stepped, True, drive or step_drive
            if command is not None:
                muted, reason, requested_by, source = command
                state = MuteState(
                    speaker_id=speaker_id,
                    muted=(not current.muted) if muted is None else muted,
                    confirmation=UNCONFIRMED,
                    sensed_muted=current.sensed_muted,
                    changed_at=now,
                    reason=reason,
                    requested_by=requested_by,
                    source=source,
                    schedule_id=_window_schedule(new_memory),
                )
                changed = drive = True

            if changed or new_memory != memory:
                self.store.save_mute_state(state, windows=new_memory if new_memory != memory else None)
                if drive:
                    state = replace(state, confirmation=UNCONFIRMED)
                with self._lock:
                    self._states[speaker_id] = state
                    self._windows[speaker_id] = new_memory
                self._persisted[speaker_id] = state
            confirmation = None
            if drive:
                confirmation = driver.apply(state.muted)
                if speaker_id in self._network_muted:
                    self._apply_network_mute(speaker_id, state.muted)
                if confirmation.detail and confirmation.status != MISMATCH:
                    log.info("%s", confirmation.detail)
                state = replace(state, confirmation=confirmation.status, sensed_muted=confirmation.sensed_muted)
                with self._lock:
                    self._states[speaker_id] = state
                    if confirmation.status == CONFIRMED:
                        self._disagree_since.pop(speaker_id, None)
                    elif confirmation.status == MISMATCH:
                        self._disagree_since.setdefault(speaker_id, now)
            if changed or state.confirmation != current.confirmation or state.sensed_muted != current.sensed_muted:
                self.events.publish_data("mute_changed", speaker_id, state.to_dict())
            if confirmation is not None and confirmation.status == MISMATCH:
                self._alarm(speaker_id, state.muted, confirmation.detail)
            return state

    def _schedule_step(
        self, current: MuteState, memory: WindowMemory, active: dict[tuple[int, float], float], now: float
    ) -> tuple[MuteState | None, WindowMemory, bool]:
        """What crossing from `memory.active` to `active` does: (new state or None, new memory, drive pins?)."""
        before = set(memory.active)
        after = set(active)
        entered, left = after - before, before - after
        in_force = current.source == "schedule" and current.muted
        keys = tuple(sorted(after))
        if entered:
            if not before:
                pre = _lasting_muted(current)
            elif in_force:
                pre = memory.pre_muted if memory.pre_muted is not None else current.muted
            else:
                pre = _lasting_muted(current)  # a manual change during a window, then another window began
            schedule_id = min(sid for sid, _ in entered)
            with self._lock:
                schedule = self._schedules.get(schedule_id)
                requested = self._requested.pop(schedule_id, None)
            reason, requested_by = requested or (_label(schedule, schedule_id), "schedule")
            state = MuteState(
                speaker_id=current.speaker_id, muted=True, confirmation=UNCONFIRMED,
                sensed_muted=current.sensed_muted, changed_at=now, reason=reason, requested_by=requested_by,
                source="schedule", schedule_id=schedule_id,
            )
            return state, WindowMemory(keys, pre), True
        if not left:
            return None, memory, False
        if after:  # other windows are still in force: stay as we are, name one of them
            remaining = min(sid for sid, _ in after)
            state = replace(current, schedule_id=remaining) if current.schedule_id != remaining else None
            return state, WindowMemory(keys, memory.pre_muted), False
        ended_id = min(sid for sid, _ in left)
        if in_force and memory.pre_muted is not None:
            with self._lock:
                schedule = self._schedules.get(ended_id)
            state = MuteState(
                speaker_id=current.speaker_id, muted=memory.pre_muted, confirmation=UNCONFIRMED,
                sensed_muted=current.sensed_muted, changed_at=now,
                reason=f"{_label(schedule, ended_id)} ended", requested_by="schedule", source="schedule",
                schedule_id=None,
            )
            return state, WindowMemory(), state.muted != current.muted
        state = replace(current, schedule_id=None) if current.schedule_id is not None else None
        return state, WindowMemory(), False

    # --- sense lines ---------------------------------------------------------------------------------

    def _watch_senses(self, now: float) -> None:
        """Notice a speaker that changes by itself (someone pressed its own button) or comes back into line."""
        for speaker in self.config.speakers:
            driver = self.drivers[speaker.id]
            if not driver.has_sense:
                continue
            lock = self._speaker_locks[speaker.id]
            if not lock.acquire(blocking=False):
                continue  # a change is in progress; it judges the sense line itself
            try:
                if self._stopping:
                    return
                with self._lock:
                    state = self._states[speaker.id]
                sensed = driver.sensed_muted()
                new = None
                if sensed == state.muted:
                    with self._lock:
                        self._disagree_since.pop(speaker.id, None)
                    if state.confirmation != CONFIRMED or state.sensed_muted != sensed:
                        new = replace(state, confirmation=CONFIRMED, sensed_muted=sensed)
                else:
                    with self._lock:
                        since = self._disagree_since.setdefault(speaker.id, now)
                    if state.confirmation != MISMATCH and now - since >= speaker.settle_ms / 1000 - 1e-3:
                        new = replace(state, confirmation=MISMATCH, sensed_muted=sensed)
                if new is None:
                    continue
                with self._lock:
                    self._states[speaker.id] = new
                self.events.publish_data("mute_changed", speaker.id, new.to_dict())
                if new.confirmation == MISMATCH:
                    self._alarm(speaker.id, new.muted, driver.mismatch_detail(new.muted))
            finally:
                lock.release()

    def _apply_network_mute(self, speaker_id: str, muted: bool) -> None:
        """The `network_mute` option: the drop rule follows the hardware mute. A failure is an alarm."""
        assert self.nft_table is not None
        try:
            if muted:
                self.nft_table.mute(speaker_id)
            else:
                self.nft_table.unmute(speaker_id)
        except NftError as error:
            action = "drop its internet traffic" if muted else "let its internet traffic through again"
            self._alarm(speaker_id, muted, f"{self.config.speaker(speaker_id).name}: could not {action}: {error}")

    def _alarm(self, speaker_id: str, muted: bool, message: str) -> None:
        # Commanded muted but not muted: the speaker may be listening. The other way round is only a nuisance.
        level = "error" if muted else "warning"
        log.warning("Alarm (%s): %s", level, message)
        self.events.publish("alarm", speaker_id, message=message, level=level)

    def _require_speaker(self, speaker_id: str) -> None:
        if speaker_id not in self._speaker_locks:
            raise KeyError(speaker_id)
        if not self._started:
            raise RuntimeError("the engine is not started")


def _startup_state(speaker_id: str, now: float) -> MuteState:
    return MuteState(
        speaker_id=speaker_id, muted=True, confirmation=UNCONFIRMED, sensed_muted=None, changed_at=now,
        reason="never set: muted until told otherwise", requested_by="bridge", source="startup", schedule_id=None,
    )


def _lasting_muted(state: MuteState) -> bool:
    """The commanded mute a window should put back when it ends. A voice deletion lifts a mute only for its
    phrase (source "deletion", device_bridge/deletion/runner.py) and puts it back afterwards: a window that
    begins meanwhile must restore the mute, not the lifted state."""
    return state.muted or state.source == "deletion"


def _window_schedule(memory: WindowMemory) -> int | None:
    return min((sid for sid, _ in memory.active), default=None)


def _label(schedule: Schedule | None, schedule_id: int) -> str:
    if schedule is not None and schedule.label:
        return f"schedule '{schedule.label}'"
    return f"schedule {schedule_id}"


def _duration_words(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    if seconds < 120:
        return f"{round(seconds)} seconds"
    if seconds < 7200:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"
