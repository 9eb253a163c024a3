"""TLS: HTTPS only, the real generated certificate, and a pinned client that refuses any other."""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
import stat

import pytest
import requests
from cryptography import x509

from device_bridge.api.tls import CERT_FILE, KEY_FILE, grouped, load_or_create_certificate


def _served_certificate(port: int) -> bytes:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return ssl.PEM_cert_to_DER_cert(pem)


def test_the_served_certificate_is_the_generated_one(bridge):
    der = _served_certificate(bridge.port)
    assert hashlib.sha256(der).hexdigest() == bridge.fingerprint
    cert = x509.load_der_x509_certificate(der)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3650
    assert cert.public_key().curve.name == "secp256r1"
    assert stat.S_IMODE((bridge.data_dir / KEY_FILE).stat().st_mode) == 0o600


def test_pinned_client_refuses_another_certificate(bridge, connect, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = load_or_create_certificate(elsewhere)
    assert other.fingerprint != bridge.fingerprint
    impostor = connect(bridge, fingerprint=other.fingerprint)
    with pytest.raises(requests.exceptions.SSLError):
        impostor.get("/v1/info")
    assert connect(bridge).get("/v1/info").status_code == 200


def test_plain_http_is_not_served(bridge):
    session = requests.Session()
    session.trust_env = False
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"http://127.0.0.1:{bridge.port}/v1/info", timeout=(3, 5))
    finally:
        session.close()


def test_certificate_is_kept_and_a_broken_pair_replaced(tmp_path):
    first = load_or_create_certificate(tmp_path)
    assert load_or_create_certificate(tmp_path) == first
    (tmp_path / KEY_FILE).unlink()
    replaced = load_or_create_certificate(tmp_path)
    assert replaced.fingerprint != first.fingerprint
    assert (tmp_path / f"{CERT_FILE}.broken").exists()


def test_grouped():
    assert grouped("ab12cd") == "AB:12:CD"
