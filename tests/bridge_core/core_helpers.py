"""Shared pieces of the bridge core tests: the test wiring, local-time instants, a fake clock, engine builder."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gpiozero.pins.mock import MockFactory

from device_bridge.config import BridgeConfig, SpeakerConfig
from device_bridge.engine import BridgeEngine
from device_bridge.mute.simulated import SimulatedSpeakers, follow_outputs
from device_bridge.store import BridgeStore

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

# kitchen: relay + sense; bedroom: button + sense; office: power, no sense; den: button, no sense.
KITCHEN_PIN, KITCHEN_SENSE, KITCHEN_OVERRIDE = 17, 27, 5
BEDROOM_PIN, BEDROOM_SENSE = 22, 23
OFFICE_PIN = 24
DEN_PIN = 25

TEST_CONFIG = BridgeConfig(
    name="Test bridge",
    timezone="Europe/Berlin",
    speakers=(
        SpeakerConfig(id="kitchen", name="Kitchen", driver="relay", pin=KITCHEN_PIN, sense_pin=KITCHEN_SENSE,
                      override_pin=KITCHEN_OVERRIDE),
        SpeakerConfig(id="bedroom", name="Bedroom", driver="button", pin=BEDROOM_PIN, sense_pin=BEDROOM_SENSE,
                      pulse_ms=200),
        SpeakerConfig(id="office", name="Office", driver="power", pin=OFFICE_PIN),
        SpeakerConfig(id="den", name="Den", driver="button", pin=DEN_PIN),
    ),
)


def local(text: str, zone: ZoneInfo = BERLIN, fold: int = 0) -> float:
    """Epoch seconds of a local wall-clock time like "2026-03-29 02:30" in `zone`."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone, fold=fold).timestamp()


def utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("UTC")).timestamp()


class FakeClock:
    """A clock that moves only when told to; `sleep` moves it instead of waiting.

    Attributes:
        now: the current epoch seconds.
        slept: every duration passed to sleep(), in order.
    """

    def __init__(self, now: float) -> None:
        self._lock = threading.Lock()
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def set(self, now: float) -> None:
        with self._lock:
            self.now = now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


class Bridges:
    """Builds stores and engines on the shared pins and clock, and stops/closes them after the test."""

    def __init__(self, pin_factory: MockFactory, clock: FakeClock, store_path: Path) -> None:
        self.pin_factory = pin_factory
        self.clock = clock
        self.store_path = store_path
        self._engines: list[BridgeEngine] = []
        self.simulated: dict[BridgeEngine, SimulatedSpeakers] = {}
        self._stores: list[BridgeStore] = []

    def store(self) -> BridgeStore:
        store = BridgeStore(self.store_path, clock=self.clock)
        self._stores.append(store)
        return store

    def engine(self, config: BridgeConfig = TEST_CONFIG, *, start: bool = True, tick_interval_s: float = 3600.0,
               store: BridgeStore | None = None, simulate: bool = True, sleep=None) -> BridgeEngine:
        """An engine on a fresh store connection, started unless `start=False`.

        The tick thread is idle (1 h) unless asked: tests drive boundaries with `engine.tick()`.
        With `simulate`, the sense lines follow the outputs (`self.simulated[engine]`), so mutes confirm.
        """
        engine = BridgeEngine(
            config, store or self.store(), clock=self.clock, tick_interval_s=tick_interval_s,
            pin_factory=self.pin_factory, sleep=sleep or self.clock.sleep,
        )
        self._engines.append(engine)
        if simulate:
            self.simulated[engine] = follow_outputs(engine)
        if start:
            engine.start()
        return engine

    def restart(self, engine: BridgeEngine, **kwargs) -> BridgeEngine:
        """Stop `engine`, close its store, power-cycle the pins (fresh mock pins, all low), and start
        a new engine on the same store file."""
        engine.stop()
        engine.store.close()
        self.pin_factory.reset()
        return self.engine(engine.config, **kwargs)

    def pin(self, number: int):
        return self.pin_factory.pin(number)

    def levels(self) -> dict[str, bool]:
        """The output level of every test speaker's pin (relay/power: high = unmuted)."""
        return {name: bool(self.pin(pin).state) for name, pin in
                (("kitchen", KITCHEN_PIN), ("bedroom", BEDROOM_PIN), ("office", OFFICE_PIN), ("den", DEN_PIN))}

    def unmuted(self) -> set[str]:
        """Relay/power speakers whose relay is energised (unmuted): kitchen and office."""
        return {name for name, high in self.levels().items() if high and name in ("kitchen", "office")}

    def close(self) -> None:
        for engine in self._engines:
            engine.stop()
        for store in self._stores:
            store.close()
