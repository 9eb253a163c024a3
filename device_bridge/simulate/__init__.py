"""The simulated home: speakers that advertise themselves over real mDNS on loopback.

Lets the desktop app and the tests discover a plausible home without any real
speaker, and without ever touching the user's LAN.
"""

from device_bridge.simulate.adverts import (
    SimService,
    SimSpeaker,
    default_adverts_path,
    load_adverts,
    parse_advert,
    synthetic_speakers,
)
from device_bridge.simulate.home import SimulatedHome

__all__ = [
    "SimService",
    "SimSpeaker",
    "SimulatedHome",
    "default_adverts_path",
    "load_adverts",
    "parse_advert",
    "synthetic_speakers",
]
