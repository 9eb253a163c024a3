"""Two hosts joined by two links, in network namespaces this test creates (root only).

Host B is a speaker that answers mDNS on both links; host A runs `earmuff discover` on
both. The same service arrives twice, once per interface, and must be one device. Then
A adds B by IP address and names its maker from the kernel's ARP table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UUID = "d" * 32
SPEAKER_MAC = "68:db:f5:90:19:64"  # an Amazon OUI, as on the Echo Dot in the project's reference capture

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2's ip"),
]

RESPONDER = f"""
import socket, sys
from zeroconf import IPVersion, ServiceInfo, Zeroconf
zc = Zeroconf(interfaces=["10.99.1.2", "10.99.2.2"], ip_version=IPVersion.V4Only)
info = ServiceInfo("_googlecast._tcp.local.", "Nest-Audio-{UUID}._googlecast._tcp.local.", port=8009,
                   properties={{"id": "{UUID}", "md": "Nest Audio", "fn": "Hall speaker"}}, server="hall.local.",
                   addresses=[socket.inet_aton("10.99.1.2"), socket.inet_aton("10.99.2.2")])
zc.register_service(info, cooperating_responders=True)
print("ready", flush=True)
sys.stdin.read()
zc.close()
"""

MANUAL_ADD = """
import json, socket, time
from app.discovery.arp import lookup_mac
from app.discovery.fingerprints import Fingerprinter
from app.registry import DeviceRegistry
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(50):  # one datagram makes the kernel resolve B's MAC; wait until it has
    sock.sendto(b"earmuff-test", ("10.99.1.2", 9))
    if lookup_mac("10.99.1.2"):
        break
    time.sleep(0.1)
sock.close()
device = DeviceRegistry(Fingerprinter.from_resources()).add_manual("10.99.1.2")
print(json.dumps({"mac": device.mac, "vendor": device.vendor}))
"""


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


@pytest.fixture
def hosts():
    a, b = f"em-a-{os.getpid()}", f"em-b-{os.getpid()}"
    try:
        run("ip", "netns", "add", a)
        run("ip", "netns", "add", b)
        for n in (1, 2):
            run("ip", "link", "add", f"ema{n}", "type", "veth", "peer", "name", f"emb{n}")
            run("ip", "link", "set", f"ema{n}", "netns", a)
            run("ip", "link", "set", f"emb{n}", "netns", b)
            run("ip", "-n", b, "link", "set", f"emb{n}", "address", SPEAKER_MAC[:-1] + str(3 + n))
            run("ip", "-n", a, "addr", "add", f"10.99.{n}.1/24", "dev", f"ema{n}")
            run("ip", "-n", b, "addr", "add", f"10.99.{n}.2/24", "dev", f"emb{n}")
            run("ip", "-n", a, "link", "set", f"ema{n}", "up")
            run("ip", "-n", b, "link", "set", f"emb{n}", "up")
        run("ip", "-n", a, "link", "set", "lo", "up")
        run("ip", "-n", b, "link", "set", "lo", "up")
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def in_ns(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, *args]


def test_service_on_two_interfaces_is_one_device_and_manual_add_reads_arp(hosts):
    a, b = hosts
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    responder = subprocess.Popen(in_ns(b, "-c", RESPONDER), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env=env)
    try:
        assert responder.stdout.readline().strip() == "ready"
        result = subprocess.run(
            in_ns(a, str(ROOT / "main.py"), "discover", "--json", "--timeout", "3",
                  "--interface", "10.99.1.1", "--interface", "10.99.2.1"),
            capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        devices = [json.loads(line) for line in result.stdout.splitlines()]
        assert [d["stable_id"] for d in devices] == [UUID]
        assert devices[0]["addresses"] == ["10.99.1.2", "10.99.2.2"]
        assert len(devices[0]["services"]) == 1

        added = subprocess.run(in_ns(a, "-c", MANUAL_ADD), capture_output=True, text=True, env=env, timeout=60)
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout) == {"mac": "68:DB:F5:90:19:64", "vendor": "Amazon"}
    finally:
        responder.stdin.close()
        responder.wait(10)
        responder.stdout.close()
