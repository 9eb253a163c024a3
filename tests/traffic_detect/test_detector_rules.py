"""The activation detector on hand-made shapes: what must fire, what must never fire, and its bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from device_bridge.traffic.detect import (
    ECHO,
    GENERIC,
    HOMEPOD,
    PROFILES,
    ActivationDetector,
    DetectorProfile,
    detect_series,
    profile_for,
)
from device_bridge.traffic.model import ActivationEnded, ActivationStarted, TrafficSample

RATE = 10
ECHO_VOICE = (76_000, 39_000, 36_000, 35_000, 35_000, 3_000)  # the real trace, per second
ALL_PROFILES = sorted(PROFILES.values(), key=lambda p: p.family)
PHASES = (0.0, 0.3, 0.5, 0.9)


def series(per_second: list[float] | tuple[float, ...], *, at_s: float = 60.0, total_s: float = 120.0,
           idle_bps: float = 150.0, down: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """10 Hz sample end times and uplink bytes: a quiet idle with `per_second` bytes spread evenly from `at_s`."""
    n = int(total_s * RATE)
    up = np.full(n, idle_bps / RATE)
    start = int(round(at_s * RATE))
    for i, value in enumerate(per_second):
        up[start + i * RATE: start + (i + 1) * RATE] += value / RATE
    times = (np.arange(n) + 1.0) / RATE
    return times, up


def run(per_second, profile: DetectorProfile = GENERIC, **kwargs):
    times, up = series(per_second, **kwargs)
    return detect_series("kitchen", times, up, 0.1, profile=profile)


# --- must never fire ----------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.family)
@pytest.mark.parametrize("size", [10_000, 11_000, 12_000])
@pytest.mark.parametrize("phase", PHASES)
def test_a_single_second_idle_spike_of_10_to_12_kb_never_fires(profile, size, phase):
    assert run([size], profile, at_s=60.0 + phase) == []


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.family)
@pytest.mark.parametrize("shape", [[9_000], [9_000, 9_000], [4_000, 9_000], [9_000, 6_000], [3_000, 3_000]])
@pytest.mark.parametrize("phase", PHASES)
def test_echo_like_idle_spikes_up_to_9_kb_per_s_never_fire(profile, shape, phase):
    assert run(shape, profile, at_s=60.0 + phase) == []


@pytest.mark.parametrize("size", [20_000, 80_000, 500_000, 10_000_000])
def test_one_second_never_fires_however_big(size):
    for profile in ALL_PROFILES:
        assert run([size], profile) == []
        assert run([size], profile, at_s=60.5) == []  # across two bins


def test_idle_spikes_every_minute_for_an_hour_never_fire():
    rng = np.random.default_rng(7)
    shapes = ([11_500], [9_000, 8_000], [12_000])
    spikes = [(minute * 60 + 20 + rng.uniform(0, 20), shapes[int(rng.integers(0, 3))]) for minute in range(60)]
    n = 3600 * RATE
    up = np.full(n, 20.0)
    for at, shape in spikes:
        for i, value in enumerate(shape):
            first = int(at * RATE) + i * RATE
            up[first: first + RATE] += value / RATE
    times = (np.arange(n) + 1.0) / RATE
    for profile in (GENERIC, ECHO, HOMEPOD):
        assert detect_series("kitchen", times, up, 0.1, profile=profile) == []


def test_a_music_stream_s_acknowledgements_do_not_fire():
    # 190 kB/s down (a lossless stream) with ACKs at 3 %: 5.7 kB/s up, "strong" if taken at face value.
    n = 600 * RATE
    down = np.full(n, 19_000.0)
    up = down * 0.03
    times = (np.arange(n) + 1.0) / RATE
    assert detect_series("kitchen", times, up, 0.1, down_bytes=down) == []
    found = detect_series("kitchen", times, up, 0.1)  # without the downlink it looks like an upload
    assert len(found) >= 1


# --- must fire ----------------------------------------------------------------------------------------

SLOW = [5_200, 5_600, 5_000, 18_000, 5_400, 5_100, 5_900, 5_300]  # 55.5 kB with an 18 kB second
SLOW_46K = [5_000, 5_200, 5_000, 10_300, 5_000, 5_100, 5_300, 5_100]


def test_the_slow_shape_is_what_pets_described():
    assert sum(SLOW_46K) == pytest.approx(46_000, rel=0.01)
    assert len(SLOW_46K) == 8 and min(SLOW_46K) >= 5_000 and max(SLOW_46K) <= 18_000


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.family)
@pytest.mark.parametrize("shape", [SLOW_46K, SLOW], ids=["46kB", "55kB"])
@pytest.mark.parametrize("phase", PHASES)
def test_a_slow_upload_of_46_kb_over_8_s_fires(profile, shape, phase):
    found = run(shape, profile, at_s=60.0 + phase)
    assert len(found) == 1
    activation = found[0]
    assert 59.0 < activation.start <= 61.0
    assert abs(activation.start - (60.0 + phase)) < 1.0
    assert 67.0 <= activation.end <= 70.0
    assert activation.bytes_up >= sum(shape) * 0.95
    assert activation.confidence >= 0.95


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.family)
@pytest.mark.parametrize("phase", PHASES)
def test_an_echo_shaped_voice_upload_fires_once_with_its_bytes_and_peak(profile, phase):
    found = run(ECHO_VOICE, profile, at_s=60.0 + phase)
    assert len(found) == 1
    activation = found[0]
    assert abs(activation.start - (60.0 + phase)) < 1.0
    assert activation.bytes_up == pytest.approx(sum(ECHO_VOICE) + 150 * (activation.end - activation.start),
                                                abs=1_000)
    assert activation.peak_rate >= 0.7 * 76_000
    assert activation.confidence >= 0.99


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.family)
@pytest.mark.parametrize("phase", PHASES)
def test_a_short_loud_upload_fires_through_the_loud_branch(profile, phase):
    assert len(run(ECHO_VOICE[:3], profile, at_s=60.0 + phase)) == 1


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.family)
@pytest.mark.parametrize("phase", PHASES)
def test_a_loud_upload_is_announced_within_2_s_of_its_first_byte(profile, phase):
    times, up = series(ECHO_VOICE, at_s=60.0 + phase)
    detector = ActivationDetector("kitchen", profile=profile)
    announced = []
    for t, u in zip(times.tolist(), up.tolist()):
        announced += [t for e in detector.feed(TrafficSample("kitchen", t, 0.1, int(u), 0, 0, 0))
                      if isinstance(e, ActivationStarted)]
    assert len(announced) == 1
    assert announced[0] - (60.0 + phase) <= 1.6  # the loud branch wants 1.5 s of it: one second is never enough


def test_events_come_in_order_started_then_ended_with_the_same_start():
    times, up = series(ECHO_VOICE + (0, 0, 0, 0) + tuple(SLOW_46K), total_s=150.0)
    detector = ActivationDetector("kitchen", clock_origin=0.0)
    events = []
    for t, u in zip(times.tolist(), up.tolist()):
        events += detector.feed(TrafficSample("kitchen", t, 0.1, int(u), 0, 0, 0))
    events += detector.flush()
    kinds = [type(e) for e in events]
    assert kinds == [ActivationStarted, ActivationEnded, ActivationStarted, ActivationEnded]
    assert events[0].start == events[1].activation.start
    assert events[2].start == events[3].activation.start
    assert events[1].activation.end <= events[3].activation.start


def test_feeding_samples_and_the_batch_helper_agree():
    times, up = series(ECHO_VOICE + (0, 0, 0, 0, 0) + tuple(SLOW_46K), total_s=200.0)
    detector = ActivationDetector("kitchen", profile=ECHO)
    fed = []
    for t, u in zip(times.tolist(), up.tolist()):
        fed += [e.activation for e in detector.feed(TrafficSample("kitchen", t, 0.1, int(u), 0, 0, 0))
                if isinstance(e, ActivationEnded)]
    fed += [e.activation for e in detector.flush() if isinstance(e, ActivationEnded)]
    assert fed == detect_series("kitchen", times, up.astype(int), 0.1, profile=ECHO)
    assert len(fed) == 2


def test_epoch_times_with_a_clock_origin_align_bins_to_it():
    epoch = 1_760_000_000.0
    times, up = series(ECHO_VOICE, at_s=60.25)
    found = detect_series("kitchen", times + epoch + 0.25, up, 0.1, clock_origin=epoch + 0.25)
    assert len(found) == 1
    assert found[0].start - epoch == pytest.approx(60.25, abs=1e-6)


def test_an_upload_still_going_at_the_end_of_input_is_reported_by_flush():
    times, up = series(ECHO_VOICE[:4], at_s=110.0, total_s=114.0)
    found = detect_series("kitchen", times, up, 0.1)
    assert len(found) == 1 and found[0].end == pytest.approx(114.0)


# --- the baseline adapts ------------------------------------------------------------------------------

def test_a_chatty_speaker_is_learned_and_still_caught_when_it_uploads():
    rng = np.random.default_rng(3)
    n = 1200 * RATE
    up = rng.uniform(100, 500, size=n)  # 3 kB/s of idle chatter, sd ~0.4 kB/s per second
    times = (np.arange(n) + 1.0) / RATE
    detector = ActivationDetector("kitchen", profile=HOMEPOD)
    quiet = []
    for t, u in zip(times[: 600 * RATE].tolist(), up[: 600 * RATE].tolist()):
        quiet += detector.feed(TrafficSample("kitchen", t, 0.1, int(u), 0, 0, 0))
    # the first seconds (before it has learned) may look like an upload once; never again after that
    assert len([e for e in quiet if isinstance(e, ActivationStarted) and e.start > 30]) == 0
    assert detector.baseline["mean"] == pytest.approx(3_000, rel=0.15)
    assert detector.baseline["level_on"] > 5_000
    for i, value in enumerate(SLOW_46K):
        up[(900 + i) * RATE: (901 + i) * RATE] += value / RATE
    later = []
    for t, u in zip(times[600 * RATE:].tolist(), up[600 * RATE:].tolist()):
        later += detector.feed(TrafficSample("kitchen", t, 0.1, int(u), 0, 0, 0))
    later += detector.flush()
    ended = [e.activation for e in later if isinstance(e, ActivationEnded)]
    assert len(ended) == 1 and abs(ended[0].start - 900) <= 1


def test_a_lasting_rise_in_idle_is_reported_at_most_once_then_becomes_the_new_normal():
    n = 1800 * RATE
    up = np.full(n, 20.0)
    up[300 * RATE:] = 800.0  # 8 kB/s from 5 minutes on, for 25 minutes
    times = (np.arange(n) + 1.0) / RATE
    found = detect_series("kitchen", times, up, 0.1)
    assert len(found) <= 1
    if found:
        assert found[0].end - found[0].start <= GENERIC.max_burst_s


def test_profiles_are_picked_by_vendor_or_model_name():
    assert profile_for("Amazon Echo Dot") is ECHO
    assert profile_for("Google Nest Mini").family == "google_home"
    assert profile_for("HomePod mini") is HOMEPOD
    assert profile_for("homepod") is HOMEPOD
    assert profile_for("Sonos One") is GENERIC
    assert profile_for(None) is GENERIC


def test_a_saved_baseline_can_be_restored():
    times, up = series([], total_s=300.0, idle_bps=2_000.0)
    first = ActivationDetector("kitchen")
    for t, u in zip(times.tolist(), up.tolist()):
        first.feed(TrafficSample("kitchen", t, 0.1, int(u), 0, 0, 0))
    second = ActivationDetector("kitchen")
    second.restore_baseline(first.baseline)
    assert second.baseline == first.baseline
    with pytest.raises(ValueError, match="baseline"):
        second.restore_baseline({"mean": 1.0})


# --- sample handling ----------------------------------------------------------------------------------

def test_long_intervals_are_spread_over_their_seconds():
    # One 8-second sample with 46 kB: the same upload as SLOW_46K seen by a slow poller.
    times = np.concatenate([np.arange(1, 601) / RATE, [68.0], 68.0 + np.arange(1, 301) / RATE])
    intervals = np.concatenate([np.full(600, 0.1), [8.0], np.full(300, 0.1)])
    up = np.concatenate([np.full(600, 15.0), [46_000.0], np.full(300, 15.0)])
    found = detect_series("kitchen", times, up, intervals)
    assert len(found) == 1 and found[0].start == pytest.approx(60.0) and found[0].end == pytest.approx(68.0)


def test_a_sample_spanning_a_day_keeps_its_rate_and_costs_little():
    detector = ActivationDetector("kitchen")
    assert detector.feed(TrafficSample("kitchen", 86_400.0, 86_400.0, 86_400 * 300, 0, 0, 0)) == []
    assert detector.feed(TrafficSample("kitchen", 86_401.0, 1.0, 300, 0, 0, 0)) == []
    # 46 kB in one 100-hour sample is a trickle, not an upload
    assert detect_series("kitchen", [360_000.0], [46_000], 360_000.0) == []


def test_a_hole_in_the_samples_ends_a_burst_and_a_clock_jump_back_starts_afresh():
    detector = ActivationDetector("kitchen")
    events = []
    for second, value in enumerate(ECHO_VOICE):
        events += detector.feed(TrafficSample("kitchen", 100.0 + second + 1, 1.0, value, 0, 0, 0))
    events += detector.feed(TrafficSample("kitchen", 5_000.0, 1.0, 100, 0, 0, 0))  # 80 minutes later
    assert [type(e) for e in events] == [ActivationStarted, ActivationEnded]
    assert events[1].activation.end == pytest.approx(106.0)
    events = detector.feed(TrafficSample("kitchen", 10.0, 1.0, 100, 0, 0, 0))  # the clock went back
    assert events == []
    assert detector.feed(TrafficSample("kitchen", 11.0, 1.0, 100, 0, 0, 0)) == []


def test_bad_input_is_refused():
    detector = ActivationDetector("kitchen")
    with pytest.raises(ValueError, match="living-room"):
        detector.feed(TrafficSample("living-room", 1.0, 0.1, 1, 0, 0, 0))
    with pytest.raises(ValueError, match=">= 0"):
        detector.feed(TrafficSample("kitchen", 1.0, 0.1, -5, 0, 0, 0))
    with pytest.raises(ValueError, match="finite"):
        detector.feed(TrafficSample("kitchen", math.nan, 0.1, 5, 0, 0, 0))
    with pytest.raises(ValueError, match="same length"):
        detect_series("kitchen", [0.1, 0.2], [1], 0.1)
    with pytest.raises(ValueError):
        DetectorProfile(margin_on_bytes=1_000, margin_hold_bytes=2_000)


def test_samples_report_their_rates():
    sample = TrafficSample("kitchen", 10.0, 0.1, 500, 1_000, 2, 3)
    assert sample.up_rate == pytest.approx(5_000) and sample.down_rate == pytest.approx(10_000)
    assert TrafficSample("kitchen", 10.0, 0.0, 500, 0, 1, 0).up_rate == 0.0
