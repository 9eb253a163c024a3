"""Property tests: any non-negative series is handled, and what comes out is well-formed."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_bridge.traffic.detect import PROFILES, ActivationDetector, detect_series, t_survival, welch_p
from device_bridge.traffic.model import ActivationEnded, ActivationStarted, TrafficSample

byte_counts = st.one_of(
    st.integers(0, 300),                 # idle
    st.integers(0, 20_000),              # spikes and uploads
    st.integers(0, 10**9),               # absurd
)


@st.composite
def sample_series(draw):
    interval = draw(st.sampled_from([0.1, 0.25, 1.0, 3.0, 900.0]))
    long_samples = interval > 10  # each covers 600 one-second bins: keep those series short
    n = draw(st.integers(0, 8 if long_samples else 400))
    values = draw(st.lists(byte_counts, min_size=n, max_size=n))
    # runs of a repeated value make sustained bursts likely
    repeat = draw(st.integers(1, 2 if long_samples else 12))
    up = np.repeat(np.asarray(values, dtype=float), repeat)
    start = draw(st.floats(-1e9, 2e9, allow_nan=False, allow_infinity=False))
    times = start + (np.arange(len(up)) + 1.0) * interval
    origin = draw(st.sampled_from([0.0, start, start + 0.37]))
    profile = draw(st.sampled_from(sorted(PROFILES)))
    return times, up, interval, origin, PROFILES[profile]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_series())
def test_any_series_gives_well_formed_activations(data):
    times, up, interval, origin, profile = data
    found = detect_series("kitchen", times, up, interval, profile=profile, clock_origin=origin)
    previous_end = -math.inf
    for activation in found:
        assert activation.speaker_id == "kitchen"
        assert activation.start < activation.end
        assert activation.start >= previous_end
        assert activation.bytes_up > 0
        assert activation.peak_rate > 0
        assert 0.0 <= activation.confidence <= 1.0
        previous_end = activation.end
        if len(times):
            assert times[0] - interval - 1.0 <= activation.start and activation.end <= times[-1] + 1.0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample_series())
def test_feeding_one_by_one_pairs_every_start_with_an_end(data):
    times, up, interval, origin, profile = data
    detector = ActivationDetector("kitchen", profile=profile, clock_origin=origin)
    events = []
    for t, u in zip(times.tolist(), up.tolist()):
        events += detector.feed(TrafficSample("kitchen", t, interval, int(u), 0, 0, 0))
    events += detector.flush()
    open_start = None
    ended = []
    for event in events:
        if isinstance(event, ActivationStarted):
            assert open_start is None
            assert 0.0 <= event.confidence <= 1.0
            open_start = event.start
        else:
            assert isinstance(event, ActivationEnded)
            assert open_start == event.activation.start
            open_start = None
            ended.append(event.activation)
    assert open_start is None
    assert ended == detect_series("kitchen", times, up.astype(int), interval, profile=profile, clock_origin=origin)


@given(st.floats(-50, 50), st.floats(0.5, 1e4))
def test_the_t_survival_is_a_probability_and_symmetric(t, df):
    p = t_survival(t, df)
    assert 0.0 <= p <= 1.0
    assert math.isclose(p + t_survival(-t, df), 1.0, abs_tol=1e-9)


def test_the_t_survival_matches_closed_forms():
    for t in (0.1, 1.0, 2.5, 6.314, 40.0):
        assert math.isclose(t_survival(t, 1.0), 0.5 - math.atan(t) / math.pi, rel_tol=1e-9)
        assert math.isclose(t_survival(t, 2.0), 0.5 - t / (2 * math.sqrt(t * t + 2)), rel_tol=1e-9)
    assert math.isclose(t_survival(2.0, 10.0), 0.036694017, rel_tol=1e-6)  # printed tables
    assert math.isclose(t_survival(3.0, 1e7), 0.5 * math.erfc(3.0 / math.sqrt(2.0)), rel_tol=1e-4)


def test_welch_p_orders_evidence():
    idle = (2.0, 4.0, 600)
    assert welch_p([9.0], *idle) == 1.0  # one second is no evidence of a sustained difference
    strong = welch_p([10.0, 10.5, 9.8, 10.2], *idle)
    weak = welch_p([5.0, 2.0, 6.0, 3.0], *idle)
    assert strong < 1e-4 < 0.05 < weak
    assert welch_p([1.0, 1.0, 1.0], *idle) > 0.5  # below idle
    assert 0.0 <= welch_p([7.0, 7.0], 7.0, 0.0, 2) <= 1.0  # constant groups: floored variances, no division by zero
