"""Mute latency and idle cost of the bridge.

    python benches/mute_latency.py [--requests 1000] [--idle 60]

1. Latency: a bridge in this process (BridgeService, HTTPS on 127.0.0.1, gpiozero MockFactory pins whose
   state changes are timestamped) and one keep-alive HTTPS session pinned to its certificate, as the
   desktop app has. `--requests` PUT /v1/speakers/kitchen/mute calls alternate mute and unmute; for each,
   the time from just before the request is sent to the moment the relay's pin changes, and to the
   moment the response is back. The kitchen speaker is the relay driver with a (simulated) sense line;
   settle_ms is set to 0 here so the loop measures the bridge, not the configured settle wait (which
   only delays the response, never the pin).
2. Idle: `earmuff-bridge serve --simulate` in its own process (mDNS advert on 127.0.0.1 included), paired,
   with one event stream open the way the desktop app keeps one; after a short warm-up its CPU time and
   resident memory are read with psutil over `--idle` seconds.
Figures are printed; nothing is asserted (tests assert behaviour, not time).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402
from gpiozero import Device  # noqa: E402
from gpiozero.pins.mock import MockFactory, MockPin  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

from device_bridge.config import simulated_config  # noqa: E402
from device_bridge.service import BridgeService  # noqa: E402

READY = re.compile(r"^bridge ready: url=(\S+) fingerprint=([0-9a-f]{64}) code=(\d{6}) id=")


class TimedPin(MockPin):
    """A mock pin that remembers when (perf_counter) its state last changed."""

    def __init__(self, factory, info) -> None:
        self.changed_at = 0.0
        self.changed = threading.Event()
        super().__init__(factory, info)

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            self.changed_at = time.perf_counter()
            self.changed.set()
        return changed


class PinnedAdapter(HTTPAdapter):
    def __init__(self, fingerprint: str, **kwargs) -> None:
        self._fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["assert_fingerprint"] = self._fingerprint
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, False, cert)


def pinned_session(fingerprint: str, token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = False
    session.mount("https://", PinnedAdapter(fingerprint))
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latency(n: int) -> None:
    factory = MockFactory(pin_class=TimedPin)
    Device.pin_factory = factory
    base = simulated_config(timezone="UTC")
    config = dataclasses.replace(base, speakers=tuple(dataclasses.replace(s, settle_ms=0) for s in base.speakers))
    relay_pin = next(s.pin for s in config.speakers if s.id == "kitchen")
    with tempfile.TemporaryDirectory() as data_dir:
        service = BridgeService(config, Path(data_dir), port=0, advertise=False, simulate_speakers=True)
        service.start()
        try:
            pin = factory.pin(relay_pin)
            anonymous = pinned_session(service.fingerprint)
            pairing = {"code": service.pairing_code(), "client_name": "bench"}
            token = anonymous.post(f"{service.url}/v1/pair", json=pairing, timeout=5).json()["token"]
            anonymous.close()
            session = pinned_session(service.fingerprint, token)
            url = f"{service.url}/v1/speakers/kitchen/mute"
            to_pin: list[float] = []
            to_response: list[float] = []
            muted = service.engine.state("kitchen").muted
            for _ in range(20):  # warm-up: connection, TLS session, first-call imports
                muted = not muted
                session.put(url, json={"muted": muted}, timeout=5).raise_for_status()
            for _ in range(n):
                muted = not muted
                pin.changed.clear()
                start = time.perf_counter()
                response = session.put(url, json={"muted": muted}, timeout=5)
                done = time.perf_counter()
                response.raise_for_status()
                if not pin.changed.wait(5):
                    raise RuntimeError("the pin did not change")
                to_pin.append((pin.changed_at - start) * 1000)
                to_response.append((done - start) * 1000)
            session.close()
        finally:
            service.stop()
            Device.pin_factory = None
            factory.close()
    print(f"mute/unmute over HTTPS on loopback, {n} requests, one keep-alive pinned session")
    for label, values in (("request -> pin change", to_pin), ("request -> response  ", to_response)):
        print(f"  {label}: p50 {statistics.median(values):6.2f} ms   p95 {percentile(values, 95):6.2f} ms   "
              f"p99 {percentile(values, 99):6.2f} ms   max {max(values):6.2f} ms")


def idle(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", HOME=data_dir)
        bridge = subprocess.Popen(
            [sys.executable, "-m", "device_bridge", "serve", "--simulate", "--data-dir", data_dir, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=env,
        )
        session = None
        try:
            match = next((m for line in bridge.stdout if (m := READY.match(line))), None)
            if match is None:
                raise RuntimeError("the bridge did not start")
            url, fingerprint, code = match.groups()
            session = pinned_session(fingerprint)
            pairing = {"code": code, "client_name": "bench"}
            token = session.post(f"{url}/v1/pair", json=pairing, timeout=5).json()["token"]
            session.headers["Authorization"] = f"Bearer {token}"
            stream = session.get(f"{url}/v1/events", stream=True, timeout=(3, 15), headers={"Connection": "close"})
            beats = []
            reader = threading.Thread(
                target=lambda: beats.extend(line for line in stream.iter_lines() if b"heartbeat" in line), daemon=True
            )
            reader.start()
            process = psutil.Process(bridge.pid)
            pause = threading.Event()
            pause.wait(3.0)  # warm-up: mDNS probing and announcements
            before = process.cpu_times()
            started = time.monotonic()
            pause.wait(seconds)
            after = process.cpu_times()
            elapsed = time.monotonic() - started
            cpu = (after.user + after.system - before.user - before.system) / elapsed * 100
            rss = process.memory_info().rss / 2**20
            print(f"bridge idle for {elapsed:.0f} s (serve --simulate, mDNS advert, one event stream open):")
            print(f"  CPU {cpu:.2f} % of one core   RSS {rss:.1f} MB   threads {process.num_threads()}   "
                  f"heartbeats received {len(beats)}")
        finally:
            bridge.terminate()  # ends the stream too; the reader thread is a daemon
            bridge.wait(20)
            bridge.stdout.close()
            if session is not None:
                session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle measurement (0: skip)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs")
    latency(args.requests)
    if args.idle > 0:
        idle(args.idle)


if __name__ == "__main__":
    main()
