"""The power driver: a relay in the speaker's power supply; muted = unpowered.

Wired through the relay's normally-open contact like the relay driver, so an unpowered bridge leaves
the speaker off. A sense line here is typically the speaker's own light; give it a `settle_ms` long
enough for the speaker to boot when unmuting.
"""

from __future__ import annotations

from device_bridge.mute.relay import RelayDriver


class PowerDriver(RelayDriver):
    """Mutes by cutting the speaker's power (output OFF = unpowered = muted)."""

    kind = "power"
