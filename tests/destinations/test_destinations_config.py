"""The bridge config's [destinations] section."""

from __future__ import annotations

import pytest

from device_bridge.config import ConfigError, DestinationsConfig, loads_config

SPEAKER = '''
name = "Kitchen bridge"
[[speaker]]
id = "kitchen"
driver = "network"
mac = "68:db:f5:90:19:64"
'''


def test_destinations_need_the_interface_and_nftables():
    assert loads_config(SPEAKER + '[destinations]\ninterface = "wlan0"\n').destinations == DestinationsConfig("wlan0")
    assert loads_config(SPEAKER).destinations is None
    assert loads_config(SPEAKER + '[destinations]\nenabled = false\n').destinations is None
    for text, key, message in [
        ('[destinations]\n', "destinations.interface", "missing"),
        ('[destinations]\ninterface = "wlan 0"\n', "destinations.interface", "not a network interface"),
        ('[destinations]\ninterface = "wlan0"\nport = 1\n', "destinations.port", "unknown key"),
        ('traffic_source = "simulated"\n[destinations]\ninterface = "wlan0"\n', "destinations", "nftables"),
    ]:
        head, _, tail = text.rpartition("[destinations]")
        with pytest.raises(ConfigError) as caught:
            loads_config(head + SPEAKER + "[destinations]" + tail)
        assert caught.value.key == key and message in caught.value.problem
