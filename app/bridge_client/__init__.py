"""Talking to Earmuff bridges: pinned HTTPS, pairing, the event stream, and the manager that keeps them all.

Qt-free. `BridgeManager` is the entry point for the app; `pairing` and
`session.BridgeSession` are the blocking building blocks it runs off the GUI thread.
"""

from app.bridge_client.errors import (
    CERTIFICATE_CHANGED_MESSAGE,
    BridgeError,
    BridgeFailed,
    BridgeUnreachable,
    CertificateChanged,
    NotAuthorized,
    PairingButtonNeeded,
    PairingLocked,
    RequestRejected,
    WrongCode,
)
from app.bridge_client.manager import BridgeManager, ForgetResult, Outcome, TokenUnavailable
from app.bridge_client.models import (
    BridgeAlarm,
    BridgeInfo,
    BridgeListener,
    BridgeStatus,
    CommandFailure,
    Connection,
    PairedBridge,
    Schedule,
    SpeakerState,
)
from app.bridge_client.pairing import BridgeProbe, fetch_fingerprint, parse_address
from app.bridge_client.session import BridgeSession, group_fingerprint

__all__ = [
    "CERTIFICATE_CHANGED_MESSAGE",
    "BridgeAlarm",
    "BridgeError",
    "BridgeFailed",
    "BridgeInfo",
    "BridgeListener",
    "BridgeManager",
    "BridgeProbe",
    "BridgeSession",
    "BridgeStatus",
    "BridgeUnreachable",
    "CertificateChanged",
    "CommandFailure",
    "Connection",
    "ForgetResult",
    "NotAuthorized",
    "Outcome",
    "PairedBridge",
    "PairingButtonNeeded",
    "PairingLocked",
    "RequestRejected",
    "Schedule",
    "SpeakerState",
    "TokenUnavailable",
    "WrongCode",
    "fetch_fingerprint",
    "group_fingerprint",
    "parse_address",
]
