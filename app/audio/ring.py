"""A preallocated ring of int16 samples between PortAudio's callback (writer) and the meter's worker (reader)."""

from __future__ import annotations

import numpy as np


class SampleRing:
    """One writer, one reader, no lock: the audio callback must never wait, so it only copies.

    The writer copies a block in and only then advances `written` (a plain int: one store under the GIL),
    so the reader never sees samples that are not there yet. A reader that falls more than `capacity`
    behind loses the oldest samples, and counts them in `dropped`.

    Attributes:
        capacity: samples the ring holds.
        written: samples ever written.
        dropped: samples lost because the reader fell behind.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._data = np.zeros(self.capacity, dtype=np.int16)
        self.written = 0
        self._read = 0
        self.dropped = 0

    def write(self, samples: np.ndarray) -> None:
        """Copy `samples` (1-D int16) in. Called on PortAudio's thread: no allocation, no lock."""
        n = len(samples)
        start = self.written
        if n > self.capacity:  # only the newest fit
            samples = samples[n - self.capacity:]
            start += n - self.capacity
            n = self.capacity
        at = start % self.capacity
        first = min(n, self.capacity - at)
        self._data[at:at + first] = samples[:first]
        if first < n:
            self._data[:n - first] = samples[first:]
        self.written = start + n

    def read(self) -> np.ndarray:
        """Every sample written since the last read (a copy), oldest first."""
        written = self.written
        start = max(self._read, written - self.capacity)
        self.dropped += start - self._read
        at, n = start % self.capacity, written - start
        first = min(n, self.capacity - at)
        out = np.concatenate((self._data[at:at + first], self._data[:n - first]))
        # The writer may have lapped the reader while it copied: those oldest samples may be torn.
        lapped = self.written - self.capacity - start
        if lapped > 0:
            out = out[lapped:]
            self.dropped += lapped
        self._read = written
        return out
