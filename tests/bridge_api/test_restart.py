"""A restarted bridge keeps its identity, tokens, states and schedules, and sets the pins before it serves."""

from __future__ import annotations

import socket

import pytest
from bridge_helpers import KITCHEN_PIN, LIVING_PIN, RecordingPin, bridge_config, pair, pin
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from device_bridge import service as service_module
from device_bridge.service import PortInUse


def test_restart_keeps_everything_and_restores_pins_before_serving(start_bridge, connect, monkeypatch):
    config = bridge_config()
    first = start_bridge(config)
    token = pair(connect(first), first)["token"]
    api = connect(first, token)
    api.put("/v1/speakers/kitchen/mute", json={"muted": False, "reason": "dinner"})
    api.put("/v1/speakers/living-room/mute", json={"muted": False})
    night = api.post("/v1/schedules", json={"speaker_id": "bedroom", "kind": "weekly", "days": [5, 6],
                                             "start": "23:00", "end": "08:00", "label": "Weekend"}).json()
    identity = (first.bridge_id, first.fingerprint)
    first.stop()

    # A reboot: the pins start from scratch (released: the relays mute).
    Device.pin_factory.reset()
    fresh = MockFactory(pin_class=RecordingPin)
    Device.pin_factory = fresh
    assert pin(fresh, KITCHEN_PIN).state is False

    seen_when_serving: dict[int, bool] = {}
    original_startup = service_module._Server.startup

    async def startup(self, sockets=None):
        seen_when_serving.update({n: pin(fresh, n).state for n in (KITCHEN_PIN, LIVING_PIN)})
        await original_startup(self, sockets)

    monkeypatch.setattr(service_module._Server, "startup", startup)
    second = start_bridge(config)
    assert seen_when_serving == {KITCHEN_PIN: True, LIVING_PIN: True}  # unmuted before the first connection

    assert (second.bridge_id, second.fingerprint) == identity
    api = connect(second, token)  # same token, same pinned certificate
    kitchen = api.get("/v1/speakers/kitchen").json()
    assert (kitchen["muted"], kitchen["reason"], kitchen["requested_by"]) == (False, "dinner", "Anna's laptop")
    assert api.get("/v1/schedules").json() == [night]
    assert [t["client_name"] for t in api.get("/v1/tokens").json()] == ["Anna's laptop"]
    second.stop()
    fresh.reset()


def test_a_port_in_use_is_refused_before_any_pin_is_touched(start_bridge, pins):
    first = start_bridge()
    config = bridge_config(port=first.port)
    other = service_module.BridgeService(config, first.data_dir.parent / "other", port=first.port, advertise=False)
    with pytest.raises(PortInUse, match="already in use"):
        other.start()
    other.stop()


def test_the_listening_socket_says_tcp(bridge):
    # asyncio sets TCP_NODELAY only on sockets whose proto is TCP; with proto 0 every response waited
    # ~40 ms for a delayed ACK (Nagle). The socket is made by the service, so check it there.
    assert bridge._socket.proto == socket.IPPROTO_TCP
