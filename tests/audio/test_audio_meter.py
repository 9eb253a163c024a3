"""The microphone meter's life: the states a user sees (no microphone, unplugged, PortAudio missing, errors),
reconnecting, stopping, and that nothing but numbers comes out of it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import FakeSoundDevice, Recorder, feed_and_collect, usb_mic

from app.audio import InputDevice, MicrophoneMeter, MicState, MicStatus, list_input_devices
from app.audio.ring import SampleRing

ROOT = Path(__file__).resolve().parents[2]
QUICK = {"retry_s": (0.05,), "lost_after_s": 0.5}


def tone(seconds: float, level: float = 3000.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def test_readings_come_every_tenth_of_a_second_on_the_callers_clock(make_meter, fake_audio):
    now = [1_700_000_000.0]
    meter, recorder = make_meter(audio_api=lambda: fake_audio, clock=lambda: now[0])
    meter.start()
    assert fake_audio.opened.wait(10)
    recorder.wait_for(lambda: meter.status.state is MicState.RUNNING)
    stream = fake_audio.streams[0]
    now[0] += 3.0
    readings = feed_and_collect(stream, recorder, tone(3.0), chunk_s=3.0)
    assert len(readings) == 30
    times = np.array([r.time for r in readings])
    assert np.allclose(np.diff(times), 0.1)
    assert times[-1] == pytest.approx(now[0])  # the newest sample is "now" when the worker drains it
    # A 440 Hz tone at 3000 peak: RMS 2121, -23.8 dBFS; a steady tone is not speech.
    assert all(r.level_dbfs == pytest.approx(-23.8, abs=0.2) for r in readings)
    assert not any(r.speech for r in readings)
    assert "USB PnP Sound Device" in meter.status.message


def test_no_microphone_is_a_state_and_one_plugged_in_later_is_found(make_meter):
    audio = FakeSoundDevice(default=None)
    meter, recorder = make_meter(audio_api=lambda: audio, **QUICK)
    meter.start()
    recorder.wait_for(lambda: MicState.NO_DEVICE in recorder.states())
    assert "No microphone found" in meter.status.message
    assert audio.streams == []
    audio.devices.append(usb_mic())  # plugged in: PortAudio is asked to look again
    assert audio.opened.wait(10)
    recorder.wait_for(lambda: meter.status.state is MicState.RUNNING)
    assert audio.refreshes >= 1
    assert recorder.states() == [MicState.NO_DEVICE, MicState.RUNNING]


def test_a_named_microphone_that_is_not_there_says_so(make_meter, fake_audio):
    meter, recorder = make_meter("Blue Yeti", audio_api=lambda: fake_audio)
    meter.start()
    recorder.wait_for(lambda: MicState.NO_DEVICE in recorder.states())
    assert "\u201cBlue Yeti\u201d is not connected" in meter.status.message
    assert fake_audio.streams == []


def test_a_name_matches_exactly_or_by_a_unique_part(make_meter):
    audio = FakeSoundDevice(usb_mic("HDA Intel PCH: ALC257 Analog (hw:0,0)"), usb_mic("USB Audio Device (hw:1,0)"))
    meter, _recorder = make_meter("usb audio", audio_api=lambda: audio)
    meter.start()
    assert audio.opened.wait(10)
    assert audio.streams[0].device == 1


def test_an_unplugged_microphone_is_lost_then_found_again(make_meter, fake_audio):
    meter, recorder = make_meter(audio_api=lambda: fake_audio, **QUICK)
    meter.start()
    assert fake_audio.opened.wait(10)
    first = fake_audio.streams[0]
    feed_and_collect(first, recorder, tone(0.5))
    unplugged = fake_audio.devices.pop()
    fake_audio.opened.clear()
    first.die()
    recorder.wait_for(lambda: MicState.DEVICE_LOST in recorder.states())
    assert "stopped working or was unplugged" in meter.status.message
    assert first.closed
    # While it is away, the state stays "lost" (not "no microphone"), and the meter keeps looking.
    refreshes = fake_audio.refreshes
    recorder.wait_for(lambda: fake_audio.refreshes >= refreshes + 2)
    assert meter.status.state is MicState.DEVICE_LOST
    fake_audio.devices.append(unplugged)
    assert fake_audio.opened.wait(10)
    recorder.wait_for(lambda: meter.status.state is MicState.RUNNING)
    again = feed_and_collect(fake_audio.streams[1], recorder, tone(0.5))
    assert again
    assert recorder.states() == [MicState.RUNNING, MicState.DEVICE_LOST, MicState.RUNNING]


def test_a_stream_that_stops_delivering_is_lost_too(make_meter, fake_audio):
    meter, recorder = make_meter(audio_api=lambda: fake_audio, **QUICK)
    meter.start()
    assert fake_audio.opened.wait(10)
    feed_and_collect(fake_audio.streams[0], recorder, tone(0.5))
    recorder.wait_for(lambda: MicState.DEVICE_LOST in recorder.states())  # no samples for lost_after_s
    recorder.wait_for(lambda: len(fake_audio.streams) == 2)  # and it reopens the device


def test_a_device_that_cannot_be_opened_is_an_error_and_retried(make_meter, fake_audio):
    attempts = []

    def refuse(**options):
        attempts.append(options)
        raise fake_audio.PortAudioError("Device unavailable [PaErrorCode -9985]")

    fake_audio.InputStream = refuse
    meter, recorder = make_meter(audio_api=lambda: fake_audio, **QUICK)
    meter.start()
    recorder.wait_for(lambda: len(attempts) >= 3)
    assert meter.status.state is MicState.ERROR
    assert "could not be used: Device unavailable" in meter.status.message
    assert recorder.states().count(MicState.ERROR) == 1  # one status, not one per attempt


def test_a_device_with_no_usable_format_is_an_error(make_meter):
    audio = FakeSoundDevice(usb_mic("Odd mic", channels=4))  # 4 channels only: neither mono nor stereo
    meter, recorder = make_meter(audio_api=lambda: audio)
    meter.start()
    recorder.wait_for(lambda: MicState.ERROR in recorder.states())
    assert "records in no format Earmuff can read" in meter.status.message


def test_without_portaudio_the_meter_says_what_to_install_and_lists_no_device(make_meter):
    def no_portaudio():
        raise OSError("PortAudio library not found")

    meter, recorder = make_meter(audio_api=no_portaudio)
    meter.start()
    recorder.wait_for(lambda: MicState.PORTAUDIO_MISSING in recorder.states())
    assert "libportaudio2" in meter.status.message
    meter.stop()
    assert meter.status.state is MicState.OFF
    assert list_input_devices(audio_api=no_portaudio) == []


def test_portaudio_missing_for_real_sounddevice_is_a_status_not_a_crash():
    # In a fresh interpreter, with the library lookup sounddevice does at import finding nothing: its
    # import raises OSError("PortAudio library not found"), as on a machine without libportaudio2.
    script = textwrap.dedent("""
        import ctypes.util, threading
        ctypes.util.find_library = lambda name: None
        from app.audio import MicrophoneMeter, MicState, list_input_devices
        got = threading.Event()
        meter = MicrophoneMeter(on_reading=print, on_status=lambda s: s.state is MicState.PORTAUDIO_MISSING
                                and got.set())
        meter.start()
        assert got.wait(10), meter.status
        meter.stop()
        print(list_input_devices(), meter.status.state.name, threading.active_count())
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "OFF", "1"]


