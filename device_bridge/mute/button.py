"""The button driver: an opto-coupler across the speaker's own mute button, pulsed for `pulse_ms`.

The speaker's button is a toggle, so the driver must know the speaker's state before pressing it.
With a sense line it presses only when the sense line disagrees with the wanted state, reads again
after `settle_ms`, presses once more if it still disagrees, and otherwise reports a mismatch.
Without a sense line it can only count: it presses when the commanded state changes and reports
"unconfirmed"; the first command after start is taken as the speaker's current state (no press),
since pressing blindly would toggle a speaker whose state nobody knows.
"""

from __future__ import annotations

from device_bridge.mute.base import Confirmation, MuteDriver
from device_bridge.mute.state import CONFIRMED, MISMATCH, UNCONFIRMED

PRESSES = 2  # the first press, and one retry


class ButtonDriver(MuteDriver):
    """Mutes by pressing the speaker's mute button through an opto-coupler (output ON = pressing)."""

    kind = "button"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._assumed: bool | None = None
        self.presses = 0  # total pulses sent, for diagnostics and tests

    def apply(self, muted: bool) -> Confirmation:
        if not self.has_sense:
            if self._assumed is not None and self._assumed != muted:
                self._pulse()
            self._assumed = muted
            return Confirmation(UNCONFIRMED, None)
        sensed = self.sensed_muted()
        if sensed == muted:
            return Confirmation(CONFIRMED, sensed)
        for attempt in range(PRESSES):
            self._pulse()
            self._settle()
            sensed = self.sensed_muted()
            if sensed == muted:
                detail = "" if attempt == 0 else f"{self.config.name}: the first press did not take; the second did"
                return Confirmation(CONFIRMED, sensed, detail)
        return Confirmation(
            MISMATCH, sensed, f"{self.mismatch_detail(muted)} (pressed its button {PRESSES} times)"
        )

    def _pulse(self) -> None:
        self.presses += 1
        self._set_output(True)
        try:
            self._sleep(self.config.pulse_ms / 1000)
        finally:
            self._set_output(False)
