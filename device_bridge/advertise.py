"""The bridge's mDNS advert: `_earmuff._tcp.local.`, so the desktop app finds it without typing an address.

TXT: id (bridge id), name, v (version), fp (first 16 hex digits of the certificate fingerprint, for a
first glance; the app pins the full one at pairing), api (API generation). The advert is registered on
zeroconf's own loop without waiting for name probing, so it never delays the API.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from concurrent.futures import Future

from zeroconf import InterfaceChoice, IPVersion, ServiceInfo, Zeroconf

from device_bridge.api.identity import BridgeIdentity
from device_bridge.api.tls import local_addresses

log = logging.getLogger(__name__)

SERVICE_TYPE = "_earmuff._tcp.local."
API_VERSION = "1"
_MAX_INSTANCE_BYTES = 63


def advert_txt(identity: BridgeIdentity) -> dict[str, str]:
    return {
        "id": identity.bridge_id,
        "name": identity.name,
        "v": identity.version,
        "fp": identity.fingerprint[:16],
        "api": API_VERSION,
    }


def instance_name(name: str) -> str:
    """The bridge name as a DNS-SD instance label (at most 63 bytes of UTF-8, no dots' trouble)."""
    label = name.strip() or "Earmuff bridge"
    while len(label.encode("utf-8")) > _MAX_INSTANCE_BYTES:
        label = label[:-1]
    return label


def _where(listen: str) -> tuple[list[str] | InterfaceChoice, IPVersion, list[str]]:
    """(zeroconf interfaces, IP version, addresses to advertise) for the API's listen address."""
    address = ipaddress.ip_address(listen)
    if address.is_unspecified:
        version = IPVersion.V4Only if address.version == 4 else IPVersion.All
        found = [a for a in local_addresses() if not ipaddress.ip_address(a).is_loopback]
        if version is IPVersion.V4Only:
            found = [a for a in found if ipaddress.ip_address(a).version == 4]
        return InterfaceChoice.All, version, found or ["127.0.0.1"]
    version = IPVersion.V4Only if address.version == 4 else IPVersion.V6Only
    return [listen], version, [listen]


class BridgeAdvert:
    """Owns this process's Zeroconf instance and the bridge's service record.

    Attributes:
        info: the registered ServiceInfo (its name may gain " (2)" if another bridge has the same name).
    """

    def __init__(self, identity: BridgeIdentity, port: int, *, listen: str) -> None:
        interfaces, ip_version, addresses = _where(listen)
        server = f"earmuff-{identity.bridge_id[:12]}.local."
        self.info = ServiceInfo(
            SERVICE_TYPE,
            f"{instance_name(identity.name)}.{SERVICE_TYPE}",
            port=port,
            properties=advert_txt(identity),
            server=server,
            addresses=[socket.inet_pton(_family(a), a) for a in addresses],
        )
        self._zc = Zeroconf(interfaces=interfaces, ip_version=ip_version)
        self._registration: Future | None = None
        self._closed = False

    def start(self) -> None:
        """Start announcing; returns at once (name probing takes about 1.5 s on zeroconf's loop)."""
        loop = self._zc.loop
        assert loop is not None
        self._registration = asyncio.run_coroutine_threadsafe(self._register(), loop)

    async def _register(self) -> None:
        try:
            await (await self._zc.async_register_service(self.info, allow_name_change=True))
        except Exception as err:  # noqa: BLE001 - a failed advert must not take the bridge down
            log.error("mDNS advert of %s failed: %r (the app can still add the bridge by address)",
                      self.info.name, err)
        else:
            log.info("advertised %s on mDNS", self.info.name)

    def close(self) -> None:
        """Say goodbye, close zeroconf and join its thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._registration is not None:
            self._registration.cancel()
            try:
                self._registration.result(timeout=5.0)
            except BaseException:  # noqa: BLE001 - cancelled, timed out or failed: closing anyway
                pass
        self._zc.close()


def _family(address: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
