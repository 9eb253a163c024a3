"""The Live page's Qt-free buffers: rings that hand out views, history chunks, spans, state logs, and LiveData."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ui.live.buffers import (
    CHUNK_S,
    DAY_S,
    History,
    Ring,
    Spans,
    StateLog,
    runs,
    severity,
)
from ui.live.series import (
    CONFIRMED_MUTED,
    DESKTOP_MIC,
    MISMATCH,
    LiveData,
    confirmation_code,
)

T0 = 1_700_000_000.0


def ring(capacity: int = 10, gap_s: float = 1.0) -> Ring:
    return Ring(capacity, ("up", "down"), gap_s=gap_s)


def test_ring_hands_out_the_newest_rows_oldest_first_as_views():
    r = ring(10)
    assert len(r) == 0 and r.times().size == 0 and r.last_time is None
    times = T0 + 0.1 * np.arange(1, 26)
    for start in range(0, 25, 4):  # batches that wrap around the ring several times
        batch = times[start:start + 4]
        r.extend(batch, {"up": batch - T0, "down": np.zeros(batch.size)})
    assert len(r) == 10
    np.testing.assert_allclose(r.times(), times[-10:])
    np.testing.assert_allclose(r.column("up"), times[-10:] - T0)
    assert r.times().base is not None  # a view into the ring's storage, not a copy
    assert np.shares_memory(r.times(), r._time)
    assert r.first_time == pytest.approx(times[-10]) and r.last_time == pytest.approx(times[-1])


def test_ring_memory_stays_the_same_however_long_it_runs():
    r = ring(100)
    arrays = (r._time, *r._values.values())
    sizes = [a.nbytes for a in arrays]
    for n in range(200):
        t = T0 + n + 0.1 * np.arange(10)
        r.extend(t, {"up": np.ones(10)})
    assert [a.nbytes for a in (r._time, *r._values.values())] == sizes
    assert all(a is b for a, b in zip(arrays, (r._time, *r._values.values())))
    assert len(r) == 100


def test_ring_drops_rows_it_already_has_and_sorts_a_batch():
    r = ring(20)
    assert r.extend([T0 + 0.2, T0 + 0.1, T0 + 0.3], {"up": [2, 1, 3]}) == 3
    np.testing.assert_allclose(r.column("up"), [1, 2, 3])
    assert r.extend([T0 + 0.2, T0 + 0.3, T0 + 0.3, T0 + 0.4], {"up": [9, 9, 9, 4]}) == 1  # a replay overlaps
    np.testing.assert_allclose(r.column("up"), [1, 2, 3, 4])
    assert np.isnan(r.column("down")).all()  # a column not given is NaN
    assert r.extend([], {}) == 0


def test_a_gap_in_time_gets_a_nan_row_so_the_curve_breaks():
    r = ring(20, gap_s=1.0)
    r.extend([T0, T0 + 0.1], {"up": [1, 1]})
    r.extend([T0 + 5.0, T0 + 5.1], {"up": [2, 2]})
    up = r.column("up")
    assert up.size == 5 and math.isnan(up[2])
    assert r.times()[1] < r.times()[2] < r.times()[3]  # still sorted, so lookups work


def test_index_at_finds_the_nearest_row():
    r = ring(10)
    assert r.index_at(T0) is None
    r.extend(T0 + np.arange(5.0) * 0.1, {"up": np.arange(5.0)})
    assert r.index_at(T0 + 0.21) == 2
    assert r.index_at(T0 + 0.29) == 3
    assert r.index_at(T0 - 10) == 0 and r.index_at(T0 + 10) == 4


def answer(start: float, end: float, value: float | None = 100.0) -> dict:
    n = int(end - start)
    return {"speaker_id": "kitchen", "t0": start, "step": 1.0, "up": [value] * n, "down": [None] * n,
            "level": [-50.0] * n, "speech": [True, False] * (n // 2)}


def test_history_asks_for_the_newest_missing_chunks_first_and_not_twice():
    history = History(("up", "down", "level", "speech"), max_fetch_chunks=3)
    now = T0 - T0 % CHUNK_S + 10 * CHUNK_S
    start, end = now - 8 * CHUNK_S, now - 2 * CHUNK_S
    first = history.wanted(start, end, now)
    assert first == (end - 3 * CHUNK_S, end)
    assert history.fetching
    second = history.wanted(start, end, now)
    assert second == (start, end - 3 * CHUNK_S)  # the rest; the first run is being fetched
    assert history.wanted(start, end, now) is None
    history.store(answer(*first), *first, now)
    history.store(answer(*second), *second, now)
    assert not history.fetching and history.wanted(start, end, now) is None
    times, columns = history.series(start, end)
    assert times.size == 6 * CHUNK_S
    assert times[0] == start + 1  # stamped at the end of each second, like the live samples
    assert (columns["up"] == 100.0).all() and np.isnan(columns["down"]).all()
    np.testing.assert_allclose(columns["speech"][:4], [1, 0, 1, 0])
    assert history.value_at(start + 0.5)["up"] == 100.0
    assert history.value_at(now - 20 * CHUNK_S) is None


def test_history_fetches_a_chunk_again_when_it_was_not_finished_then():
    history = History(("up",))
    now = T0 - T0 % CHUNK_S + CHUNK_S / 2  # half-way through a chunk
    wanted = history.wanted(now - 100, now, now)
    history.store(answer(*wanted), *wanted, now)
    assert history.wanted(now - 100, now, now) is None
    later = now + 60
    assert history.wanted(now - 100, later, later) is not None  # the chunk has grown since


def test_history_retries_a_failed_fetch_only_after_a_while():
    history = History(("up",), retry_s=10.0)
    now = T0 - T0 % CHUNK_S
    wanted = history.wanted(now - 300, now, now)
    history.fetch_failed(*wanted, now)
    assert history.wanted(now - 300, now, now + 5) is None
    assert history.wanted(now - 300, now, now + 11) == wanted


def test_history_never_asks_beyond_a_day_and_forgets_what_is_older():
    history = History(("up",))
    now = T0 - T0 % CHUNK_S
    start, _end = history.wanted(now - 3 * DAY_S, now, now)
    assert start >= now - DAY_S - CHUNK_S
    for hour in range(48):  # two days of scrolling back and forth
        moment = now + hour * 3600
        while (wanted := history.wanted(moment - DAY_S, moment, moment)) is not None:
            history.store(answer(*wanted), *wanted, moment)
        history.prune(moment)
    assert history.loaded_chunks() <= DAY_S / CHUNK_S + 1


def test_history_series_breaks_the_line_between_chunks_that_are_not_next_to_each_other():
    history = History(("up",))
    now = T0 - T0 % CHUNK_S
    a = (now - 5 * CHUNK_S, now - 4 * CHUNK_S)
    b = (now - 2 * CHUNK_S, now - CHUNK_S)
    history.store(answer(*a), *a, now)
    history.store(answer(*b), *b, now)
    times, columns = history.series(now - 6 * CHUNK_S, now)
    assert times.size == 2 * CHUNK_S + 1 and np.isnan(columns["up"][CHUNK_S])
    assert history.series(now - 6 * CHUNK_S, now)[0] is times  # cached until something changes


def test_history_refuses_other_steps():
    history = History(("up",))
    with pytest.raises(ValueError):
        history.store({"t0": T0, "step": 60.0, "up": [1.0]}, T0, T0 + 60, T0 + 60)


def test_state_log_gives_runs_of_a_state_up_to_now():
    log = StateLog()
    log.set(T0, CONFIRMED_MUTED)
    log.set(T0 + 5, CONFIRMED_MUTED)  # no change: not a new entry
    log.set(T0 + 10, MISMATCH)
    log.set(T0 + 20, CONFIRMED_MUTED)
    starts, ends = log.runs(CONFIRMED_MUTED, T0 + 30)
    np.testing.assert_allclose(starts, [T0, T0 + 20])
    np.testing.assert_allclose(ends, [T0 + 10, T0 + 30])
    assert log.code_at(T0 + 15) == MISMATCH and log.code_at(T0 - 1) is None
    assert log.current == CONFIRMED_MUTED


def test_state_log_is_bounded():
    log = StateLog(maxlen=50)
    for n in range(500):
        log.set(T0 + n, n % 2)
    assert len(log.runs(0, T0 + 500)[0]) + len(log.runs(1, T0 + 500)[0]) == 50


def test_spans_replace_the_open_one_when_it_ends_and_forget_old_ones():
    spans = Spans()
    spans.started(T0, 0)
    assert spans.open
    starts, ends, levels = spans.arrays()
    assert starts.tolist() == [T0] and math.isnan(ends[0])
    spans.ended(7, T0 + 0.4, T0 + 6, 2)
    assert not spans.open and len(spans) == 1
    starts, ends, levels = spans.arrays()
    assert ends.tolist() == [T0 + 6] and levels.tolist() == [2]
    spans.ended(7, T0 + 0.4, T0 + 6, 2)  # the same one again (from the cache): no change
    assert len(spans) == 1
    assert spans.at(T0 + 3, T0 + 100).severity == 2 and spans.at(T0 + 60, T0 + 100) is None
    spans.prune(T0 + DAY_S + 10)
    assert len(spans) == 0


def test_spans_keep_at_most_maxlen():
    spans = Spans(maxlen=100)
    for n in range(300):
        spans.ended(n, T0 + 10 * n, T0 + 10 * n + 5, 0)
    assert len(spans) == 100
    assert spans.arrays()[0][0] == T0 + 2000  # the oldest went first


def test_runs_of_a_flag_series():
    times = T0 + 0.1 * np.arange(1, 11)
    on = np.array([0, 1, 1, 0, np.nan, 1, 1, 1, 0, 1], dtype=float)
    starts, ends = runs(times, on, 0.1)
    np.testing.assert_allclose(starts - T0, [0.1, 0.5, 0.9], atol=1e-6)
    np.testing.assert_allclose(ends - T0, [0.3, 0.8, 1.0], atol=1e-6)
    assert runs(times, np.zeros(10), 0.1)[0].size == 0


def test_severity_and_confirmation_codes():
    assert severity([]) == 0 and severity(["no_speech_nearby"]) == 1 and severity(["while_muted", "x"]) == 2
    assert severity(["deletion_command"]) == 0  # Earmuff's own deletion phrase caused it: not a problem
    assert severity(["deletion_command", "during_schedule"]) == 1
    assert confirmation_code("mismatch", True) == MISMATCH
    assert confirmation_code("confirmed", True) == CONFIRMED_MUTED


def sample(speaker: str, when: float, up: float = 100.0, bridge: str = "b1", muted: bool = False) -> dict:
    return {"type": "sample", "bridge_id": bridge, "speaker_id": speaker, "time": when, "up": up, "down": 5.0,
            "muted": muted}


def mic(when: float, speakers=("kitchen",), level: float = -40.0, speech: bool = True) -> dict:
    return {"type": "mic", "bridge_id": "b1", "mic_id": "room", "speaker_ids": list(speakers), "time": when,
            "level": level, "speech": speech}


def test_live_data_groups_a_batch_by_speaker_and_microphone():
    data = LiveData()
    changed = data.ingest([sample("kitchen", T0 + 0.1), sample("bedroom", T0 + 0.1), sample("kitchen", T0 + 0.2),
                           mic(T0 + 0.1), {"type": "sample", "bridge_id": "b1"}, {"type": "heartbeat"}])
    assert changed == {("b1", "kitchen"), ("b1", "bedroom")}
    kitchen = data.series("b1", "kitchen")
    assert len(kitchen.traffic) == 2 and kitchen.mic_id == "room"
    assert data.mic_ring(kitchen, desktop_enabled=True) is data.mics[("b1", "room")]
    bedroom = data.series("b1", "bedroom")
    assert bedroom.mic_id is None and not bedroom.mic_known  # not settled yet
    data.ingest([sample("bedroom", T0 + 0.1 * n) for n in range(2, 40)])
    assert bedroom.mic_known  # samples for seconds, no microphone record naming it: none near it
    assert data.mic_ring(bedroom, desktop_enabled=False) is None
    data.ingest_desktop([T0 + 1], [-30.0], [True])
    assert data.mic_ring(bedroom, desktop_enabled=True) is data.mics[DESKTOP_MIC]


def test_live_data_activations_and_forgetting_a_bridge():
    data = LiveData()
    assert data.activation("b1", "activation_started", {"speaker_id": "kitchen", "start": T0}) == ("b1", "kitchen")
    assert data.activation("b1", "activation_started", {"start": T0}) is None
    data.activation("b1", "activation_ended", {"speaker_id": "kitchen", "start": T0, "end": T0 + 5, "id": 3,
                                               "flags": ["no_speech_nearby"]})
    _starts, ends, levels = data.series("b1", "kitchen").activations.arrays()
    assert ends.tolist() == [T0 + 5] and levels.tolist() == [1]
    data.ingest([mic(T0)])
    data.forget_bridge("b1")
    assert not data.speakers and not data.mics
