"""The mDNS advert, seen by a plain zeroconf browser on 127.0.0.1 as the desktop app would see it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from device_bridge import __version__
from device_bridge.advertise import SERVICE_TYPE, instance_name


@pytest.fixture
def browser_zc() -> Iterator[Zeroconf]:
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    yield zc
    zc.close()


def test_bridge_is_advertised_with_its_txt_keys(start_bridge, browser_zc):
    bridge = start_bridge(advertise=True)
    wanted = f"{bridge.config.name}.{SERVICE_TYPE}"
    found = threading.Event()

    def on_change(zeroconf, service_type, name, state_change):
        if name == wanted and state_change is ServiceStateChange.Added:
            found.set()

    browser = ServiceBrowser(browser_zc, SERVICE_TYPE, handlers=[on_change])
    try:
        assert found.wait(15.0), f"{wanted} was not seen"
        info = ServiceInfo(SERVICE_TYPE, wanted)
        assert info.request(browser_zc, 5000)
    finally:
        browser.cancel()
    assert info.port == bridge.port
    assert info.parsed_addresses() == ["127.0.0.1"]
    assert info.decoded_properties == {
        "id": bridge.bridge_id,
        "name": bridge.config.name,
        "v": __version__,
        "fp": bridge.fingerprint[:16],
        "api": "1",
    }


def test_instance_name_fits_a_dns_label():
    assert len(instance_name("Küche " * 20).encode()) <= 63
    assert instance_name("  ") == "Earmuff bridge"
