"""Labelled synthetic uplink traces from documented shapes, and how well the detector does on them.

Every trace is a 10 Hz series (what the bridge's sampler produces) of one speaker, with the truth:
which events are activations and when each starts. Shapes and their sources:

- idle background: small TLS keep-alive and telemetry packets (60-600 B) at a family-specific rate plus a
  keep-alive exchange every 30 s; the Echo trace (resources/traces/echodot3a.pcap) shows near-zero internet
  uplink while idle. Downlink background is of the same size.
- "echo_spike" (not an activation): Echo-like idle spikes, 1-2 s long, 3-9 kB per second (PETS 2020 saw
  idle spikes up to ~9 kB/s on an Echo).
- "homepod_spike" (not an activation): one second of 10-12 kB (PETS 2020, HomePod idle).
- "music" (not an activation): a music stream of 32-190 kB/s downlink for 5-20 minutes, with uplink
  acknowledgements of 1.5-3 % of it (one ACK of 52-66 B per two 1,448-byte segments).
- "voice" (an activation): shaped like the real Echo upload (about 76, 39, 36, 35, 35 kB in consecutive
  seconds): a first second of 55-95 kB, most of it in its first tenth, then 3-7 s at 28-45 kB/s and a
  1-4 kB tail, scaled by a family factor (Google Home x1.3, HomePod x1.6: their PETS thresholds are 3.8x
  and 6.3x Echo's) and +-20 %; downlink 3-6 kB/s during it and a 10-30 kB answer at its end.
- "slow" (an activation): PETS 2020's HomePod misactivations: 6-9 s at 5-18 kB/s (every second at least
  5 kB), 46 kB +-25 % in all.

Events never overlap, idle spikes keep 20 s away from activations, and each event starts on a 0.1 s
sample boundary (the sampler cannot see finer), which is its true start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from device_bridge.traffic.detect import DetectorProfile, detect_series, profile_for
from device_bridge.traffic.model import Activation

__all__ = [
    "FAMILIES",
    "LabelledEvent",
    "LabelledTrace",
    "Score",
    "evaluate",
    "generate_corpus",
    "generate_trace",
    "score_trace",
    "shape_bytes",
]

RATE_HZ = 10
INTERVAL_S = 1.0 / RATE_HZ
MATCH_TOLERANCE_S = 1.0
FAMILIES = ("echo", "google_home", "homepod")

# Per family: background packets per second, voice scale, which idle spikes it has.
_FAMILY = {
    "echo": {"packets_per_s": 0.3, "voice_scale": 1.0, "spike": "echo_spike"},
    "google_home": {"packets_per_s": 0.8, "voice_scale": 1.3, "spike": "echo_spike"},
    "homepod": {"packets_per_s": 1.5, "voice_scale": 1.6, "spike": "homepod_spike"},
}


@dataclass(frozen=True)
class LabelledEvent:
    """One event in a synthetic trace.

    Attributes:
        kind: "voice", "slow" (activations), "echo_spike", "homepod_spike", "music" (not).
        start, end: seconds from the trace's start; start is the first sample carrying its bytes.
        bytes_up: the uplink bytes it added.
        activation: whether the detector should report it.
    """

    kind: str
    start: float
    end: float
    bytes_up: int
    activation: bool


@dataclass(frozen=True)
class LabelledTrace:
    """A 10 Hz series of one synthetic speaker and its truth.

    Attributes:
        family: "echo", "google_home" or "homepod".
        times: each sample's END in seconds from the trace's start; interval_s: 0.1.
        up_bytes, down_bytes: per sample.
        events: the labelled events, in time order.
    """

    family: str
    seed: int
    times: np.ndarray
    interval_s: float
    up_bytes: np.ndarray
    down_bytes: np.ndarray
    events: tuple[LabelledEvent, ...]

    @property
    def duration_s(self) -> float:
        return float(len(self.times) * self.interval_s)

    @property
    def activations(self) -> list[LabelledEvent]:
        return [e for e in self.events if e.activation]

    @property
    def idle_s(self) -> float:
        """Seconds not covered by an activation (what false alarms are counted against)."""
        return self.duration_s - sum(e.end - e.start for e in self.activations)


def shape_bytes(kind: str, rng: np.random.Generator, *, scale: float = 1.0) -> np.ndarray:
    """Uplink bytes per 0.1 s sample of one event of `kind` (see the module docstring)."""
    if kind == "voice":
        seconds = [rng.uniform(55_000, 95_000)]
        seconds += list(rng.uniform(28_000, 45_000, size=int(rng.integers(3, 8))))
        factor = scale * rng.uniform(0.8, 1.2)
        samples = [_spread(s * factor, rng, front=(i == 0)) for i, s in enumerate(seconds)]
        tail = np.zeros(RATE_HZ)
        tail[: int(rng.integers(1, 6))] = rng.uniform(1_000, 4_000) / 5
        return np.concatenate([*samples, tail])
    if kind == "slow":
        n = int(rng.integers(6, 10))
        total = max(46_000 * rng.uniform(0.75, 1.25), 5_000 * n + 1_000)
        seconds = 5_000 + (total - 5_000 * n) * rng.dirichlet(np.full(n, 0.7))
        return np.concatenate([_spread(s, rng) for s in np.minimum(seconds, 18_000)])
    if kind == "echo_spike":
        seconds = rng.uniform(3_000, 9_000, size=int(rng.integers(1, 3)))
        return np.concatenate([_spread(s, rng, bursty=True) for s in seconds])
    if kind == "homepod_spike":
        return _spread(rng.uniform(10_000, 12_000), rng, bursty=True)
    raise ValueError(f"unknown event kind {kind!r}")


def _spread(total: float, rng: np.random.Generator, *, front: bool = False, bursty: bool = False) -> np.ndarray:
    """One second's bytes over its ten samples: even with noise, front-loaded, or in 1-3 samples."""
    out = np.zeros(RATE_HZ)
    if front:
        share = rng.uniform(0.6, 0.9)
        out[0] = total * share
        weights = rng.uniform(0.5, 1.5, size=RATE_HZ - 1)
        out[1:] = total * (1 - share) * weights / weights.sum()
    elif bursty:
        k = int(rng.integers(1, 4))
        at = int(rng.integers(0, RATE_HZ - k + 1))
        weights = rng.uniform(0.5, 1.5, size=k)
        out[at:at + k] = total * weights / weights.sum()
    else:
        weights = rng.uniform(0.3, 1.7, size=RATE_HZ)
        out[:] = total * weights / weights.sum()
    return np.round(out)


