"""Discovery benchmark: how fast N simulated speakers reach the app's speaker table, against bare zeroconf.

    python benches/discovery.py [--sizes 5,20,50] [--repeats 25] [--idle 10]

For each size a simulated home (its own process, real zeroconf responders on
127.0.0.1) advertises N made-up speakers. Then, alternately and `--repeats`
times each:
  bare  a plain python-zeroconf ServiceBrowser on the same service types; the
        clock stops when every advertised service has been resolved with
        get_service_info (the usual way to use the library);
  app   Earmuff's Discovery -> DeviceRegistry -> RegistryAdapter -> DevicesModel,
        filtered to speakers as the Speakers page shows them; the clock stops when
        the table has N online speakers.
Both start from a fresh Zeroconf with an empty cache. Afterwards, with the N
speakers listed, the app is left idle for `--idle` seconds and its CPU use and
resident memory (the whole process, Qt included) are read with psutil.
Figures are printed; nothing is asserted (tests assert behaviour, not time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf  # noqa: E402

from app.discovery.fingerprints import Fingerprinter  # noqa: E402
from app.discovery.session import build_discovery  # noqa: E402
from device_bridge.simulate.adverts import synthetic_speakers  # noqa: E402
from ui.adapters import RegistryAdapter  # noqa: E402
from ui.models.devices_model import DeviceFilterProxy, DevicesModel, Scope  # noqa: E402

LOOPBACK = ["127.0.0.1"]
TIMEOUT_S = 60.0


def start_home(n: int, seed: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    home = subprocess.Popen(
        [sys.executable, "-m", "device_bridge", "simulate-home", "--speakers", str(n), "--seed", str(seed)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env,
    )
    for line in home.stdout:
        if line.startswith("simulated home ready"):
            return home
    raise RuntimeError("simulated home did not start")


def stop_home(home: subprocess.Popen) -> None:
    home.terminate()
    home.wait(20)
    home.stdout.close()


def bare_zeroconf(expected: set[str], service_types: list[str]) -> float:
    """Seconds until a plain ServiceBrowser has resolved every expected service name."""
    zc = Zeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)
    resolved: set[str] = set()
    done = threading.Event()
    lock = threading.Lock()

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            return
        info = zeroconf.get_service_info(service_type, name, timeout=3000)
        if info is not None:
            with lock:
                resolved.add(name.lower())
                if expected <= resolved:
                    done.set()

    start = time.perf_counter()
    browser = ServiceBrowser(zc, service_types, handlers=[on_change])
    ok = done.wait(TIMEOUT_S)
    elapsed = time.perf_counter() - start
    browser.cancel()
    zc.close()
    if not ok:
        raise RuntimeError(f"bare zeroconf resolved {len(resolved)} of {len(expected)} services")
    return elapsed


class AppUnderTest:
    """The app's discovery stack, from the browser to the Speakers table's model."""

    def __init__(self, fingerprinter: Fingerprinter) -> None:
        self.registry, self.discovery = build_discovery(interfaces=LOOPBACK, fingerprinter=fingerprinter)
        self.adapter = RegistryAdapter(self.registry)
        self.model = DevicesModel()
        self.model.connect_adapter(self.adapter)
        self.speakers = DeviceFilterProxy(self.model, Scope.SPEAKERS)
        self.adapter.attach()

    def online_speakers(self) -> int:
        """Speakers the Speakers table lists as online (cheap check first: this runs on every change)."""
        if self.speakers.rowCount() == 0:
            return 0
        return sum(1 for d in self.model.devices() if Scope.SPEAKERS.accepts(d) and d.online)

    def listed(self, n: int) -> bool:
        return self.speakers.rowCount() >= n and self.online_speakers() >= n

    def close(self) -> None:
        self.discovery.stop()
        self.adapter.detach()


def app_time(n: int, fingerprinter: Fingerprinter) -> tuple[float, AppUnderTest]:
    app = AppUnderTest(fingerprinter)
    loop = QEventLoop()
    result: dict[str, float] = {}

    def check() -> None:
        if "t" not in result and app.listed(n):
            result["t"] = time.perf_counter() - start
            loop.quit()

    app.model.changed.connect(check)
    QTimer.singleShot(int(TIMEOUT_S * 1000), loop.quit)
    start = time.perf_counter()
    app.discovery.start()
    loop.exec()
    if "t" not in result:
        app.close()
        raise RuntimeError(f"app listed {app.online_speakers()} of {n} speakers")
    return result["t"], app


def idle_figures(app: AppUnderTest, seconds: float) -> tuple[float, float]:
    process = psutil.Process()
    settle = QEventLoop()  # let the last answers and log lines of the discovery burst pass first
    QTimer.singleShot(2000, settle.quit)
    settle.exec()
    loop = QEventLoop()
    cpu_before = process.cpu_times()
    wall_before = time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    cpu_after = process.cpu_times()
    wall = time.perf_counter() - wall_before
    busy = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return 100.0 * busy / wall, process.memory_info().rss / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,20,50")
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle to measure CPU over")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    fingerprinter = Fingerprinter.from_resources()
    service_types = list(fingerprinter.service_types)
    print(f"{'speakers':>8} {'services':>8} {'bare s':>8} {'app s':>8} {'ratio':>6} {'idle CPU %':>10} {'RSS MB':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        speakers = synthetic_speakers(n, seed=args.seed)
        expected = {service.name.lower() for speaker in speakers for service in speaker.services}
        home = start_home(n, args.seed)
        try:
            bare_times, app_times = [], []
            for repeat in range(args.repeats):
                bare_times.append(bare_zeroconf(expected, service_types))
                elapsed, app = app_time(n, fingerprinter)
                app_times.append(elapsed)
                if repeat < args.repeats - 1:
                    app.close()
            cpu, rss = idle_figures(app, args.idle)  # the last run's app, still listing all N speakers
            app.close()
        finally:
            stop_home(home)
        bare, ours = statistics.median(bare_times), statistics.median(app_times)
        print(f"{n:>8} {len(expected):>8} {bare:>8.3f} {ours:>8.3f} {ours / bare:>6.2f} {cpu:>10.2f} {rss:>7.0f}",
              flush=True)
    QCoreApplication.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
