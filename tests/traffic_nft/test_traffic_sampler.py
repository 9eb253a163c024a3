"""The 10 Hz sampler: deltas, resets, wraps, missing speakers and failing reads (driven by hand with fake
clocks), its thread, and at 10 Hz on the real nftables counters in namespaces (root only)."""

from __future__ import annotations

import threading

import pytest
from netns_lab import SPEAKER_ID, UDP_V4_OVERHEAD, wait_until

from device_bridge.traffic.model import Counters, TrafficSample
from device_bridge.traffic.sampler import TrafficSampler


class ScriptedSource:
    """Hands out the readings it is given, one per read(); an Exception in the script is raised instead."""

    def __init__(self, *readings) -> None:
        self.readings = list(readings)
        self.reads = 0

    def read(self) -> dict[str, Counters]:
        self.reads += 1
        reading = self.readings.pop(0)
        if isinstance(reading, Exception):
            raise reading
        return reading

    def close(self) -> None:
        pass


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def up(up_bytes: int, up_packets: int, down_bytes: int = 0, down_packets: int = 0) -> Counters:
    return Counters(up_bytes, up_packets, down_bytes, down_packets)


def run_script(*readings, steps=None):
    wall, mono = FakeClock(1_700_000_000.0), FakeClock(50.0)
    got: list[TrafficSample] = []
    errors: list[BaseException] = []
    sampler = TrafficSampler(ScriptedSource(*readings), got.append, on_error=errors.append, clock=wall, monotonic=mono)
    for i in range(len(readings)):
        sampler.tick()
        step = steps[i] if steps else 0.1
        wall.now += step
        mono.now += step
    return got, errors


def test_first_reading_is_a_baseline_then_each_tick_gives_the_difference():
    got, _ = run_script({"a": up(100, 1, 50, 1)}, {"a": up(1100, 3, 80, 2)}, {"a": up(1100, 3, 80, 2)})
    assert [(s.up_bytes, s.up_packets, s.down_bytes, s.down_packets) for s in got] == [(1000, 2, 30, 1), (0, 0, 0, 0)]
    assert got[0].speaker_id == "a"
    assert got[0].time == pytest.approx(1_700_000_000.1)
    assert got[0].interval_s == pytest.approx(0.1)
    assert got[0].up_rate == pytest.approx(10_000)


def test_a_counter_that_went_down_was_reset():
    got, _ = run_script({"a": up(5000, 40, 900, 9)}, {"a": up(300, 2, 0, 0)})
    assert (got[0].up_bytes, got[0].up_packets, got[0].down_bytes, got[0].down_packets) == (300, 2, 0, 0)


def test_32_and_64_bit_wraps_are_told_from_resets():
    near32, near64 = 2**32 - 1000, 2**64 - 10
    got, _ = run_script(
        {"a": up(near32, 10), "b": up(near64, 5, 2**32 - 4, 7)},
        {"a": up(500, 12), "b": up(20, 6, 6, 8)},
    )
    assert (got[0].up_bytes, got[0].up_packets) == (1500, 2)
    assert (got[1].up_bytes, got[1].up_packets, got[1].down_bytes, got[1].down_packets) == (30, 1, 10, 1)


def test_fewer_bytes_but_more_packets_far_from_a_wrap_is_a_reset():
    got, _ = run_script({"a": up(10_000, 10)}, {"a": up(800, 12)})
    assert (got[0].up_bytes, got[0].up_packets) == (800, 12)


def test_a_missing_speaker_has_no_sample_and_starts_a_new_baseline():
    got, _ = run_script(
        {"a": up(0, 0), "b": up(0, 0)}, {"a": up(10, 1)}, {"a": up(20, 2), "b": up(500, 5)}, {"a": up(20, 2), "b": up(600, 6)}
    )
    assert [(s.speaker_id, s.up_bytes) for s in got] == [("a", 10), ("a", 10), ("a", 0), ("b", 100)]


def test_a_failed_read_loses_nothing_the_next_sample_covers_the_gap():
    boom = OSError("nft did not answer")
    got, errors = run_script({"a": up(0, 0)}, boom, boom, {"a": up(3000, 3)}, steps=[0.1, 0.1, 0.1, 0.1])
    assert errors == [boom, boom]
    assert [(s.up_bytes, round(s.interval_s, 3)) for s in got] == [(3000, 0.3)]


def test_a_failing_callback_does_not_stop_the_others(caplog):
    calls: list[str] = []

    def flaky(sample: TrafficSample) -> None:
        calls.append(sample.speaker_id)
        if sample.speaker_id == "a":
            raise RuntimeError("bug in a consumer")

    sampler = TrafficSampler(ScriptedSource({"a": up(0, 0), "b": up(0, 0)}, {"a": up(1, 1), "b": up(1, 1)}), flaky)
    sampler.tick()
    samples = sampler.tick()
    assert calls == ["a", "b"] and len(samples) == 2
    assert "callback failed" in caplog.text


def test_the_thread_samples_until_stopped_and_is_joined():
    class Counting:
        def __init__(self) -> None:
            self.total = 0

        def read(self) -> dict[str, Counters]:
            self.total += 100
            return {"a": up(self.total, self.total // 100)}

        def close(self) -> None:
            pass

    enough = threading.Event()
    got: list[TrafficSample] = []

    def collect(sample: TrafficSample) -> None:
        got.append(sample)
        if len(got) >= 5:
            enough.set()

    sampler = TrafficSampler(Counting(), collect, interval_s=0.01)
    with sampler:
        assert enough.wait(5)
    assert not sampler.running
    assert all(s.up_bytes == 100 for s in got)
    with pytest.raises(RuntimeError):
        sampler.start()
    with pytest.raises(ValueError):
        TrafficSampler(Counting(), collect, interval_s=0)


@pytest.mark.netns
def test_samples_at_10_hz_sum_to_the_nftables_counter_delta(lab, table):
    before = table.read()[SPEAKER_ID]
    total = {"up": 0, "down": 0, "packets": 0}
    intervals: list[float] = []
    busy = 0
    changed = threading.Condition()

    def collect(sample: TrafficSample) -> None:
        nonlocal busy
        with changed:
            total["up"] += sample.up_bytes
            total["down"] += sample.down_bytes
            total["packets"] += sample.up_packets
            intervals.append(sample.interval_s)
            busy += sample.up_bytes > 0
            changed.notify_all()

    sampler = TrafficSampler(table, collect, interval_s=0.1)
    with sampler:
        # Spread the traffic over several intervals: wait for a new sample between the bursts.
        for _ in range(4):
            with changed:
                seen = len(intervals)
                assert changed.wait_for(lambda: len(intervals) > seen, timeout=5)
            lab.udp_exchange(count=10, size=1000, reply_size=200)
        after = table.read()[SPEAKER_ID]
        wait_until(lambda: total["up"] == after.up_bytes - before.up_bytes, what="the samples to add up")
    assert total["up"] == 40 * (1000 + UDP_V4_OVERHEAD)
    assert total["down"] == after.down_bytes - before.down_bytes == 40 * (200 + UDP_V4_OVERHEAD)
    assert total["packets"] == 40
    assert busy >= 2
    assert sorted(intervals)[len(intervals) // 2] == pytest.approx(0.1, abs=0.03)
