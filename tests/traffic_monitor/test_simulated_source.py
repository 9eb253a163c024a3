"""The simulated traffic source: repeatable, shaped like real speakers, and obedient to the mute (or not)."""

from __future__ import annotations

import pytest
from monitor_helpers import TickClock

from device_bridge.config import SpeakerConfig
from device_bridge.traffic.detect import detect_series
from device_bridge.traffic.simulated import (
    QUIET_BEHAVIOUR,
    VOICE_SHAPE,
    SimulatedTrafficSource,
    SpeakerBehaviour,
)


def series(source: SimulatedTrafficSource, clock: TickClock, seconds: float, speaker: str = "kitchen"):
    """(end times, uplink bytes per 0.1 s) of one speaker over `seconds`."""
    times, ups = [], []
    previous = source.read()[speaker]
    for _ in range(round(seconds * 10)):
        clock.advance(0.1)
        now = source.read()[speaker]
        times.append(clock())
        ups.append(now.up_bytes - previous.up_bytes)
        previous = now
    return times, ups


def test_the_same_seed_gives_the_same_counters_however_often_it_is_read():
    busy = SpeakerBehaviour(spike_every_s=20.0, misactivation_every_s=60.0)
    often, rarely = TickClock(), TickClock()
    a = SimulatedTrafficSource(["kitchen"], clock=often, seed=7, behaviour=busy)
    b = SimulatedTrafficSource(["kitchen"], clock=rarely, seed=7, behaviour=busy)
    for _ in range(3000):
        often.advance(0.1)
        a.read()
    rarely.advance(300.0)
    assert a.read() == b.read()
    c = SimulatedTrafficSource(["kitchen"], clock=TickClock(), seed=8, behaviour=busy)
    c._clock.advance(300.0)
    assert c.read() != a.read()


def test_idle_is_a_trickle_with_heartbeats_and_no_activation():
    clock = TickClock()
    source = SimulatedTrafficSource(["kitchen"], clock=clock, seed=3, behaviour=SpeakerBehaviour(spike_every_s=60.0))
    times, ups = series(source, clock, 1800)
    per_second = [sum(ups[i:i + 10]) for i in range(0, len(ups), 10)]
    assert 150 < sum(per_second) / len(per_second) < 600
    spikes = [b for b in source.bursts if b.kind == "spike"]
    assert len(spikes) >= 10 and all(b.bytes_up < 11_000 for b in spikes)
    counters = source.read()["kitchen"]
    assert counters.up_packets > 0 and counters.down_bytes > 0 and counters.down_packets > 0
    assert detect_series("kitchen", times, ups, 0.1) == []


def test_an_injected_voice_upload_is_shaped_like_the_echo_trace_and_is_detected():
    clock = TickClock()
    source = SimulatedTrafficSource(["kitchen"], clock=clock, seed=4, behaviour=QUIET_BEHAVIOUR)
    at = clock() + 120.0
    source.inject_burst("kitchen", at=at)
    times, ups = series(source, clock, 180)
    (burst,) = source.bursts
    assert (burst.kind, burst.start) == ("voice", at)
    assert burst.bytes_up == pytest.approx(sum(VOICE_SHAPE), rel=0.03)
    first = round((at - times[0]) * 10) + 1  # the index of the tick that starts at `at`
    seconds = [sum(ups[first + 10 * i:first + 10 * (i + 1)]) for i in range(5)]
    for measured, shape in zip(seconds, VOICE_SHAPE):
        assert measured == pytest.approx(shape, rel=0.1)
    (activation,) = detect_series("kitchen", times, ups, 0.1)
    assert abs(activation.start - at) <= 1.0
    assert activation.bytes_up == pytest.approx(burst.bytes_up, rel=0.05)


def test_a_muted_speaker_sends_no_voice_unless_its_mute_fails():
    clock = TickClock()
    muted = {"kitchen": True}
    source = SimulatedTrafficSource(["kitchen"], clock=clock, seed=5, behaviour=QUIET_BEHAVIOUR)
    source.follow(lambda speaker_id: muted[speaker_id])
    source.inject_burst("kitchen", at=clock() + 10)
    series(source, clock, 30)
    assert list(source.bursts) == []  # the microphone was cut: nothing went out
    source.set_mute_fails("kitchen")
    source.inject_burst("kitchen", at=clock() + 10)
    series(source, clock, 30)
    (burst,) = source.bursts
    assert burst.bytes_up > 200_000


def test_a_power_muted_speaker_sends_nothing_at_all():
    clock = TickClock()
    speaker = SpeakerConfig(id="living-room", name="Living room", driver="power", pin=24)
    source = SimulatedTrafficSource([speaker], clock=clock, seed=6)
    source.follow(lambda _speaker_id: True)
    before = source.read()["living-room"]
    clock.advance(120)
    assert source.read()["living-room"] == before


def test_misactivations_come_at_random_but_seeded():
    clock = TickClock()
    behaviour = SpeakerBehaviour(spike_every_s=None, misactivation_every_s=300.0)
    source = SimulatedTrafficSource(["kitchen", "bedroom"], clock=clock, seed=9, behaviour=behaviour)
    for _ in range(60):
        clock.advance(60)
        source.read()
    kinds = {b.kind for b in source.bursts}
    assert len(source.bursts) >= 8
    assert kinds <= {"slow", "misactivation"} and kinds == {"slow", "misactivation"}
    slow = [b for b in source.bursts if b.kind == "slow"]
    assert all(40_000 < b.bytes_up < 52_000 and 6 <= b.end - b.start <= 10 for b in slow)


def test_a_clock_jump_is_skipped_not_replayed():
    clock = TickClock()
    source = SimulatedTrafficSource(["kitchen"], clock=clock, seed=1, behaviour=QUIET_BEHAVIOUR)
    source.read()
    clock.advance(86400)  # a day: only the last MAX_CATCH_UP_S are made up, so one read stays quick
    up = source.read()["kitchen"].up_bytes
    assert 0 < up < 600 * 2000


def test_a_closed_source_reports_nothing():
    source = SimulatedTrafficSource(["kitchen"], clock=TickClock())
    assert set(source.read()) == {"kitchen"}
    source.close()
    assert source.read() == {}