def _background(n: int, packets_per_s: float, rng: np.random.Generator) -> np.ndarray:
    counts = rng.poisson(packets_per_s * INTERVAL_S, size=n)
    sizes = np.zeros(n)
    hit = counts > 0
    sizes[hit] = counts[hit] * rng.uniform(60, 600, size=int(hit.sum()))
    keepalive = np.arange(int(rng.integers(0, 30 * RATE_HZ)), n, 30 * RATE_HZ)
    sizes[keepalive] += rng.uniform(100, 400, size=len(keepalive))
    return sizes


def generate_trace(
    family: str,
    hours: float,
    *,
    seed: int,
    activations_per_hour: float = 10.0,
    spikes_per_hour: float = 8.0,
    slow_share: float = 0.3,
    music: bool = False,
) -> LabelledTrace:
    """One speaker's labelled trace of `hours`, fully determined by `seed`."""
    if family not in _FAMILY:
        raise ValueError(f"unknown family {family!r} (one of {', '.join(FAMILIES)})")
    shape = _FAMILY[family]
    rng = np.random.default_rng(seed)
    n = int(round(hours * 3600 * RATE_HZ))
    up = _background(n, shape["packets_per_s"], rng)
    down = _background(n, shape["packets_per_s"], rng)
    events: list[LabelledEvent] = []
    taken = np.zeros(n, dtype=bool)  # samples already used by an event or its guard

    def place(length: int, guard: int) -> int | None:
        for _ in range(50):
            at = int(rng.integers(guard, max(guard + 1, n - length - guard)))
            if not taken[max(0, at - guard): at + length + guard].any():
                taken[max(0, at - guard): at + length + guard] = True
                return at
        return None

    if music:
        for _ in range(max(1, int(hours))):
            length = int(rng.uniform(300, 1200) * RATE_HZ)
            at = place(length, 60 * RATE_HZ)
            if at is None:
                continue
            rate = rng.uniform(32_000, 190_000) * INTERVAL_S
            stream = rate * rng.uniform(0.7, 1.3, size=length)
            down[at:at + length] += np.round(stream)
            up[at:at + length] += np.round(stream * rng.uniform(0.015, 0.03))
            events.append(LabelledEvent("music", at * INTERVAL_S, (at + length) * INTERVAL_S,
                                        int(np.round(stream * 0.03).sum()), False))
    for _ in range(rng.poisson(activations_per_hour * hours)):
        kind = "slow" if rng.random() < slow_share else "voice"
        samples = shape_bytes(kind, rng, scale=shape["voice_scale"])
        at = place(len(samples), 20 * RATE_HZ)
        if at is None:
            continue
        up[at:at + len(samples)] += samples
        if kind == "voice":
            down[at:at + len(samples)] += rng.uniform(300, 600, size=len(samples))
            down[at + len(samples) - 1] += rng.uniform(10_000, 30_000)
        last = at + int(np.flatnonzero(samples)[-1]) + 1
        events.append(LabelledEvent(kind, at * INTERVAL_S, last * INTERVAL_S, int(samples.sum()), True))
    for _ in range(rng.poisson(spikes_per_hour * hours)):
        kind = shape["spike"] if rng.random() < 0.75 else ("homepod_spike" if shape["spike"] == "echo_spike"
                                                          else "echo_spike")
        samples = shape_bytes(kind, rng)
        at = place(len(samples), 20 * RATE_HZ)
        if at is None:
            continue
        up[at:at + len(samples)] += samples
        first = int(np.flatnonzero(samples)[0])
        last = int(np.flatnonzero(samples)[-1]) + 1
        events.append(LabelledEvent(kind, (at + first) * INTERVAL_S, (at + last) * INTERVAL_S,
                                    int(samples.sum()), False))
    events.sort(key=lambda e: e.start)
    times = (np.arange(n, dtype=float) + 1.0) * INTERVAL_S
    return LabelledTrace(family=family, seed=seed, times=times, interval_s=INTERVAL_S,
                         up_bytes=up.astype(np.int64), down_bytes=down.astype(np.int64), events=tuple(events))


