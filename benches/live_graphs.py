"""Cost of the Live page's graphs: 8 speakers x 2 plots at 10 Hz.

    python benches/live_graphs.py [--speakers 8] [--minutes 60] [--realtime 60] [--size 1400x2000]

The real LiveView (ui/live) in a shown window (offscreen platform unless QT_QPA_PLATFORM says otherwise),
tall enough that every row is on screen and painted. Records are built the way the bridge adapter
delivers them: one batch per 100 ms with a sample per speaker, a microphone record per bridge that has
one (half the speakers are on a bridge without a microphone and get this computer's readings instead),
an activation every ~90 s per speaker (started, then ended 5 s later) and a mute change now and then.

1. A simulated hour, run faster than real time on a simulated clock: each frame feeds one batch, runs
   the view's timer tick (setData on the curves, intervals, window move) and processes the resulting
   paint events. Frame time = tick + paint, per frame; p50/p99 over the hour (the first 10 minutes,
   while the rings fill, are measured too). At the default 10-minute width a tick moves the present by
   less than a pixel, so the view spreads the rows' redraws over the ticks; two more minutes zoomed in
   to 30 s measure frames that redraw every row. RSS is read after the rings are full (10 min) and at
   the end of the hour.
2. Real-time rate: `--realtime` seconds on the wall clock with the page's own 100 ms timer and a 100 ms
   feeding timer; the GUI process's CPU time (user + system) over that span, as % of one core.
The microphone pipeline's CPU per second of 16 kHz audio is measured by benches/mic_pipeline.py.

Figures are printed; nothing is asserted (tests assert behaviour, not time).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import psutil
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ui.live.series import CONFIRMED_MUTED, CONFIRMED_UNMUTED, LiveData
from ui.live.view import LiveView

T0 = 1_700_000_000.0
FRAME_S = 0.1


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Home:
    """Makes the adapter's batches for `speakers` speakers on two bridges (the first with a microphone)."""

    def __init__(self, data: LiveData, speakers: int, seed: int = 1) -> None:
        self.data = data
        self.rng = np.random.default_rng(seed)
        self.keys = [("kitchen-bridge" if n < speakers / 2 else "hall-bridge", f"speaker-{n}") for n in range(speakers)]
        self.next_activation = {key: 20 + 90 * self.rng.random() for key in self.keys}
        self.active_until: dict[tuple[str, str], float] = {}
        self.muted = {key: False for key in self.keys}
        self.started = 0.0

    def batch(self, now: float) -> list[dict]:
        """One 100 ms batch ending at `now`; activations and mute changes go straight to the data."""
        if not self.started:
            self.started = now
        records = []
        for key in self.keys:
            bridge_id, speaker_id = key
            up = 250 + 120 * self.rng.random()
            if key in self.active_until:
                if now >= self.active_until[key]:
                    start = self.active_until.pop(key) - 5
                    self.data.activation(bridge_id, "activation_ended", {
                        "speaker_id": speaker_id, "start": start, "end": now, "id": int(now * 10),
                        "flags": ["while_muted"] if self.muted[key] else []})
                else:
                    up = 35_000 + 40_000 * self.rng.random()
            elif now - self.started >= self.next_activation[key]:
                self.next_activation[key] = now - self.started + 60 + 60 * self.rng.random()
                self.active_until[key] = now + 5
                self.data.activation(bridge_id, "activation_started", {"speaker_id": speaker_id, "start": now})
            if self.rng.random() < 0.0005:
                self.muted[key] = not self.muted[key]
                self.data.series(*key).confirmed.set(now, CONFIRMED_MUTED if self.muted[key] else CONFIRMED_UNMUTED)
            records.append({"type": "sample", "bridge_id": bridge_id, "speaker_id": speaker_id, "time": now,
                            "up": up, "down": 80 + 40 * self.rng.random(), "muted": self.muted[key]})
        level = -60 + 30 * abs(math.sin(now / 7))
        records.append({"type": "mic", "bridge_id": "kitchen-bridge", "mic_id": "room",
                        "speaker_ids": [s for b, s in self.keys if b == "kitchen-bridge"], "time": now,
                        "level": level, "speech": level > -45})
        return records

    def desktop_reading(self, now: float) -> None:
        level = -55 + 20 * abs(math.sin(now / 5))
        self.data.ingest_desktop([now], [level], [level > -45])


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def build(app: QApplication, speakers: int, size: tuple[int, int], clock) -> tuple[LiveView, LiveData, Home]:
    data = LiveData()
    view = LiveView(data, clock=clock)
    home = Home(data, speakers)
    view.set_rows([(key, f"Speaker {n + 1}", f"on {key[0]}") for n, key in enumerate(home.keys)])
    view.set_desktop_mic(True)
    view.resize(*size)
    view.show()
    for _ in range(5):
        app.processEvents()
    view.timer.stop()
    return view, data, home


