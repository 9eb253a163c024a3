"""What every mute driver shares: one output pin, an optional sense input, and how confirmation is judged.

Fail-closed: the output is created switched OFF (`initial_value=False`), so merely starting the bridge
never unmutes anything. For the relay and power drivers OFF is muted (the microphone line or the power
runs through the relay's normally-open contact); for the button driver OFF is "not pressing".

The sense input is active while the speaker is muted. It gets the internal pull resistor that makes a
disconnected sense wire read "not muted" (pull-down for an active-high sense, pull-up for active-low):
a broken sense wire then shows up as a mismatch alarm while muted, never as a false confirmation.

Waits (pulse length, settle time) go through the injected `sleep`, so tests pass a fake one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gpiozero import DigitalInputDevice, DigitalOutputDevice

from device_bridge.config import SpeakerConfig
from device_bridge.mute.state import CONFIRMED, MISMATCH, UNCONFIRMED

log = logging.getLogger(__name__)

OutputListener = Callable[[bool], None]


@dataclass(frozen=True)
class Confirmation:
    """How a driver's action turned out.

    Attributes:
        status: "confirmed", "unconfirmed" (no sense line) or "mismatch".
        sensed_muted: what the sense line said last (None without one).
        detail: a plain sentence for an alarm or the log ("" when there is nothing to say).
    """

    status: str
    sensed_muted: bool | None
    detail: str = ""


class MuteDriver:
    """Drives one speaker's mute through gpiozero; subclasses decide what "muted" means on the output.

    Not thread-safe on its own: the engine calls a driver from one thread at a time (per-speaker lock).

    Attributes:
        config: the speaker's configuration.
        kind: "relay", "button" or "power".
    """

    kind = ""

    def __init__(self, config: SpeakerConfig, *, pin_factory=None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._listeners: list[OutputListener] = []
        self._listeners_lock = threading.Lock()
        self._output: DigitalOutputDevice | None = None
        self._sense: DigitalInputDevice | None = None
        try:
            # pin_factory=None lets gpiozero pick its default factory, lazily, on first use.
            self._output = DigitalOutputDevice(
                config.pin, active_high=config.active_high, initial_value=False, pin_factory=pin_factory
            )
            if config.sense_pin is not None:
                self._sense = DigitalInputDevice(
                    config.sense_pin, pull_up=not config.sense_active_high, pin_factory=pin_factory
                )
        except BaseException:
            self.close()
            raise

    @property
    def has_sense(self) -> bool:
        return self.config.sense_pin is not None

    @property
    def output_active(self) -> bool:
        """True while the output is switched on (relay energised / opto-coupler pressing)."""
        assert self._output is not None
        return bool(self._output.value)

    @property
    def output_pin(self):
        """The gpiozero pin object of the output (tests and the simulation look at it)."""
        assert self._output is not None
        return self._output.pin

    @property
    def sense_pin(self):
        """The gpiozero pin object of the sense input, or None."""
        return self._sense.pin if self._sense is not None else None

    def sensed_muted(self) -> bool | None:
        """What the sense line says right now (None without one)."""
        if self._sense is None:
            return None
        return bool(self._sense.is_active)

    def apply(self, muted: bool) -> Confirmation:
        """Drive the speaker to `muted`, wait as the driver needs, and judge the result. May block (settle)."""
        raise NotImplementedError

    def check(self, muted: bool) -> Confirmation:
        """Judge the sense line against `muted` now, without acting or waiting."""
        sensed = self.sensed_muted()
        if sensed is None:
            return Confirmation(UNCONFIRMED, None)
        if sensed == muted:
            return Confirmation(CONFIRMED, sensed)
        return Confirmation(MISMATCH, sensed, self.mismatch_detail(muted))

    def mismatch_detail(self, muted: bool) -> str:
        """The alarm sentence for a sense line that disagrees with `muted`."""
        wanted, seen = ("muted", "not muted") if muted else ("unmuted", "muted")
        return f"{self.config.name}: commanded {wanted}, but its sense line says {seen}"

    def _settle(self) -> None:
        if self.config.settle_ms:
            self._sleep(self.config.settle_ms / 1000)

    def _set_output(self, active: bool) -> bool:
        """Switch the output; True if that changed it. Output listeners hear about every change."""
        assert self._output is not None
        if bool(self._output.value) == active:
            return False
        self._output.value = active
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(active)
        return True

    def add_output_listener(self, listener: OutputListener) -> None:
        """Call `listener(active)` right after every output change (the simulation's pretend speaker uses it)."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_output_listener(self, listener: OutputListener) -> None:
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def close(self) -> None:
        """Release the pins, leaving the lines as they are. Idempotent."""
        for device in (self._sense, self._output):
            if device is not None:
                device.close()
        with self._listeners_lock:
            self._listeners.clear()

    def __enter__(self) -> MuteDriver:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