def generate_corpus(seed: int = 4, hours_per_trace: float = 6.0, traces_per_family: int = 2,
                    families: Sequence[str] = FAMILIES) -> list[LabelledTrace]:
    """A fixed-seed corpus: for each family, `traces_per_family` traces (the second and later with music)."""
    traces = []
    for f, family in enumerate(families):
        for i in range(traces_per_family):
            traces.append(generate_trace(family, hours_per_trace, seed=seed * 1000 + f * 100 + i, music=i % 2 == 1))
    return traces


@dataclass
class Score:
    """How the detector did on one or more traces.

    Attributes:
        activations: true activations; found: those matched by a detection (overlapping it within
            MATCH_TOLERANCE_S); split: extra detections on an already matched activation.
        false_alarms: detections matching no true activation; false_alarm_kinds: what each overlapped.
        idle_s: seconds of idle the false alarms are counted against.
        start_errors: detected start - true start, one per found activation (seconds).
    """

    activations: int = 0
    found: int = 0
    split: int = 0
    false_alarms: int = 0
    idle_s: float = 0.0
    start_errors: list[float] = field(default_factory=list)
    false_alarm_kinds: list[str] = field(default_factory=list)
    missed: list[LabelledEvent] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.activations if self.activations else 1.0

    @property
    def false_alarms_per_24h(self) -> float:
        return self.false_alarms * 86_400.0 / self.idle_s if self.idle_s else 0.0

    def start_error(self, quantile: float) -> float:
        """A quantile of |start error| in seconds (0.5: the median)."""
        if not self.start_errors:
            return 0.0
        return float(np.quantile(np.abs(np.asarray(self.start_errors)), quantile))

    def add(self, other: Score) -> Score:
        self.activations += other.activations
        self.found += other.found
        self.split += other.split
        self.false_alarms += other.false_alarms
        self.idle_s += other.idle_s
        self.start_errors += other.start_errors
        self.false_alarm_kinds += other.false_alarm_kinds
        self.missed += other.missed
        return self


def score_trace(trace: LabelledTrace, detected: Iterable[Activation]) -> Score:
    """Match detections to the trace's truth."""
    truth = trace.activations
    score = Score(activations=len(truth), idle_s=trace.idle_s)
    matched: set[int] = set()
    tol = MATCH_TOLERANCE_S
    for found in sorted(detected, key=lambda a: a.start):
        hits = [i for i, e in enumerate(truth) if found.start < e.end + tol and found.end > e.start - tol]
        if not hits:
            score.false_alarms += 1
            near = [e.kind for e in trace.events if found.start < e.end + tol and found.end > e.start - tol]
            score.false_alarm_kinds.append(near[0] if near else "background")
            continue
        fresh = [i for i in hits if i not in matched]
        if not fresh:
            score.split += 1
            continue
        i = fresh[0]
        matched.add(i)
        score.found += 1
        score.start_errors.append(found.start - truth[i].start)
    score.missed = [e for i, e in enumerate(truth) if i not in matched]
    return score


def evaluate(
    traces: Iterable[LabelledTrace],
    *,
    profile: DetectorProfile | None = None,
    detect: Callable[[LabelledTrace, DetectorProfile], list[Activation]] | None = None,
) -> Score:
    """Run the detector over each trace (with `profile`, or the trace's family profile) and add up the scores."""
    total = Score()

    def default_detect(trace: LabelledTrace, prof: DetectorProfile) -> list[Activation]:
        return detect_series(trace.family, trace.times, trace.up_bytes, trace.interval_s,
                             down_bytes=trace.down_bytes, profile=prof)

    run = detect or default_detect
    for trace in traces:
        prof = profile if profile is not None else profile_for(trace.family)
        total.add(score_trace(trace, run(trace, prof)))
    return total


