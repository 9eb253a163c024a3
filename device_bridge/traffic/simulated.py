"""A traffic source driven by a model of smart speakers, for `--simulate`, the demo, tests and benchmarks.

Each speaker's traffic is made in 0.1-s ticks from its own seeded random generator, so the same seed and
the same clock give the same counters however often `read()` is called:

* idle: a trickle of small packets (keep-alives, metrics; a few hundred B/s up and down) and a heartbeat
  of ~1.5 kB every ~30 s;
* background spikes: now and then a single second of 3-9 kB up (an Echo's idle spikes reach ~9 kB/s);
* voice uploads shaped like the real Echo trace (76, 39, 36, 35, 35 kB in consecutive seconds, give or
  take 10%, sometimes a second or two longer), followed by a downlink reply;
* misactivations at random (exponential gaps, seeded): either a short voice-shaped upload or a slow one
  (~46 kB over ~8 s at 5-18 kB/s, as HomePods were seen to send).

It reacts to the commanded mute (`follow(muted_of)`): a muted speaker sends no voice (the microphone is
cut) unless its `mute_fails` knob is set; a speaker on the "power" driver sends nothing at all while muted.

`inject_burst()` schedules a voice upload at a known time; `bursts` records every upload that really
went out (start, end, bytes), so tests and benches can compare the detector's findings with the truth.
`voice_requests()` tells when someone spoke to a speaker on purpose (planned ones included, muted or not),
which the simulated room microphone turns into speech.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from device_bridge.traffic.model import Counters

TICK_S = 0.1
# Voice request of the real Echo Dot trace (resources/traces/echodot3a.pcap): bytes up in consecutive seconds.
VOICE_SHAPE: tuple[int, ...] = (76_000, 39_000, 36_000, 35_000, 35_000)
# The reply (downlink), bytes per second after the upload ends.
REPLY_SHAPE: tuple[int, ...] = (45_000, 60_000, 30_000)
MAX_CATCH_UP_S = 600.0
BURSTS_KEPT = 1000
_MTU_PAYLOAD = 1400
_SMALL_PACKET = 120


@dataclass(frozen=True)
class SpeakerBehaviour:
    """How one simulated speaker behaves; the defaults look like an Echo on a quiet day.

    Attributes:
        idle_up, idle_down: mean background bytes per second.
        heartbeat_every_s, heartbeat_bytes: the periodic check-in.
        spike_every_s: mean time between single-second idle spikes (3-9 kB); None: none.
        request_every_s: mean time between voice requests someone makes on purpose; None: none.
        misactivation_every_s: mean time between misactivations; None: none.
        off_when_muted: the mute cuts the power (driver "power"): nothing at all is sent while muted.
    """

    idle_up: float = 250.0
    idle_down: float = 400.0
    heartbeat_every_s: float = 30.0
    heartbeat_bytes: int = 1500
    spike_every_s: float | None = 900.0
    request_every_s: float | None = None
    misactivation_every_s: float | None = None
    off_when_muted: bool = False


# What `serve --simulate` shows: traffic all the time, and from each unmuted speaker a voice request or a
# misactivation every few minutes.
DEMO_BEHAVIOUR = SpeakerBehaviour(spike_every_s=300.0, request_every_s=600.0, misactivation_every_s=900.0)
QUIET_BEHAVIOUR = SpeakerBehaviour(spike_every_s=None)


@dataclass(frozen=True)
class SentBurst:
    """An upload the simulated speaker really sent (after the mute had its say).

    Attributes:
        speaker_id, kind: "voice", "misactivation", "slow" (slow misactivation) or "spike".
        start: epoch seconds of its first byte; end: of its last tick's end.
        bytes_up: what went up during it, the idle trickle excluded.
    """

    speaker_id: str
    kind: str
    start: float
    end: float
    bytes_up: int


class _Burst:
    def __init__(self, kind: str, start: float, up: Sequence[float], down: Sequence[float] = ()) -> None:
        self.kind = kind
        self.start = start
        self.up = list(up)  # bytes per second
        self.down = list(down)  # bytes per second, after the upload
        self.sent_up = 0
        self.first_sent: float | None = None
        self.last_sent = start

    @property
    def end(self) -> float:
        return self.start + len(self.up) + len(self.down)


class _Speaker:
    def __init__(self, speaker_id: str, behaviour: SpeakerBehaviour, rng: np.random.Generator, now: float) -> None:
        self.id = speaker_id
        self.behaviour = behaviour
        self.rng = rng
        self.up_bytes = self.up_packets = self.down_bytes = self.down_packets = 0
        self.tick = math.floor(now / TICK_S)
        self.mute_fails = False
        self.bursts: list[_Burst] = []
        # Cumulative [up bytes, up packets, down bytes, down packets] per kind of traffic ("idle",
        # "heartbeat", or a burst's kind), for the simulated destinations.
        self.streams: dict[str, list[int]] = {}
        self.next_heartbeat = now + float(rng.uniform(0, behaviour.heartbeat_every_s))
        self.next_spike = self._after(now, behaviour.spike_every_s)
        self.next_request = self._after(now, behaviour.request_every_s)
        self.next_misactivation = self._after(now, behaviour.misactivation_every_s)

    def _after(self, now: float, mean: float | None) -> float:
        return math.inf if mean is None else now + float(self.rng.exponential(mean))

    def counters(self) -> Counters:
        return Counters(up_bytes=self.up_bytes, up_packets=self.up_packets, down_bytes=self.down_bytes,
                        down_packets=self.down_packets)


def _stream(speaker: _Speaker, kind: str, up: int, up_packets: int, down: int, down_packets: int) -> None:
    if up or down:
        counters = speaker.streams.setdefault(kind, [0, 0, 0, 0])
        counters[0] += up
        counters[1] += up_packets
        counters[2] += down
        counters[3] += down_packets


def voice_upload(rng: np.random.Generator) -> list[float]:
    """Bytes per second of one voice request: the Echo trace's shape, each second +-10%, 0-2 s longer."""
    shape = [v * float(rng.uniform(0.9, 1.1)) for v in VOICE_SHAPE]
    shape += [VOICE_SHAPE[-1] * float(rng.uniform(0.85, 1.05)) for _ in range(int(rng.integers(0, 3)))]
    return shape


