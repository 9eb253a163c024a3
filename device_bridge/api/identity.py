"""Who this bridge is: a persistent id, its name and version, and the certificate clients pin."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from device_bridge.api.tls import Certificate

_META_BRIDGE_ID = "bridge_id"


@dataclass(frozen=True)
class BridgeIdentity:
    """What /v1/info and the mDNS advert say about the bridge.

    Attributes:
        bridge_id: uuid4 hex, made on first start and kept in the store.
        name: from the config ("Kitchen bridge").
        version: the earmuff package version.
        time_zone: the IANA zone schedules are evaluated in.
        certificate: the TLS certificate and key files and their fingerprint.
    """

    bridge_id: str
    name: str
    version: str
    time_zone: str
    certificate: Certificate

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint


def bridge_id(store: Any) -> str:
    """The bridge's id from the store, made (and saved) the first time."""
    value = store.get_meta(_META_BRIDGE_ID)
    if not value:
        value = uuid.uuid4().hex
        store.set_meta(_META_BRIDGE_ID, value)
    return value
