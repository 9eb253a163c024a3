"""The traffic tests' three namespaces plus a real internet: dnsmasq answering names, Python TLS servers with a test
certificate, and a per-connection tally on the speaker's side to check the bridge's figures against.

    speaker  sp0 ---- lan0  bridge  wan0 ---- net0  internet
    10.77.0.2                                       198.51.100.1   dnsmasq (port 53)
                                                    198.51.100.10  TLS: avs-alexa-4-na.amazon.com, api.amazonalexa.com
                                                    198.51.100.11  TLS: device-metrics-us.amazon.com
                                                                   (a CNAME to metrics-edge.cloudfront.net)
                                                    198.51.100.12  TLS: clients3.google.com
                                                    198.51.100.13  a sink: UDP from port 53 and TCP on 443 (no TLS)

The speaker resolves a name by sending a real DNS query to dnsmasq (through the bridge) and reading the
answer; it connects with TLS and the name as SNI, verifying the test certificate. Each connection sends a
small header (bytes to upload, bytes to send back), then uploads, then reads what comes back. The speaker's
own nftables table counts every TCP packet to and from port 443 by its local port (IP lengths, as the bridge
counts them), which is the reference per connection.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dpkt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "traffic_nft"))

from netns_lab import INTERNET_IP, Lab, run, wait_until  # noqa: E402

VOICE = "avs-alexa-4-na.amazon.com"
ALEXA_API = "api.amazonalexa.com"
METRICS = "device-metrics-us.amazon.com"
METRICS_EDGE = "metrics-edge.cloudfront.net"
GOOGLE = "clients3.google.com"
SHARED_IP, METRICS_IP, GOOGLE_IP, SINK_IP = "198.51.100.10", "198.51.100.11", "198.51.100.12", "198.51.100.13"
ADDRESSES = {VOICE: SHARED_IP, ALEXA_API: SHARED_IP, METRICS_EDGE: METRICS_IP, GOOGLE: GOOGLE_IP}
TLS_NAMES = (VOICE, ALEXA_API, METRICS, GOOGLE)
DNS_TTL = 60
CONNECT_TIMEOUT_S = 3.0

SPEAKER_TALLY = """table inet sptally {
    set up {
        type inet_service; flags dynamic; counter; size 65535;
    }
    set down {
        type inet_service; flags dynamic; counter; size 65535;
    }
    chain output {
        type filter hook output priority 0; policy accept;
        tcp dport 443 update @up { tcp sport }
    }
    chain input {
        type filter hook input priority 0; policy accept;
        tcp sport 443 update @down { tcp dport }
    }
}
"""


def dnsmasq_unavailable() -> str | None:
    if shutil.which("dnsmasq") is None:
        return "needs dnsmasq (apt-get install dnsmasq-base)"
    return None


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed test certificate for every TLS name (SAN), as (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Earmuff test internet")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in TLS_NAMES]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "internet.pem", directory / "internet.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class Internet:
    """dnsmasq, the TLS servers and the sink in the lab's internet namespace; `close()` stops them all."""

    def __init__(self, lab: Lab, directory: Path) -> None:
        self.lab = lab
        self.directory = directory
        self.cert_file, self.key_file = make_certificate(directory)
        self.connections: list[tuple[str, int, int]] = []  # (SNI, client port, bytes received)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        for address in (SHARED_IP, METRICS_IP, GOOGLE_IP, SINK_IP):
            run("ip", "-n", lab.internet, "addr", "add", f"{address}/24", "dev", "net0")
        self._dnsmasq = self._start_dnsmasq()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        context.sni_callback = self._sni
        self._context = context
        for address in (SHARED_IP, METRICS_IP, GOOGLE_IP):
            self._listen(address, 443, self._serve_tls)
        self._listen(SINK_IP, 443, self._sink_tcp)
        self.sink_udp = lab.open_socket(lab.internet, socket.AF_INET, socket.SOCK_DGRAM)
        self.sink_udp.bind((SINK_IP, 53))
        self.sink_udp.settimeout(3)
        self._sockets.append(self.sink_udp)
        wait_until(lambda: self._answers(), timeout_s=10, what="dnsmasq to answer")

    # --- servers ---------------------------------------------------------------------------------------

    def _start_dnsmasq(self) -> subprocess.Popen:
        records = [f"--host-record={name},{address}" for name, address in ADDRESSES.items()]
        command = ["ip", "netns", "exec", self.lab.internet, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                   "--no-resolv", "--no-hosts", "--no-poll", f"--listen-address={INTERNET_IP}", "--bind-interfaces",
                   "--port=53", f"--local-ttl={DNS_TTL}", "--pid-file=", "--user=root", "--group=root",
                   f"--cname={METRICS},{METRICS_EDGE}", *records, "--log-facility=-"]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _answers(self) -> bool:
        try:
            return bool(self.resolve(VOICE, timeout=0.5))
        except OSError:
            return False

    def _listen(self, address: str, port: int, handler) -> None:
        server = self.lab.open_socket(self.lab.internet, socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(32)
        server.settimeout(0.2)
        self._sockets.append(server)
        thread = threading.Thread(target=self._accept, args=(server, handler), name=f"test-server-{address}")
        thread.start()
        self._threads.append(thread)

    def _accept(self, server: socket.socket, handler) -> None:
        while not self._stop.is_set():
            try:
                connection, peer = server.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=handler, args=(connection, peer), name="test-connection")
            thread.start()
            with self._lock:
                self._threads.append(thread)

    def _sni(self, ssl_socket, server_name, _context) -> None:
        ssl_socket.earmuff_sni = server_name

    def _serve_tls(self, connection: socket.socket, peer) -> None:
        connection.settimeout(10)
        try:
            with self._context.wrap_socket(connection, server_side=True) as tls:
                upload, download = struct.unpack("!II", _read(tls, 8))
                got = len(_read(tls, upload))
                tls.sendall(b"d" * download)
                with self._lock:
                    self.connections.append((getattr(tls, "earmuff_sni", ""), peer[1], got))
        except (OSError, ssl.SSLError, struct.error):
            pass
        finally:
            connection.close()

    def _sink_tcp(self, connection: socket.socket, _peer) -> None:
        connection.settimeout(5)
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._dnsmasq.terminate()
        try:
            self._dnsmasq.wait(10)
        except subprocess.TimeoutExpired:
            self._dnsmasq.kill()
            self._dnsmasq.wait(10)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(15)
        for sock in self._sockets:
            sock.close()

    # --- the speaker's side ----------------------------------------------------------------------------

    def resolve(self, name: str, *, timeout: float = 3.0) -> list[str]:
        """The speaker asks dnsmasq (through the bridge) for `name`'s A records; the addresses, CNAMEs followed."""
        query = dpkt.dns.DNS(id=int.from_bytes(os.urandom(2), "big"), rd=1,
                             qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)])
        client = self.lab.open_socket(self.lab.speaker, socket.AF_INET, socket.SOCK_DGRAM)
        try:
            client.settimeout(timeout)
            client.sendto(bytes(query), (INTERNET_IP, 53))
            answer = dpkt.dns.DNS(client.recv(4096))
        finally:
            client.close()
        return [socket.inet_ntoa(rr.ip) for rr in answer.an if rr.type == dpkt.dns.DNS_A]

    def exchange(self, name: str, address: str, upload: int, download: int, *,
                 timeout: float = CONNECT_TIMEOUT_S) -> int:
        """One TLS connection from the speaker to `address` with SNI `name`; returns its local port. Raises
        OSError (ssl.SSLError included) when it does not get through."""
        sock = self.lab.open_socket(self.lab.speaker, socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((address, 443))
            port = sock.getsockname()[1]
            context = ssl.create_default_context(cafile=str(self.cert_file))
            with context.wrap_socket(sock, server_hostname=name) as tls:
                tls.sendall(struct.pack("!II", upload, download))
                tls.sendall(b"u" * upload)
                received = len(_read(tls, download))
            assert received == download
            return port
        finally:
            sock.close()


def _read(sock, size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        chunk = sock.recv(min(left, 1 << 16))
        if not chunk:
            raise OSError("connection closed early")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


@contextmanager
def speaker_tally(lab: Lab) -> Iterator[Callable[[], dict[int, list[int]]]]:
    """The speaker's own count of TCP/443 bytes per local port: yields `read() -> {port: (up, down)}`."""
    run("ip", "netns", "exec", lab.speaker, "nft", "-f", "-", input=SPEAKER_TALLY)

    def read() -> dict[int, list[int]]:
        counts: dict[int, list[int]] = {}
        for index, direction in enumerate(("up", "down")):
            out = run("ip", "netns", "exec", lab.speaker, "nft", "-j", "list", "set", "inet", "sptally", direction)
            for item in json.loads(out)["nftables"]:
                for element in item.get("set", {}).get("elem", ()):
                    inner = element["elem"]
                    counts.setdefault(int(inner["val"]), [0, 0, 0, 0])[index * 2] = inner["counter"]["bytes"]
                    counts[int(inner["val"])][index * 2 + 1] = inner["counter"]["packets"]
        return counts

    try:
        yield read
    finally:
        subprocess.run(["ip", "netns", "exec", lab.speaker, "nft", "delete", "table", "inet", "sptally"],
                       capture_output=True, timeout=20, check=False)


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