def slow_upload(rng: np.random.Generator) -> list[float]:
    """A slow misactivation: 7-9 s at 5-18 kB/s, ~46 kB in all."""
    seconds = int(rng.integers(7, 10))
    rates = rng.uniform(5_000, 18_000, seconds)
    return [float(r) for r in rates * (46_000 / rates.sum())]


class SimulatedTrafficSource:
    """A TrafficSource whose speakers follow `SpeakerBehaviour`s on the given clock. Thread-safe.

    Attributes:
        bursts: the last BURSTS_KEPT uploads sent (SentBurst), in the order they ended.
    """

    def __init__(
        self,
        speakers: Iterable[str | object],
        *,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
        behaviour: SpeakerBehaviour | dict[str, SpeakerBehaviour] = SpeakerBehaviour(),
        muted_of: Callable[[str], bool] | None = None,
    ) -> None:
        """`speakers`: ids, or SpeakerConfigs (a "power" driver's speaker is off while muted)."""
        self._clock = clock
        self._muted_of = muted_of
        self._lock = threading.Lock()
        self._closed = False
        self.bursts: collections.deque[SentBurst] = collections.deque(maxlen=BURSTS_KEPT)
        self._requests: collections.deque[tuple[str, float]] = collections.deque(maxlen=BURSTS_KEPT)
        now = clock()
        self._speakers: dict[str, _Speaker] = {}
        for index, speaker in enumerate(speakers):
            speaker_id = speaker if isinstance(speaker, str) else speaker.id
            chosen = behaviour.get(speaker_id, SpeakerBehaviour()) if isinstance(behaviour, dict) else behaviour
            if getattr(speaker, "driver", None) == "power":
                chosen = dataclasses.replace(chosen, off_when_muted=True)
            rng = np.random.default_rng([seed, index])
            self._speakers[speaker_id] = _Speaker(speaker_id, chosen, rng, now)

    # --- knobs ---------------------------------------------------------------------------------------

    def follow(self, muted_of: Callable[[str], bool]) -> None:
        """Take each speaker's commanded mute from `muted_of(speaker_id)` (e.g. the engine's state)."""
        with self._lock:
            self._muted_of = muted_of

    def set_mute_fails(self, speaker_id: str, fails: bool = True) -> None:
        """Let the speaker send voice even while muted (a relay that welded shut, a cut wire)."""
        with self._lock:
            self._speakers[speaker_id].mute_fails = fails

    def inject_burst(self, speaker_id: str, at: float | None = None, shape: Sequence[float] | None = None,
                     *, kind: str = "voice") -> None:
        """Schedule an upload of `shape` (bytes per second; default the Echo trace's voice request, 76, 39,
        36, 35, 35 kB) starting at `at` (default: now); a "voice" upload is followed by a reply on the
        downlink."""
        with self._lock:
            speaker = self._speakers[speaker_id]
            start = self._clock() if at is None else at
            up = list(VOICE_SHAPE if shape is None else shape)
            speaker.bursts.append(_Burst(kind, start, up, REPLY_SHAPE if kind == "voice" else ()))
            if kind == "voice":
                self._requests.append((speaker_id, start))

    def voice_requests(self, since: float, until: float) -> list[tuple[str, float]]:
        """(speaker id, start) of every voice request someone makes on purpose starting in [since, until],
        the ones the model has planned but not begun included; whether the mute let it out or not."""
        with self._lock:
            found = [(sid, start) for sid, start in self._requests if since <= start <= until]
            found += [(s.id, s.next_request) for s in self._speakers.values() if since <= s.next_request <= until]
        return sorted(found, key=lambda request: request[1])

    # --- TrafficSource -------------------------------------------------------------------------------

    def read(self) -> dict[str, Counters]:
        """Every speaker's cumulative counters as of the clock's now."""
        now = self._clock()
        with self._lock:
            muted_of = self._muted_of
        # Asked outside the lock: muted_of is someone else's code (the engine's state, under its own lock).
        muted = {sid: bool(muted_of(sid)) for sid in self._speakers} if muted_of is not None else {}
        with self._lock:
            if self._closed:
                return {}
            for sid, speaker in self._speakers.items():
                self._advance(speaker, math.floor(now / TICK_S + 1e-9), muted.get(sid, False))
            return {sid: s.counters() for sid, s in self._speakers.items()}

    def read_streams(self) -> dict[str, dict[str, list[int]]]:
        """Like `read`, split by kind of traffic: per speaker id, per kind ("idle", "heartbeat", "voice",
        "misactivation", "slow", "spike"), cumulative [up bytes, up packets, down bytes, down packets]."""
        now = self._clock()
        with self._lock:
            muted_of = self._muted_of
        muted = {sid: bool(muted_of(sid)) for sid in self._speakers} if muted_of is not None else {}
        with self._lock:
            if self._closed:
                return {}
            for sid, speaker in self._speakers.items():
                self._advance(speaker, math.floor(now / TICK_S + 1e-9), muted.get(sid, False))
            return {sid: {kind: list(c) for kind, c in s.streams.items()} for sid, s in self._speakers.items()}

    def close(self) -> None:
        with self._lock:
            self._closed = True

    # --- the model -----------------------------------------------------------------------------------

    def _advance(self, speaker: _Speaker, until_tick: int, muted: bool) -> None:
        """Generate the ticks [speaker.tick, until_tick): each tick's bytes count once it is over."""
        if until_tick - speaker.tick > MAX_CATCH_UP_S / TICK_S:
            speaker.tick = until_tick - int(MAX_CATCH_UP_S / TICK_S)  # the clock jumped: skip the gap
        while speaker.tick < until_tick:
            self._one_tick(speaker, speaker.tick * TICK_S, muted)
            speaker.tick += 1

    def _one_tick(self, speaker: _Speaker, t: float, muted: bool) -> None:
        behaviour, rng = speaker.behaviour, speaker.rng
        self._schedule(speaker, t)
        if muted and behaviour.off_when_muted:
            self._drop_finished(speaker, t)
            return
        up, up_packets = self._trickle(rng, behaviour.idle_up)
        down, down_packets = self._trickle(rng, behaviour.idle_down)
        _stream(speaker, "idle", up, up_packets, down, down_packets)
        if t >= speaker.next_heartbeat:
            speaker.next_heartbeat = t + behaviour.heartbeat_every_s * float(rng.uniform(0.8, 1.2))
            up += behaviour.heartbeat_bytes
            down += behaviour.heartbeat_bytes // 2
            up_packets += 2
            down_packets += 1
            _stream(speaker, "heartbeat", behaviour.heartbeat_bytes, 2, behaviour.heartbeat_bytes // 2, 1)
        voice_allowed = not muted or speaker.mute_fails
        for burst in speaker.bursts:
            offset = t - burst.start
            if offset < 0 or offset >= len(burst.up) + len(burst.down):
                continue
            second = int(offset)
            if second < len(burst.up):
                if not voice_allowed and burst.kind != "spike":
                    continue
                sent = int(burst.up[second] * TICK_S * float(rng.uniform(0.85, 1.15)))
                burst.sent_up += sent
                burst.first_sent = t if burst.first_sent is None else burst.first_sent
                burst.last_sent = t + TICK_S
                up += sent
                up_packets += math.ceil(sent / _MTU_PAYLOAD)
                down += sent // 40  # ACKs
                down_packets += math.ceil(sent / _MTU_PAYLOAD / 2)
                _stream(speaker, burst.kind, sent, math.ceil(sent / _MTU_PAYLOAD), sent // 40,
                        math.ceil(sent / _MTU_PAYLOAD / 2))
            elif burst.sent_up:  # the reply comes only to a request that went out
                got = int(burst.down[second - len(burst.up)] * TICK_S * float(rng.uniform(0.85, 1.15)))
                down += got
                down_packets += math.ceil(got / _MTU_PAYLOAD)
                up += got // 40
                up_packets += math.ceil(got / _MTU_PAYLOAD / 2)
                _stream(speaker, burst.kind, got // 40, math.ceil(got / _MTU_PAYLOAD / 2), got,
                        math.ceil(got / _MTU_PAYLOAD))
        self._drop_finished(speaker, t)
        speaker.up_bytes += up
        speaker.down_bytes += down
        speaker.up_packets += up_packets
        speaker.down_packets += down_packets

    def _schedule(self, speaker: _Speaker, t: float) -> None:
        behaviour, rng = speaker.behaviour, speaker.rng
        if t >= speaker.next_spike:
            speaker.bursts.append(_Burst("spike", t, [float(rng.uniform(3_000, 9_000))]))
            speaker.next_spike = speaker._after(t, behaviour.spike_every_s)
        if t >= speaker.next_request:
            speaker.bursts.append(_Burst("voice", t, voice_upload(rng), REPLY_SHAPE))
            self._requests.append((speaker.id, speaker.next_request))
            speaker.next_request = speaker._after(t, behaviour.request_every_s)
        if t >= speaker.next_misactivation:
            if rng.random() < 0.5:
                speaker.bursts.append(_Burst("slow", t, slow_upload(rng)))
            else:
                speaker.bursts.append(_Burst("misactivation", t, voice_upload(rng)[:int(rng.integers(3, 6))]))
            speaker.next_misactivation = speaker._after(t, behaviour.misactivation_every_s)

    def _drop_finished(self, speaker: _Speaker, t: float) -> None:
        done = [b for b in speaker.bursts if t + TICK_S >= b.end - 1e-9]
        for burst in done:
            speaker.bursts.remove(burst)
            if burst.sent_up and burst.first_sent is not None:
                self.bursts.append(SentBurst(speaker.id, burst.kind, burst.first_sent, burst.last_sent, burst.sent_up))

    @staticmethod
    def _trickle(rng: np.random.Generator, rate: float) -> tuple[int, int]:
        """(bytes, packets): small packets at `rate` B/s on average, a Poisson count of ~120-byte packets."""
        if rate <= 0:
            return 0, 0
        packets = int(rng.poisson(rate * TICK_S / _SMALL_PACKET))
        return (packets * int(rng.integers(60, 181)), packets) if packets else (0, 0)
