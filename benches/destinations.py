"""What the destination observer costs: packets per second on one core, its CPU at a household's rate, and why the
kernel counts the bytes.

    python benches/destinations.py [--seconds 3] [--realistic-seconds 30]

1. Pipeline on one core (no root needed): a DestinationTracker's `on_frame` (dpkt parse, speaker match,
   name book, block check) fed a mix of DNS answers (CNAME + 2 A records) and ClientHellos (made by this
   Python's OpenSSL) over 200 names, back to back on this thread; and `parse_frame` alone.
2. Live, in the three-namespace lab (root only): the bridge's table with destinations, the observer on
   lan0 with its kernel filter, the tracker reading the flow sets every second on its own thread.
   a. DNS answers sent by a process in the bridge namespace (as dnsmasq on the Pi would answer the
      speaker), paced at several rates: answers observed per second, the kernel's drops, and the CPU of
      the capture thread (psutil, per thread);
   b. bulk traffic the filter refuses (64-byte UDP to port 9999) at full speed: what it costs user space;
   c. a household's rate for `--realistic-seconds`: the speaker namespace resolves 4 names and opens 2 TLS
      connections (dnsmasq and TLS servers as in the tests) a second, with 300 packets a second of other
      traffic; CPU of the capture and tracker threads together;
   d. the two ways to count bytes per destination: reading the nftables flow sets (cost of one listing
      with about 10, 100 and 1000 elements in the sets: TLS connections, or other traffic per remote address
      and port) versus copying every packet to user space (an AF_PACKET
      socket without a filter, counting bytes per flow with struct; CPU per packet on a blast).
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "traffic_nft"))
sys.path.insert(0, str(ROOT / "tests" / "destinations"))

import dpkt  # noqa: E402
import psutil  # noqa: E402

from device_bridge.config import SpeakerConfig  # noqa: E402
from device_bridge.destinations.parse import parse_frame  # noqa: E402
from device_bridge.destinations.tracker import DestinationTracker  # noqa: E402
from device_bridge.events import EventLog  # noqa: E402
from device_bridge.store import BridgeStore  # noqa: E402

SPEAKER_MAC = "02:77:00:00:00:02"
SPEAKER = SpeakerConfig(id="kitchen-echo", name="Kitchen Echo", driver="network", pin=None, mac=SPEAKER_MAC)


class NoBackend:
    """A DestinationBackend with no table behind it (the pipeline figures)."""

    def read_flows(self):
        return {}

    def block_drops(self):
        return {}

    def set_blocks(self, blocks):
        pass

    def add_block(self, block_id, speaker_id):
        pass

    def remove_block(self, block_id):
        return True

    def add_block_addresses(self, block_id, addresses):
        pass

    def block_addresses(self, block_id):
        return []


def dns_frame(name: str, index: int) -> bytes:
    d = dpkt.dns.DNS(id=index & 0xFFFF, qr=dpkt.dns.DNS_R, rd=1, ra=1)
    d.qd = [dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)]
    cname = dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_CNAME, ttl=60)
    cname.cname = f"edge-{index % 7}.cloudfront.net"
    answers = [cname]
    for k in range(2):
        rr = dpkt.dns.DNS.RR(name=cname.cname, type=dpkt.dns.DNS_A, ttl=60)
        rr.ip = bytes([52, 94, index % 250, k + 1])
        answers.append(rr)
    d.an = answers
    udp = dpkt.udp.UDP(sport=53, dport=40000 + index % 20000, data=bytes(d))
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=socket.inet_aton("10.77.0.1"), dst=socket.inet_aton("10.77.0.2"), p=17, data=udp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01", dst=bytes.fromhex(SPEAKER_MAC.replace(":", "")),
                                        type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def hello_frame(name: str, index: int) -> bytes:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    tcp = dpkt.tcp.TCP(sport=30000 + index, dport=443, flags=dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, data=outgoing.read())
    tcp.off = 5
    ip = dpkt.ip.IP(src=socket.inet_aton("10.77.0.2"), dst=bytes([52, 94, index % 250, 1]), p=6, data=tcp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=bytes.fromhex(SPEAKER_MAC.replace(":", "")), dst=b"\x02\x00\x00\x00\x00\x01",
                                        type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def pipeline(seconds: float) -> None:
    names = [f"host-{i}.service-{i % 13}.example.com" for i in range(200)]
    frames = []
    for i, name in enumerate(names):
        frames += [dns_frame(name, i), hello_frame(name, i)]
    with tempfile.TemporaryDirectory() as directory:
        store = BridgeStore(Path(directory) / "bridge.db")
        tracker = DestinationTracker([SPEAKER], NoBackend(), store=store, events=EventLog(store), thread=False)
        tracker.prepare()
        print("1. The observer's pipeline on one core (this thread, frames back to back)")
        for label, handle in (("parse_frame alone (dpkt)", parse_frame), ("tracker.on_frame (parse + observe)",
                                                                            tracker.on_frame)):
            count, started, cpu = 0, time.perf_counter(), time.thread_time()
            while time.perf_counter() - started < seconds:
                for frame in frames:
                    handle(frame)
                count += len(frames)
            used = time.thread_time() - cpu
            print(f"   {label:38s} {count / used:10,.0f} packets per CPU second "
                  f"({used / count * 1e6:.1f} us each; half DNS answers, half ClientHellos)")
        assert tracker.observed > 0 and tracker.ignored == 0
        tracker.stop()
        store.close()


def thread_cpu(thread_ids: list[int]) -> float:
    """User + system seconds of these threads of this process so far."""
    total = 0.0
    for info in psutil.Process().threads():
        if info.id in thread_ids:
            total += info.user_time + info.system_time
    return total


SENDER = r"""
import socket, sys, time
rate, seconds, port = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
payload = bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", port))
sent, start = 0, time.perf_counter()
batch = max(1, int(rate / 1000))
while True:
    now = time.perf_counter() - start
    if now >= seconds:
        break
    due = int(now * rate) if rate > 0 else sent + batch
    while sent < due:
        try:
            s.sendto(payload, ("10.77.0.2", 40000))
        except OSError:
            pass
        sent += 1
    if rate > 0:
        time.sleep(0.0005)