def simulated_hour(app: QApplication, speakers: int, minutes: float, size: tuple[int, int]) -> None:
    clock = Clock(T0)
    view, data, home = build(app, speakers, size, clock)
    visible = sum(not row.visibleRegion().isEmpty() for row in view.rows.values())
    print(f"Simulated {minutes:.0f} min: {speakers} speakers x 2 plots, {visible} rows on screen, window "
          f"{size[0]}x{size[1]}, {os.environ['QT_QPA_PLATFORM']} platform")
    frames = int(minutes * 60 / FRAME_S)
    fill_frames = min(int(600 / FRAME_S), frames)
    # Timings go into arrays allocated up front: lists of floats would themselves grow RSS by megabytes.
    frame_s = np.zeros(frames)
    tick_s = np.zeros(frames)
    feed_s = np.zeros(frames)
    rss_start = rss_mb()
    rss_full = rss_start
    wall = time.perf_counter()
    for frame in range(frames):
        clock.now += FRAME_S
        began = time.perf_counter()
        data.ingest(home.batch(clock.now))
        home.desktop_reading(clock.now)
        fed = time.perf_counter()
        view.tick()
        ticked = time.perf_counter()
        app.processEvents()
        done = time.perf_counter()
        feed_s[frame] = fed - began
        tick_s[frame] = ticked - fed
        frame_s[frame] = done - fed
        if frame == fill_frames - 1:
            gc.collect()
            rss_full = rss_mb()
    elapsed = time.perf_counter() - wall
    gc.collect()
    rss_end = rss_mb()

    def ms(values: np.ndarray) -> str:
        return (f"p50 {1000 * np.median(values):.2f} ms, p99 {1000 * np.percentile(values, 99):.2f} ms, "
                f"max {1000 * values.max():.2f} ms")

    print(f"  ran {frames} frames in {elapsed:.1f} s ({minutes * 60 / elapsed:.1f}x real time)")
    if frames > fill_frames:
        print(f"  frame (tick + paint), rings full:   {ms(frame_s[fill_frames:])}")
    print(f"  frame (tick + paint), first 10 min: {ms(frame_s[:fill_frames])}")
    print(f"  tick alone (setData, intervals):    {ms(tick_s)}")
    print(f"  feeding a batch (LiveData.ingest):  {ms(feed_s)}")
    print(f"  RSS: {rss_start:.1f} MB at start, {rss_full:.1f} MB with the rings full (10 min), {rss_end:.1f} MB "
          f"after {minutes:.0f} min: growth {rss_end - rss_full:+.1f} MB after the rings filled")
    # Zoomed in to 30 s, the present moves several pixels a tick: every row is redrawn every frame.
    view.zoom(30 / view.window_s)
    every = np.zeros(1200)
    for frame in range(every.size):
        clock.now += FRAME_S
        data.ingest(home.batch(clock.now))
        home.desktop_reading(clock.now)
        began = time.perf_counter()
        view.tick()
        app.processEvents()
        every[frame] = time.perf_counter() - began
    print(f"  frame, zoomed to 30 s (all {visible} rows redrawn each frame): {ms(every)}")
    spans = sum(len(s.activations) for s in data.speakers.values())
    print(f"  activation spans kept: {spans}; points per uplink curve: "
          f"{next(iter(view.rows.values())).shown_points('up')}")
    view.close()
    view.deleteLater()
    app.processEvents()


def real_time(app: QApplication, speakers: int, seconds: float, size: tuple[int, int]) -> None:
    view, data, home = build(app, speakers, size, time.time)
    # Ten minutes of history already in the rings, as after a while on the page.
    start = time.time() - 600
    for n in range(6000):
        data.ingest(home.batch(start + n * FRAME_S))
        home.desktop_reading(start + n * FRAME_S)
    feeder = QTimer()
    feeder.setInterval(int(FRAME_S * 1000))

    def feed() -> None:
        now = time.time()
        data.ingest(home.batch(now))
        home.desktop_reading(now)

    feeder.timeout.connect(feed)
    feeder.start()
    view.timer.start()
    process = psutil.Process()
    warm_until = time.monotonic() + 3
    while time.monotonic() < warm_until:
        app.processEvents()
        time.sleep(0.005)
    cpu_before = process.cpu_times()
    wall_before = time.monotonic()
    ticks_before = view._ticks
    end = wall_before + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)
    cpu_after = process.cpu_times()
    wall = time.monotonic() - wall_before
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    frames = view._ticks - ticks_before
    print(f"Real time, {wall:.0f} s: {frames} frames ({frames / wall:.1f}/s); GUI process CPU {cpu:.2f} s = "
          f"{100 * cpu / wall:.1f} % of one core (feeding included)")
    feeder.stop()
    view.timer.stop()
    view.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speakers", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated time to run")
    parser.add_argument("--realtime", type=float, default=60.0, help="seconds of real-time feeding")
    parser.add_argument("--size", default="1400x2000", help="window size; tall enough to paint every row")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    app = QApplication.instance() or QApplication([])
    simulated_hour(app, args.speakers, args.minutes, size)
    if args.realtime > 0:
        real_time(app, args.speakers, args.realtime, size)


if __name__ == "__main__":
    main()
