"""Telemetry of the bridge: how soon an activation reaches the app, and what 10 Hz sampling costs.

    python benches/telemetry.py [--bursts 8] [--cpu-seconds 45] [--no-nft] [--firewall-rules 200]

1. Latency: a bridge in this process (BridgeService, HTTPS on 127.0.0.1, MockFactory pins) measuring four
   simulated speakers (device_bridge.traffic.simulated) with its real 10 Hz sampler thread, and one pinned
   HTTPS client reading GET /v1/events?samples=1 as the desktop app does. After a warm-up, `--bursts`
   voice requests shaped like the Echo trace are injected into the source at a known time (its first
   byte), at a random offset within the second, on the speakers in turn. For each: the time from that
   first byte to the `activation_started` line arriving at the client, split into detection (first byte
   -> the bridge publishes the event) and delivery (publish -> the client has the line).
2. CPU: `earmuff-bridge serve --config` in its own process (GPIOZERO_PIN_FACTORY=mock, no mDNS advert),
   four relay speakers, over `--cpu-seconds` each, after a warm-up; CPU time of the process and its
   children (psutil) per second of wall time:
     a. traffic_source = "none": the bridge without traffic measurement (the reference);
     b. "simulated": 4 speakers sampled at 10 Hz, detectors, 1-s history; no client;
     c. "simulated" with one client streaming the samples (samples=1, 40 lines a second);
     d. "nftables" (root only; skipped with --no-nft): the real source, the bridge in a network namespace
        of its own, reached over a veth pair (no speaker traffic flows; the cost is reading the counters
        10 times a second, in-process through libnftables), without and with a client streaming the
        samples, and then with a `--firewall-rules` rule firewall table beside the bridge's (what a
        reading costs must not grow with the rest of the ruleset). The nft processes the bridge has at
        the end are counted: none when it reads in-process.
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from gpiozero import Device  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402
from mute_latency import READY, pinned_session  # noqa: E402

from device_bridge.config import BridgeConfig, SpeakerConfig  # noqa: E402
from device_bridge.service import BridgeService  # noqa: E402
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource  # noqa: E402

SPEAKERS = ("kitchen", "bedroom", "office", "den")
MACS = ("02:77:00:00:00:02", "02:77:00:00:00:03", "02:77:00:00:00:04", "02:77:00:00:00:05")


def four_speakers(traffic_source: str) -> BridgeConfig:
    return BridgeConfig(
        name="Telemetry bench",
        timezone="UTC",
        listen="127.0.0.1",
        speakers=tuple(
            SpeakerConfig(id=sid, name=f"{sid.title()} Echo", driver="relay", pin=17 + i, settle_ms=0, mac=mac)
            for i, (sid, mac) in enumerate(zip(SPEAKERS, MACS))
        ),
        traffic_source=traffic_source,
    )


def config_toml(traffic_source: str, listen: str = "127.0.0.1") -> str:
    lines = ['name = "Telemetry bench"', 'timezone = "UTC"', f'listen = "{listen}"',
             f'traffic_source = "{traffic_source}"']
    for i, (sid, mac) in enumerate(zip(SPEAKERS, MACS)):
        lines += ["[[speaker]]", f'id = "{sid}"', 'driver = "relay"', f"pin = {17 + i}", "settle_ms = 0",
                  f'mac = "{mac}"']
    return "\n".join(lines) + "\n"


class LineReader:
    """Reads an NDJSON response on a thread; each line with its arrival time (time.time())."""

    def __init__(self, response) -> None:
        self.lines: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.count = 0
        self._response = response
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._response.iter_lines():
                if line:
                    self.count += 1
                    self.lines.put((time.time(), json.loads(line)))
        except Exception:  # noqa: BLE001 - the bridge went away
            pass

    def wait_for(self, predicate, timeout: float) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while True:
            arrived, line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(line):
                return arrived, line


def latency(bursts: int, warmup_s: float = 20.0) -> None:
    factory = MockFactory()
    Device.pin_factory = factory
    config = four_speakers("simulated")
    source = SimulatedTrafficSource(config.speakers, seed=11, behaviour=QUIET_BEHAVIOUR)
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as data_dir:
        service = BridgeService(config, Path(data_dir), port=0, advertise=False, traffic_source=source)
        service.start()
        session = None
        try:
            anonymous = pinned_session(service.fingerprint)
            pairing = {"code": service.pairing_code(), "client_name": "bench"}
            token = anonymous.post(f"{service.url}/v1/pair", json=pairing, timeout=5).json()["token"]
            anonymous.close()
            session = pinned_session(service.fingerprint, token)
            for sid in SPEAKERS:
                session.put(f"{service.url}/v1/speakers/{sid}/mute", json={"muted": False}, timeout=5).raise_for_status()
            stream = session.get(f"{service.url}/v1/events", params={"samples": 1}, stream=True, timeout=(3, 15),
                                 headers={"Connection": "close"})
            reader = LineReader(stream)
            opened = time.monotonic()
            pause = threading.Event()
            pause.wait(warmup_s)  # the detectors learn each speaker's idle
            total, detect, deliver = [], [], []
            for i in range(bursts):
                sid = SPEAKERS[i % len(SPEAKERS)]
                at = time.time() + rng.uniform(0.2, 1.2)
                source.inject_burst(sid, at=at)
                arrived, line = reader.wait_for(
                    lambda e, sid=sid: e["type"] == "activation_started" and e["speaker_id"] == sid, timeout=15)
                total.append(arrived - at)
                detect.append(line["time"] - at)
                deliver.append(arrived - line["time"])
                reader.wait_for(lambda e, sid=sid: e["type"] == "activation_ended" and e["speaker_id"] == sid,
                                timeout=30)
                pause.wait(3.0)
            lines_per_s = reader.count / (time.monotonic() - opened)
            stream.close()
        finally:
            if session is not None:
                session.close()
            service.stop()
            Device.pin_factory = None
            factory.close()
    print(f"burst first byte -> activation_started on an HTTPS client ({bursts} voice requests, 4 speakers, 10 Hz):")
    for label, values in (("total    ", total), ("detection", detect), ("delivery ", deliver)):
        ms = [v * 1000 for v in values]
        print(f"  {label}: min {min(ms):7.1f} ms   median {statistics.median(ms):7.1f} ms   max {max(ms):7.1f} ms")
    print(f"  (the client received {lines_per_s:.1f} lines a second meanwhile, samples included)")


def _bridge_cpu(label: str, traffic_source: str, seconds: float, *, stream_samples: bool = False,
                netns: str | None = None, listen: str = "127.0.0.1") -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        config = Path(data_dir) / "bridge.toml"
        config.write_text(config_toml(traffic_source, listen), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", HOME=data_dir,
                   GPIOZERO_PIN_FACTORY="mock")
        command = [sys.executable, "-m", "device_bridge", "serve", "--config", str(config), "--data-dir",
                   str(Path(data_dir) / "data"), "--port", "0", "--no-advertise"]
        if netns is not None:
            command = ["ip", "netns", "exec", netns, *command]
        bridge = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, text=True, env=env)
        session = None
        reader = None
        try:
            match = next((m for line in bridge.stdout if (m := READY.match(line))), None)
            if match is None:
                raise RuntimeError(f"the bridge ({traffic_source}) did not start")
            url, fingerprint, code = match.groups()
            if stream_samples:
                session = pinned_session(fingerprint)
                token = session.post(f"{url}/v1/pair", json={"code": code, "client_name": "bench"}, timeout=5)
                session.headers["Authorization"] = f"Bearer {token.json()['token']}"
                stream = session.get(f"{url}/v1/events", params={"samples": 1}, stream=True, timeout=(3, 15),
                                     headers={"Connection": "close"})
                reader = LineReader(stream)
            process = psutil.Process(bridge.pid)  # `ip netns exec` execs the bridge: the same pid
            pause = threading.Event()
            pause.wait(5.0)  # warm-up
            before = _cpu(process)
            lines_before = reader.count if reader else 0
            started = time.monotonic()
            pause.wait(seconds)
            after = _cpu(process)
            elapsed = time.monotonic() - started
            cpu = (after - before) / elapsed * 100
            rss = process.memory_info().rss / 2**20
            extra = f"   stream lines/s {(reader.count - lines_before) / elapsed:.1f}" if reader else ""
            if traffic_source == "nftables":
                extra += f"   nft processes {len(process.children(recursive=True))}"
            print(f"  {label:<52} CPU {cpu:5.2f} % of one core   RSS {rss:5.1f} MB{extra}")
        finally:
            bridge.terminate()
            bridge.wait(20)
            bridge.stdout.close()
            if session is not None:
                session.close()


def _cpu(process: psutil.Process) -> float:
    """CPU seconds of the process and its children (nft), living and reaped."""
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + getattr(times, "children_user", 0) + getattr(times, "children_system", 0)
    return total


def firewall(rules: int) -> str:
    """An `nft -f` table of `rules` input rules, standing for the firewall of a Pi that also does other things."""
    lines = ["table inet bench_firewall {", "\tchain input {", "\t\ttype filter hook input priority 0; policy accept;"]
    lines += [f"\t\tip saddr 10.{i // 250}.{i % 250}.0/24 tcp dport {1000 + i} counter accept" for i in range(rules)]
    return "\n".join([*lines, "\t}", "}"]) + "\n"


def cpu(seconds: float, nft: bool, firewall_rules: int) -> None:
    print(f"bridge CPU, 4 speakers, over {seconds:.0f} s each (own process, mock pins, no mDNS advert):")
    _bridge_cpu('traffic_source = "none" (reference)', "none", seconds)
    _bridge_cpu('"simulated", sampled at 10 Hz, no client', "simulated", seconds)
    _bridge_cpu('"simulated", 10 Hz, one client streaming samples', "simulated", seconds, stream_samples=True)
    if not nft:
        return
    problem = None if os.geteuid() == 0 else "needs root"
    if problem is None and (shutil.which("nft") is None or shutil.which("ip") is None):
        problem = "needs nft and ip"
    if problem is not None:
        print(f'  "nftables": skipped ({problem})')
        return
    name = f"earmuff-bench-{uuid.uuid4().hex[:8]}"
    outside, inside = f"emb{uuid.uuid4().hex[:6]}", "emb-bridge"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for command in (
            ["ip", "-n", name, "link", "set", "lo", "up"],
            ["ip", "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", name],
            ["ip", "addr", "add", "10.213.0.1/30", "dev", outside],
            ["ip", "link", "set", outside, "up"],
            ["ip", "-n", name, "addr", "add", "10.213.0.2/30", "dev", inside],
            ["ip", "-n", name, "link", "set", inside, "up"],
        ):
            subprocess.run(command, check=True)
        _bridge_cpu('"nftables" (real table, own netns), 10 Hz, no client', "nftables", seconds, netns=name,
                    listen="10.213.0.2")
        _bridge_cpu('"nftables", 10 Hz, one client streaming samples', "nftables", seconds, netns=name,
                    listen="10.213.0.2", stream_samples=True)
        if firewall_rules > 0:
            subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=firewall(firewall_rules),
                           text=True, check=True)
            _bridge_cpu(f'"nftables", streaming, {firewall_rules}-rule firewall beside', "nftables", seconds,
                        netns=name, listen="10.213.0.2", stream_samples=True)
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)  # takes the veth pair with it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bursts", type=int, default=8)
    parser.add_argument("--cpu-seconds", type=float, default=45.0, help="seconds per CPU measurement (0: skip)")
    parser.add_argument("--no-nft", action="store_true", help="skip the nftables CPU measurement")
    parser.add_argument("--firewall-rules", type=int, default=200,
                        help="rules of the other table in the last nftables measurement (0: skip it)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs ({_cpu_model()})")
    if args.bursts > 0:
        latency(args.bursts)
    if args.cpu_seconds > 0:
        cpu(args.cpu_seconds, not args.no_nft, args.firewall_rules)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return re.sub(r"\s+", " ", line.split(":", 1)[1].strip())
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
