"""Turns a TrafficSource's cumulative counters into per-interval samples, ten times a second.

Between two readings of a speaker, each direction's (bytes, packets) pair moved forward, was reset, or
wrapped:

* both went up (or stayed): the difference;
* both went down: the counter was reset (nftables table re-installed, interface re-created): what it
  reads now is what came since the reset;
* exactly one went down, and it was within 1 GiB of 2**32 (or 2**64): a fixed-width counter wrapped
  (32-bit kernels keep some interface counters in 32 bits); anything else is taken as a reset.

A speaker missing from a reading has no sample for that tick and starts a new baseline when it comes
back. A failed read (nft timed out) produces no samples; the next good reading covers the whole gap,
with `interval_s` saying how long that was, so no bytes are lost.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from device_bridge.traffic.model import Counters, TrafficSample, TrafficSource

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 0.1
_WRAP_WINDOW = 1 << 30
_STOP_TIMEOUT_S = 5.0

SampleCallback = Callable[[TrafficSample], None]
ErrorCallback = Callable[[BaseException], None]


class TrafficSampler:
    """Reads a TrafficSource every `interval_s` on its own thread and hands each speaker's sample to `on_sample`.

    Callbacks run on the sampler's thread, with no lock held; one that raises is logged and the sampler
    carries on. The first reading is only a baseline (no samples). The sampler does not close the source:
    whoever made the source does.

    Without the thread, `tick()` does one reading (tests drive it with their own clocks that way).

    Attributes:
        source: where the counters come from.
        interval_s: the sampling period (0.1 s = 10 Hz).
    """

    def __init__(
        self,
        source: TrafficSource,
        on_sample: SampleCallback,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        on_error: ErrorCallback | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        name: str = "earmuff-traffic-sampler",
    ) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, not {interval_s!r}")
        self.source = source
        self.interval_s = interval_s
        self._on_sample = on_sample
        self._on_error = on_error
        self._clock = clock
        self._monotonic = monotonic
        self._name = name
        self._last: dict[str, tuple[Counters, float]] = {}
        self._state_lock = threading.Lock()
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start sampling on a thread (the first reading is taken at once)."""
        if self._thread is not None:
            raise RuntimeError("a sampler starts once")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = _STOP_TIMEOUT_S) -> None:
        """Stop the thread and wait for it (a reading in progress finishes first). Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("The traffic sampler did not stop within %.0f s", timeout_s)

    def __enter__(self) -> TrafficSampler:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def tick(self) -> list[TrafficSample]:
        """Read the source once, hand out a sample per speaker seen last time too, and return them."""
        try:
            readings = self.source.read()
        except Exception as error:  # noqa: BLE001 - a failing source must not end the sampling
            self._report(error)
            return []
        now, mono = self._clock(), self._monotonic()
        if self._failing:
            log.info("Traffic counters can be read again")
            self._failing = False
        samples = []
        with self._state_lock:
            for speaker_id, counters in readings.items():
                previous = self._last.get(speaker_id)
                self._last[speaker_id] = (counters, mono)
                if previous is None:
                    continue
                before, then = previous
                up_bytes, up_packets = _advance(before.up_bytes, before.up_packets, counters.up_bytes, counters.up_packets)
                down_bytes, down_packets = _advance(
                    before.down_bytes, before.down_packets, counters.down_bytes, counters.down_packets
                )
                samples.append(TrafficSample(
                    speaker_id=speaker_id, time=now, interval_s=mono - then, up_bytes=up_bytes,
                    down_bytes=down_bytes, up_packets=up_packets, down_packets=down_packets,
                ))
            for speaker_id in self._last.keys() - readings.keys():
                del self._last[speaker_id]
        for sample in samples:
            try:
                self._on_sample(sample)
            except Exception:  # noqa: BLE001
                log.exception("A traffic sample callback failed")
        return samples

    def _report(self, error: Exception) -> None:
        if not self._failing:
            log.warning("Cannot read the traffic counters: %s", error)
            self._failing = True
        if self._on_error is not None:
            try:
                self._on_error(error)
            except Exception:  # noqa: BLE001
                log.exception("A traffic error callback failed")

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            self.tick()
            due += self.interval_s
            late = time.monotonic() - due
            if late > 0:  # a slow reading: skip the ticks it missed instead of bunching them up
                due += math.ceil(late / self.interval_s) * self.interval_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                break


def _advance(old_bytes: int, old_packets: int, new_bytes: int, new_packets: int) -> tuple[int, int]:
    """(bytes, packets) between two readings of one direction's counters (see the module docstring)."""
    bytes_back, packets_back = new_bytes < old_bytes, new_packets < old_packets
    if not bytes_back and not packets_back:
        return new_bytes - old_bytes, new_packets - old_packets
    if bytes_back != packets_back:
        moved_bytes = _wrapped(old_bytes, new_bytes) if bytes_back else new_bytes - old_bytes
        moved_packets = _wrapped(old_packets, new_packets) if packets_back else new_packets - old_packets
        if moved_bytes is not None and moved_packets is not None:
            return moved_bytes, moved_packets
    return new_bytes, new_packets


def _wrapped(old: int, new: int) -> int | None:
    for bits in (32, 64):
        modulus = 1 << bits
        if old < modulus and modulus - old <= _WRAP_WINDOW and new < _WRAP_WINDOW:
            return new + modulus - old
    return None
