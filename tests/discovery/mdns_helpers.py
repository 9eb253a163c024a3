"""Real mDNS responders on loopback, and a listener to wait on, for discovery tests."""

from __future__ import annotations

import socket
import threading

from zeroconf import IPVersion, ServiceInfo, Zeroconf

from app.devices import Device, Group
from app.discovery.records import build_txt

LOOPBACK = ["127.0.0.1"]


class Responder:
    """A zeroconf instance on 127.0.0.1 that advertises what a test asks for."""

    def __init__(self) -> None:
        self.zc = Zeroconf(interfaces=LOOPBACK, ip_version=IPVersion.V4Only)

    def info(self, service_type, instance, *, txt=b"", host="speaker.local.", port=8009,
             addresses=("127.0.0.2",), ttl=None):
        raw = txt if isinstance(txt, bytes) else build_txt(txt)
        kwargs = {}
        if ttl is not None:
            kwargs = {"host_ttl": ttl, "other_ttl": ttl}
        return ServiceInfo(service_type, f"{instance}.{service_type}", port=port, properties=raw, server=host,
                           addresses=[socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a)
                                      for a in addresses], **kwargs)

    def register(self, info):
        self.zc.register_service(info, cooperating_responders=True, strict=False)
        return info

    def close(self):
        self.zc.close()


class Events:
    """A RegistryListener that lets a test wait for what it expects, without sleeping."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.devices: dict[str, Device] = {}
        self.groups: dict[str, Group] = {}
        self.log: list[tuple[str, str]] = []

    def device_added(self, device):
        with self._cond:
            self.devices[device.device_id] = device
            self.log.append(("added", device.device_id))
            self._cond.notify_all()

    device_updated = device_added

    def device_removed(self, device_id):
        with self._cond:
            self.devices.pop(device_id, None)
            self._cond.notify_all()

    def group_updated(self, group):
        with self._cond:
            self.groups[group.group_id] = group
            self._cond.notify_all()

    def group_removed(self, group_id):
        with self._cond:
            self.groups.pop(group_id, None)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout=10.0):
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self), timeout)
        assert ok, f"condition not met in {timeout} s; devices: {sorted(d.name for d in self.devices.values())}"
