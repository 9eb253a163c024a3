"""Pretend speakers for `--simulate`: each speaker's sense line (a MockFactory pin) follows what its driver does.

How it follows: every driver reports each change of its output to its output listeners, synchronously,
from the thread that made the change (`MuteDriver.add_output_listener`). A `SimulatedSpeaker` listens
there and drives the mock sense pin with `drive_high()` / `drive_low()` before the driver reads it back,
so no polling thread is needed and the mute shows as "confirmed" at once.

* relay / power: the speaker is muted while the output is off;
* button: the speaker is a toggle; every press (output switching on) flips it. It starts in whatever
  state its sense pin shows (a pulled-down pin reads "not muted"), so on start the engine presses
  once to bring it to the commanded state, just as it would with a real speaker.

Speakers without a sense line have nothing to follow and are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from gpiozero.pins.mock import MockPin

from device_bridge.mute.base import MuteDriver


class SimulatedSpeaker:
    """A speaker wired to one driver; its mute light is the driver's (mock) sense pin.

    Attributes:
        driver: the driver it is wired to.
        muted: whether the pretend speaker is muted now.
        ignore_presses: button speakers only: this many next presses do nothing (to simulate a flaky button).
    """

    def __init__(self, driver: MuteDriver) -> None:
        pin = driver.sense_pin
        if not isinstance(pin, MockPin):
            raise TypeError(f"speaker {driver.config.id!r}: simulation needs gpiozero MockFactory pins, not {pin!r}")
        self.driver = driver
        self._pin = pin
        self._lock = threading.Lock()
        self.ignore_presses = 0
        if driver.kind == "button":
            self.muted = self._shown()
        else:
            self.muted = not driver.output_active
        self._show()
        driver.add_output_listener(self._output_changed)

    def _shown(self) -> bool:
        return bool(self._pin.state) == self.driver.config.sense_active_high

    def _show(self) -> None:
        if self.muted == self.driver.config.sense_active_high:
            self._pin.drive_high()
        else:
            self._pin.drive_low()

    def _output_changed(self, active: bool) -> None:
        with self._lock:
            if self.driver.kind == "button":
                if not active:
                    return  # a press acts when the button goes down
                if self.ignore_presses > 0:
                    self.ignore_presses -= 1
                    return
                self.muted = not self.muted
            else:
                self.muted = not active
            self._show()

    def set_muted(self, muted: bool) -> None:
        """Change the speaker by hand (someone pressed its own button, or it rebooted unmuted)."""
        with self._lock:
            self.muted = muted
            self._show()

    def detach(self) -> None:
        self.driver.remove_output_listener(self._output_changed)


class SimulatedSpeakers:
    """The pretend speakers of one engine, by speaker id; `close()` detaches them."""

    def __init__(self, speakers: dict[str, SimulatedSpeaker]) -> None:
        self.speakers = speakers

    def __getitem__(self, speaker_id: str) -> SimulatedSpeaker:
        return self.speakers[speaker_id]

    def close(self) -> None:
        for speaker in self.speakers.values():
            speaker.detach()


def follow_outputs(engine_or_drivers, factory=None) -> SimulatedSpeakers:
    """Make every simulated speaker's sense pin follow its driver, so its mute shows as confirmed.

    `engine_or_drivers`: a BridgeEngine (its `drivers`), a mapping of speaker id to driver, or drivers.
    `factory`: accepted for symmetry with the caller's MockFactory; the pins are taken from the drivers.
    Call it after creating the engine and before `engine.start()`, so start-up is confirmed too.
    """
    del factory  # the drivers already hold their pins
    drivers = getattr(engine_or_drivers, "drivers", engine_or_drivers)
    if isinstance(drivers, Mapping):
        drivers = drivers.values()
    speakers = {}
    for driver in drivers if isinstance(drivers, Iterable) else ():
        if driver.has_sense and isinstance(getattr(driver, "sense_pin", None), MockPin):
            # Only drivers with a mock sense pin can be simulated (the network driver senses the kernel's rules).
            speakers[driver.config.id] = SimulatedSpeaker(driver)
    return SimulatedSpeakers(speakers)
