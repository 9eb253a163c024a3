"""The bridge's TLS identity: a self-signed EC P-256 certificate made on first start and kept for good.

Clients pin the SHA-256 of the certificate's DER bytes at pairing, so the certificate must survive restarts
and updates: it is only replaced if its files are missing or do not belong together (and then every client
has to pair again, which the log says loudly).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ifaddr
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from device_bridge.paths import write_private_file

log = logging.getLogger(__name__)

CERT_FILE = "tls-cert.pem"
KEY_FILE = "tls-key.pem"
VALIDITY = datetime.timedelta(days=3650)
# A Pi has no real-time clock: before NTP it may believe it is hours or days in the past.
BACKDATE = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Certificate:
    """The bridge's certificate and key on disk.

    Attributes:
        cert_file: PEM certificate (mode 0644).
        key_file: PEM private key, unencrypted, mode 0600.
        fingerprint: SHA-256 of the certificate's DER bytes, lowercase hex, no colons.
    """

    cert_file: Path
    key_file: Path
    fingerprint: str


def fingerprint_of_der(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def grouped(fingerprint: str) -> str:
    """'ab12cd..' -> 'AB:12:CD:..', the way people compare fingerprints."""
    upper = fingerprint.upper()
    return ":".join(upper[i:i + 2] for i in range(0, len(upper), 2))


def local_addresses() -> list[str]:
    """IP addresses of this machine's interfaces (IPv4 and global/ULA IPv6), loopback included."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address.is_link_local:  # needs a scope id; useless in a certificate
                continue
            if str(address) not in found:
                found.append(str(address))
    return found


def load_or_create_certificate(
    directory: Path, *, hostname: str | None = None, addresses: Iterable[str] | None = None
) -> Certificate:
    """The certificate in `directory`, made first if there is none (or the pair is broken).

    Raises:
        OSError: the files cannot be read or written.
    """
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if cert_path.exists() or key_path.exists():
        existing = _load(cert_path, key_path)
        if existing is not None:
            return existing
        broken = directory / f"{CERT_FILE}.broken"
        if cert_path.exists():
            cert_path.replace(broken)
        log.error(
            "the TLS certificate in %s was missing its key or did not match it; made a new one "
            "(the old one is kept as %s). Every paired app must pair again.", directory, broken.name,
        )
    return _create(cert_path, key_path, hostname or socket.gethostname(), addresses)


def _load(cert_path: Path, key_path: Path) -> Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        log.error("cannot read the TLS certificate or key: %s", err)
        return None
    if cert.public_key().public_bytes(*_SPKI) != key.public_key().public_bytes(*_SPKI):
        return None
    key_path.chmod(0o600)
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(cert_path, key_path, fingerprint_of_der(der))


_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _create(cert_path: Path, key_path: Path, hostname: str, addresses: Iterable[str] | None) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for dns in (hostname, f"{hostname}.local"):
        if dns and dns != "localhost" and x509.DNSName(dns) not in names:
            names.append(x509.DNSName(dns))
    ips = {"127.0.0.1", "::1", *(local_addresses() if addresses is None else addresses)}
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in sorted(ips)]
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Earmuff bridge"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Earmuff (self-signed)"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Key first: a crash between the two leaves a new key with the old certificate, which _load rejects.
    write_private_file(key_path, key_pem, durable=True)
    write_private_file(cert_path, cert.public_bytes(serialization.Encoding.PEM), durable=True)
    cert_path.chmod(0o644)
    fingerprint = fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))
    log.info("made a new TLS certificate, fingerprint %s", grouped(fingerprint))
    return Certificate(cert_path, key_path, fingerprint)
