"""First contact with a bridge: where it is, which certificate it shows, and trading the code for a token.

1. `parse_address` turns what the user typed into host and port.
2. `probe` fetches the certificate the bridge presents (no verification yet: there
   is nothing to verify against), computes its sha256, then asks GET /v1/info over a
   session pinned to that fingerprint. The user compares the grouped fingerprint with
   the one the bridge prints (`earmuff-bridge pair-code`, its log).
3. `pair` posts the 6-digit code over the same pin and returns the token.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.bridge_client.errors import (
    BridgeError,
    BridgeFailed,
    BridgeUnreachable,
    PairingButtonNeeded,
    PairingLocked,
    RequestRejected,
    WrongCode,
)
from app.bridge_client.models import DEFAULT_PORT, BridgeInfo
from app.bridge_client.session import BridgeSession, group_fingerprint

CONNECT_TIMEOUT_S = 3.0
CODE_PATTERN = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class BridgeProbe:
    """What a bridge showed on first contact.

    Attributes:
        host, port: where it answered.
        fingerprint: sha256 hex of the certificate it presented.
        info: its GET /v1/info.
    """

    host: str
    port: int
    fingerprint: str
    info: BridgeInfo

    @property
    def grouped_fingerprint(self) -> str:
        return group_fingerprint(self.fingerprint)


@dataclass(frozen=True)
class Pairing:
    """A successful pairing: the bridge's token for this computer (keep it secret)."""

    probe: BridgeProbe
    token: str
    token_id: int | None
    bridge_id: str


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """'192.168.1.60', 'pi.local:8443', '[fe80::1]:8443', 'https://host:port/' -> (host, port).

    Raises ValueError with a sentence for the user.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("Enter the bridge's address, for example 192.168.1.60 or earmuff-pi.local.")
    if "://" not in cleaned:
        try:  # a bare IPv6 address has colons that are not a port
            ipaddress.IPv6Address(cleaned.strip("[]"))
            return cleaned.strip("[]"), default_port
        except ValueError:
            pass
        cleaned = "https://" + cleaned
    parts = urlsplit(cleaned)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"“{text.strip()}” is not an address Earmuff understands.")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError(f"The port in “{text.strip()}” is not a number from 1 to 65535.") from None
    host = parts.hostname
    if any(c.isspace() for c in host):
        raise ValueError(f"“{text.strip()}” is not an address Earmuff understands.")
    return host, port


def fetch_fingerprint(host: str, port: int, timeout: float = CONNECT_TIMEOUT_S) -> str:
    """The sha256 (hex) of the certificate the server at host:port presents. Raises BridgeUnreachable."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we only read the certificate; the user checks the fingerprint
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host if not _is_ip(host) else None) as tls:
                der = tls.getpeercert(binary_form=True)
    except socket.gaierror as error:
        raise BridgeUnreachable(f"No device called “{host}” was found on the network.", str(error)) from error
    except ssl.SSLError as error:
        raise BridgeUnreachable(
            f"The device at {where} does not speak HTTPS the way an Earmuff bridge does.", str(error)) from error
    except (TimeoutError, socket.timeout) as error:
        raise BridgeUnreachable(f"Nothing answered at {where} within {timeout:.0f} seconds.", str(error)) from error
    except OSError as error:
        raise BridgeUnreachable(
            f"Cannot reach {where} ({error.strerror or error}). Check the address and that the bridge is on.",
            str(error)) from error
    if not der:
        raise BridgeUnreachable(f"The device at {where} presented no certificate.")
    return hashlib.sha256(der).hexdigest()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def probe(host: str, port: int, *, timeout: float = CONNECT_TIMEOUT_S) -> BridgeProbe:
    """Fetch the bridge's certificate and info. Blocking. Raises BridgeError."""
    fingerprint = fetch_fingerprint(host, port, timeout)
    with BridgeSession(host, port, fingerprint) as session:
        try:
            info = session.info()
        except RequestRejected as error:
            raise BridgeFailed(
                f"The device at {host}:{port} answered, but it is not an Earmuff bridge ({error.detail}).",
                str(error)) from error
    if info.fingerprint and info.fingerprint != fingerprint:
        # The bridge names its own certificate; a different one on the wire means something in between.
        raise BridgeFailed(
            "The certificate on the connection is not the one the bridge says it has. Something between "
            "this computer and the bridge may be intercepting; do not pair over this network.",
            f"wire {fingerprint} != reported {info.fingerprint}")
    if info.api != 1:
        raise BridgeFailed(
            f"This bridge speaks API version {info.api}; this Earmuff understands version 1. "
            "Update Earmuff or the bridge so both match.")
    return BridgeProbe(host=host, port=port, fingerprint=fingerprint, info=info)


def pair(found: BridgeProbe, code: str, client_name: str) -> Pairing:
    """Send the pairing code; return the token. Blocking.

    Raises WrongCode, PairingLocked (with retry_after), PairingButtonNeeded, CertificateChanged
    (the certificate changed since the probe), or another BridgeError.
    """
    code = code.strip().replace(" ", "")
    if not CODE_PATTERN.match(code):
        raise ValueError("The pairing code is the 6 digits the bridge shows.")
    with BridgeSession(found.host, found.port, found.fingerprint) as session:
        try:
            response = session.request("POST", "/v1/pair", auth=False,
                                       json_body={"code": code, "client_name": client_name})
        except RequestRejected as error:
            raise _pairing_error(error) from error
        try:
            body = response.json()
        except ValueError as error:
            raise BridgeFailed("The bridge's answer to pairing was not understood.", str(error)) from error
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise BridgeFailed("The bridge accepted the code but sent no token.")
    token_id = body.get("token_id")
    bridge_id = body.get("bridge_id") or found.info.bridge_id
    if bridge_id != found.info.bridge_id:
        raise BridgeFailed("The bridge changed its identity while pairing; try again.")
    return Pairing(probe=found, token=token, token_id=token_id if isinstance(token_id, int) else None,
                   bridge_id=bridge_id)


def _pairing_error(error: RequestRejected) -> BridgeError:
    if error.status == 401:
        return WrongCode(error.detail)
    if error.status == 429:
        return PairingLocked(_retry_after(error), error.detail)
    if error.status == 403:
        return PairingButtonNeeded(error.detail)
    return error


def _retry_after(error: RequestRejected) -> float:
    if error.retry_after is not None:
        return error.retry_after
    match = re.search(r"(\d+(?:\.\d+)?)\s*s", error.detail)
    return float(match.group(1)) if match else 60.0
