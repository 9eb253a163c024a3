"""Fixtures for the microphone tests: the espeak-ng scene (made once per run, in a temporary directory),
meters on a stand-in PortAudio (all stopped after each test), and the accuracy table in the summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from audio_helpers import ACCURACY, ESPEAK, FakeSoundDevice, Recorder, Scene, build_scene, usb_mic

from app.audio import MicrophoneMeter


@pytest.fixture(scope="session")
def scene(tmp_path_factory) -> Scene:
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; ./dev test installs it): "
                    "the accuracy tests need real speech")
    return build_scene(tmp_path_factory.mktemp("espeak"))


@pytest.fixture
def fake_audio() -> FakeSoundDevice:
    """A stand-in PortAudio with one USB microphone (16, 44.1 and 48 kHz, mono)."""
    return FakeSoundDevice(usb_mic())


@pytest.fixture
def make_meter() -> Iterator[Callable[..., tuple[MicrophoneMeter, Recorder]]]:
    """`make_meter(device, audio_api=..., **options)` -> (meter, recorder); every meter is stopped afterwards."""
    meters: list[MicrophoneMeter] = []

    def make(device: str = "", **options: Any) -> tuple[MicrophoneMeter, Recorder]:
        recorder = Recorder()
        meter = MicrophoneMeter(device, on_reading=recorder.on_reading, on_status=recorder.on_status, **options)
        meters.append(meter)
        return meter, recorder

    yield make
    for meter in meters:
        meter.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not ACCURACY:
        return
    terminalreporter.section("microphone speech detection (espeak-ng speech + noise, per 0.1-s reading)")
    terminalreporter.write_line(f"{'noise':6} {'SNR':>6} {'rate':>6} {'accuracy':>9} {'recall':>7} "
                                f"{'false alarm':>12} {'in noise alone':>15}")
    for noise, snr, rate, result in sorted(ACCURACY, key=lambda row: (row[2], row[0], -row[1])):
        terminalreporter.write_line(
            f"{noise:6} {snr:>4.0f} dB {rate:>6} {result.accuracy:>9.3f} {result.recall:>7.3f} "
            f"{result.false_alarm:>12.3f} {result.far_false_alarm:>15.3f}")
