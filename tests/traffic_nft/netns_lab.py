"""Three network namespaces wired like the bridge's Wi-Fi AP topology, for the nftables tests (root only).

    speaker  sp0 ---veth--- lan0  bridge  wan0 ---veth--- net0  internet
    10.77.0.2/24            10.77.0.1/24  198.51.100.2/24       198.51.100.1/24
    fd77::2/64              fd77::1/64    2001:db8:100::2/64    2001:db8:100::1/64
                                          192.168.200.2/24      192.168.200.1/24 (a "home LAN" host)

The bridge forwards (ip_forward=1, IPv6 forwarding=1) and masquerades out of wan0 with the NAT file
the README's topology section gives (read from it, "eth0" renamed). The internet namespace keeps its own nftables tally of the TCP and UDP it
received and sent at L3 (IP packet lengths, as the bridge's counters count), which is what the tests
compare the bridge's counters with.

The speaker's and the internet's veth ends send one packet per segment (`gso_max_segs 1`), as a real
speaker's Wi-Fi frames arrive; otherwise veth hands 64 kB TSO super-packets to the bridge, which counts
them as one packet each (the byte counts would still agree).

Sockets are opened inside a namespace from a short-lived thread that enters it with setns(2): a socket
stays in the namespace it was created in, whichever thread uses it afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device_bridge.traffic.nft import NftTable, SpeakerMatch

ROOT = Path(__file__).resolve().parents[2]
SPEAKER_ID = "kitchen-echo"
SPEAKER_MAC = "02:77:00:00:00:02"
SPEAKER_IP = "10.77.0.2"
SPEAKER_IP6 = "fd77::2"
BRIDGE_LAN_IP = "10.77.0.1"
BRIDGE_LAN_IP6 = "fd77::1"
BRIDGE_WAN_IP = "198.51.100.2"
INTERNET_IP = "198.51.100.1"
INTERNET_IP6 = "2001:db8:100::1"
HOME_HOST_IP = "192.168.200.1"

UDP_V4_OVERHEAD = 20 + 8
UDP_V6_OVERHEAD = 40 + 8
ETHERNET_HEADER = 14

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_names = iter(range(1_000_000))

README = ROOT / "README.md"  # its Raspberry Pi section holds the topologies


def readme_nat_rules(upstream: str) -> str:
    """The NAT file the README's topology section gives (/etc/earmuff-bridge/nat.nft), for another upstream interface."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```nft\n(.*?)```", text, re.S)
    assert match and 'oifname "eth0" masquerade' in match.group(1), "the README lost its nat.nft block"
    return match.group(1).replace('"eth0"', f'"{upstream}"')


TALLY_RULES = f"""table inet tally {{
    counter rx4 {{
    }}
    counter tx4 {{
    }}
    counter rx6 {{
    }}
    counter tx6 {{
    }}
    counter home {{
    }}
    chain input {{
        type filter hook input priority 0; policy accept;
        meta l4proto {{ tcp, udp }} ip daddr {INTERNET_IP} counter name "rx4"
        meta l4proto {{ tcp, udp }} ip6 daddr {INTERNET_IP6} counter name "rx6"
        ip daddr {HOME_HOST_IP} counter name "home"
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        meta l4proto {{ tcp, udp }} ip saddr {INTERNET_IP} counter name "tx4"
        meta l4proto {{ tcp, udp }} ip6 saddr {INTERNET_IP6} counter name "tx6"
    }}
}}
"""


def netns_unavailable() -> str | None:
    """Why the namespace tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces and nftables tables"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} command (apt-get install iproute2 nftables)"
    return None


def run(*args: str, input: str | None = None) -> str:
    done = subprocess.run(args, input=input, capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    """Poll `predicate` until it holds; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        pause.wait(0.01)


@dataclass(frozen=True)
class PacketsBytes:
    packets: int
    bytes: int

    def __sub__(self, other: PacketsBytes) -> PacketsBytes:
        return PacketsBytes(self.packets - other.packets, self.bytes - other.bytes)


