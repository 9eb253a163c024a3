"""Mute drivers: how the bridge mutes a speaker through GPIO (gpiozero only), and whether it can tell it worked."""

from __future__ import annotations

import time
from collections.abc import Callable

from device_bridge.config import SpeakerConfig
from device_bridge.mute.base import Confirmation, MuteDriver
from device_bridge.mute.button import ButtonDriver
from device_bridge.mute.network import NetworkDriver
from device_bridge.mute.power import PowerDriver
from device_bridge.mute.relay import RelayDriver
from device_bridge.mute.state import CONFIRMED, MISMATCH, UNCONFIRMED, MuteState, WindowMemory

DRIVER_CLASSES: dict[str, type[MuteDriver]] = {
    "relay": RelayDriver,
    "button": ButtonDriver,
    "power": PowerDriver,
    "network": NetworkDriver,
}


def create_driver(
    config: SpeakerConfig, *, pin_factory=None, sleep: Callable[[float], None] = time.sleep, table=None
) -> MuteDriver:
    """The driver `config.driver` names, on `pin_factory` (None: gpiozero's default, chosen on first use);
    the "network" driver works on `table`, the bridge's NftTable."""
    try:
        cls = DRIVER_CLASSES[config.driver]
    except KeyError:
        raise ValueError(f"speaker {config.id!r}: no driver called {config.driver!r}") from None
    if cls is NetworkDriver:
        return NetworkDriver(config, pin_factory=pin_factory, sleep=sleep, table=table)
    return cls(config, pin_factory=pin_factory, sleep=sleep)


__all__ = [
    "CONFIRMED", "MISMATCH", "UNCONFIRMED", "ButtonDriver", "Confirmation", "DRIVER_CLASSES", "MuteDriver",
    "MuteState", "NetworkDriver", "PowerDriver", "RelayDriver", "WindowMemory", "create_driver",
]
