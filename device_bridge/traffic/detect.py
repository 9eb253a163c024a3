"""The activation detector: decides when a speaker's uplink carried audio to the cloud.

Why not one threshold. The PETS 2020 study of misactivations (Dubois et al., "When Speakers Are All Ears",
PoPETs 2020(4); its artifact gave us resources/traces/echodot3a.pcap) flagged a second whose upload exceeds
a per-device threshold: Echo 12,172 B, Google Home 46,086 B, HomePod 76,366 B. It also saw Echo idle spikes
up to ~9 kB/s, HomePod single-second idle spikes of 10-12 kB, and HomePod misactivations that uploaded only
~46 kB over ~8 s at 5-18 kB/s. No single per-second threshold separates these: below 10 kB it fires on
every HomePod idle spike, above it it misses the slow misactivations (most of whose seconds carry 5-6 kB),
and HomePod's own 76 kB misses all but loud requests. What does separate them is duration and the
speaker's own idle behaviour. LeakyPick (Mitev et al., "LeakyPick: IoT Audio Spy Detector", ACSAC 2020)
decided "audio was sent" with a two-sample t-test between idle traffic and traffic after a trigger; we use
Welch's variant (unequal variances) between idle seconds and burst seconds.

The decision rule, on 1-second bins of uplink (10 Hz samples are summed; a sample spanning a bin boundary
is split in proportion to time). Uplink is first reduced by `ack_share` x downlink in the same bin, so the
acknowledgements of a music stream do not look like an upload.

1. Baseline, learned online: an exponentially weighted mean and variance of idle bins, in bytes and in
   log(1 + bytes), starting from the profile's prior (worth `prior_bins` bins) and then following the
   speaker with a time constant of `baseline_tau_s` (the weight of a new bin is max(1/(prior_bins + n),
   1/tau), so it learns fast at first). Each bin is clipped at the on-level before it is learned, so idle
   spikes barely move it. Bins of a confirmed activation are never learned.
2. Levels: on = mean + max(k_on x sd, margin_on_bytes), hold = mean + max(k_hold x sd, margin_hold_bytes).
   A bin above `on` is "strong", above `hold` "active".
3. A candidate burst opens at a strong bin. It goes on while active bins keep coming with at most
   `max_gap_bins` quiet bins between them, and ends after more quiet bins than that. An unconfirmed
   candidate keeps only the part whose strong bins still fit in one `strong_window_bins` window; what it
   drops, and a candidate that ends unconfirmed, is learned as idle (clipped).
4. Confirmed (an activation) when, within the last `strong_window_bins` bins,
      sustained:  at least `min_strong_bins` strong bins and at least `min_bytes` since the candidate's
                  start,  or
      loud:       at least 2 strong bins, `strong_bytes` (max(the family's PETS threshold, 3 x its largest
                  idle spike): more than a second PETS would flag, more than one idle spike can carry),
                  and LOUD_MIN_S (1.5 s) of samples whose rate is above the on-level,
   and Welch's one-sided t-test of the active bins against the idle baseline, on log(1 + bytes), gives
   p <= alpha. Byte counts per second are heavy-tailed (a voice second is 100x an idle one), so the test is
   done on logs; variances are floored at VAR_FLOOR so that constant series do not divide by zero. The
   idle group counts as min(prior_bins + n, tau) bins. While a second is still in progress, its bytes so
   far count towards "strong", the byte totals and the loud time, and its rate so far enters the t-test,
   so a loud upload is announced 1.5 s after its first byte whatever its phase against the bins, and a
   slow one after about 4 s. Once confirmed it stays confirmed.
   Why idle spikes never fire: a spike of one second covers at most 2 bins and at most 1 s of loud samples
   (however big it is), one of two seconds at most 3 bins; for spikes within the profile's
   `idle_spike_bytes` per second, 2 seconds carry at most 2/3 of `strong_bytes`. So neither branch can
   be met (tests/traffic_detect/test_detector_rules.py checks every profile at several phases).
5. The activation: start = the start of its first strong bin, end = the end of its last active bin,
   bytes_up = uplink bytes from start to end, peak_rate = the busiest bin, confidence = 1 - p of the same
   Welch test over all its active bins. An activation longer than `max_burst_s` is closed there and the
   baseline is re-seeded from its last minute: a speaker whose normal has changed (a new firmware, a
   call) is reported once, and then judged against its new normal.

Start time error: the start is the bin boundary at or before the first byte (up to 1 s early), or a later
one when the first bin (or, for a slow upload whose bytes come unevenly, the first two) carries too little
of the upload to be strong: within (-1 s, +2 s), and within 1 s for 99 % of the labelled corpus.

The t distribution's survival function uses the regularized incomplete beta function computed with a
continued fraction (math.lgamma only; scipy is not a dependency of the bridge).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from device_bridge.traffic.model import (
    Activation,
    ActivationEnded,
    ActivationStarted,
    DetectorEvent,
    TrafficSample,
)

__all__ = [
    "ECHO",
    "GENERIC",
    "GOOGLE_HOME",
    "HOMEPOD",
    "PROFILES",
    "ActivationDetector",
    "ActivationEnded",
    "ActivationStarted",
    "DetectorEvent",
    "DetectorProfile",
    "detect_series",
    "profile_for",
    "t_survival",
    "welch_p",
]

LOUD_MIN_S = 1.5          # the loud branch needs this long above the on-level: one second, however big, is not enough
VAR_FLOOR = 0.05          # log(1 + bytes)^2: a second's byte count is not known better than ~±25 %
_EPS = 1e-4               # seconds: samples ending this close to a bin boundary end at the boundary
_MAX_BACKSTEP_S = 2.0     # a sample ending further back than this before the open bin restarts the binning
_RESEED_BINS = 60
_MAX_SPREAD_S = 600.0     # a longer sample keeps its rate over its last 10 minutes; before that is a hole


@dataclass(frozen=True)
class DetectorProfile:
    """Starting points for one device family; the baseline then adapts to the actual speaker.

    Attributes:
        family: "generic", "echo", "google_home", "homepod".
        voice_threshold_bps: the PETS 2020 per-device 1-second threshold (what that study flagged).
        idle_spike_bytes: the largest idle spike per second seen for the family (Echo ~9 kB, HomePod
            10-12 kB; 12 kB where unknown).
        idle_rate_bps, idle_sd_bps: the prior idle mean and standard deviation (bytes per second).
        prior_bins: how many bins the prior is worth.
        margin_on_bytes, margin_hold_bytes, k_on, k_hold: the levels (see the module docstring). The on
            margin must stay below 5 kB/s, the slowest misactivation rate PETS saw.
        min_strong_bins, strong_window_bins, min_bytes: the "sustained" branch.
        alpha: the Welch test's one-sided level.
        max_gap_bins: quiet seconds tolerated inside a burst.
        max_burst_s: an activation longer than this is closed and the baseline re-seeded.
        baseline_tau_s: the baseline's time constant.
        ack_share: the share of downlink bytes subtracted from uplink as acknowledgements.
    """

    family: str = "generic"
    voice_threshold_bps: float = 12_172.0
    idle_spike_bytes: float = 12_000.0
    idle_rate_bps: float = 300.0
    idle_sd_bps: float = 500.0
    prior_bins: int = 30
    margin_on_bytes: float = 3_500.0
    margin_hold_bytes: float = 1_200.0
    k_on: float = 3.0
    k_hold: float = 1.5
    min_strong_bins: int = 4
    strong_window_bins: int = 10
    min_bytes: float = 16_000.0
    alpha: float = 0.05
    max_gap_bins: int = 2
    max_burst_s: float = 300.0
    baseline_tau_s: float = 600.0
    ack_share: float = 0.05

    def __post_init__(self) -> None:
        positive = ("voice_threshold_bps", "idle_spike_bytes", "idle_sd_bps", "margin_on_bytes",
                    "margin_hold_bytes", "min_bytes", "max_burst_s", "baseline_tau_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if self.idle_rate_bps < 0 or self.k_on < 0 or self.k_hold < 0 or not 0 <= self.ack_share < 1:
            raise ValueError("idle_rate_bps, k_on and k_hold must be >= 0 and ack_share in [0, 1)")
        if self.margin_hold_bytes > self.margin_on_bytes:
            raise ValueError("margin_hold_bytes must not exceed margin_on_bytes")
        if self.prior_bins < 1 or self.max_gap_bins < 0 or not 2 <= self.min_strong_bins <= self.strong_window_bins:
            raise ValueError("need prior_bins >= 1, max_gap_bins >= 0 and 2 <= min_strong_bins <= strong_window_bins")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")

    @property
    def strong_bytes(self) -> float:
        """Bytes that two strong bins must carry to confirm early (the "loud" branch)."""
        return max(self.voice_threshold_bps, 3.0 * self.idle_spike_bytes)


GENERIC = DetectorProfile()
ECHO = DetectorProfile(family="echo", voice_threshold_bps=12_172.0, idle_spike_bytes=9_000.0, idle_rate_bps=200.0)
GOOGLE_HOME = DetectorProfile(family="google_home", voice_threshold_bps=46_086.0, idle_spike_bytes=12_000.0)
HOMEPOD = DetectorProfile(family="homepod", voice_threshold_bps=76_366.0, idle_spike_bytes=12_000.0,
                          idle_rate_bps=500.0)
PROFILES: dict[str, DetectorProfile] = {p.family: p for p in (GENERIC, ECHO, GOOGLE_HOME, HOMEPOD)}

_FAMILY_WORDS = (
    ("echo", ("echo", "amazon", "alexa")),
    ("google_home", ("google", "nest", "chromecast", "cast")),
    ("homepod", ("homepod", "apple", "airplay")),
)


def profile_for(hint: str | None) -> DetectorProfile:
    """The profile for a vendor, model or family name ("Amazon Echo Dot", "homepod"...); GENERIC if unknown."""
    text = (hint or "").lower()
    if text in PROFILES:
        return PROFILES[text]
    for family, words in _FAMILY_WORDS:
        if any(word in text for word in words):
            return PROFILES[family]
    return GENERIC


# --- statistics -------------------------------------------------------------------------------------

def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz), converging for x < (a+1)/(a+b+2)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        # even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
        num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        result *= d * c
        # odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        result *= step
        if abs(step - 1.0) < 1e-14:
            break
    return result


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_survival(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom."""
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return float("nan")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if math.isinf(df):
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def welch_p(burst: Sequence[float], idle_mean: float, idle_var: float, idle_n: float) -> float:
    """One-sided p of Welch's t-test that the burst's mean exceeds idle's (idle given as summary statistics).

    Variances are floored at VAR_FLOOR; fewer than 2 burst values give p = 1 (no evidence of a sustained
    difference).
    """
    n1 = len(burst)
    if n1 < 2 or idle_n < 2:
        return 1.0
    m1 = math.fsum(burst) / n1
    v1 = max(math.fsum((x - m1) ** 2 for x in burst) / (n1 - 1), VAR_FLOOR)
    v2 = max(idle_var, VAR_FLOOR)
    s1, s2 = v1 / n1, v2 / idle_n
    se2 = s1 + s2
    t = (m1 - idle_mean) / math.sqrt(se2)
    df = se2 * se2 / (s1 * s1 / (n1 - 1) + s2 * s2 / (idle_n - 1))
    p = t_survival(t, df)
    return min(1.0, max(0.0, p))


