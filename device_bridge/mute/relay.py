"""The relay driver: a relay whose normally-open contact carries the speaker's microphone line (or mute circuit).

Output ON (relay energised, contact closed) = unmuted; OFF = muted. A bridge that is unpowered,
crashed or not started yet leaves the relay released, so the speaker stays muted.
"""

from __future__ import annotations

from device_bridge.mute.base import Confirmation, MuteDriver
from device_bridge.mute.state import UNCONFIRMED


class RelayDriver(MuteDriver):
    """Mutes by releasing a relay. With a sense line: confirmed, or mismatch once `settle_ms` has passed."""

    kind = "relay"

    def apply(self, muted: bool) -> Confirmation:
        changed = self._set_output(not muted)
        if not self.has_sense:
            return Confirmation(UNCONFIRMED, None)
        if changed:
            self._settle()
            return self.check(muted)
        # Nothing switched: if the sense line disagrees it may still be settling from an earlier change.
        result = self.check(muted)
        if result.status == "mismatch":
            self._settle()
            result = self.check(muted)
        return result
