"""The demo's first minute and its past week: what `earmuff-bridge serve --simulate --tour` adds.

A demo that starts empty shows nothing for minutes: the simulated speakers make a request or a
misactivation only every few minutes, and a fresh bridge has no history. The tour fixes both.

* `seed_history` (first start only: a store with no activations): a week of activations, a few a day per
  speaker at waking hours, some of them misactivations nobody spoke before (`no_speech_nearby`), one in a
  quiet-time window and one that got through a mute; and the last 24 hours of 1-second traffic and room
  microphone history around them, so the Live page can scroll back and the Activity page has a chart.
  All of it comes from a seeded generator and the same voice shapes as the live model.
* `seed_deletions` (first start only: no deletion schedule yet): a nightly "Alexa, delete everything I said
  today" at 23:55 for the kitchen speaker, with the past week of its runs: most confirmed by the upload the
  phrase caused (those uploads are in the activations, flagged `deletion_command`), one night with no upload
  seen after the retry. The prerequisite is recorded as on a week ago; an app whose Opt-outs page does not
  say so updates it (and the next run is skipped, saying why).
* `DemoTour`: unmutes the kitchen and living-room speakers (the bedroom stays muted) and, within the first
  minute, has someone ask the kitchen speaker something, lets the living-room speaker wake up by itself,
  and makes the muted bedroom speaker upload anyway (its mute "fails" for that one burst), so every flag
  and alert shows within a minute of starting the demo.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from device_bridge.deletion.model import DeletionRun, Prerequisite
from device_bridge.deletion.recurrence import Recurrence
from device_bridge.deletion.repository import DeletionRepository
from device_bridge.traffic.model import Activation
from device_bridge.traffic.simulated import SpeakerBehaviour

log = logging.getLogger(__name__)

SEED_DAYS = 7
HISTORY_S = 24 * 3600
#: (seconds after start, what, speaker id): the tour's first minute.
TOUR: tuple[tuple[float, str, str], ...] = (
    (6.0, "voice", "kitchen"),
    (24.0, "misactivation", "living-room"),
    (44.0, "mute_fails", "bedroom"),
)
UNMUTED = ("kitchen", "living-room")
#: How long the bedroom's mute "fails" (long enough for the one burst it lets through).
MUTE_FAILS_FOR_S = 15.0
_VOICE = (76_000.0, 39_000.0, 36_000.0, 35_000.0, 35_000.0)  # the Echo trace's request, bytes per second
_MIC_ROOM_DBFS = -58.0


def seed_history(store: Any, speaker_ids: Sequence[str], now: float, *, mic_id: str | None = None,
                 seed: int = 7, behaviour: SpeakerBehaviour | None = None) -> int:
    """Fill an empty store with a past week of activations and a day of traffic (and mic) history.

    Returns how many activations were added (0 when the store already had some: never on top of real data).
    """
    if store.activations(None, None, limit=1):
        return 0
    rng = np.random.default_rng(seed)
    behaviour = behaviour or SpeakerBehaviour()
    planned = _plan_activations(rng, speaker_ids, now)
    for activation in planned:
        store.add_activation(activation)
    start = math.floor(now) - HISTORY_S
    for sid in speaker_ids:
        recent = [a for a in planned if a.speaker_id == sid and a.end > start]
        store.add_traffic(_traffic_bins(rng, sid, start, HISTORY_S, recent, behaviour))
    if mic_id is not None:
        recent = [a for a in planned if a.end > start]
        store.add_mic_history(_mic_rows(rng, mic_id, start, HISTORY_S, recent))
    log.info("demo: seeded %d past activations and %d h of history", len(planned), HISTORY_S // 3600)
    return len(planned)


#: The demo's nightly voice deletion: (speaker id, vendor, phrase, wall time).
DEMO_DELETION = ("kitchen", "amazon", "Alexa, delete everything I said today", (23, 55))
#: Which of the past nights (days back) the phrase went unanswered.
_UNANSWERED_NIGHT = 3


def seed_deletions(store: Any, speaker_ids: Sequence[str], now: float, zone: Any, *, seed: int = 11) -> int:
    """Add the demo's nightly voice deletion and its past week of runs to a store that has no deletion schedule.

    Returns how many past runs were added (0 when a schedule exists or the kitchen speaker is not configured).
    """
    repository = DeletionRepository(store)
    speaker_id, vendor, phrase, (hour, minute) = DEMO_DELETION
    if repository.schedules() or speaker_id not in speaker_ids:
        return 0
    rng = np.random.default_rng(seed)
    today = dt.datetime.fromtimestamp(now, zone).date()
    first = today - dt.timedelta(days=SEED_DAYS)
    dtstart = f"{first.isoformat()}T{hour:02d}:{minute:02d}:00"
    rrule = f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute}"
    prerequisite = Prerequisite("Enable deletion by voice", True, now - (SEED_DAYS + 1) * 86400.0)
    schedule = repository.add_schedule(
        {"speaker_id": speaker_id, "vendor": vendor, "phrase": phrase, "audio": "tts", "recording": None,
         "rrule": rrule, "dtstart": dtstart, "prerequisite": prerequisite, "enabled": True,
         "label": "Every night"}, created_at=now)
    nights = Recurrence.parse(rrule, dtstart, zone=zone, now=now - SEED_DAYS * 86400.0).between(
        now - (SEED_DAYS + 1) * 86400.0, now - 600.0, zone)
    added = 0
    for number, occurrence in enumerate(nights):
        days_back = len(nights) - number
        started = occurrence + float(rng.uniform(0.2, 0.6))
        run = DeletionRun(id=0, schedule_id=schedule.id, speaker_id=speaker_id, vendor=vendor, phrase=phrase,
                          audio="tts", recording=None, prerequisite=prerequisite, occurrence=occurrence,
                          started_at=started, mute_lifted=True, mute_restored=True, pre_muted=True,
                          pre_source="api")
        if days_back == _UNANSWERED_NIGHT:
            run = run.finished("no_upload_seen", "Kitchen speaker sent nothing within 20 s of the phrase, played "
                               "twice", started + 62.0, attempts=2)
        else:
            delay = float(rng.uniform(1.2, 2.2))
            upload = _activation(rng, speaker_id, float(math.floor(started + 3.0 + delay)),
                                 frozenset({"deletion_command"}))
            upload = store.add_activation(upload)
            run = run.finished(
                "sent_and_uploaded", f"an upload of {upload.bytes_up / 1000:.0f} kB began {delay:.1f} s after the "
                "phrase", upload.end + 1.0, attempts=1, activation_id=upload.id, upload_bytes=upload.bytes_up)
        repository.add_run(run)
        added += 1
    log.info("demo: seeded a nightly voice deletion for %s and %d past runs", speaker_id, added)
    return added


def _plan_activations(rng: np.random.Generator, speaker_ids: Sequence[str], now: float) -> list[Activation]:
    day = 86400.0
    midnight = math.floor(now / day) * day
    found: list[Activation] = []
    for days_back in range(SEED_DAYS, -1, -1):
        for sid in speaker_ids:
            for _ in range(int(rng.integers(1, 6))):
                hour = float(rng.uniform(7.0, 23.0))
                start = float(math.floor(midnight - days_back * day + hour * 3600))
                if start > now - 600:  # leave the last minutes to the live demo
                    continue
                flags: frozenset[str] = frozenset()
                if rng.random() < 0.18:
                    flags = frozenset({"no_speech_nearby"})
                found.append(_activation(rng, sid, start, flags))
    if found and len(speaker_ids) > 1:
        # One upload in a quiet-time window and one through a failed mute, a few days back.
        quiet = float(math.floor(midnight - 3 * day + 23.5 * 3600))
        muted = float(math.floor(midnight - 2 * day + 14.25 * 3600))
        found.append(_activation(rng, speaker_ids[1], quiet, frozenset({"during_schedule"})))
        found.append(_activation(rng, speaker_ids[-1], muted, frozenset({"while_muted"})))
    found.sort(key=lambda a: a.start)
    return found


def _activation(rng: np.random.Generator, sid: str, start: float, flags: frozenset[str]) -> Activation:
    shape = _shape(rng)
    return Activation(speaker_id=sid, start=start, end=start + len(shape), bytes_up=int(sum(shape)),
                      peak_rate=float(max(shape)), confidence=float(rng.uniform(0.97, 0.9999)), flags=flags)


def _shape(rng: np.random.Generator) -> list[float]:
    seconds = int(rng.integers(4, 9))
    scale = float(rng.uniform(0.8, 1.2))
    return [(_VOICE[min(i, len(_VOICE) - 1)]) * scale * float(rng.uniform(0.85, 1.15)) for i in range(seconds)]


def _traffic_bins(rng: np.random.Generator, sid: str, start: int, seconds: int, activations: list[Activation],
                  behaviour: SpeakerBehaviour) -> list[tuple[str, int, int, int, float]]:
    up = rng.gamma(4.0, behaviour.idle_up / 4.0, seconds)
    down = rng.gamma(4.0, behaviour.idle_down / 4.0, seconds)
    beats = np.arange(int(rng.integers(0, 30)), seconds, int(behaviour.heartbeat_every_s))
    up[beats] += behaviour.heartbeat_bytes
    down[beats] += behaviour.heartbeat_bytes // 2
    for activation in activations:
        first = int(activation.start) - start
        shape = np.full(int(activation.end - activation.start), activation.bytes_up / max(1.0, activation.end -
                                                                                          activation.start))
        shape[0] = activation.peak_rate
        for i, value in enumerate(shape):
            if 0 <= first + i < seconds:
                up[first + i] += value
                if first + i + len(shape) < seconds:
                    down[first + i + len(shape)] += value * 0.6  # the spoken reply
    return [(sid, start + i, int(u), int(d), 1.0) for i, (u, d) in enumerate(zip(up, down))]


def _mic_rows(rng: np.random.Generator, mic_id: str, start: int, seconds: int,
              activations: list[Activation]) -> list[tuple[str, int, float, bool]]:
    level = _MIC_ROOM_DBFS + np.cumsum(rng.normal(0.0, 0.15, seconds)).clip(-6, 6) + rng.normal(0, 1.0, seconds)
    speech = np.zeros(seconds, dtype=bool)
    for activation in activations:
        if "no_speech_nearby" in activation.flags:
            continue
        first = max(0, int(activation.start) - start - 1)
        last = min(seconds, int(activation.end) - start + 3)
        speech[first:last] = True
        level[first:last] = rng.uniform(-34.0, -22.0, max(0, last - first))
    return [(mic_id, start + i, float(round(v, 1)), bool(s)) for i, (v, s) in enumerate(zip(level, speech))]


class DemoTour:
    """Plays TOUR on a bridge measuring simulated speakers; `stop()` ends it early and joins its thread.

    `engine` mutes and unmutes; `source` is the SimulatedTrafficSource (inject_burst, set_mute_fails).
    """

    def __init__(self, engine: Any, source: Any, *, clock: Callable[[], float] = time.monotonic,
                 tour: Sequence[tuple[float, str, str]] = TOUR) -> None:
        self._engine = engine
        self._source = source
        self._clock = clock
        self._tour = tuple(sorted(tour))
        self._stop = threading.Event()
        self._failing: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="earmuff-demo-tour", daemon=True)

    def start(self) -> None:
        speakers = {s.id for s in self._engine.config.speakers}
        for sid in speakers:
            self._engine.set_mute(sid, sid not in UNMUTED, reason="demo tour", requested_by="demo")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        began = self._clock()
        steps = [(began + at, what, sid) for at, what, sid in self._tour]
        heapq.heapify(steps)
        while steps:
            when, what, sid = heapq.heappop(steps)
            if self._stop.wait(max(0.0, when - self._clock())):
                break
            try:
                follow_up = self._play(what, sid)
            except Exception:  # noqa: BLE001 - a demo step must not take the bridge down
                log.exception("demo tour step %s on %s failed", what, sid)
                continue
            if follow_up is not None:
                heapq.heappush(steps, (self._clock() + follow_up[0], follow_up[1], sid))
        for sid in self._failing:  # stopped early: the mute holds again
            self._source.set_mute_fails(sid, False)

    def _play(self, what: str, sid: str) -> tuple[float, str] | None:
        """Play one step; returns (seconds later, step) when it needs a follow-up."""
        log.info("demo tour: %s on %s", what, sid)
        if what == "voice":
            self._source.inject_burst(sid, kind="voice")
        elif what == "misactivation":
            self._source.inject_burst(sid, kind="misactivation")
        elif what == "mute_fails":
            self._source.set_mute_fails(sid, True)
            self._failing.add(sid)
            self._source.inject_burst(sid, kind="voice")
            return MUTE_FAILS_FOR_S, "mute_holds"
        elif what == "mute_holds":
            self._source.set_mute_fails(sid, False)
            self._failing.discard(sid)
        else:
            raise ValueError(f"unknown demo step {what!r}")
        return None