print(sent)
"""


def live(seconds: float, realistic_seconds: float) -> None:
    from destinations_lab import GOOGLE, METRICS, VOICE, Internet
    from netns_lab import Lab

    from device_bridge.traffic.nft import NftTable

    answer = dns_frame("avs-alexa-4-na.amazon.com", 1)
    payload = dpkt.ethernet.Ethernet(answer).data.data.data  # the DNS message itself
    lab = Lab()
    directory = tempfile.mkdtemp()
    internet = None
    try:
        table = NftTable([SPEAKER], netns=lab.bridge, destinations=True)
        table.install()
        store = BridgeStore(Path(directory) / "bridge.db")
        tracker = DestinationTracker([SPEAKER], table, store=store, events=EventLog(store), interface="lan0",
                                     netns=lab.bridge)
        tracker.prepare()
        tracker.start()
        capture_id = tracker.capture._thread.native_id
        tracker_id = tracker._thread.native_id

        print("\n2a. DNS answers through the observer (sent from the bridge namespace to the speaker on lan0)")
        print("    offered pps    sent pps   observed pps   kernel drops   capture thread CPU (cores)")
        tracker.capture.statistics()
        for rate in (5_000, 10_000, 20_000, 30_000, 0):
            observed, cpu = tracker.observed, thread_cpu([capture_id])
            started = time.perf_counter()
            out = lab.python(lab.bridge, f"import sys; sys.argv=['x','{rate}','{seconds}','53','{payload.hex()}']\n"
                                         + SENDER)
            elapsed = time.perf_counter() - started
            time.sleep(0.3)  # let the queue drain
            sent = int(out.strip())
            done = tracker.observed - observed
            used = thread_cpu([capture_id]) - cpu
            _passed, drops = tracker.capture.statistics()
            offered = f"{rate:,}" if rate else "full speed"
            print(f"    {offered:>11s} {sent / seconds:11,.0f} {done / seconds:14,.0f} {drops:14,d} "
                  f"{used / elapsed:16.2f}   ({done / max(used, 1e-9):,.0f} per CPU second)")

        print("\n2b. Bulk traffic the kernel filter refuses (64-byte UDP to port 9999, full speed)")
        frames, cpu = tracker.capture.frames, thread_cpu([capture_id])
        started = time.perf_counter()
        out = lab.python(lab.bridge, f"import sys; sys.argv=['x','0','{seconds}','9999','{'00' * 64}']\n" + SENDER)
        elapsed = time.perf_counter() - started
        print(f"    {int(out) / seconds:,.0f} packets a second on lan0; frames reaching user space: "
              f"{tracker.capture.frames - frames}; capture thread CPU {100 * (thread_cpu([capture_id]) - cpu) / elapsed:.2f} %"
              " of a core")

        print(f"\n2c. A household's rate for {realistic_seconds:.0f} s: 4 DNS answers + 2 TLS connections a second, "
              "300 pps of other traffic")
        internet = Internet(lab, Path(directory))
        stop = threading.Event()
        names = [VOICE, METRICS, GOOGLE]

        def household() -> None:
            k = 0
            while not stop.is_set():
                tick = time.monotonic()
                for _ in range(4):
                    internet.resolve(names[k % 3])
                    k += 1
                for _ in range(2):
                    name = names[k % 3]
                    internet.exchange(name, internet.resolve(name)[0], 2_000, 2_000)
                stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

        def other_traffic() -> None:
            sock = lab.open_socket(lab.speaker)
            try:
                while not stop.is_set():
                    for _ in range(30):
                        sock.sendto(b"x" * 200, ("198.51.100.1", 9))
                    stop.wait(0.1)
            finally:
                sock.close()

        workers = [threading.Thread(target=household, name="bench-household"),
                   threading.Thread(target=other_traffic, name="bench-other")]
        observed, cpu = tracker.observed, thread_cpu([capture_id, tracker_id])
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        stop.wait(realistic_seconds)
        stop.set()
        for worker in workers:
            worker.join(30)
        elapsed = time.perf_counter() - started
        used = thread_cpu([capture_id, tracker_id]) - cpu
        print(f"    observed {(tracker.observed - observed) / elapsed:.1f} names a second; capture + tracker threads "
              f"{100 * used / elapsed:.3f} % of a core ({len(tracker.destinations(SPEAKER.id))} destinations)")
        tracker.stop()
        store.close()

        print("\n2d. Counting bytes per destination: the kernel's flow sets versus copying every packet")
        for flows in (10, 100, 1000):
            lab.python(lab.speaker, "import socket\n" + "\n".join([
                "socks = []",
                f"for i in range({flows}):",  # distinct remote ports: one element each
                "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('198.51.100.1', 20000 + i));"
                " socks.append(s)"]))
            counted = sum(len(f) for f in table.read_flows().values())
            started = time.thread_time()
            for _ in range(20):
                table.read_flows()
            per_read = (time.thread_time() - started) / 20
            print(f"    flow sets, {counted:5d} flows: {per_read * 1e3:6.2f} ms CPU per reading "
                  f"= {per_read * 100:.3f} % of a core at one reading a second")
        per_packet = copy_every_packet(lab, seconds)
        for pps, what in ((60, "a voice upload"), (500, "music streaming"), (20_000, "the observer's target rate")):
            print(f"    copying every packet: {per_packet * 1e6:.1f} us each = {per_packet * pps * 100:.2f} % of a "
                  f"core at {pps:,} pps ({what})")
        table.remove()
        table.close()
    finally:
        if internet is not None:
            internet.close()
        lab.close()


def copy_every_packet(lab, seconds: float) -> float:
    """CPU seconds per packet of an unfiltered AF_PACKET reader that counts bytes per flow (the alternative)."""
    from device_bridge.traffic.libnft import in_namespace

    def open_socket() -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        sock.bind(("lan0", 0x0003))
        sock.settimeout(0.2)
        return sock

    sock = in_namespace(lab.bridge, open_socket)
    counts: dict[tuple, int] = {}
    handled = [0, 0.0]
    stop = threading.Event()

    def read() -> None:
        buffer = bytearray(65536)
        started = time.thread_time()
        while not stop.is_set():
            try:
                size = sock.recv_into(buffer)
            except (TimeoutError, OSError):
                continue
            if size >= 38 and buffer[12:14] == b"\x08\x00":
                header = (buffer[14] & 0x0F) * 4
                key = (bytes(buffer[30:34]), buffer[23], *struct.unpack_from("!HH", buffer, 14 + header))
                counts[key] = counts.get(key, 0) + size
            handled[0] += 1
        handled[1] = time.thread_time() - started

    reader = threading.Thread(target=read, name="bench-copy-every-packet")
    reader.start()
    lab.python(lab.bridge, f"import sys; sys.argv=['x','20000','{seconds}','9999','{'00' * 200}']\n" + SENDER)
    stop.set()
    reader.join(10)
    sock.close()
    return handled[1] / max(handled[0], 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--realistic-seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(f"Destination observer, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, dpkt {dpkt.__version__}\n")
    pipeline(args.seconds)
    if os.geteuid() != 0:
        print("\n2. Live figures need root (network namespaces, nftables, AF_PACKET): skipped")
        return 0
    live(args.seconds, args.realistic_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