# --- the detector -----------------------------------------------------------------------------------

class _Burst:
    """A candidate or confirmed burst: its bins from the first strong one on."""

    __slots__ = ("bins", "confirmed", "confirmed_p", "last_active", "quiet_run")

    def __init__(self) -> None:
        # (bin index, raw uplink bytes, effective bytes, kind: 2 strong, 1 active, 0 quiet, -1 unknown,
        #  seconds of samples above the on-level)
        self.bins: list[tuple[int, float, float, int, float]] = []
        self.confirmed = False
        self.confirmed_p = 1.0
        self.last_active = -1
        self.quiet_run = 0

    @property
    def first(self) -> int:
        return self.bins[0][0]


class ActivationDetector:
    """Per-speaker online activation detector (see the module docstring for the rule).

    Feed it the speaker's samples in time order; it returns ActivationStarted when a burst is confirmed
    and ActivationEnded when it is over. Not thread-safe: one thread feeds one detector.

    Attributes:
        speaker_id: the speaker whose samples this detector accepts.
        profile: the DetectorProfile it started from.
        baseline: the idle statistics it has learned (diagnostics).
    """

    def __init__(self, speaker_id: str, *, profile: DetectorProfile | None = None, clock_origin: float = 0.0) -> None:
        if not math.isfinite(clock_origin):
            raise ValueError("clock_origin must be finite")
        self.speaker_id = speaker_id
        self.profile = profile if profile is not None else GENERIC
        self._origin = float(clock_origin)
        p = self.profile
        self._mean = p.idle_rate_bps
        self._var = p.idle_sd_bps ** 2
        self._log_mean = math.log1p(p.idle_rate_bps)
        self._log_var = 1.5 ** 2
        self._learned = 0
        self._tau = p.baseline_tau_s
        self._levels()
        self._next_bin: int | None = None          # the oldest bin not yet closed
        self._pending: dict[int, list[float]] = {}  # bin -> [raw up, down, seconds covered, seconds loud]
        self._burst: _Burst | None = None

    # -- diagnostics --

    @property
    def baseline(self) -> dict:
        """The learned idle: mean and sd in bytes per second, the two levels, and how much it has seen."""
        return {
            "mean": self._mean,
            "sd": math.sqrt(self._var),
            "level_on": self._on,
            "level_hold": self._hold,
            "log_mean": self._log_mean,
            "log_sd": math.sqrt(self._log_var),
            "bins_learned": self._learned,
            "profile": self.profile.family,
        }

    def restore_baseline(self, state: Mapping[str, float]) -> None:
        """Start from a baseline saved earlier (the `baseline` dict), e.g. across a bridge restart."""
        try:
            mean, sd = float(state["mean"]), float(state["sd"])
            log_mean, log_sd = float(state["log_mean"]), float(state["log_sd"])
            learned = int(state["bins_learned"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"not a detector baseline: {err}") from None
        values = (mean, sd, log_mean, log_sd)
        if not all(math.isfinite(v) and v >= 0 for v in values) or learned < 0:
            raise ValueError("a baseline's values must be finite and >= 0")
        self._mean, self._var = mean, sd * sd
        self._log_mean, self._log_var = log_mean, log_sd * log_sd
        self._learned = learned
        self._levels()

    # -- input --

    def feed(self, sample: TrafficSample) -> list[DetectorEvent]:
        """Take one sample (samples in time order); return what became known with it."""
        if sample.speaker_id != self.speaker_id:
            raise ValueError(f"sample for {sample.speaker_id!r} fed to the detector of {self.speaker_id!r}")
        return self._add(sample.time, sample.interval_s, sample.up_bytes, sample.down_bytes)

    def flush(self) -> list[DetectorEvent]:
        """End of input: close the second in progress and finish any open burst (replay, or a source gone)."""
        events: list[DetectorEvent] = []
        if self._next_bin is not None:
            last = max(self._pending, default=self._next_bin - 1)
            self._close_until(last + 1, events)
        self._end_burst(events)
        self._next_bin = None
        self._pending.clear()
        return events

    def _add(self, end: float, interval: float, up: float, down: float) -> list[DetectorEvent]:
        if not (math.isfinite(end) and math.isfinite(interval) and math.isfinite(up) and math.isfinite(down)):
            raise ValueError("sample values must be finite")
        if interval < 0 or up < 0 or down < 0:
            raise ValueError("sample interval and byte counts must be >= 0")
        events: list[DetectorEvent] = []
        rel_b = end - self._origin
        if interval > _MAX_SPREAD_S:
            up, down = up * _MAX_SPREAD_S / interval, down * _MAX_SPREAD_S / interval
            interval = _MAX_SPREAD_S
        rel_a = rel_b - interval
        if self._next_bin is None:
            self._next_bin = math.floor(rel_a + _EPS)
        elif rel_b < self._next_bin - _MAX_BACKSTEP_S:
            # The clock went back: what we had is finished, and binning starts again from here.
            events += self.flush()
            self._next_bin = math.floor(rel_a + _EPS)
        first = self._next_bin
        if rel_a < first:  # jitter into a closed bin: the overlap goes to the oldest open bin
            rel_a = float(first)
            rel_b = max(rel_b, rel_a)
        k = math.floor(rel_a + _EPS)
        loud = interval > 0 and self._effective(up, down) > self._on * interval
        if rel_b <= k + 1 + _EPS or interval <= 0:
            self._put(k, up, down, rel_b - rel_a, loud)
        else:
            span = rel_b - rel_a
            last = math.floor(rel_b - _EPS)
            for j in range(k, last + 1):
                share = (min(rel_b, j + 1.0) - max(rel_a, float(j))) / span
                if share > 0:
                    self._put(j, up * share, down * share, share * span, loud)
        self._close_until(math.floor(rel_b + _EPS), events)
        burst = self._burst
        if burst is not None and not burst.confirmed:
            partial = self._pending.get(self._next_bin)
            if partial is not None and partial[0] > 0:
                covered = min(1.0, max(partial[2], rel_b - self._next_bin))
                if covered > 0 and self._try_confirm(burst, partial, covered):
                    events.append(self._started(burst))
        return events

    def _put(self, k: int, up: float, down: float, covered: float, loud: bool) -> None:
        acc = self._pending.get(k)
        if acc is None:
            self._pending[k] = [up, down, covered, covered if loud else 0.0]
        else:
            acc[0] += up
            acc[1] += down
            acc[2] += covered
            if loud:
                acc[3] += covered

    def _close_until(self, stop: int, events: list[DetectorEvent]) -> None:
        """Close every bin before `stop`, in order."""
        j = self._next_bin
        if j is None or stop <= j:
            return
        pending = self._pending
        skip_after = self.profile.max_gap_bins + 1  # enough uncovered bins to end any burst
        uncovered = 0
        while j < stop:
            acc = pending.pop(j, None)
            if acc is None:
                uncovered += 1
                self._close_bin(j, 0.0, 0.0, 0.0, covered=False, events=events)
                if uncovered >= skip_after and self._burst is None:
                    # A long hole (no samples at all): skip to the next bin that has data.
                    j = min((i for i in pending if i < stop), default=stop)
                    uncovered = 0
                    continue
            else:
                uncovered = 0
                self._close_bin(j, acc[0], acc[1], acc[3], covered=acc[2] > 0 or acc[0] > 0, events=events)
            j += 1
        self._next_bin = stop

    # -- the rule --

    def _levels(self) -> None:
        p = self.profile
        sd = math.sqrt(self._var)
        self._on = self._mean + max(p.k_on * sd, p.margin_on_bytes)
        self._hold = self._mean + max(p.k_hold * sd, p.margin_hold_bytes)

    def _effective(self, raw: float, down: float) -> float:
        return max(0.0, raw - self.profile.ack_share * down)

    def _learn(self, value: float) -> None:
        x = min(value, self._on)
        self._learned += 1
        a = max(1.0 / (self.profile.prior_bins + self._learned), 1.0 / self._tau)
        d = x - self._mean
        self._mean += a * d
        self._var = (1.0 - a) * (self._var + a * d * d)
        lx = math.log1p(x)
        d = lx - self._log_mean
        self._log_mean += a * d
        self._log_var = (1.0 - a) * (self._log_var + a * d * d)
        self._levels()

    def _idle_n(self) -> float:
        return min(self.profile.prior_bins + self._learned, self._tau)

    def _close_bin(self, k: int, raw: float, down: float, loud_s: float, *, covered: bool,
                   events: list[DetectorEvent]) -> None:
        eff = self._effective(raw, down)
        burst = self._burst
        if burst is None:
            if eff > self._on:
                burst = self._burst = _Burst()
                burst.bins.append((k, raw, eff, 2, loud_s))
                burst.last_active = k
            elif covered:
                self._learn(eff)
            return
        if not covered:
            kind = -1
        elif eff > self._on:
            kind = 2
        elif eff > self._hold:
            kind = 1
        else:
            kind = 0
        burst.bins.append((k, raw, eff, kind, loud_s))
        if kind > 0:
            burst.last_active = k
            burst.quiet_run = 0
        else:
            burst.quiet_run += 1
        if burst.quiet_run > self.profile.max_gap_bins:
            self._end_burst(events)
            return
        if not burst.confirmed:
            self._slide(burst)
            if self._burst is None:
                return
            if kind > 0 and self._try_confirm(burst, None, 0.0):
                events.append(self._started(burst))
        elif k + 1 - burst.first >= self.profile.max_burst_s:
            self._end_burst(events, reseed=True)

    def _slide(self, burst: _Burst) -> None:
        """Drop an unconfirmed candidate's leading bins whose strong bins can no longer share a window."""
        newest = burst.bins[-1][0]
        oldest_useful = newest - self.profile.strong_window_bins + 1
        bins = burst.bins
        cut = 0
        while cut < len(bins) and (bins[cut][0] < oldest_useful or bins[cut][3] != 2):
            cut += 1
        if cut == 0:
            return
        for _, _, eff, kind, _ in bins[:cut]:
            if kind != -1:
                self._learn(eff)
        del bins[:cut]
        if not bins:
            self._burst = None

    def _try_confirm(self, burst: _Burst, partial: list[float] | None, covered: float) -> bool:
        p = self.profile
        window_start = burst.bins[-1][0] - p.strong_window_bins + 1
        if partial is not None:
            window_start += 1
        strong = 0
        total = 0.0
        loud_s = 0.0
        logs = []
        for k, _, eff, kind, loud in burst.bins:
            total += eff
            loud_s += loud
            if kind > 0:
                logs.append(math.log1p(eff))
                if kind == 2 and k >= window_start:
                    strong += 1
        if partial is not None:
            eff = self._effective(partial[0], partial[1])
            total += eff
            loud_s += partial[3]
            if eff > self._on:
                strong += 1
            if eff > self._hold:
                logs.append(math.log1p(eff / covered))
        if strong < 2:
            return False
        sustained = strong >= p.min_strong_bins and total >= p.min_bytes
        loud = total >= p.strong_bytes and loud_s >= LOUD_MIN_S
        if not (sustained or loud):
            return False
        p_value = welch_p(logs, self._log_mean, self._log_var, self._idle_n())
        if p_value > p.alpha:
            return False
        burst.confirmed = True
        burst.confirmed_p = p_value
        return True

    def _started(self, burst: _Burst) -> ActivationStarted:
        return ActivationStarted(self.speaker_id, self._origin + burst.first, 1.0 - burst.confirmed_p)

    def _confidence(self, burst: _Burst) -> float:
        logs = [math.log1p(b[2]) for b in burst.bins if b[3] > 0]
        p = welch_p(logs, self._log_mean, self._log_var, self._idle_n())
        return min(1.0, max(0.0, 1.0 - p))

    def _end_burst(self, events: list[DetectorEvent], *, reseed: bool = False) -> None:
        burst = self._burst
        if burst is None:
            return
        self._burst = None
        if not burst.confirmed:
            for _, _, eff, kind, _ in burst.bins:
                if kind != -1:
                    self._learn(eff)
            return
        last = burst.bins[-1][0] if reseed else burst.last_active
        inside = [b for b in burst.bins if b[0] <= last]
        after = [b for b in burst.bins if b[0] > last]
        bytes_up = int(round(math.fsum(b[1] for b in inside)))
        peak = max(b[1] for b in inside)
        confidence = self._confidence(burst)
        events.append(ActivationEnded(Activation(
            speaker_id=self.speaker_id,
            start=self._origin + burst.first,
            end=self._origin + last + 1,
            bytes_up=max(bytes_up, 1),
            peak_rate=float(peak),
            confidence=confidence,
        )))
        if reseed:
            self._reseed([b[2] for b in inside[-_RESEED_BINS:] if b[3] != -1])
        for _, _, eff, kind, _ in after:  # the quiet bins that ended it
            if kind != -1:
                self._learn(eff)

    def _reseed(self, values: list[float]) -> None:
        if not values:
            return
        arr = np.asarray(values, dtype=float)
        self._mean = float(arr.mean())
        self._var = max(float(arr.var()), self.profile.idle_sd_bps ** 2)
        logs = np.log1p(arr)
        self._log_mean = float(logs.mean())
        self._log_var = max(float(logs.var()), VAR_FLOOR)
        self._learned = max(0, _RESEED_BINS - self.profile.prior_bins)
        self._levels()


def detect_series(
    speaker_id: str,
    times: Sequence[float] | np.ndarray,
    up_bytes: Sequence[float] | np.ndarray,
    interval_s: float | Sequence[float] | np.ndarray,
    *,
    down_bytes: Sequence[float] | np.ndarray | None = None,
    profile: DetectorProfile | None = None,
    clock_origin: float = 0.0,
) -> list[Activation]:
    """Run a fresh ActivationDetector over a whole series and return its activations.

    times are the samples' end times in time order, interval_s one length for all or one per sample.
    The same code path as feeding TrafficSamples one by one, so replay and the live bridge agree.
    """
    t = np.asarray(times, dtype=float).ravel()
    up = np.asarray(up_bytes, dtype=float).ravel()
    down = np.zeros_like(t) if down_bytes is None else np.asarray(down_bytes, dtype=float).ravel()
    intervals = np.broadcast_to(np.asarray(interval_s, dtype=float), t.shape) if np.ndim(interval_s) else None
    if up.shape != t.shape or down.shape != t.shape or (intervals is not None and intervals.shape != t.shape):
        raise ValueError("times, up_bytes, down_bytes and interval_s must have the same length")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(up)) and np.all(np.isfinite(down))):
        raise ValueError("series values must be finite")
    if np.any(up < 0) or np.any(down < 0):
        raise ValueError("byte counts must be >= 0")
    detector = ActivationDetector(speaker_id, profile=profile, clock_origin=clock_origin)
    found: list[Activation] = []
    add = detector._add
    if intervals is None:
        step = float(interval_s)
        for end, u, d in zip(t.tolist(), up.tolist(), down.tolist()):
            for event in add(end, step, u, d):
                if isinstance(event, ActivationEnded):
                    found.append(event.activation)
    else:
        for end, step, u, d in zip(t.tolist(), intervals.tolist(), up.tolist(), down.tolist()):
            for event in add(end, step, u, d):
                if isinstance(event, ActivationEnded):
                    found.append(event.activation)
    found += [e.activation for e in detector.flush() if isinstance(e, ActivationEnded)]
    return found
