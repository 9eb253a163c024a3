"""Activation detector: replay throughput and accuracy.

    python benches/detector.py [--hours 12] [--traces 4] [--seed 4] [--repeat 20]

1. Throughput, in hours of capture per CPU second (target >= 1 h/s):
   - a long synthetic series (one speaker, `--hours` at 10 Hz, with activations, spikes and music) through
     `detect_series`, and through `ActivationDetector.feed` one TrafficSample at a time as the bridge does
     (also given as the share of one core that 10 Hz sampling of one speaker costs);
   - the real Echo capture (resources/traces/echodot3a.pcap, 48 s, 2,778 packets of all devices on that
     network) read with dpkt and replayed, `--repeat` times.
2. Accuracy on a fixed-seed labelled corpus (device_bridge/traffic/corpus.py: `--traces` traces of
   `--hours` per family; every second one with music streams): recall, false alarms per 24 h of idle,
   |start error| median / p95 / max, and how long after an upload's first byte ActivationStarted comes
   (median / p95), with each family's profile and with the generic one. Then the same corpus judged by
   one global per-second threshold, as a single-threshold rule would, to show why that fails.
Figures are printed; nothing is asserted (the tests assert behaviour).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from device_bridge.traffic.corpus import FAMILIES, evaluate, generate_trace  # noqa: E402
from device_bridge.traffic.detect import GENERIC, ActivationDetector, detect_series, profile_for  # noqa: E402
from device_bridge.traffic.model import Activation, ActivationStarted, TrafficSample  # noqa: E402
from device_bridge.traffic.replay import detect_in_capture, read_uplink  # noqa: E402

ECHO_TRACE = ROOT / "resources" / "traces" / "echodot3a.pcap"
ECHO_MAC = "68:db:f5:90:19:64"


def cpu(fn, repeat: int = 1) -> float:
    """CPU seconds per call of fn()."""
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def throughput(hours: float, seed: int, repeat: int) -> None:
    print("== replay throughput (hours of capture per CPU second; target >= 1) ==")
    trace = generate_trace("echo", hours, seed=seed, music=True)
    run = lambda: detect_series("s", trace.times, trace.up_bytes, 0.1, down_bytes=trace.down_bytes)  # noqa: E731
    seconds = cpu(run)
    found = len(run())
    print(f"synthetic {hours:g} h at 10 Hz ({len(trace.times):,} samples, {found} activations), detect_series: "
          f"{hours / seconds:,.1f} h/s ({seconds:.2f} s CPU)")
    samples = [TrafficSample("s", t, 0.1, u, d, 0, 0)
               for t, u, d in zip(trace.times.tolist(), trace.up_bytes.tolist(), trace.down_bytes.tolist())]

    def feed_all() -> None:
        detector = ActivationDetector("s")
        for sample in samples:
            detector.feed(sample)
        detector.flush()

    seconds = cpu(feed_all)
    per_sample = seconds / len(samples)
    print(f"synthetic, ActivationDetector.feed per TrafficSample: {hours / seconds:,.1f} h/s, "
          f"{per_sample * 1e6:.2f} us per sample = {per_sample * 10 * 100:.4f} % of one core per speaker at 10 Hz")
    series = read_uplink(ECHO_TRACE, ECHO_MAC)
    hours_real = series.duration_s / 3600
    total = cpu(lambda: detect_in_capture(ECHO_TRACE, ECHO_MAC), repeat)
    reading = cpu(lambda: read_uplink(ECHO_TRACE, ECHO_MAC), repeat)
    print(f"real Echo capture ({series.duration_s:.1f} s, {series.packets:,} packets = "
          f"{series.packets / series.duration_s:.0f} packets/s), read + detect: {hours_real / total:.2f} h/s "
          f"({total * 1e3:.1f} ms CPU; reading the pcap with dpkt is {reading / total:.0%} of it)")


def announce_latencies(traces) -> dict[str, list[float]]:
    """Seconds from each found upload's first byte to its ActivationStarted (feeding samples as the bridge),
    by kind of upload."""
    latencies: dict[str, list[float]] = {"voice": [], "slow": []}
    for trace in traces:
        detector = ActivationDetector("s", profile=profile_for(trace.family))
        starts = []
        for t, u, d in zip(trace.times.tolist(), trace.up_bytes.tolist(), trace.down_bytes.tolist()):
            for event in detector.feed(TrafficSample("s", t, 0.1, u, d, 0, 0)):
                if isinstance(event, ActivationStarted):
                    starts.append(t)
        for truth in trace.activations:
            after = [t for t in starts if truth.start - 1.0 <= t <= truth.end + 5.0]
            if after:
                latencies[truth.kind].append(after[0] - truth.start)
    return latencies


def single_threshold(threshold: float):
    def detect(trace, _profile) -> list[Activation]:
        seconds = len(trace.up_bytes) // 10
        per_second = trace.up_bytes[: seconds * 10].reshape(seconds, 10).sum(axis=1)
        runs: list[list[int]] = []
        for k in np.flatnonzero(per_second > threshold).tolist():
            if runs and k <= runs[-1][1] + 3:
                runs[-1][1] = k
            else:
                runs.append([k, k])
        return [Activation("s", float(a), float(b + 1), 1, 1.0, 1.0) for a, b in runs]
    return detect


def accuracy(hours: float, traces_per_family: int, seed: int) -> None:
    traces = [generate_trace(family, hours, seed=seed * 1000 + f * 100 + i, music=i % 2 == 1)
              for f, family in enumerate(FAMILIES) for i in range(traces_per_family)]
    total_h = sum(t.duration_s for t in traces) / 3600
    kinds = [e.kind for t in traces for e in t.events]
    print(f"\n== accuracy on the labelled corpus (seed {seed}, {total_h:g} h, "
          f"{kinds.count('voice')} voice + {kinds.count('slow')} slow uploads, "
          f"{kinds.count('echo_spike') + kinds.count('homepod_spike')} idle spikes, "
          f"{kinds.count('music')} music streams) ==")
    for label, profile in (("family profiles", None), ("generic profile", GENERIC)):
        score = evaluate(traces, profile=profile)
        by_kind = {}
        for kind in ("voice", "slow"):
            truth = sum(1 for t in traces for e in t.activations if e.kind == kind)
            missed = sum(1 for e in score.missed if e.kind == kind)
            by_kind[kind] = f"{(truth - missed) / truth:.1%}" if truth else "-"
        print(f"{label}: recall {score.recall:.2%} ({score.found}/{score.activations}; voice {by_kind['voice']}, "
              f"slow {by_kind['slow']}), false alarms {score.false_alarms} = {score.false_alarms_per_24h:.2f} "
              f"per 24 h of idle ({score.idle_s / 3600:.1f} h), split {score.split}, |start error| median "
              f"{score.start_error(0.5):.2f} s / p95 {score.start_error(0.95):.2f} s / "
              f"max {score.start_error(1.0):.2f} s")
        if score.false_alarm_kinds:
            print(f"  false alarms overlapped: {sorted(set(score.false_alarm_kinds))}")
    for kind, latencies in announce_latencies(traces).items():
        print(f"ActivationStarted after the first byte of a {kind} upload (10 Hz feed, family profiles): median "
              f"{statistics.median(latencies):.2f} s, p95 {np.quantile(latencies, 0.95):.2f} s, "
              f"max {max(latencies):.2f} s")
    print("one global per-second threshold on the same corpus (why it fails):")
    for threshold in (4_000, 9_500, 12_172, 46_086, 76_366):
        score = evaluate(traces, detect=single_threshold(threshold))
        print(f"  > {threshold:>6,} B/s: recall {score.recall:.1%}, "
              f"false alarms {score.false_alarms_per_24h:.1f} per 24 h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=12.0, help="hours per synthetic trace (default 12)")
    parser.add_argument("--traces", type=int, default=4, help="corpus traces per family (default 4)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=20, help="replays of the real capture (default 20)")
    args = parser.parse_args()
    throughput(args.hours, args.seed, args.repeat)
    accuracy(args.hours, args.traces, args.seed)


if __name__ == "__main__":
    main()
