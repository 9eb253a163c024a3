"""The [microphone] section of bridge.toml, its mistakes named by key, the example file, and the demo's room."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bridge_helpers import wait_until
from device_bridge.config import ConfigError, MicrophoneConfig, load_config, loads_config, simulated_config
from device_bridge.service import BridgeService
from device_bridge.simulated_microphone import SimulatedMicrophone

ROOT = Path(__file__).resolve().parents[2]
SPEAKERS = """
[[speaker]]
id = "kitchen"
driver = "relay"
pin = 17

[[speaker]]
id = "living-room"
driver = "relay"
pin = 22
"""


def config_with(microphone: str):
    return loads_config('name = "B"\n' + SPEAKERS + microphone)


def test_without_the_section_there_is_no_microphone():
    assert config_with("").microphone is None


def test_the_defaults_are_the_default_input_near_every_speaker():
    assert config_with("[microphone]\n").microphone == MicrophoneConfig(device="", speakers=("kitchen", "living-room"))


def test_a_named_device_near_some_speakers():
    config = config_with('[microphone]\ndevice = " USB PnP Sound Device "\nspeakers = ["living-room", "living-room"]\n')
    assert config.microphone == MicrophoneConfig(device="USB PnP Sound Device", speakers=("living-room",))


def test_a_disabled_microphone_is_none():
    assert config_with("[microphone]\nenabled = false\ndevice = \"USB\"\n").microphone is None


@pytest.mark.parametrize("section, message", [
    ('[microphone]\nspeakers = ["kitchn"]\n',
     "microphone.speakers: 'kitchn' is not the id of a [[speaker]] (did you mean 'kitchen'?)"),
    ("[microphone]\nspeakers = []\n", "microphone.speakers: must be a list of speaker ids"),
    ('[microphone]\nspeakers = "kitchen"\n', "microphone.speakers: must be a list of speaker ids"),
    ('[microphone]\ndevic = "USB"\n', "microphone.devic: unknown key (did you mean 'device'?)"),
    ("[microphone]\ndevice = 2\n", "microphone.device: must be the microphone's name"),
    ('[microphone]\nenabled = "yes"\n', "microphone.enabled: must be true or false"),
    ("[[microphone]]\n", "microphone: write it as a [microphone] table"),
])
def test_mistakes_name_the_key(section, message):
    with pytest.raises(ConfigError) as error:
        config_with(section)
    assert str(error.value).startswith(message)


def test_a_microphone_needs_a_speaker_to_be_near():
    with pytest.raises(ConfigError, match="^microphone: there is no \\[\\[speaker\\]\\]"):
        loads_config('name = "B"\n[microphone]\n')


def test_the_example_config_documents_the_section_and_parses_with_it_enabled():
    example = (ROOT / "resources" / "pi" / "bridge.example.toml").read_text()
    assert "[microphone]" in example
    enabled = example.replace("# [microphone]", "[microphone]").replace('# device = ""', 'device = ""')
    enabled = enabled.replace('# speakers = ["kitchen"]', 'speakers = ["kitchen"]')
    path = Path(ROOT / "resources" / "pi" / "bridge.example.toml")
    assert load_config(path).microphone is None  # shipped commented out: a bridge without a microphone
    assert loads_config(enabled).microphone == MicrophoneConfig(device="", speakers=("kitchen",))


def test_the_demo_bridge_hears_a_simulated_room_near_all_its_speakers(data_dir, pin_factory):
    config = dataclasses.replace(simulated_config("UTC"), listen="127.0.0.1")
    assert config.microphone == MicrophoneConfig(speakers=("kitchen", "bedroom", "living-room"))
    service = BridgeService(config, data_dir, port=0, advertise=False, simulate_speakers=True)
    service.start()
    try:
        assert isinstance(service.microphone.source, SimulatedMicrophone)
        feed = service.engine.monitor.subscribe_samples()
        got: list[dict] = []
        wait_until(lambda: got.extend(r for r in feed.drain() if r["type"] == "mic") or len(got) >= 5)
        assert all(r["speaker_ids"] == ["kitchen", "bedroom", "living-room"] and r["speech"] in (True, False)
                   for r in got)
        feed.close()
    finally:
        service.stop()
