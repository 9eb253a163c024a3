"""Metering a real microphone with sounddevice (PortAudio), off the audio thread, never crashing its caller.

    PortAudio's thread --callback: copy indata into the SampleRing, nothing else-->
    the meter's worker thread (every 0.1 s) --drain--> AudioProcessor --> on_reading([LevelReading, ...])

The worker also owns the stream's life: it finds the device, opens it at 16 kHz mono (or at the rate and
channel count the device offers, converted by the processor), notices when the device goes away (the
stream finishes by itself, or no samples arrive for LOST_AFTER_S) and keeps trying again with a growing
pause. Every state change goes to on_status as a MicStatus whose message can be shown as it is.

sounddevice is imported by `load_sounddevice`, only when a meter starts or devices are listed: importing
it raises OSError when the PortAudio library is missing, and that must be a status, not a crash at start.
Audio never leaves the process: only levels and speech flags come out of the processor.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from app.audio.processing import SAMPLE_RATE, AudioProcessor, LevelReading
from app.audio.ring import SampleRing

log = logging.getLogger(__name__)

RING_SECONDS = 4.0
# The worker wakes every POLL_S and PortAudio calls back every BLOCK_S: each wake-up costs far more than the
# work on 0.1 s of audio (benches/mic_pipeline.py: at 50 ms the meter took 0.8 % of a core, at 100 ms 0.4 %).
POLL_S = 0.1
BLOCK_S = 0.1
LOST_AFTER_S = 2.0
FIRST_SAMPLES_WITHIN_S = 5.0
# Pauses between attempts to open a microphone, in seconds; the last one repeats.
RETRY_S: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
_JOIN_TIMEOUT_S = 5.0
# PortAudio lists devices once, when it is initialized: a microphone plugged in later is only seen after
# re-initializing it, which would also end every open stream. So that happens only while none is open.
_portaudio_lock = threading.Lock()
_open_streams = 0


class MicState(enum.Enum):
    """Where a microphone meter stands."""

    OFF = "off"
    STARTING = "starting"
    RUNNING = "running"
    NO_DEVICE = "no_device"
    DEVICE_LOST = "device_lost"
    PORTAUDIO_MISSING = "portaudio_missing"
    ERROR = "error"


@dataclass(frozen=True)
class MicStatus:
    """A meter's state and what to tell the user about it.

    Attributes:
        state: the MicState.
        message: plain words for the user ("No microphone found. ...").
    """

    state: MicState
    message: str


@dataclass(frozen=True)
class InputDevice:
    """A microphone (an input device) PortAudio offers.

    Attributes:
        name: the device's name, as the meter's `device` argument takes it.
        is_default: the system's default input.
    """

    name: str
    is_default: bool


class PortAudioMissing(Exception):
    """Importing sounddevice failed because the PortAudio library is not there."""


class NoInputDevice(Exception):
    """The wanted microphone (or any microphone) is not there; str() is the message for the user."""


def load_sounddevice() -> ModuleType:
    """The sounddevice module. Raises OSError when PortAudio is missing, ImportError without sounddevice."""
    import sounddevice

    return sounddevice


def list_input_devices(*, audio_api: Callable[[], Any] = load_sounddevice, refresh: bool = False) -> list[InputDevice]:
    """The microphones of the default host API (ALSA, WASAPI, Core Audio), default first. Never raises:
    without PortAudio, or on any PortAudio error, the list is empty.

    `refresh`: ask PortAudio to look again (to see a microphone plugged in after start); this takes some
    tenths of a second, and is skipped while a meter has a stream open.
    """
    try:
        sd = audio_api()
        if refresh:
            _refresh_devices(sd)
        with _portaudio_lock:  # not while a meter re-initializes PortAudio
            inputs, default = _inputs(sd)
    except Exception as error:  # noqa: BLE001 - a missing library or a PortAudio error: no devices
        log.info("No input devices to list: %s", error)
        return []
    devices = [InputDevice(name=d["name"], is_default=d["index"] == default) for d in inputs]
    return sorted(devices, key=lambda d: not d.is_default)


def _inputs(sd: Any) -> tuple[list[dict], int | None]:
    """(the input devices of the default host API with unique names, the default input's index or None)."""
    devices = [dict(d, index=i) for i, d in enumerate(sd.query_devices())]
    default = sd.default.device[0]
    default = default if isinstance(default, int) and 0 <= default < len(devices) else None
    hostapi = devices[default]["hostapi"] if default is not None else _default_hostapi(sd)
    inputs, seen = [], set()
    for device in devices:
        if device["max_input_channels"] <= 0 or device["name"] in seen:
            continue
        if hostapi is not None and device.get("hostapi", hostapi) != hostapi:
            continue  # Windows lists each microphone once per host API (MME, DirectSound, WASAPI)
        seen.add(device["name"])
        inputs.append(device)
    return inputs, default


def _default_hostapi(sd: Any) -> int | None:
    try:
        hostapi = sd.default.hostapi
    except Exception:  # noqa: BLE001 - PortAudio without a default host API
        return None
    return hostapi if isinstance(hostapi, int) and hostapi >= 0 else None


def _refresh_devices(sd: Any) -> None:
    # WORKAROUND: PortAudio enumerates devices only in Pa_Initialize; sounddevice exposes no public way to
    # enumerate again, so its private _terminate/_initialize pair is used, and only with no stream open.
    terminate, initialize = getattr(sd, "_terminate", None), getattr(sd, "_initialize", None)
    if terminate is None or initialize is None:
        return
    with _portaudio_lock:
        if _open_streams == 0:
            terminate()
            initialize()


def find_input(sd: Any, name: str) -> dict:
    """The device dict (with "index") of the microphone called `name` (exactly, else the only one whose name
    contains it, case ignored), or of the default input for "". Raises NoInputDevice."""
    inputs, default = _inputs(sd)
    if not inputs:
        raise NoInputDevice("No microphone found. Plug one in: Earmuff keeps looking.")
    if not name:
        return next((d for d in inputs if d["index"] == default), inputs[0])
    for device in inputs:
        if device["name"] == name:
            return device
    matches = [d for d in inputs if name.lower() in d["name"].lower()]
    if len(matches) == 1:
        return matches[0]
    raise NoInputDevice(f"The microphone \u201c{name}\u201d is not connected. Earmuff keeps looking for it; "
                        "or choose another one.")


def _settings(sd: Any, device: dict) -> tuple[int, int]:
    """(sample rate, channels) to open `device` with: 16 kHz mono if it can, else what it offers."""
    channels = [1] + ([min(2, device["max_input_channels"])] if device["max_input_channels"] > 1 else [])
    rates = [SAMPLE_RATE] + [r for r in (int(device.get("default_samplerate") or 0), 48000, 44100)
                             if r > 0 and r != SAMPLE_RATE]
    last_error: Exception | None = None
    for rate in dict.fromkeys(rates):
        for count in channels:
            try:
                sd.check_input_settings(device=device["index"], channels=count, dtype="int16", samplerate=rate)
            except Exception as error:  # noqa: BLE001 - PortAudioError or ValueError: try the next one
                last_error = error
                continue
            return rate, count
    raise RuntimeError(f"it records in no format Earmuff can read ({last_error})")


class MicrophoneMeter:
    """Meters one microphone on a worker thread; `start()` and `stop()` never raise.

    Callbacks run on the worker thread (never under a lock of the meter): `on_reading(readings)` about
    every 0.1 s with the LevelReadings since the last call, `on_status(status)` when the state changes.

    Attributes:
        device: the microphone's name ("" for the default input).
        status: the latest MicStatus.
        dropped: samples lost because the worker fell behind (the readings skip them).
    """

    def __init__(
        self,
        device: str = "",
        *,
        on_reading: Callable[[list[LevelReading]], None],
        on_status: Callable[[MicStatus], None],
        audio_api: Callable[[], Any] = load_sounddevice,
        clock: Callable[[], float] = time.time,
        retry_s: Sequence[float] = RETRY_S,
        lost_after_s: float = LOST_AFTER_S,
    ) -> None:
        """`audio_api()` returns the sounddevice module (tests pass something with its interface); `clock`
        stamps the readings (epoch seconds)."""
        self.device = device
        self._on_reading = on_reading
        self._on_status = on_status
        self._audio_api = audio_api
        self._clock = clock
        self._retry_s = tuple(retry_s) or RETRY_S
        self._lost_after_s = lost_after_s
        self._stop = threading.Event()
        self._finished = threading.Event()  # the stream ended without being asked to
        self._thread: threading.Thread | None = None
        self._stream: Any = None
        self._ring = SampleRing(int(RING_SECONDS * SAMPLE_RATE))
        self._ring_channels = 1
        self.status = MicStatus(MicState.OFF, "The microphone is off.")

    @property
    def dropped(self) -> int:
        return self._ring.dropped

    def start(self) -> None:
        """Start metering in the background (status STARTING, then RUNNING or why not). Once only: a meter
        that was started or stopped before does nothing."""
        if self._thread is not None or self._stop.is_set():
            return
        self.status = MicStatus(MicState.STARTING, "Starting the microphone\u2026")
        self._thread = threading.Thread(target=self._run, name="earmuff-mic-meter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the stream and join the worker (its last status is OFF). Idempotent; final."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.error("The microphone meter did not stop within %.0f s", _JOIN_TIMEOUT_S)

    # --- PortAudio's thread ----------------------------------------------------------------------------

    def callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """The stream's callback: copy the first channel into the ring. Nothing else happens here."""
        self._ring.write(indata[:, 0] if self._ring_channels > 1 else indata.reshape(-1))

    def _stream_finished(self) -> None:
        self._finished.set()

    # --- the worker ------------------------------------------------------------------------------------

    def _run(self) -> None:
        attempt = 0
        lost = False  # the device went away and has not come back: its absence stays "lost", not "none"
        try:
            while not self._stop.is_set():
                try:
                    processor = self._open(refresh=attempt > 0)
                except Exception as error:  # noqa: BLE001 - every failure becomes a status; try again later
                    self._close()
                    if not (lost and isinstance(error, NoInputDevice)):
                        self._set_status(*_failure(error, self.device))
                else:
                    lost = self._pump(processor)
                    self._close()
                    if not lost:
                        break
                    self._set_status(MicState.DEVICE_LOST, _lost_message(self.device))
                    attempt = 0
                pause = self._retry_s[min(attempt, len(self._retry_s) - 1)]
                attempt += 1
                if self._stop.wait(pause):
                    break
        finally:
            self._close()
            self._set_status(MicState.OFF, "The microphone is off.")

    def _open(self, *, refresh: bool) -> AudioProcessor:
        global _open_streams
        try:
            sd = self._audio_api()
        except OSError as error:
            raise PortAudioMissing(str(error)) from error
        if refresh:
            _refresh_devices(sd)
        with _portaudio_lock:
            device = find_input(sd, self.device)
            rate, channels = _settings(sd, device)
        self._finished.clear()
        self._ring_channels = channels
        self._ring.read()  # forget what an earlier stream left
        stream = sd.InputStream(device=device["index"], channels=channels, samplerate=rate, dtype="int16",
                                blocksize=int(rate * BLOCK_S), latency="high", callback=self.callback,
                                finished_callback=self._stream_finished)
        with _portaudio_lock:
            _open_streams += 1
        self._stream = stream
        stream.start()
        log.info("Metering the microphone %r at %d Hz, %d channel(s)", device["name"], rate, channels)
        self._set_status(MicState.RUNNING, f"Listening to \u201c{device['name']}\u201d (levels only; "
                                           "no sound is kept).")
        return AudioProcessor(rate)

    def _pump(self, processor: AudioProcessor) -> bool:
        """Turn samples into readings until stop() (False) or the device is gone (True)."""
        # Some systems (PulseAudio) deliver the first samples only a second or two after the start.
        deadline = time.monotonic() + max(self._lost_after_s, FIRST_SAMPLES_WITHIN_S)
        while not self._stop.wait(POLL_S):
            samples = self._ring.read()
            now = time.monotonic()
            if len(samples):
                deadline = now + self._lost_after_s
                readings = processor.feed(samples, end_time=self._clock())
                if readings:
                    self._deliver(readings)
            if self._finished.is_set() or now > deadline:
                return True
        return False

    def _close(self) -> None:
        global _open_streams
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.close(ignore_errors=True)
        except Exception:  # noqa: BLE001 - a device that is gone may fail to close; it is closed for us
            log.debug("Closing the input stream failed", exc_info=True)
        with _portaudio_lock:
            _open_streams -= 1

    def _deliver(self, readings: list[LevelReading]) -> None:
        try:
            self._on_reading(readings)
        except Exception:  # noqa: BLE001 - the receiver's bug must not stop the metering
            log.exception("Handling microphone readings failed")

    def _set_status(self, state: MicState, message: str) -> None:
        if self.status == MicStatus(state, message):
            return
        self.status = MicStatus(state, message)
        log.log(logging.INFO if state in (MicState.RUNNING, MicState.OFF, MicState.STARTING) else logging.WARNING,
                "Microphone: %s", message)
        try:
            self._on_status(self.status)
        except Exception:  # noqa: BLE001
            log.exception("Handling a microphone status failed")


def _failure(error: BaseException, device: str) -> tuple[MicState, str]:
    """The status for a failed attempt to open the microphone."""
    if isinstance(error, NoInputDevice):
        return MicState.NO_DEVICE, str(error)
    if isinstance(error, ImportError):
        return MicState.ERROR, ("The sounddevice package is missing, so Earmuff cannot use a microphone. "
                                "Reinstall Earmuff.")
    if isinstance(error, PortAudioMissing):
        return MicState.PORTAUDIO_MISSING, ("The PortAudio sound library is not installed, so Earmuff cannot use "
                                            "a microphone. Install it (Debian/Ubuntu: sudo apt-get install "
                                            "libportaudio2) and restart Earmuff.")
    name = f"\u201c{device}\u201d" if device else "The microphone"
    log.debug("Opening the microphone failed", exc_info=error)
    return MicState.ERROR, f"{name} could not be used: {error}. Earmuff tries again shortly."


def _lost_message(device: str) -> str:
    name = f"\u201c{device}\u201d" if device else "The microphone"
    return f"{name} stopped working or was unplugged. Earmuff keeps trying to reconnect."