class Lab:
    """The three namespaces of one test module; `close()` deletes them (and so everything in them)."""

    def __init__(self) -> None:
        tag = f"{os.getpid()}-{next(_names)}"
        self.speaker, self.bridge, self.internet = (f"emt-{tag}-{role}" for role in ("speaker", "bridge", "internet"))
        self._made: list[str] = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        s, b, i = self.speaker, self.bridge, self.internet
        for ns in (s, b, i):
            run("ip", "netns", "add", ns)
            self._made.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "link", "add", "sp0", "netns", s, "address", SPEAKER_MAC, "type", "veth", "peer", "name", "lan0",
            "netns", b)
        run("ip", "link", "add", "wan0", "netns", b, "type", "veth", "peer", "name", "net0", "netns", i)
        for ns, dev, addresses in (
            (s, "sp0", (f"{SPEAKER_IP}/24", f"{SPEAKER_IP6}/64")),
            (b, "lan0", (f"{BRIDGE_LAN_IP}/24", f"{BRIDGE_LAN_IP6}/64")),
            (b, "wan0", (f"{BRIDGE_WAN_IP}/24", "192.168.200.2/24", "2001:db8:100::2/64")),
            (i, "net0", (f"{INTERNET_IP}/24", f"{HOME_HOST_IP}/24", f"{INTERNET_IP6}/64")),
        ):
            for address in addresses:
                run("ip", "-n", ns, "addr", "add", address, "dev", dev, *(["nodad"] if ":" in address else []))
            run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", s, "link", "set", "sp0", "gso_max_segs", "1")
        run("ip", "-n", i, "link", "set", "net0", "gso_max_segs", "1")
        run("ip", "-n", s, "route", "add", "default", "via", BRIDGE_LAN_IP)
        run("ip", "-n", s, "-6", "route", "add", "default", "via", BRIDGE_LAN_IP6)
        run("ip", "netns", "exec", b, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        run("ip", "netns", "exec", b, "nft", "-f", "-", input=readme_nat_rules("wan0"))
        run("ip", "netns", "exec", i, "nft", "-f", "-", input=TALLY_RULES)

    def close(self) -> None:
        for ns in reversed(self._made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20, check=False)
        self._made.clear()

    # --- inside the namespaces -----------------------------------------------------------------------

    def nft(self, ns: str | None = None) -> tuple[str, ...]:
        """The command that runs nft in `ns` (default: the bridge)."""
        return ("ip", "netns", "exec", ns or self.bridge, "nft")

    def open_socket(self, ns: str, family: int = socket.AF_INET, type_: int = socket.SOCK_DGRAM) -> socket.socket:
        """A socket that lives in namespace `ns`."""
        made: dict[str, object] = {}

        def enter_and_open() -> None:
            try:
                fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
                try:
                    if _libc.setns(fd, _CLONE_NEWNET) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, f"setns({ns}): {os.strerror(err)}")
                finally:
                    os.close(fd)
                made["socket"] = socket.socket(family, type_)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                made["error"] = error

        thread = threading.Thread(target=enter_and_open, name=f"setns-{ns}")
        thread.start()
        thread.join(10)
        if "error" in made:
            raise made["error"]  # type: ignore[misc]
        return made["socket"]  # type: ignore[return-value]

    def tally(self) -> dict[str, PacketsBytes]:
        """What the internet namespace received and sent (TCP and UDP, IP lengths)."""
        out = run(*self.nft(self.internet), "-j", "list", "counters", "table", "inet", "tally")
        return {
            item["counter"]["name"]: PacketsBytes(item["counter"]["packets"], item["counter"]["bytes"])
            for item in json.loads(out)["nftables"] if "counter" in item
        }

    def python(self, ns: str, code: str) -> str:
        """Run Python code in `ns` (with this checkout importable); its stdout."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True,
                              text=True, env=env, timeout=30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"python in {ns} failed: {done.stderr.strip()}")
        return done.stdout

    def ifindex(self, ns: str, dev: str) -> int:
        return json.loads(run("ip", "-n", ns, "-j", "link", "show", "dev", dev))[0]["ifindex"]

    def link_stats(self, ns: str, dev: str) -> dict[str, int]:
        """The kernel's counters of one interface (rx/tx bytes/packets), from `ip -s -j`."""
        data = json.loads(run("ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev))[0]["stats64"]
        return {f"{d}_{k}": data[d][k] for d in ("rx", "tx") for k in ("bytes", "packets")}

    # --- traffic -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def udp_echo(self, reply_size: int, family: int = socket.AF_INET) -> Iterator[tuple[str, int]]:
        """An internet UDP server that answers each datagram with `reply_size` bytes; yields its address."""
        host = INTERNET_IP if family == socket.AF_INET else INTERNET_IP6
        server = self.open_socket(self.internet, family, socket.SOCK_DGRAM)
        server.bind((host, 0))
        server.settimeout(0.2)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    _data, peer = server.recvfrom(65536)
                except TimeoutError:
                    continue
                server.sendto(b"r" * reply_size, peer)

        thread = threading.Thread(target=serve, name="udp-echo")
        thread.start()
        try:
            yield host, server.getsockname()[1]
        finally:
            stop.set()
            thread.join(10)
            server.close()

    def udp_exchange(self, count: int, size: int, reply_size: int, family: int = socket.AF_INET) -> None:
        """The speaker sends `count` datagrams of `size` bytes, one at a time, each answered with `reply_size`."""
        with self.udp_echo(reply_size, family) as address:
            client = self.open_socket(self.speaker, family, socket.SOCK_DGRAM)
            client.settimeout(5)
            try:
                for _ in range(count):
                    client.sendto(b"u" * size, address)
                    assert len(client.recv(65536)) == reply_size
            finally:
                client.close()

    def tcp_exchange(self, upload: int, download: int) -> None:
        """The speaker uploads `upload` bytes over TCP to the internet, which then sends `download` back."""
        server = self.open_socket(self.internet, socket.AF_INET, socket.SOCK_STREAM)
        server.bind((INTERNET_IP, 0))
        server.listen(1)
        server.settimeout(10)
        received: list[int] = []

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                connection.settimeout(10)
                total = 0
                while chunk := connection.recv(1 << 16):
                    total += len(chunk)
                received.append(total)
                connection.sendall(b"d" * download)

        thread = threading.Thread(target=serve, name="tcp-server")
        thread.start()
        client = self.open_socket(self.speaker, socket.AF_INET, socket.SOCK_STREAM)
        try:
            client.settimeout(10)
            client.connect(server.getsockname())
            client.sendall(b"t" * upload)
            client.shutdown(socket.SHUT_WR)
            got = 0
            while chunk := client.recv(1 << 16):
                got += len(chunk)
        finally:
            client.close()
            thread.join(15)
            server.close()
        assert received == [upload] and got == download


def make_table(lab: Lab, match: str = "mac", **options: Any) -> NftTable:
    """The bridge's table for the speaker in the bridge namespace, known by its MAC ("mac") or its IPv4 address
    ("ip"); not installed. It lists in-process through libnftables unless `options` say otherwise."""
    if match == "mac":
        speaker = SpeakerMatch(SPEAKER_ID, mac=SPEAKER_MAC)
    else:
        speaker = SpeakerMatch(SPEAKER_ID, ip=SPEAKER_IP)
    return NftTable([speaker], netns=lab.bridge, **options)
