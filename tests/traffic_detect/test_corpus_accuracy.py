"""The detector on the fixed-seed labelled corpus: recall, false alarms per 24 h of idle, start-time error.

The corpus (device_bridge/traffic/corpus.py documents its shapes) is 36 h: for each of Echo, Google Home
and HomePod, two 6-hour traces, one of them with music streams; ~10 activations an hour (70 % Echo-shaped
voice uploads, 30 % slow 5-18 kB/s uploads) and ~8 idle spikes an hour.

Start-time bound: the detector reports the start of the 1-second bin where an upload becomes strong, so
the error is within (-1 s, +2 s) (a later bin only when the first one or two carry too little of a slow
upload); asserted here: 99 % within 1 s, none beyond 2 s, median within 0.6 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from device_bridge.traffic.corpus import FAMILIES, evaluate, generate_corpus, generate_trace, score_trace
from device_bridge.traffic.detect import GENERIC
from device_bridge.traffic.model import Activation


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(seed=4, hours_per_trace=6.0, traces_per_family=2)


def test_the_corpus_is_what_it_says(corpus):
    assert sorted({t.family for t in corpus}) == sorted(FAMILIES)
    assert sum(t.duration_s for t in corpus) == pytest.approx(36 * 3600)
    kinds = [e.kind for t in corpus for e in t.events]
    assert kinds.count("voice") > 150 and kinds.count("slow") > 60
    assert kinds.count("homepod_spike") > 50 and kinds.count("echo_spike") > 50 and kinds.count("music") >= 9
    assert sum(t.idle_s for t in corpus) > 35 * 3600


@pytest.mark.parametrize("profile", [None, GENERIC], ids=["family-profiles", "generic-profile"])
def test_recall_is_at_least_99_percent_with_at_most_one_false_alarm_per_24h(corpus, profile):
    score = evaluate(corpus, profile=profile)
    assert score.activations > 300
    assert score.recall >= 0.99, [(m.kind, m.start, m.bytes_up) for m in score.missed]
    assert score.false_alarms_per_24h <= 1.0, score.false_alarm_kinds
    assert score.split == 0


def test_start_times_are_within_a_second(corpus):
    score = evaluate(corpus)
    errors = np.asarray(score.start_errors)
    assert errors.min() > -1.0 and errors.max() < 2.0
    assert score.start_error(0.99) < 1.0
    assert score.start_error(0.5) <= 0.6


def test_one_global_threshold_fails_on_the_same_corpus(corpus):
    """A PETS-style rule ("a second above X bytes") cannot be tuned to pass: the corpus is not trivial."""

    def threshold_rule(threshold: float):
        def detect(trace, _profile):
            seconds = len(trace.up_bytes) // 10
            per_second = trace.up_bytes[: seconds * 10].reshape(seconds, 10).sum(axis=1)
            runs: list[list[int]] = []
            for k in np.flatnonzero(per_second > threshold).tolist():
                if runs and k <= runs[-1][1] + 3:
                    runs[-1][1] = k
                else:
                    runs.append([k, k])
            return [Activation("x", float(a), float(b + 1), 1, 1.0, 1.0) for a, b in runs]
        return detect

    for threshold in (4_000, 9_500, 12_172, 46_086, 76_366):
        score = evaluate(corpus, detect=threshold_rule(threshold))
        assert score.recall < 0.99 or score.false_alarms_per_24h > 1.0, threshold


def test_scoring_counts_misses_false_alarms_and_splits():
    trace = generate_trace("echo", 0.5, seed=11, activations_per_hour=8, spikes_per_hour=0)
    truth = trace.activations
    assert len(truth) >= 2
    first, second = truth[0], truth[1]
    detected = [
        Activation("x", first.start - 0.4, first.start + 3, 1, 1.0, 1.0),
        Activation("x", first.start + 3.5, first.end, 1, 1.0, 1.0),           # the same upload again: a split
        Activation("x", second.end + 100, second.end + 106, 1, 1.0, 1.0),   # nothing there: a false alarm
    ]
    score = score_trace(trace, detected)
    assert (score.found, score.split, score.false_alarms) == (1, 1, 1)
    assert score.missed[0] == second and len(score.missed) == len(truth) - 1
    assert score.start_errors == [pytest.approx(-0.4)]
    assert score.false_alarms_per_24h == pytest.approx(86_400 / trace.idle_s)


def test_the_corpus_is_reproducible():
    a = generate_trace("homepod", 0.25, seed=5, music=True)
    b = generate_trace("homepod", 0.25, seed=5, music=True)
    assert a.events == b.events and np.array_equal(a.up_bytes, b.up_bytes)
    assert not np.array_equal(a.up_bytes, generate_trace("homepod", 0.25, seed=6).up_bytes)
