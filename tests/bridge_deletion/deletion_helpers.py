"""Shared pieces of the voice deletion tests: a tick clock, an engine rig whose runner drives time itself, and
real HTTPS bridges measuring simulated speakers.

Time never passes by itself. A run waits through its `sleep` hook; the hook here moves the clock 0.1 s at a
time and lets the traffic sampler take each step, so a 20-second watch is 200 quick steps, the simulated
speaker's answer is measured on the way, and a test can act at any phase of a run (`Rig.at`).
"""

from __future__ import annotations

import sys
import threading
import time
import wave
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bridge_api"))

from bridge_helpers import Client, EventStream, pair  # noqa: E402
from gpiozero.pins.mock import MockFactory  # noqa: E402

from device_bridge.config import BridgeConfig, SpeakerConfig  # noqa: E402
from device_bridge.deletion import DeletionRunner, SimulatedPlayer  # noqa: E402
from device_bridge.engine import BridgeEngine  # noqa: E402
from device_bridge.mute.simulated import follow_outputs  # noqa: E402
from device_bridge.service import BridgeService  # noqa: E402
from device_bridge.store import BridgeStore  # noqa: E402
from device_bridge.traffic.simulated import QUIET_BEHAVIOUR, SimulatedTrafficSource  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
KITCHEN_PIN, KITCHEN_SENSE = 17, 27
BEDROOM_PIN, BEDROOM_SENSE = 22, 23
ALEXA = "Alexa, delete everything I said today"

CONFIG = BridgeConfig(
    name="Deletion test bridge",
    timezone="Europe/Berlin",
    listen="127.0.0.1",
    speakers=(
        SpeakerConfig(id="kitchen", name="Kitchen Echo", driver="relay", pin=KITCHEN_PIN, sense_pin=KITCHEN_SENSE,
                      settle_ms=0, mac="68:db:f5:90:19:64"),
        SpeakerConfig(id="bedroom", name="Bedroom Nest", driver="relay", pin=BEDROOM_PIN, sense_pin=BEDROOM_SENSE,
                      settle_ms=0, ip="192.168.4.21"),
    ),
    traffic_source="simulated",
)


def local(text: str, zone: ZoneInfo = BERLIN, fold: int = 0) -> float:
    """Epoch seconds of a wall time like "2026-03-29 02:30" in `zone`."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone, fold=fold).timestamp()


class TickClock:
    """A clock that moves only when told to, in whole 0.1-s ticks (no float drift); epoch and monotonic both."""

    def __init__(self, start: float | None = None) -> None:
        self._start = float(int(time.time())) if start is None else start
        self._ticks = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._start + self._ticks / 10

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._ticks += round(seconds * 10)
            return self._start + self._ticks / 10

    def set(self, when: float) -> None:
        with self._lock:
            self._ticks = round((when - self._start) * 10)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)


class Steps:
    """The `sleep` hook of a run: each call moves the clock in 0.1-s ticks, lets the sampler sample, notes
    the run's phase and the pins, and fires the actions a test set for a phase (`at`)."""

    def __init__(self, clock: TickClock, sampler: Callable[[], Any], phase_of: Callable[[], Any],
                 pins: Callable[[], dict[str, bool]]) -> None:
        self.clock = clock
        self._sample = sampler
        self._phase_of = phase_of
        self._pins = pins
        self._actions: list[tuple[Callable[[Any], bool], Callable[[], Any]]] = []
        self.seen: list[tuple[str | None, dict[str, bool]]] = []  # (phase, pin levels) at every step

    def at(self, phase: str, action: Callable[[], Any], *, when: Callable[[Any], bool] | None = None) -> None:
        """Do `action` once, at the first step where the run is in `phase` (and `when(run)` holds)."""
        self._actions.append((lambda run: run is not None and run.phase == phase and (when is None or when(run)),
                              action))

    def __call__(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds * 10))):
            self.clock.advance(0.1)
            self._sample()
            run = self._phase_of()
            self.seen.append((run.phase if run is not None else None, self._pins()))
            for entry in list(self._actions):
                matches, action = entry
                if matches(run):
                    self._actions.remove(entry)
                    action()

    def phases_with(self, speaker_pin: str, high: bool) -> set[str | None]:
        return {phase for phase, pins in self.seen if pins[speaker_pin] is high}


