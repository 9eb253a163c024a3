"""The network driver: mutes a speaker by dropping its traffic to the internet in the bridge's nftables table.

Muted = the speaker's drop rule is in the kernel (`NftTable.mute`); unmuted = it is not. The sense is the
kernel itself: after every change, and whenever the engine checks, the driver asks nft whether the rule
is there, so a firewall reload that wiped the table shows up as a mismatch alarm while muted.

What it does not do:

* Creating the driver changes nothing in the kernel: a drop rule left in place by the previous run (the
  bridge leaves the table alone at shutdown while a speaker is muted) stays until the engine applies the
  commanded state. So starting the bridge never unmutes a speaker.
* `close()` leaves the rule as it is, like the GPIO drivers leave their lines.
* Traffic to the local network (the bridge's own DNS and DHCP included) still flows: the speaker keeps
  its Wi-Fi and address, and only the internet is cut. Unlike the relay, this is not fail-closed: if the
  table is gone (reboot before the bridge starts, `nft flush ruleset`), the speaker is not blocked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from device_bridge.config import SpeakerConfig
from device_bridge.mute.base import Confirmation, MuteDriver
from device_bridge.mute.state import CONFIRMED, MISMATCH
from device_bridge.traffic.nft import NftError, NftTable, NftTableMissing

log = logging.getLogger(__name__)

# The engine checks every sense on each tick (0.2 s); each check of this one runs `nft`, so a reading
# is reused for this long. apply() always reads afresh.
SENSE_REUSE_S = 1.0


class NetworkDriver(MuteDriver):
    """Mutes by inserting an nftables drop rule for the speaker's internet-bound traffic; no GPIO at all.

    Attributes:
        config: the speaker's configuration (needs `mac` or `ip`).
        kind: "network".
        table: the bridge's NftTable (shared by every speaker; owned and installed by the bridge).
    """

    kind = "network"

    def __init__(
        self,
        config: SpeakerConfig,
        *,
        pin_factory=None,
        sleep: Callable[[float], None] = time.sleep,
        table: NftTable | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # No super().__init__(): that claims GPIO pins, and this driver has none.
        del pin_factory
        if table is None:
            raise ValueError(f"speaker {config.id!r}: the network driver needs the bridge's nftables table")
        if config.id not in table.speaker_ids:
            raise ValueError(f"speaker {config.id!r}: the network driver needs the speaker's mac or ip in the config")
        self.config = config
        self.table = table
        self._sleep = sleep
        self._monotonic = monotonic
        self._listeners = []
        self._listeners_lock = threading.Lock()
        self._output = None
        self._sense = None
        self._muted: bool | None = None  # what this driver last applied (None: nothing yet)
        self._sensed: tuple[float, bool | None] | None = None

    @property
    def has_sense(self) -> bool:
        return True

    @property
    def output_active(self) -> bool:
        """True while traffic flows (no drop rule), as a relay's output is active while unmuted."""
        if self._muted is not None:
            return not self._muted
        return not self.sensed_muted()

    @property
    def output_pin(self):
        return None

    @property
    def sense_pin(self):
        return None

    def sensed_muted(self) -> bool | None:
        """Whether the drop rule is in the kernel; None if nft cannot be asked (then: unconfirmed)."""
        now = self._monotonic()
        if self._sensed is not None and now - self._sensed[0] < SENSE_REUSE_S:
            return self._sensed[1]
        return self._read_sense(now)

    def _read_sense(self, now: float) -> bool | None:
        try:
            sensed: bool | None = self.table.is_muted(self.config.id)
        except NftError as error:
            log.warning("%s: cannot read the network mute: %s", self.config.name, error)
            sensed = None
        self._sensed = (now, sensed)
        return sensed

    def apply(self, muted: bool) -> Confirmation:
        try:
            if muted:
                try:
                    self.table.mute(self.config.id)
                except NftTableMissing:
                    # Gone since the bridge installed it (a firewall reload): put it back, then mute.
                    log.warning("%s: the nftables table was gone; installing it again", self.config.name)
                    self.table.install(muted=[self.config.id])
            else:
                self.table.unmute(self.config.id)
        except NftError as error:
            sensed = self._read_sense(self._monotonic())
            if sensed == muted:
                return Confirmation(CONFIRMED, sensed)
            action = "add" if muted else "remove"
            return Confirmation(MISMATCH, sensed, f"{self.config.name}: could not {action} its nftables drop rule: {error}")
        changed = self._muted != muted
        self._muted = muted
        if changed:
            with self._listeners_lock:
                listeners = list(self._listeners)
            for listener in listeners:
                listener(not muted)
        self._read_sense(self._monotonic())
        return self.check(muted)

    def mismatch_detail(self, muted: bool) -> str:
        if muted:
            return (f"{self.config.name}: commanded muted, but its nftables drop rule is not in the kernel "
                    "(was the firewall reloaded?)")
        return f"{self.config.name}: commanded unmuted, but its nftables drop rule is still in the kernel"

    def close(self) -> None:
        """Forget the listeners; the drop rule stays as it is. Idempotent."""
        with self._listeners_lock:
            self._listeners.clear()