def test_the_real_sounddevice_lists_devices_without_raising():
    devices = list_input_devices()  # this machine may have none: then it is [], not an exception
    assert all(isinstance(d, InputDevice) for d in devices)
    assert sum(d.is_default for d in devices) <= 1


def test_list_input_devices_puts_the_default_first_and_skips_outputs():
    speakers = {"name": "HDMI out", "max_input_channels": 0, "default_samplerate": 48000.0, "hostapi": 0,
                "rates": (48000,)}
    audio = FakeSoundDevice(usb_mic("Built-in mic"), speakers, usb_mic("USB mic"), default=2)
    assert list_input_devices(audio_api=lambda: audio) == [InputDevice("USB mic", True),
                                                           InputDevice("Built-in mic", False)]


def test_a_failing_receiver_does_not_stop_the_metering(fake_audio, caplog):
    recorder = Recorder()

    def broken(readings):
        recorder.on_reading(readings)
        raise RuntimeError("bug in the receiver")

    meter = MicrophoneMeter(on_reading=broken, on_status=recorder.on_status, audio_api=lambda: fake_audio)
    try:
        meter.start()
        assert fake_audio.opened.wait(10)
        readings = feed_and_collect(fake_audio.streams[0], recorder, tone(2.0), chunk_s=0.5)
        assert len(readings) >= 19 and meter.status.state is MicState.RUNNING
        assert "Handling microphone readings failed" in caplog.text
    finally:
        meter.stop()


def test_stop_joins_the_worker_and_is_idempotent(make_meter, fake_audio):
    meter, recorder = make_meter(audio_api=lambda: fake_audio)
    meter.start()
    meter.start()  # once only
    assert fake_audio.opened.wait(10)
    meter.stop()
    meter.stop()
    assert not any(t.name == "earmuff-mic-meter" for t in threading.enumerate())
    assert fake_audio.streams[0].closed and len(fake_audio.streams) == 1
    assert recorder.statuses[-1] == MicStatus(MicState.OFF, "The microphone is off.")


def test_a_meter_stopped_before_it_started_stays_off(make_meter, fake_audio):
    meter, recorder = make_meter(audio_api=lambda: fake_audio)
    meter.stop()
    meter.start()
    meter.stop()
    assert fake_audio.streams == [] and meter.status.state is MicState.OFF
    assert recorder.statuses == []  # it never ran, so it never reported


def test_nothing_is_written_anywhere(make_meter, fake_audio, tmp_path, monkeypatch):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("HOME", str(workdir))
    monkeypatch.setenv("TMPDIR", str(workdir))
    meter, recorder = make_meter(audio_api=lambda: fake_audio)
    meter.start()
    assert fake_audio.opened.wait(10)
    readings = feed_and_collect(fake_audio.streams[0], recorder, tone(2.0))
    meter.stop()
    assert readings
    assert list(workdir.rglob("*")) == []
    # Only numbers come out: a time, a level and a flag per 0.1 s.
    assert {type(r).__name__ for r in readings} == {"LevelReading"}
    assert set(vars(readings[0])) == {"time", "level_dbfs", "speech"}


def test_the_ring_keeps_order_across_the_wrap_and_counts_what_a_slow_reader_lost():
    ring = SampleRing(10)
    ring.write(np.arange(6, dtype=np.int16))
    assert ring.read().tolist() == [0, 1, 2, 3, 4, 5]
    ring.write(np.arange(6, 12, dtype=np.int16))  # wraps
    assert ring.read().tolist() == list(range(6, 12))
    ring.write(np.arange(12, 27, dtype=np.int16))  # 15 samples into 10: the oldest 5 are gone
    assert ring.read().tolist() == list(range(17, 27))
    assert ring.dropped == 5
    assert ring.read().tolist() == []