class Rig:
    """An engine on MockFactory pins measuring simulated speakers (sense lines follow the outputs), with a
    DeletionRunner and a SimulatedPlayer that wait through `steps`. Without `thread`, runs happen on the test's
    thread inside `runner.tick()`.

    Attributes:
        clock, store, source, engine, player, runner, steps, data_dir: the parts.
    """

    def __init__(self, store_path: Path, data_dir: Path, pin_factory: MockFactory, clock: TickClock, *,
                 config: BridgeConfig = CONFIG, unmuted: tuple[str, ...] = (), ignored: tuple[str, ...] = (),
                 player: Any = None, traffic: bool = True, start: bool = True,
                 monitor_options: dict[str, Any] | None = None, measured: tuple[str, ...] | None = None,
                 **runner_options: Any) -> None:
        self.clock = clock
        self.config = config
        self.data_dir = data_dir
        self.pin_factory = pin_factory
        self.store = BridgeStore(store_path, clock=clock)
        reported = [s for s in config.speakers if measured is None or s.id in measured]
        self.source = SimulatedTrafficSource(reported, clock=clock, seed=3, behaviour=QUIET_BEHAVIOUR)
        monitor = {"monotonic": clock, "sample_thread": False, **(monitor_options or {})}
        options = {"traffic_source": self.source, "traffic_options": monitor} if traffic else {}
        self.engine = BridgeEngine(config, self.store, clock=clock, tick_interval_s=3600.0, pin_factory=pin_factory,
                                   sleep=clock.sleep, **options)
        self._simulated = follow_outputs(self.engine)
        engine = self.engine
        self.source.follow(lambda speaker_id: engine.state(speaker_id).muted)
        self.engine.start()
        for speaker_id in unmuted:
            self.engine.set_mute(speaker_id, False, reason="test", requested_by="test")
        self.sample()  # the sampler's baseline reading
        self.steps = Steps(clock, self.sample, self._active, self.pins)
        self.player = player if player is not None else SimulatedPlayer(
            self.source, ignored=ignored, clock=clock, sleep=self.steps)
        runner_options = {"thread": False, "sleep": self.steps, "monotonic": clock, **runner_options}
        self.runner = DeletionRunner(self.engine, self.store, data_dir=data_dir, player=self.player, clock=clock,
                                     **runner_options)
        if start:
            self.runner.start()

    def _active(self):
        return self.runner.active()

    def sample(self) -> None:
        if self.engine.monitor is not None:
            self.engine.monitor.sampler.tick()

    def run(self, seconds: float) -> None:
        """Let `seconds` pass with no run going, sampling every 0.1 s."""
        for _ in range(round(seconds * 10)):
            self.clock.advance(0.1)
            self.sample()

    def pins(self) -> dict[str, bool]:
        """Relay levels: True = energised = the speaker's microphone connected (unmuted)."""
        return {"kitchen": bool(self.pin_factory.pin(KITCHEN_PIN).state),
                "bedroom": bool(self.pin_factory.pin(BEDROOM_PIN).state)}

    def run_now(self, speaker_id: str = "kitchen", **fields: Any) -> dict:
        """Ask for a run now, let it happen (on this thread), and return it as the API shows it."""
        request = {"speaker_id": speaker_id, "vendor": "amazon", "phrase": ALEXA, **fields}
        queued = self.runner.run_now(request)
        self.runner.tick()
        return self.run_record(queued["id"])

    def run_record(self, run_id: int) -> dict:
        return next(r for r in self.runner.runs() if r["id"] == run_id)

    def events(self, type_: str) -> list:
        return [e for e in self.engine.events.since(0) if e.type == type_]

    def activation(self, activation_id: int):
        return next(a for a in self.store.activations(limit=10000) if a.id == activation_id)

    def close(self) -> None:
        self.runner.stop()
        self.engine.stop()
        self._simulated.close()
        self.store.close()


def write_wav(path: Path, seconds: float, *, amplitude: float = 0.3, rate: int = 16000, width: int = 2,
              channels: int = 1) -> Path:
    """A tone (or silence, amplitude 0) as a PCM WAV file."""
    t = np.arange(int(seconds * rate)) / rate
    signal = amplitude * np.sin(2 * np.pi * 440 * t)
    signal = np.repeat(signal[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        data = (signal * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        values = (signal * (2 ** 23 - 1)).astype(np.int32)
        data = b"".join(int(v).to_bytes(3, "little", signed=True) for v in values)
    else:
        data = (signal * (2 ** (8 * width - 1) - 1)).astype(f"<i{width}").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(data)
    return path


class ServedBridge:
    """A BridgeService on 127.0.0.1 measuring simulated speakers on the tick clock, whose deletion runner drives
    the clock through `steps` on its own thread; plus a paired client.

    Attributes:
        clock, source, service, player, steps, client: the parts.
    """

    def __init__(self, data_dir: Path, pin_factory: MockFactory, clock: TickClock, *, ignored: tuple[str, ...] = (),
                 config: BridgeConfig = CONFIG) -> None:
        self.clock = clock
        self.pin_factory = pin_factory
        self.source = SimulatedTrafficSource(config.speakers, clock=clock, seed=5, behaviour=QUIET_BEHAVIOUR)
        self.service: BridgeService | None = None
        self.steps = Steps(clock, self._sample, self._active, self.pins)
        self.player = SimulatedPlayer(self.source, ignored=ignored, clock=clock, sleep=self.steps)
        self.service = BridgeService(
            config, data_dir, port=0, clock=clock, advertise=False, simulate_speakers=True, tick_interval_s=3600.0,
            traffic_source=self.source, traffic_options={"monotonic": clock, "sample_thread": False},
            player=self.player, deletion_options={"sleep": self.steps, "monotonic": clock, "tick_interval_s": 0.05},
        )
        self.service.start()
        self.clients: list[Client] = []
        self.streams: list[EventStream] = []
        self.client = self.connect(pair(self.connect(), self.service)["token"])
        self._sample()

    def _sample(self) -> None:
        if self.service is not None and self.service.engine is not None:
            self.service.engine.monitor.sampler.tick()

    def _active(self):
        return self.service.deletions.active() if self.service is not None and self.service.deletions else None

    def pins(self) -> dict[str, bool]:
        return {"kitchen": bool(self.pin_factory.pin(KITCHEN_PIN).state),
                "bedroom": bool(self.pin_factory.pin(BEDROOM_PIN).state)}

    def connect(self, token: str | None = None) -> Client:
        assert self.service is not None
        client = Client(self.service.url, self.service.fingerprint, token)
        self.clients.append(client)
        return client

    def stream(self, **params: Any) -> EventStream:
        stream = EventStream(self.client, **params)
        self.streams.append(stream)
        return stream

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        if self.service is not None:
            self.service.stop()
        for client in self.clients:
            client.close()
