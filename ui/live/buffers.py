"""Fixed-size numpy buffers for the live graphs; no Qt here, so they are tested and measured on their own.

- `Ring`: the last N samples of a few columns, readable oldest-first as contiguous views without copying.
- `History`: 1-second history loaded on demand in 10-minute chunks, at most 24 hours of it.
- `StateLog`: a few state changes (the confirmed mute) with times, as a step function.
- `Spans`: activation spans by id, one of them possibly still growing.
- `runs`: where a 0/1 series is on, as start/end arrays, computed with numpy.

Times are epoch seconds; a sample's time is the end of the interval it covers (as the bridge stamps it).
Missing values are NaN, so curves drawn with `connect="finite"` break there instead of drawing a flat line.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.activations import CRITICAL_FLAG, problem_flags

DAY_S = 24 * 3600.0
CHUNK_S = 600


class Ring:
    """The newest `capacity` rows of a time column and value columns, oldest first.

    Every row is written twice, at `i` and `i + capacity` of arrays twice that long, so the
    newest rows are always one contiguous slice: `times()` and `column()` return views, and
    a plot can take them without a copy. A jump in time longer than `gap_s` gets a NaN row,
    which breaks the curve there. Rows not newer than the last one are dropped (a reconnect
    replays part of what was already received).

    Attributes:
        capacity: the number of rows kept.
        columns: the value columns' names.
        version: increases with every write (what a plot compares to know it must redraw).
    """

    def __init__(self, capacity: int, columns: Sequence[str], *, gap_s: float) -> None:
        if capacity < 1:
            raise ValueError("a ring needs room for at least one row")
        self.capacity = capacity
        self.columns = tuple(columns)
        self.gap_s = gap_s
        self.version = 0
        self._time = np.full(2 * capacity, np.nan)
        self._values = {name: np.full(2 * capacity, np.nan) for name in self.columns}
        self._written = 0

    def __len__(self) -> int:
        return min(self._written, self.capacity)

    @property
    def last_time(self) -> float | None:
        return float(self._time[self._end() - 1]) if self._written else None

    @property
    def first_time(self) -> float | None:
        return float(self._time[self._end() - len(self)]) if self._written else None

    def _end(self) -> int:
        return (self._written - 1) % self.capacity + self.capacity + 1 if self._written else self.capacity

    def times(self) -> np.ndarray:
        end = self._end()
        return self._time[end - len(self):end]

    def column(self, name: str) -> np.ndarray:
        end = self._end()
        return self._values[name][end - len(self):end]

    def extend(self, times: Sequence[float] | np.ndarray, values: Mapping[str, Sequence[float] | np.ndarray]) -> int:
        """Append rows (any order; sorted here); returns how many were kept. Missing columns are NaN."""
        t = np.asarray(times, dtype=float)
        if t.size == 0:
            return 0
        cols = {name: np.asarray(values[name], dtype=float) if name in values else np.full(t.size, np.nan)
                for name in self.columns}
        if t.size > 1 and np.any(t[1:] < t[:-1]):
            order = np.argsort(t, kind="stable")
            t = t[order]
            cols = {name: col[order] for name, col in cols.items()}
        last = self.last_time
        keep = np.isfinite(t) & (np.diff(t, prepend=-math.inf) > 0)
        if last is not None:
            keep &= t > last
        if not keep.all():
            t = t[keep]
            cols = {name: col[keep] for name, col in cols.items()}
        if t.size == 0:
            return 0
        kept = int(t.size)
        previous = np.concatenate(([last], t[:-1])) if last is not None else np.concatenate(([t[0]], t[:-1]))
        gaps = np.flatnonzero(t - previous > self.gap_s)
        if gaps.size:
            gap_times = (t[gaps] + previous[gaps]) / 2
            t = np.insert(t, gaps, gap_times)
            cols = {name: np.insert(col, gaps, np.nan) for name, col in cols.items()}
        if t.size > self.capacity:
            t = t[-self.capacity:]
            cols = {name: col[-self.capacity:] for name, col in cols.items()}
        slots = (self._written + np.arange(t.size)) % self.capacity
        for target, source in ((self._time, t), *((self._values[n], cols[n]) for n in self.columns)):
            target[slots] = source
            target[slots + self.capacity] = source
        self._written += int(t.size)
        self.version += 1
        return kept

    def index_at(self, when: float) -> int | None:
        """The index (into the views) of the row nearest `when`, or None when empty."""
        times = self.times()
        if times.size == 0:
            return None
        i = int(np.searchsorted(times, when))
        if i >= times.size:
            return times.size - 1
        if i > 0 and when - times[i - 1] < times[i] - when:
            return i - 1
        return i


@dataclass
class _Chunk:
    values: dict[str, np.ndarray]
    known_until: float  # the time up to which the bridge had measured when this chunk was fetched


class History:
    """A speaker's 1-second history, fetched on demand in `chunk_s` chunks and kept for `keep_s`.

    `wanted()` says which range to fetch next (and marks it as being fetched), `store()` takes
    the bridge's answer, `series()` gives the loaded rows for a time range as contiguous arrays.
    Chunks older than `keep_s` are dropped by `prune()`, so memory is bounded by the 24 hours
    the bridge keeps.

    Attributes:
        columns: the value columns (each becomes a float array, NaN where the bridge had no value).
        version: increases with every change to the loaded rows.
    """

    def __init__(self, columns: Sequence[str], *, chunk_s: int = CHUNK_S, keep_s: float = DAY_S,
                 max_fetch_chunks: int = 6, retry_s: float = 10.0) -> None:
        self.columns = tuple(columns)
        self.chunk_s = chunk_s
        self.keep_s = keep_s
        self.max_fetch_chunks = max_fetch_chunks
        self.retry_s = retry_s
        self.version = 0
        self._chunks: dict[int, _Chunk] = {}
        self._fetching: set[int] = set()
        self._failed_at: dict[int, float] = {}
        self._cache_key: tuple | None = None
        self._cache: tuple[np.ndarray, dict[str, np.ndarray]] | None = None

    @property
    def fetching(self) -> bool:
        return bool(self._fetching)

    def loaded_chunks(self) -> int:
        return len(self._chunks)

    def _complete(self, index: int, until: float) -> bool:
        chunk = self._chunks.get(index)
        return chunk is not None and chunk.known_until >= min((index + 1) * self.chunk_s, until) - 1

    def wanted(self, start: float, end: float, now: float) -> tuple[float, float] | None:
        """The next range to fetch for showing [start, end) (None: nothing missing); marks it as fetching.

        Only the last `keep_s` before `now` is ever asked for, and a range that failed is asked
        again only after `retry_s`.
        """
        start = max(start, now - self.keep_s)
        end = min(end, now)
        if end <= start:
            return None
        first, last = int(start // self.chunk_s), math.ceil(end / self.chunk_s) - 1
        run: list[int] = []
        # Newest first: what is next to the live ring matters most when scrolling back.
        for index in range(last, first - 1, -1):
            missing = (index not in self._fetching and not self._complete(index, end)
                       and now - self._failed_at.get(index, -math.inf) >= self.retry_s)
            if missing and (not run or run[-1] == index + 1) and len(run) < self.max_fetch_chunks:
                run.append(index)
            elif run:
                break
        if not run:
            return None
        self._fetching.update(run)
        return float(min(run) * self.chunk_s), float((max(run) + 1) * self.chunk_s)

    def fetch_failed(self, start: float, end: float, now: float) -> None:
        for index in range(int(start // self.chunk_s), math.ceil(end / self.chunk_s)):
            self._fetching.discard(index)
            self._failed_at[index] = now

    def store(self, answer: Mapping, start: float, end: float, now: float) -> None:
        """Take the traffic endpoint's answer for the range asked by `wanted()` (t0, step, one list per column)."""
        for index in range(int(start // self.chunk_s), math.ceil(end / self.chunk_s)):
            self._fetching.discard(index)
            self._failed_at.pop(index, None)
        t0 = float(answer.get("t0", start))
        step = float(answer.get("step") or 1.0)
        if step != 1.0:
            raise ValueError(f"history in steps of {step} s; expected 1 s")
        arrays = {name: np.array(answer.get(name) or [], dtype=float) for name in self.columns}
        count = max((a.size for a in arrays.values()), default=0)
        first = int(start // self.chunk_s)
        last = math.ceil(end / self.chunk_s)
        for index in range(first, last):
            chunk_start = index * self.chunk_s
            if chunk_start + self.chunk_s <= now - self.keep_s:
                continue
            chunk = self._chunks.get(index)
            if chunk is None:
                chunk = self._chunks[index] = _Chunk(
                    {name: np.full(self.chunk_s, np.nan) for name in self.columns}, -math.inf)
            lo = max(0, int(chunk_start - t0))
            hi = min(count, int(chunk_start + self.chunk_s - t0))
            if hi > lo:
                offset = int(t0 + lo - chunk_start)
                for name, source in arrays.items():
                    if source.size >= hi:
                        chunk.values[name][offset:offset + hi - lo] = source[lo:hi]
            chunk.known_until = max(chunk.known_until, min(now, end))
        self.version += 1

    def prune(self, now: float) -> None:
        """Forget chunks older than `keep_s`."""
        oldest = int((now - self.keep_s) // self.chunk_s)
        old = [index for index in self._chunks if index < oldest]
        for index in old:
            del self._chunks[index]
        for index in [i for i in self._failed_at if i < oldest]:
            del self._failed_at[index]
        if old:
            self.version += 1

    def series(self, start: float, end: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Loaded rows in the chunks touching [start, end): times (end of each second) and columns.

        Chunks that are not loaded are skipped with a NaN row between, so lines break there.
        The result is cached until the rows or the chunk range change.
        """
        first, last = int(start // self.chunk_s), int(end // self.chunk_s)
        key = (first, last, self.version)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        indexes = sorted(i for i in self._chunks if first <= i <= last)
        times: list[np.ndarray] = []
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.columns}
        step = np.arange(1, self.chunk_s + 1, dtype=float)
        for n, index in enumerate(indexes):
            if n and indexes[n - 1] != index - 1:
                times.append(np.array([index * self.chunk_s]))
                for name in self.columns:
                    parts[name].append(np.array([np.nan]))
            times.append(index * self.chunk_s + step)
            for name in self.columns:
                parts[name].append(self._chunks[index].values[name])
        if times:
            result = (np.concatenate(times), {name: np.concatenate(p) for name, p in parts.items()})
        else:
            result = (np.empty(0), {name: np.empty(0) for name in self.columns})
        self._cache_key, self._cache = key, result
        return result

    def value_at(self, when: float) -> dict[str, float] | None:
        """The loaded values of the second holding `when` (None when that chunk is not loaded)."""
        index = int(when // self.chunk_s)
        chunk = self._chunks.get(index)
        if chunk is None:
            return None
        i = int(when - index * self.chunk_s)
        return {name: float(values[i]) for name, values in chunk.values.items()}


class StateLog:
    """A state that changes now and then (the confirmed mute), as (time, code) changes; the last `maxlen` kept.

    Codes are small integers the drawing maps to colours; NaN-free on purpose: "unknown" is a code too.
    """

    def __init__(self, maxlen: int = 2000) -> None:
        self._changes: deque[tuple[float, int]] = deque(maxlen=maxlen)
        self.version = 0

    def set(self, when: float, code: int) -> None:
        if self._changes and self._changes[-1][1] == code:
            return
        if self._changes and when < self._changes[-1][0]:
            when = self._changes[-1][0]
        self._changes.append((when, code))
        self.version += 1

    @property
    def current(self) -> int | None:
        return self._changes[-1][1] if self._changes else None

    def code_at(self, when: float) -> int | None:
        code = None
        for time_, value in self._changes:
            if time_ > when:
                break
            code = value
        return code

    def runs(self, code: int, until: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Start and end times of the stretches in state `code`; the current one ends at `until` (None: NaN,
        for a drawing that extends it to the present)."""
        starts, ends = [], []
        items = list(self._changes)
        for n, (time_, value) in enumerate(items):
            if value == code:
                starts.append(time_)
                if n + 1 < len(items):
                    ends.append(items[n + 1][0])
                else:
                    ends.append(math.nan if until is None else max(until, time_))
        return np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)


@dataclass(frozen=True)
class Span:
    start: float
    end: float | None  # None: still going on
    severity: int      # 0 plain, 1 flagged, 2 sent while muted


class Spans:
    """Activation spans by key (the bridge's id once it ended; ("open", start) while in progress).

    At most `maxlen` are kept and none older than `keep_s`; `arrays()` gives them for drawing.
    """

    def __init__(self, *, keep_s: float = DAY_S, maxlen: int = 5000) -> None:
        self.keep_s = keep_s
        self.maxlen = maxlen
        self.version = 0
        self._spans: dict[object, Span] = {}
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self._spans)

    def started(self, start: float, severity: int) -> None:
        self._put(("open", round(start, 3)), Span(start, None, severity))

    def ended(self, span_id: object, start: float, end: float, severity: int) -> None:
        """An activation ended (or was loaded from history): it replaces the open span that began with it."""
        for key, span in list(self._spans.items()):
            if span.end is None and abs(span.start - start) < 1.5:
                del self._spans[key]
        self._put(span_id, Span(start, end, severity))

    def _put(self, key: object, span: Span) -> None:
        if self._spans.get(key) == span:
            return
        self._spans[key] = span
        if len(self._spans) > self.maxlen:
            oldest = sorted(self._spans, key=lambda k: self._spans[k].start)[: len(self._spans) - self.maxlen]
            for old in oldest:
                del self._spans[old]
        self._arrays = None
        self.version += 1

    def prune(self, now: float) -> None:
        old = [k for k, s in self._spans.items() if s.end is not None and s.end < now - self.keep_s]
        for key in old:
            del self._spans[key]
        if old:
            self._arrays = None
            self.version += 1

    @property
    def open(self) -> bool:
        return any(s.end is None for s in self._spans.values())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, severities) sorted by start; an open span's end is NaN (the drawing uses "now")."""
        if self._arrays is None:
            spans = sorted(self._spans.values(), key=lambda s: s.start)
            self._arrays = (np.array([s.start for s in spans], dtype=float),
                            np.array([np.nan if s.end is None else s.end for s in spans], dtype=float),
                            np.array([s.severity for s in spans], dtype=np.int8))
        return self._arrays

    def at(self, when: float, now: float) -> Span | None:
        for span in self._spans.values():
            if span.start <= when <= (now if span.end is None else span.end):
                return span
        return None


def runs(times: np.ndarray, on: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """Where `on` (a 0/1/NaN series stamped at interval ends) is 1: start and end times of each run.

    A run of samples i..j covers [times[i] - interval, times[j]]. NaN counts as off.
    """
    flags = np.nan_to_num(on, nan=0.0) > 0.5
    if not flags.any():
        return np.empty(0), np.empty(0)
    edges = np.diff(flags.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    first = np.flatnonzero(edges == 1)
    after = np.flatnonzero(edges == -1)
    return times[first] - interval, times[after - 1]


def severity(flags: Iterable[str]) -> int:
    """How an activation is shaded: 2 when it was sent while muted, 1 for any other problem flag, else 0 (an
    upload Earmuff's own deletion command caused is not a problem)."""
    flags = problem_flags(set(flags))
    if CRITICAL_FLAG in flags:
        return 2
    return 1 if flags else 0
